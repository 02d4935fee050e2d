import NFMKernels
import Testing

@testable import NFMModel

/// The composition of models from stages: checkpoint names and order, update order and the order of
/// initial draws, all of which existing checkpoints and seeded runs depend on.
@Suite struct ModelStageTests {
    static func model(_ kind: ModelKind, layers: [Int]? = [3, 2], batchNorm: Bool = true) -> Model {
        Model(
            config: ModelConfig(
                kind: kind, featureCount: 9, factors: 4, layers: layers, biDropout: 0.5, hiddenDropout: [0.2],
                batchNorm: batchNorm, fieldSizes: [3, 3, 3]))
    }

    static let norm = ["gamma", "beta", "moving_mean", "moving_variance"]

    @Test func checkpointNamesAndOrderArePinned() {
        let layers = (0..<2).flatMap { i in ["layer\(i).weight", "layer\(i).bias"] + Self.norm.map { "layer\(i).norm.\($0)" } }
        let expected: [ModelKind: [String]] = [
            .nfm: ["bias", "linear", "embeddings"] + Self.norm.map { "bi_norm.\($0)" } + layers + ["prediction"],
            .fm: ["bias", "linear", "embeddings"] + Self.norm.map { "bi_norm.\($0)" } + ["prediction"],
            .lr: ["bias", "linear"],
            .hofm: ["bias", "linear", "embeddings", "embeddings3"],
            .wideDeep: ["bias", "linear", "embeddings"] + layers + ["prediction"],
            .deepCross: ["bias", "embeddings"]
                + (0..<2).flatMap { i in ["weight1", "bias1", "weight2", "bias2"].map { "residual\(i).\($0)" } }
                + ["prediction"],
        ]
        for kind in ModelKind.allCases {
            #expect(Self.model(kind).namedTensors.map(\.name) == expected[kind], "\(kind)")
        }
    }

    @Test(arguments: ModelKind.allCases)
    func denseTrainableIsTheStoredTensorsButMovingStatisticsAndFixedPrediction(kind: ModelKind) {
        let model = Self.model(kind)
        let sparse: Set<String> = ["linear", "embeddings", "embeddings3"]
        let expected = model.namedTensors.filter { tensor in
            !tensor.name.contains("moving_") && !sparse.contains(tensor.name)
                && !(tensor.name == "prediction" && kind == .fm)
        }
        #expect(model.denseTrainable.map(ObjectIdentifier.init) == expected.map { ObjectIdentifier($0.buffer) })
        let ws = Workspace(model: model, capacity: 3)
        #expect(ws.denseGradients.map(\.count) == model.denseTrainable.map(\.count))
    }

    /// DeepCross draws its prediction vector before its residual units (the order of the single-class
    /// model this composition replaced), so that seeded runs are unchanged.
    @Test func deepCrossDrawsInTheOriginalOrder() {
        let model = Self.model(.deepCross, batchNorm: false)
        model.initialize(seed: 11)
        var random = Xoshiro256(seed: 11, stream: .initialization)
        func draws(_ count: Int, _ std: Double) -> [Float] { (0..<count).map { _ in Float(std * random.nextNormal()) } }
        #expect(model.embeddings.array == draws(9 * 4, 0.01))
        #expect(model.prediction.array == draws(12, (2.0 / 13).squareRoot()))
        for unit in model.residuals {
            let std = (2.0 / Double(unit.width + unit.hidden)).squareRoot()
            for buffer in [unit.weight1, unit.bias1, unit.weight2, unit.bias2] {
                #expect(buffer.array == draws(buffer.count, std))
            }
        }
    }
}
