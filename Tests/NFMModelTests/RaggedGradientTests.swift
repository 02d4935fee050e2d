import NFMKernels
import Testing

@testable import NFMModel

/// Whole-model finite-difference checks of every model kind on what labelled datasets feed the trainer:
/// sparse rows of varying length (0, 1, 3 and 5 entries), values other than 1 (negative ones too, as a
/// standardized number gives), two entries of one field in a row (a multi-valued cell), the same feature
/// twice in a row (a repeated value in a multi-valued cell) and rows without some field — for squared and
/// log loss. Same helpers and tolerances as `GradientTests` (`checkModelGradients`, `close`).
@Suite struct RaggedGradientTests {
    /// 3 fields of 3 features (0–2, 3–5, 6–8); one entry list per row.
    static let rows: [[UInt32]] = [
        [],  // no entry at all
        [4],  // one entry: fields 0 and 2 missing
        [0, 5, 7],  // one per field
        [1, 2, 3, 6, 8],  // two entries of field 0 and of field 2
        [2, 8],  // field 1 missing
        [5, 0, 5],  // one feature twice, fields out of order
    ]

    struct Case: CustomStringConvertible, Sendable {
        var kind: ModelKind
        var layers: [Int]
        var activation: Activation
        var batchNorm: Bool
        var dropout: Float
        var loss: LossKind
        var description: String { "\(kind) \(layers) \(activation) bn=\(batchNorm) dropout=\(dropout) \(loss)" }
    }

    static let cases: [Case] = LossKind.allCases.flatMap { loss in
        [
            Case(kind: .nfm, layers: [6], activation: .relu, batchNorm: true, dropout: 0.3, loss: loss),
            Case(kind: .nfm, layers: [5, 4], activation: .tanh, batchNorm: false, dropout: 0, loss: loss),
            Case(kind: .fm, layers: [], activation: .relu, batchNorm: false, dropout: 0.2, loss: loss),
            Case(kind: .lr, layers: [], activation: .relu, batchNorm: false, dropout: 0, loss: loss),
            Case(kind: .wideDeep, layers: [6], activation: .relu, batchNorm: true, dropout: 0.2, loss: loss),
            Case(kind: .deepCross, layers: [5], activation: .tanh, batchNorm: false, dropout: 0, loss: loss),
            Case(kind: .hofm, layers: [], activation: .relu, batchNorm: false, dropout: 0, loss: loss),
        ]
    }

    @Test(arguments: cases)
    func raggedWeightedRowsMatchFiniteDifferences(_ c: Case) throws {
        let featureCount = 9
        let indices = Self.rows.flatMap { $0 }
        var offsets: [UInt32] = [0]
        for row in Self.rows { offsets.append(offsets.last! + UInt32(row.count)) }
        var random = Xoshiro256(seed: 71)
        // |xᵢ| in [0.3, 1.5), every third one negative.
        let values = indices.indices.map { e in Float((0.3 + 1.2 * random.nextUnit()) * (e % 3 == 2 ? -1 : 1)) }
        let rowCount = Self.rows.count
        let targets = (0..<rowCount).map { r -> Float in
            let positive = random.next(below: 2) == 0
            return c.loss == .log ? (positive ? 1 : 0) : (positive ? 1 : -1)
        }
        let config = ModelConfig(
            kind: c.kind, featureCount: featureCount, factors: 4, layers: c.layers, activation: c.activation,
            biDropout: c.dropout, hiddenDropout: c.layers.map { _ in c.dropout }, batchNorm: c.batchNorm, loss: c.loss,
            fieldSizes: [3, 3, 3])
        try config.validate()
        let model = Model(config: config)
        randomize(model, seed: 72, scale: 0.4)
        let check = indices.withUnsafeBufferPointer { idx in
            offsets.withUnsafeBufferPointer { off in
                values.withUnsafeBufferPointer { val in
                    let x = SparseRows(
                        rowCount: rowCount, fieldCount: 0, indices: idx.baseAddress!, offsets: off.baseAddress!,
                        values: val.baseAddress!)
                    return checkModelGradients(
                        model, x, rows: rowCount, targets: targets, featureCount: featureCount, retrySmallerStep: true)
                }
            }
        }
        for name in check.missing {
            #expect(name.contains("moving") || (c.kind == .fm && name == "prediction"), "\(c): \(name) has no gradient")
        }
        #expect(check.failures.isEmpty, "\(c): \(check.failures.prefix(5))")
        let trainable = model.namedTensors.map(\.name).filter { !$0.contains("moving") && !(c.kind == .fm && $0 == "prediction") }
        #expect(check.nonZero == Set(trainable), "\(c): tensors without gradient: \(Set(trainable).subtracting(check.nonZero))")
        #expect(check.checked == model.trainableParameterCount)
    }

    /// The values really enter the model: scaling one entry's value changes that row's output, and a row
    /// whose entries all have value 0 scores like the empty row.
    @Test(arguments: [ModelKind.nfm, .fm, .lr, .wideDeep, .deepCross, .hofm])
    func valuesScaleTheInput(kind: ModelKind) throws {
        let config = ModelConfig(
            kind: kind, featureCount: 9, factors: 4, layers: kind == .nfm || kind == .wideDeep || kind == .deepCross ? [5] : [],
            activation: .tanh, biDropout: 0, hiddenDropout: kind == .nfm || kind == .wideDeep || kind == .deepCross ? [0] : [],
            batchNorm: false, loss: .squared, fieldSizes: [3, 3, 3])
        try config.validate()
        let model = Model(config: config)
        randomize(model, seed: 73, scale: 0.5)
        // Rows: empty; (0, 4, 7) with values 1; with values 2, 0.5, -1; (0, 4, 7) with values 0.
        let indices: [UInt32] = [0, 4, 7, 0, 4, 7, 0, 4, 7]
        let offsets: [UInt32] = [0, 0, 3, 6, 9]
        let values: [Float] = [1, 1, 1, 2, 0.5, -1, 0, 0, 0]
        let ws = Workspace(model: model, capacity: 4)
        var random = Xoshiro256(seed: 1)
        indices.withUnsafeBufferPointer { idx in
            offsets.withUnsafeBufferPointer { off in
                values.withUnsafeBufferPointer { val in
                    let x = SparseRows(rowCount: 4, fieldCount: 0, indices: idx.baseAddress!, offsets: off.baseAddress!, values: val.baseAddress!)
                    model.forward(x, workspace: ws, training: false, random: &random)
                }
            }
        }
        let y = (0..<4).map { ws.predictions[$0] }
        #expect(y[1] != y[2], "\(kind): values do not change the output")
        #expect(abs(y[3] - y[0]) < 1e-6, "\(kind): zero values score \(y[3]), the empty row \(y[0])")
    }
}
