import NFMKernels

extension Model {
    /// The interaction terms of `config`'s architecture (the one place that reads `config.kind`):
    ///
    /// | kind | input stage | hidden | head |
    /// |---|---|---|---|
    /// | nfm | Bi-Interaction (+BN, dropout) | dense layers | `h` (Glorot; ones for NFM-0), trained |
    /// | fm | Bi-Interaction (+BN, dropout) | — | `h = 1`, fixed |
    /// | lr | — | — | — |
    /// | wide-deep | field concatenation (dropout) | dense layers | `h` (Glorot), trained |
    /// | deep-cross | field concatenation (dropout) | residual units | `h` (Glorot), trained |
    /// | hofm | Bi-Interaction; ANOVA order 3 | — | `Σ_f` with dropout, for each |
    static func terms(of config: ModelConfig) -> [InteractionTerm] {
        let k = config.factors
        let n = config.featureCount
        func glorot(_ fanIn: Int, _ fanOut: Int) -> Double { (2.0 / Double(fanIn + fanOut)).squareRoot() }
        func norm(_ width: Int) -> BatchNormParameters? {
            config.batchNorm
                ? BatchNormParameters(width: width, epsilon: config.batchNormEpsilon, decay: config.batchNormDecay) : nil
        }
        func denseStack(inputWidth: Int) -> DenseStack? {
            guard !config.layers.isEmpty else { return nil }
            let inputs = [inputWidth] + config.layers.dropLast()
            let layers = zip(inputs, config.layers).map { DenseLayer(inputWidth: $0, width: $1, norm: norm($1)) }
            return DenseStack(layers: layers, activation: config.activation.kernel, dropout: config.hiddenDropout)
        }
        func prediction(initialStd: Double?) -> PredictionVector {
            PredictionVector(width: config.outputWidth, trained: config.trainsPrediction, initialStd: initialStd)
        }
        func fieldConcat() -> FieldConcatStage {
            FieldConcatStage(featureCount: n, factors: k, fieldSizes: config.fieldSizes ?? [], dropout: config.biDropout)
        }
        switch config.kind {
        case .lr:
            return []
        case .nfm, .fm:
            let bi = BiInteractionStage(featureCount: n, factors: k, norm: norm(k), dropout: config.biDropout)
            let std = config.kind == .nfm ? config.layers.last.map { glorot($0, 1) } : nil
            return [InteractionTerm(input: bi, hidden: denseStack(inputWidth: k), head: prediction(initialStd: std))]
        case .wideDeep:
            return [
                InteractionTerm(
                    input: fieldConcat(), hidden: denseStack(inputWidth: config.concatWidth),
                    head: prediction(initialStd: glorot(config.outputWidth, 1)))
            ]
        case .deepCross:
            let units = ResidualStack(
                width: config.concatWidth, hidden: config.layers, activation: config.activation.kernel,
                dropout: config.hiddenDropout)
            return [
                InteractionTerm(input: fieldConcat(), hidden: units, head: prediction(initialStd: glorot(config.outputWidth, 1)))
            ]
        case .hofm:
            return [
                InteractionTerm(
                    input: BiInteractionStage(featureCount: n, factors: k, norm: nil, dropout: 0), hidden: nil,
                    head: PooledSum(width: k, dropout: config.biDropout)),
                InteractionTerm(
                    input: AnovaStage(featureCount: n, factors: k), hidden: nil,
                    head: PooledSum(width: k, dropout: config.biDropout)),
            ]
        }
    }
}
