import NFMKernels
import Testing

/// The row and slot kernels of the NFM step against ordered scalar loops, bit for bit, at widths around
/// every vector path (8, 32 and — in AVX-512 builds, `NFM_AVX512` — 64 columns, and 16-value optimiser
/// blocks): whichever path a build takes, each value must be the documented arithmetic in the documented
/// order, so a model trains to the same bits on every machine.
@Suite struct WideKernelTests {
    static let widths = [1, 7, 8, 13, 16, 32, 40, 63, 64, 72, 96, 128, 136]

    /// Five rows of four features out of eleven, feature 3 in every row (a slot of five entries).
    static let rowFeatures: [[UInt32]] = [[0, 3, 5, 9], [1, 3, 6, 10], [2, 3, 5, 9], [0, 3, 7, 8], [4, 3, 6, 10]]
    static let featureCount = 11

    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var random = Xoshiro256(seed: seed)
        return (0..<count).map { _ in Float(random.nextNormal()) }
    }

    /// `sum_r = Σ_e v_e` and `½(sum_r² − Σ_e v_e²)` per column, features in row order.
    static func pooledReference(k: Int, embeddings v: [Float]) -> (sum: [Float], pooled: [Float]) {
        var sum = [Float](), pooled = [Float]()
        for row in rowFeatures {
            for c in 0..<k {
                var s: Float = 0, q: Float = 0
                for f in row {
                    let value = v[Int(f) * k + c]
                    s = s + value
                    q = value * value + q
                }
                sum.append(s)
                pooled.append(0.5 * (s * s - q))
            }
        }
        return (sum, pooled)
    }

    @Test(arguments: widths)
    func biInteractionForwardIsTheOrderedSum(k: Int) {
        let embeddings = Self.values(Self.featureCount * k, seed: UInt64(k))
        let indices = Self.rowFeatures.flatMap { $0 }
        var sum = [Float](repeating: .nan, count: Self.rowFeatures.count * k)
        var pooled = sum
        indices.withUnsafeBufferPointer { idx in
            let x = SparseRows(rowCount: Self.rowFeatures.count, fieldCount: 4, indices: idx.baseAddress!)
            biInteractionForward(x, factors: k, embeddings: embeddings, sum: &sum, interaction: &pooled)
        }
        let expected = Self.pooledReference(k: k, embeddings: embeddings)
        #expect(zip(sum, expected.sum).allSatisfy { $0.bitPattern == $1.bitPattern }, "sum, k = \(k)")
        #expect(zip(pooled, expected.pooled).allSatisfy { $0.bitPattern == $1.bitPattern }, "pooled, k = \(k)")
    }

    /// Slot-major embedding gradients: slot `s` (feature `s`) sums `g_r ⊙ (sum_r − v_s)` over its entries
    /// in increasing entry order, product then sum.
    @Test(arguments: widths)
    func biInteractionBackwardIsTheOrderedSum(k: Int) {
        let embeddings = Self.values(Self.featureCount * k, seed: UInt64(100 + k))
        let sum = Self.values(Self.rowFeatures.count * k, seed: UInt64(200 + k))
        let upstream = Self.values(Self.rowFeatures.count * k, seed: UInt64(300 + k))
        let indices = Self.rowFeatures.flatMap { $0 }
        // Slots = features 0..<11; entries grouped by feature, in increasing entry order.
        var start: [Int32] = [0], grouped: [Int32] = []
        for f in 0..<Self.featureCount {
            grouped += indices.indices.filter { indices[$0] == UInt32(f) }.map { Int32($0) }
            start.append(Int32(grouped.count))
        }
        let entryRows = indices.indices.map { Int32($0 / 4) }
        var gradient = [Float](repeating: .nan, count: Self.featureCount * k)
        indices.withUnsafeBufferPointer { idx in
            let x = SparseRows(rowCount: Self.rowFeatures.count, fieldCount: 4, indices: idx.baseAddress!)
            start.withUnsafeBufferPointer { start in
                grouped.withUnsafeBufferPointer { grouped in
                    entryRows.withUnsafeBufferPointer { rows in
                        let entries = SlotEntries(start: start.baseAddress!, entries: grouped.baseAddress!, rows: rows.baseAddress!)
                        biInteractionBackward(
                            x, factors: k, embeddings: embeddings, sum: sum, gradInteraction: upstream, entries: entries,
                            slots: 0..<Self.featureCount, gradEmbeddings: &gradient)
                    }
                }
            }
        }
        var mismatches = 0
        for f in 0..<Self.featureCount {
            for c in 0..<k {
                var acc: Float = 0
                for e in grouped[Int(start[f])..<Int(start[f + 1])] {
                    let r = Int(e) / 4
                    acc = upstream[r * k + c] * (sum[r * k + c] - embeddings[f * k + c]) + acc
                }
                if gradient[f * k + c].bitPattern != acc.bitPattern { mismatches += 1 }
            }
        }
        #expect(mismatches == 0, "k = \(k)")
    }

    /// Adagrad per value: `g' = g + λw; a ← g'·g' + a; w ← w − (lr·g')/√a`.
    @Test(arguments: [1, 7, 8, 15, 16, 17, 24, 33, 64, 100])
    func adagradIsTheDocumentedArithmetic(count: Int) {
        let gradient = Self.values(count, seed: UInt64(400 + count))
        var weights = Self.values(count, seed: UInt64(500 + count))
        var accumulator = Self.values(count, seed: UInt64(600 + count)).map { $0 * $0 }
        let (lr, l2): (Float, Float) = (0.05, 0.01)
        var expectedWeights = weights, expectedAccumulator = accumulator
        for i in 0..<count {
            let g = gradient[i] + l2 * weights[i]
            expectedAccumulator[i] = g * g + accumulator[i]
            expectedWeights[i] = weights[i] - lr * g / expectedAccumulator[i].squareRoot()
        }
        adagradStep(
            count: count, parameters: &weights, gradient: gradient, accumulator: &accumulator, learningRate: lr, l2: l2)
        #expect(zip(weights, expectedWeights).allSatisfy { $0.bitPattern == $1.bitPattern })
        #expect(zip(accumulator, expectedAccumulator).allSatisfy { $0.bitPattern == $1.bitPattern })
    }

    /// Batch norm's apply, ReLU and dropout in one pass: `x̂ = (x − μ)·s`, `y = x̂·γ + β`, ReLU `y > 0 ? y :
    /// +0`, `dropped = y·mask`, per value.
    @Test(arguments: [8, 16, 24, 32, 64, 72, 136])
    func batchNormApplyActivatedIsTheDocumentedArithmetic(width n: Int) {
        let rows = 5
        let input = Self.values(rows * n, seed: UInt64(700 + n))
        let (gamma, beta) = (Self.values(n, seed: UInt64(800 + n)), Self.values(n, seed: UInt64(900 + n)))
        let mean = Self.values(n, seed: UInt64(1000 + n))
        let invStd = Self.values(n, seed: UInt64(1100 + n)).map { abs($0) + 0.5 }
        let mask = Self.values(rows * n, seed: UInt64(1200 + n)).map { $0 > 0 ? Float(2) : 0 }
        for relu in [false, true] {
            var x = input
            var normalized = [Float](repeating: .nan, count: rows * n)
            var dropped = normalized
            batchNormApplyActivated(
                rows: rows, width: n, &x, gamma: gamma, beta: beta, mean: mean, invStd: invStd, normalized: &normalized,
                relu: relu, mask: mask, dropped: &dropped)
            var mismatches = 0
            for i in 0..<(rows * n) {
                let j = i % n
                let h = (input[i] - mean[j]) * invStd[j]
                var y = h * gamma[j] + beta[j]
                if relu { y = y > 0 ? y : 0 }
                let expected = [h, y, y * mask[i]]
                let got = [normalized[i], x[i], dropped[i]]
                if zip(got, expected).contains(where: { $0.bitPattern != $1.bitPattern }) { mismatches += 1 }
            }
            #expect(mismatches == 0, "width \(n) relu \(relu)")
        }
    }
}
