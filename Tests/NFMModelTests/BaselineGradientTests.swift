import NFMKernels
import Testing

@testable import NFMModel

/// Finite-difference checks of the baselines' hand-written backward passes (Wide&Deep, DeepCross, HOFM)
/// and of their new layers: the concatenated-embedding gather/scatter, the order-3 ANOVA kernel and the
/// residual unit. Same tolerances as `GradientTests` (`close`).
@Suite struct BaselineGradientTests {
    /// Rows over 3 fields of 3 features each (features 0–2, 3–5, 6–8), feature values in [0.5, 1.5) for the
    /// sparse layout. Row 3 lacks field 1 and row 4 has two features of field 2 (sparse layout only).
    struct Rows {
        var indices: [UInt32]
        var offsets: [UInt32]
        var values: [Float]
        var fixed: Bool
        var rowCount: Int { offsets.count - 1 }

        init(fixed: Bool, seed: UInt64) {
            var random = Xoshiro256(seed: seed)
            self.fixed = fixed
            indices = []
            offsets = [0]
            let rows = 6
            for r in 0..<rows {
                for f in 0..<3 {
                    if !fixed && r == 3 && f == 1 { continue }
                    indices.append(UInt32(3 * f + random.next(below: 3)))
                    if !fixed && r == 4 && f == 2 { indices.append(UInt32(6 + (Int(indices.last!) - 5) % 3)) }
                }
                offsets.append(UInt32(indices.count))
            }
            values = fixed ? [] : indices.map { _ in Float(0.5 + random.nextUnit()) }
        }

        func with<R>(_ body: (SparseRows) -> R) -> R {
            indices.withUnsafeBufferPointer { idx in
                offsets.withUnsafeBufferPointer { off in
                    values.withUnsafeBufferPointer { vals in
                        fixed
                            ? body(SparseRows(rowCount: rowCount, fieldCount: 3, indices: idx.baseAddress!))
                            : body(
                                SparseRows(
                                    rowCount: rowCount, fieldCount: 0, indices: idx.baseAddress!, offsets: off.baseAddress!,
                                    values: vals.baseAddress!))
                    }
                }
            }
        }
    }

    // MARK: layers

    @Test(arguments: [true, false])
    func fieldConcatBackwardMatchesFiniteDifferences(fixed: Bool) {
        let k = 11, features = 9, fields = 3
        let rows = Rows(fixed: fixed, seed: 21)
        var random = Xoshiro256(seed: 22)
        var embeddings = (0..<(features * k)).map { _ in Float(random.nextNormal()) }
        let upstream = (0..<(rows.rowCount * fields * k)).map { _ in Float(random.nextNormal()) }
        let fieldOf: [Int32] = (0..<features).map { Int32($0 / 3) }
        func forward(_ v: [Float]) -> [Float] {
            var out = [Float](repeating: .nan, count: rows.rowCount * fields * k)
            rows.with { x in fieldConcatForward(x, factors: k, fieldCount: fields, fieldOf: fieldOf, embeddings: v, out: &out) }
            return out
        }
        // Forward: the concatenation (each field's features summed, value-scaled; zeros for a missing field).
        let out = forward(embeddings)
        for r in 0..<rows.rowCount {
            var expected = [Float](repeating: 0, count: fields * k)
            for e in Int(rows.offsets[r])..<Int(rows.offsets[r + 1]) {
                let feature = Int(rows.indices[e])
                for c in 0..<k { expected[feature / 3 * k + c] += (rows.fixed ? 1 : rows.values[e]) * embeddings[feature * k + c] }
            }
            for j in 0..<(fields * k) { #expect(abs(out[r * fields * k + j] - expected[j]) < 1e-5, "row \(r) [\(j)]") }
        }
        var grad = [Float](repeating: 0, count: features * k)
        let slots = rows.indices.map { Int32($0) }
        rows.with { x in
            fieldConcatBackward(
                x, factors: k, fieldCount: fields, fieldOf: fieldOf, gradConcat: upstream, entrySlots: slots, gradEmbeddings: &grad)
        }
        let checked = checkGradient(grad, &embeddings, "concat fixed=\(fixed)") { v in
            zip(forward(v), upstream).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        #expect(checked == features * k)
        #expect(grad.contains { $0 != 0 })
    }

    @Test(arguments: [true, false])
    func anova3BackwardMatchesFiniteDifferences(fixed: Bool) {
        let k = 13, features = 9
        let rows = Rows(fixed: fixed, seed: 31)
        var random = Xoshiro256(seed: 32)
        var embeddings = (0..<(features * k)).map { _ in Float(0.7 * random.nextNormal()) }
        let upstream = (0..<(rows.rowCount * k)).map { _ in Float(random.nextNormal()) }
        func forward(_ q: [Float]) -> (kernel: [Float], s1: [Float], s2: [Float]) {
            var s1 = [Float](repeating: 0, count: rows.rowCount * k), s2 = s1, kernel = s1
            rows.with { x in anova3Forward(x, factors: k, embeddings: q, sum: &s1, sumSquares: &s2, kernel: &kernel) }
            return (kernel, s1, s2)
        }
        let f = forward(embeddings)
        var grad = [Float](repeating: 0, count: features * k)
        let slots = rows.indices.map { Int32($0) }
        rows.with { x in
            anova3Backward(
                x, factors: k, embeddings: embeddings, sum: f.s1, sumSquares: f.s2, gradKernel: upstream, entrySlots: slots,
                gradEmbeddings: &grad)
        }
        _ = checkGradient(grad, &embeddings, "anova3 fixed=\(fixed)") { q in
            zip(forward(q).kernel, upstream).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        #expect(grad.contains { $0 != 0 })
    }

    @Test func anova3IsTheBruteForceTripleSum() {
        // A³_f = Σ_{i<j<l} aᵢaⱼaₗ over the entries of a row, for 5 entries with values (sparse layout).
        let k = 10, entries = 5
        var random = Xoshiro256(seed: 41)
        let embeddings = (0..<(entries * k)).map { _ in Float(random.nextNormal()) }
        let values = (0..<entries).map { _ in Float(0.5 + random.nextUnit()) }
        let indices = (0..<entries).map { UInt32($0) }
        let offsets: [UInt32] = [0, UInt32(entries)]
        var s1 = [Float](repeating: 0, count: k), s2 = s1, kernel = s1
        indices.withUnsafeBufferPointer { idx in
            offsets.withUnsafeBufferPointer { off in
                values.withUnsafeBufferPointer { vals in
                    let x = SparseRows(rowCount: 1, fieldCount: 0, indices: idx.baseAddress!, offsets: off.baseAddress!, values: vals.baseAddress!)
                    anova3Forward(x, factors: k, embeddings: embeddings, sum: &s1, sumSquares: &s2, kernel: &kernel)
                }
            }
        }
        for c in 0..<k {
            var brute = 0.0
            func a(_ i: Int) -> Double { Double(values[i]) * Double(embeddings[i * k + c]) }
            for i in 0..<entries {
                for j in (i + 1)..<entries {
                    for l in (j + 1)..<entries { brute += a(i) * a(j) * a(l) }
                }
            }
            #expect(abs(Double(kernel[c]) - brute) < 1e-4 * max(1, abs(brute)), "factor \(c): \(kernel[c]) vs \(brute)")
        }
        // The fixed layout (all values 1) gives the plain triple sum of the embeddings.
        var fixedKernel = [Float](repeating: 0, count: k)
        indices.withUnsafeBufferPointer { idx in
            anova3Forward(
                SparseRows(rowCount: 1, fieldCount: entries, indices: idx.baseAddress!), factors: k, embeddings: embeddings,
                sum: &s1, sumSquares: &s2, kernel: &fixedKernel)
        }
        var brute0 = 0.0
        for i in 0..<entries {
            for j in (i + 1)..<entries {
                for l in (j + 1)..<entries { brute0 += Double(embeddings[i * k]) * Double(embeddings[j * k]) * Double(embeddings[l * k]) }
            }
        }
        #expect(abs(Double(fixedKernel[0]) - brute0) < 1e-4 * max(1, abs(brute0)))
    }

    @Test(arguments: [ActivationKind.relu, .tanh])
    func residualUnitBackwardMatchesFiniteDifferences(activation: ActivationKind) {
        let rows = 5, d = 10, h = 7
        var random = Xoshiro256(seed: 51)
        func normal(_ n: Int, _ scale: Double = 0.5) -> [Float] { (0..<n).map { _ in Float(scale * random.nextNormal()) } }
        let params = [normal(rows * d, 1), normal(d * h), normal(h), normal(h * d), normal(d)]  // x, W1, b1, W2, b2
        let upstream = normal(rows * d, 1)
        func forward(_ p: [[Float]]) -> (inner: [Float], y: [Float]) {
            var inner = [Float](repeating: 0, count: rows * h), y = [Float](repeating: 0, count: rows * d)
            residualUnitForward(
                rows: rows, width: d, hidden: h, input: p[0], w1: p[1], b1: p[2], w2: p[3], b2: p[4], activation: activation,
                inner: &inner, output: &y)
            return (inner, y)
        }
        // Forward: y = act(x + act(xW₁ + b₁)W₂ + b₂), computed naively.
        let f = forward(params)
        func act(_ v: Double) -> Double { activation == .relu ? max(v, 0) : Foundation_tanh(v) }
        for r in 0..<rows {
            var inner = [Double](repeating: 0, count: h)
            for j in 0..<h {
                var z = Double(params[2][j])
                for i in 0..<d { z += Double(params[0][r * d + i]) * Double(params[1][i * h + j]) }
                inner[j] = act(z)
            }
            for i in 0..<d {
                var z = Double(params[0][r * d + i]) + Double(params[4][i])
                for j in 0..<h { z += inner[j] * Double(params[3][j * d + i]) }
                #expect(abs(Double(f.y[r * d + i]) - act(z)) < 1e-4)
            }
        }
        var grad = upstream
        var gradInner = [Float](repeating: 0, count: rows * h), gradInput = [Float](repeating: 0, count: rows * d)
        var gW1 = [Float](repeating: 0, count: d * h), gb1 = [Float](repeating: 0, count: h)
        var gW2 = [Float](repeating: 0, count: h * d), gb2 = [Float](repeating: 0, count: d)
        var scratch = [Float](repeating: 0, count: d * h)
        residualUnitBackward(
            rows: rows, width: d, hidden: h, input: params[0], w1: params[1], w2: params[3], activation: activation,
            inner: f.inner, output: f.y, grad: &grad, gradInner: &gradInner, gradInput: &gradInput, gradW1: &gW1,
            gradB1: &gb1, gradW2: &gW2, gradB2: &gb2, transposed: &scratch)
        let names = ["input", "W1", "b1", "W2", "b2"]
        for (which, analytic) in [gradInput, gW1, gb1, gW2, gb2].enumerated() {
            let base = params
            var tensor = params[which]
            _ = checkGradient(analytic, &tensor, "residual \(activation) \(names[which])") { p in
                var all = base
                all[which] = p
                return zip(forward(all).y, upstream).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            }
            #expect(analytic.contains { $0 != 0 }, "\(names[which]) has an all-zero gradient")
        }
    }

    // MARK: whole models

    struct Case: CustomStringConvertible, Sendable {
        var kind: ModelKind
        var layers: [Int]
        var activation: Activation
        var batchNorm: Bool
        var dropout: Float
        var fixed: Bool
        var description: String { "\(kind) \(layers) \(activation) bn=\(batchNorm) dropout=\(dropout) fixed=\(fixed)" }
    }

    static let cases: [Case] = [
        Case(kind: .wideDeep, layers: [12, 9], activation: .relu, batchNorm: false, dropout: 0.3, fixed: true),
        Case(kind: .wideDeep, layers: [10], activation: .tanh, batchNorm: true, dropout: 0.2, fixed: false),
        Case(kind: .wideDeep, layers: [16, 8, 5], activation: .relu, batchNorm: true, dropout: 0, fixed: true),
        Case(kind: .deepCross, layers: [7, 5], activation: .relu, batchNorm: false, dropout: 0.3, fixed: true),
        Case(kind: .deepCross, layers: [6], activation: .tanh, batchNorm: false, dropout: 0, fixed: false),
        Case(kind: .deepCross, layers: [9, 4, 3], activation: .sigmoid, batchNorm: false, dropout: 0.2, fixed: true),
        Case(kind: .hofm, layers: [], activation: .relu, batchNorm: false, dropout: 0, fixed: true),
        Case(kind: .hofm, layers: [], activation: .relu, batchNorm: false, dropout: 0.4, fixed: false),
    ]

    @Test(arguments: cases)
    func modelBackwardMatchesFiniteDifferences(_ c: Case) {
        let featureCount = 9
        let rowsData = Rows(fixed: c.fixed, seed: 61)
        let rows = rowsData.rowCount
        let config = ModelConfig(
            kind: c.kind, featureCount: featureCount, factors: 4, layers: c.layers, activation: c.activation,
            biDropout: c.dropout, hiddenDropout: [c.dropout], batchNorm: c.batchNorm, loss: .squared, fieldSizes: [3, 3, 3])
        #expect(throws: Never.self) { try config.validate() }
        let model = Model(config: config)
        randomize(model, seed: 62, scale: 0.4)
        var random = Xoshiro256(seed: 63)
        let targets = (0..<rows).map { _ in Float(random.next(below: 2) == 0 ? -1 : 1) }
        rowsData.with { x in
            let check = checkModelGradients(
                model, x, rows: rows, targets: targets, featureCount: featureCount, retrySmallerStep: true)
            for name in check.missing { #expect(name.contains("moving"), "\(name) has no gradient") }
            #expect(check.failures.isEmpty, "\(c): \(check.failures.prefix(5))")
            // Every trainable tensor was checked and carries some gradient.
            let trainable = model.namedTensors.map(\.name).filter { !$0.contains("moving") }
            #expect(check.nonZero == Set(trainable), "tensors without gradient: \(Set(trainable).subtracting(check.nonZero))")
            #expect(check.checked == model.trainableParameterCount)
        }
    }
}

import Foundation

private func Foundation_tanh(_ x: Double) -> Double { Foundation.tanh(x) }

@Suite struct BaselineKernelTests {
    /// Shapes that take the blocked, packed path of `gemm` (B blocks of 256 × 256 once p·n > 256², or A
    /// transposed with m > 64) and reach each of its edges, at a small cost (each element checked):
    /// - (7, 285, 260), A row-major: two column blocks (256, then 29 = one packed 16-column strip and a
    ///   13-column unpacked tail, 8 + 5 scalar), two depth blocks (256 + 4, partial sums reloaded), and
    ///   7 rows (a 4-row block, then 3 single rows);
    /// - (5, 512, 130), A row-major: two full column blocks, all full strips, one depth block;
    /// - (261, 29, 260), A transposed: A packed in two row blocks (256 + 5), two depth blocks, one column
    ///   block with a tail;
    /// - (65, 40, 30), A transposed just past the 64-row threshold: one row block, one depth block.
    @Test(arguments: [(7, 285, 260, 260, 1), (5, 512, 130, 130, 1), (261, 29, 260, 1, 261), (65, 40, 30, 1, 65)])
    func blockedGemmMatchesNaiveProduct(shape: (Int, Int, Int, Int, Int)) {
        let (m, n, p, ars, acs) = shape
        #expect(p * n > 256 * 256 || (acs != 1 && m > 64), "\(shape) does not take the blocked path")
        var random = Xoshiro256(seed: UInt64(m + n + p))
        let a = (0..<(m * p)).map { _ in Float(random.nextNormal()) }
        let b = (0..<(p * n)).map { _ in Float(random.nextNormal()) }
        let initial = (0..<(m * n)).map { _ in Float(random.nextNormal()) }
        for accumulate in [false, true] {
            var c = initial
            gemm(m: m, n: n, p: p, a: a, aRowStride: ars, aColStride: acs, b: b, c: &c, accumulate: accumulate)
            var worst: Float = 0
            for i in 0..<m {
                for j in 0..<n {
                    var s: Double = accumulate ? Double(initial[i * n + j]) : 0
                    for q in 0..<p { s += Double(a[i * ars + q * acs]) * Double(b[q * n + j]) }
                    worst = max(worst, abs(c[i * n + j] - Float(s)))
                }
            }
            #expect(worst <= 1e-4 * Float(p), "\(shape) accumulate=\(accumulate): \(worst)")
        }
    }

    @Test func transposeIsExact() {
        let m = 70, n = 45
        let x = (0..<(m * n)).map { Float($0) }
        var t = [Float](repeating: -1, count: m * n)
        transpose(rows: m, columns: n, x, into: &t)
        for i in 0..<m { for j in 0..<n { #expect(t[j * m + i] == x[i * n + j]) } }
    }

    @Test(arguments: [Float(0.5), 0.8, 0.2])
    func dropoutMaskUsesFourLanesPerDraw(keep: Float) {
        // Reference: lane l of draw d decides entry 4d + l, kept when its 16 bits are below keep·2¹⁶.
        let count = 4_099
        var random = Xoshiro256(seed: 5)
        var mask = [Float](repeating: -1, count: count)
        dropoutMask(count: count, keep: keep, into: &mask, random: &random)
        var reference = Xoshiro256(seed: 5)
        let threshold = UInt64((keep * 65_536).rounded())
        var kept = 0
        for d in 0..<((count + 3) / 4) {
            let bits = reference.next()
            for l in 0..<4 where 4 * d + l < count {
                let expected: Float = (bits >> (16 * UInt64(l))) & 0xFFFF < threshold ? 65_536 / Float(threshold) : 0
                #expect(mask[4 * d + l] == expected, "entry \(4 * d + l)")
                if expected != 0 { kept += 1 }
            }
        }
        #expect(abs(Double(kept) / Double(count) - Double(keep)) < 0.03)
    }
}
