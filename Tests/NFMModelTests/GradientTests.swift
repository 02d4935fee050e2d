import NFMKernels
import Testing

@testable import NFMModel

/// Finite-difference checks of every hand-written backward pass. Forward passes run in Float; the
/// central differences use a step of 1e-3, so agreement is asserted to 2% relative (+ 2e-3 absolute).
func close(_ analytic: Double, _ numeric: Double, relative: Double = 2e-2, absolute: Double = 2e-3) -> Bool {
    abs(analytic - numeric) <= relative * max(abs(analytic), abs(numeric)) + absolute
}

@Suite struct GradientTests {
    // MARK: kernels

    @Test func biInteractionBackwardMatchesFiniteDifferences() {
        let k = 12, features = 9, rows = 5, fields = 3
        var random = Xoshiro256(seed: 1)
        var embeddings = (0..<(features * k)).map { _ in Float(0.5 * random.nextNormal()) }
        let upstream = (0..<(rows * k)).map { _ in Float(random.nextNormal()) }
        // Row r uses features (r, 3 + r % 3, 6 + (r * 2) % 3) — feature 3.. repeats across rows.
        var indices: [UInt32] = []
        for r in 0..<rows {
            indices.append(UInt32(r % 3))
            indices.append(UInt32(3 + r % 3))
            indices.append(UInt32(6 + (r * 2) % 3))
        }
        let values: [Float] = (0..<(rows * fields)).map { _ in Float(0.5 + random.nextUnit()) }
        for useValues in [false, true] {
            func loss(_ v: [Float]) -> Double {
                var sum = [Float](repeating: 0, count: rows * k)
                var bi = sum
                indices.withUnsafeBufferPointer { idx in
                    values.withUnsafeBufferPointer { vals in
                        let offsets: [UInt32] = (0...rows).map { UInt32($0 * fields) }
                        offsets.withUnsafeBufferPointer { off in
                            let x = useValues
                                ? SparseRows(rowCount: rows, fieldCount: 0, indices: idx.baseAddress!, offsets: off.baseAddress!, values: vals.baseAddress!)
                                : SparseRows(rowCount: rows, fieldCount: fields, indices: idx.baseAddress!)
                            biInteractionForward(x, factors: k, embeddings: v, sum: &sum, interaction: &bi)
                        }
                    }
                }
                return zip(bi, upstream).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            }
            // Analytic: slots = feature ids.
            var grad = [Float](repeating: 0, count: features * k)
            var sum = [Float](repeating: 0, count: rows * k)
            var bi = sum
            let slots = indices.map { Int32($0) }
            indices.withUnsafeBufferPointer { idx in
                values.withUnsafeBufferPointer { vals in
                    let offsets: [UInt32] = (0...rows).map { UInt32($0 * fields) }
                    offsets.withUnsafeBufferPointer { off in
                        let x = useValues
                            ? SparseRows(rowCount: rows, fieldCount: 0, indices: idx.baseAddress!, offsets: off.baseAddress!, values: vals.baseAddress!)
                            : SparseRows(rowCount: rows, fieldCount: fields, indices: idx.baseAddress!)
                        biInteractionForward(x, factors: k, embeddings: embeddings, sum: &sum, interaction: &bi)
                        biInteractionBackward(
                            x, factors: k, embeddings: embeddings, sum: sum, gradInteraction: upstream, entrySlots: slots,
                            gradEmbeddings: &grad)
                    }
                }
            }
            let checked = checkGradient(grad, &embeddings, "embeddings values=\(useValues)", loss: loss)
            #expect(checked == features * k)
        }
    }

    @Test func biInteractionIsThePairwiseSum() {
        // ½[(Σv)² − Σv²] = Σ_{i<j} vᵢ ⊙ vⱼ.
        let k = 10, fields = 4
        var random = Xoshiro256(seed: 2)
        let embeddings = (0..<(fields * k)).map { _ in Float(random.nextNormal()) }
        let indices: [UInt32] = [0, 1, 2, 3]
        var sum = [Float](repeating: 0, count: k)
        var bi = sum
        indices.withUnsafeBufferPointer { idx in
            biInteractionForward(
                SparseRows(rowCount: 1, fieldCount: fields, indices: idx.baseAddress!), factors: k, embeddings: embeddings,
                sum: &sum, interaction: &bi)
        }
        for c in 0..<k {
            var pairwise = 0.0
            for i in 0..<fields {
                for j in (i + 1)..<fields { pairwise += Double(embeddings[i * k + c]) * Double(embeddings[j * k + c]) }
            }
            #expect(abs(Double(bi[c]) - pairwise) < 1e-4)
        }
    }

    @Test func batchNormBackwardMatchesFiniteDifferences() {
        let rows = 6, n = 11
        var random = Xoshiro256(seed: 3)
        let x = (0..<(rows * n)).map { _ in Float(random.nextNormal()) }
        let gamma = (0..<n).map { _ in Float(1 + 0.3 * random.nextNormal()) }
        let beta = (0..<n).map { _ in Float(random.nextNormal()) }
        let upstream = (0..<(rows * n)).map { _ in Float(random.nextNormal()) }
        func forward(_ x: [Float], _ gamma: [Float], _ beta: [Float]) -> (y: [Float], xhat: [Float], invStd: [Float]) {
            var y = x
            var xhat = x
            var mean = [Float](repeating: 0, count: n), variance = mean, invStd = mean
            batchNormForwardTraining(
                rows: rows, width: n, &y, gamma: gamma, beta: beta, epsilon: 1e-3, normalized: &xhat, mean: &mean,
                variance: &variance, invStd: &invStd)
            return (y, xhat, invStd)
        }
        func loss(_ x: [Float], _ gamma: [Float], _ beta: [Float]) -> Double {
            zip(forward(x, gamma, beta).y, upstream).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        let f = forward(x, gamma, beta)
        var grad = upstream
        var gradGamma = [Float](repeating: 0, count: n), gradBeta = gradGamma
        batchNormBackward(
            rows: rows, width: n, grad: &grad, normalized: f.xhat, gamma: gamma, invStd: f.invStd, gradGamma: &gradGamma,
            gradBeta: &gradBeta)
        for (which, analytic) in [grad, gradGamma, gradBeta].enumerated() {
            for i in analytic.indices {
                var plus = [x, gamma, beta], minus = [x, gamma, beta]
                plus[which][i] += 1e-3
                minus[which][i] -= 1e-3
                let numeric = (loss(plus[0], plus[1], plus[2]) - loss(minus[0], minus[1], minus[2])) / 2e-3
                #expect(close(Double(analytic[i]), numeric), "tensor \(which) [\(i)]")
            }
        }
        // The gradient of a batch-normalised column sums to zero over the batch.
        for j in 0..<n { #expect(abs((0..<rows).reduce(Float(0)) { $0 + grad[$1 * n + j] }) < 1e-4) }
    }

    // MARK: losses

    @Test(arguments: LossKind.allCases)
    func lossGradientMatchesFiniteDifferences(loss: LossKind) {
        let config = ModelConfig(kind: .lr, featureCount: 3, loss: loss)
        let model = Model(config: config)
        let ws = Workspace(model: model, capacity: 4)
        let targets: [Float] = loss == .squared ? [1, -1, 1, -1] : [1, 0, 1, 0]
        let outputs: [Float] = [0.3, -1.7, 2.2, 0.9]
        func value(_ o: [Float]) -> Double {
            for r in 0..<4 { ws.output[r] = o[r] }
            return model.lossGradient(rows: 4, targets: targets, workspace: ws)
        }
        _ = value(outputs)
        let analytic = (0..<4).map { ws.gradOutput[$0] }
        for r in 0..<4 {
            var plus = outputs, minus = outputs
            plus[r] += 1e-3
            minus[r] -= 1e-3
            #expect(close(Double(analytic[r]), (value(plus) - value(minus)) / 2e-3, relative: 1e-3, absolute: 1e-4))
        }
    }

    // MARK: whole model

    struct Case: CustomStringConvertible, Sendable {
        var kind: ModelKind
        var layers: [Int]
        var activation: Activation
        var batchNorm: Bool
        var dropout: Float
        var description: String { "\(kind) \(layers) \(activation) bn=\(batchNorm) dropout=\(dropout)" }
    }

    static let cases: [Case] = [
        Case(kind: .nfm, layers: [16], activation: .relu, batchNorm: true, dropout: 0.3),
        Case(kind: .nfm, layers: [16, 9], activation: .sigmoid, batchNorm: true, dropout: 0.3),
        Case(kind: .nfm, layers: [16], activation: .tanh, batchNorm: false, dropout: 0.2),
        Case(kind: .nfm, layers: [10, 16], activation: .identity, batchNorm: true, dropout: 0),
        Case(kind: .nfm, layers: [], activation: .relu, batchNorm: true, dropout: 0.5),
        Case(kind: .fm, layers: [], activation: .relu, batchNorm: false, dropout: 0.4),
        Case(kind: .lr, layers: [], activation: .relu, batchNorm: false, dropout: 0),
    ]

    @Test(arguments: cases)
    func modelBackwardMatchesFiniteDifferences(_ c: Case) {
        let cardinalities = [5, 4, 6]
        let featureCount = 15
        let rows = 7
        let config = ModelConfig(
            kind: c.kind, featureCount: featureCount, factors: 8, layers: c.layers, activation: c.activation,
            biDropout: c.dropout, hiddenDropout: [c.dropout], batchNorm: c.batchNorm, loss: .squared)
        let model = Model(config: config)
        randomize(model, seed: 11, scale: 0.3)
        let data = randomRows(count: rows, cardinalities: cardinalities, seed: 5)
        let indices = data.flatMap(\.features)
        let targets = data.map(\.label)
        indices.withUnsafeBufferPointer { idx in
            let x = SparseRows(rowCount: rows, fieldCount: cardinalities.count, indices: idx.baseAddress!)
            let check = checkModelGradients(model, x, rows: rows, targets: targets, featureCount: featureCount)
            // Only moving statistics (and FM's fixed prediction vector) have no gradient.
            for name in check.missing {
                #expect(name.contains("moving") || (c.kind == .fm && name == "prediction"), "\(name) has no gradient")
            }
            #expect(check.failures.isEmpty, "\(c): \(check.failures.prefix(5))")
            #expect(check.checked > featureCount)
        }
    }
}
