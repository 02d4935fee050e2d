import Dispatch
import Foundation
import NFMFormat
import NFMKernels

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// Mini-batch training with a seeded per-epoch shuffle, per-epoch evaluation of the three splits and
/// the authors' early stopping.
///
/// A run is four collaborators: a `BatchSource` (cached or streamed rows in a seeded order), the training
/// step of `Model`, `EarlyStopping`, and the `TrainingObserver` and `RunDirectory` that report it. Every
/// epoch's loss, weights and metrics are checked: a NaN or infinity ends the run with `.diverged`.
public final class Trainer {
    /// The training data (cached or streamed).
    public let dataset: Dataset
    /// The resolved configuration (field sizes filled in for Wide&Deep and DeepCross).
    public let config: ModelConfig
    /// The run's options (validated).
    public let options: TrainingOptions
    /// The model being trained (the last epoch's parameters; `TrainingResult.bestModel` is the best's).
    public let model: Model
    /// The learning rate in use: `options.learningRate` or the kind's default (`ModelDefaults`).
    public let learningRate: Float
    private let created = now()

    /// Validates the options (`TrainingOptions.validate`) and the model against the dataset, builds and
    /// initialises the model (and pre-trains it from `options.initFrom`). `config.fieldSizes` may be nil:
    /// Wide&Deep and DeepCross take their fields from the dataset's manifest.
    public init(dataset: Dataset, config: ModelConfig, options: TrainingOptions) throws {
        try options.validate()
        guard config.featureCount == dataset.manifest.featureCount else {
            throw NFMError(
                .configuration, "the model has \(config.featureCount) features, the dataset \(dataset.manifest.featureCount)",
                at: .init(file: dataset.directory))
        }
        for split in [Split.train, .validation] where dataset.rowCount(split) == 0 {
            throw NFMError(.dataset, "the \(split.rawValue) split is empty", at: .init(file: dataset.directory))
        }
        var config = config
        if config.kind.concatenatesFields { config.fieldSizes = try Self.fieldSizes(of: dataset, for: config) }
        try config.validate()
        try Self.checkScratch(config, dataset: dataset, batchSize: options.batchSize)
        self.dataset = dataset
        self.config = config
        self.options = options
        learningRate = options.resolvedLearningRate(for: config.kind)
        model = Model(config: config)
        model.initialize(seed: options.seed)
        model.bias[0] = ModelDefaults.initialBias(for: dataset.manifest, loss: config.loss)
        if let path = options.initFrom { try pretrain(from: path) }
    }

    /// Refuses a batch whose scratch memory would exceed `TrainingLimits.maxScratchFloats`: about four
    /// activations per row of every width (embeddings, concatenation, hidden layers), and the batch's
    /// feature entries.
    static func checkScratch(_ config: ModelConfig, dataset: Dataset, batchSize: Int) throws {
        let widths = config.layers.reduce(max(config.factors, 1) + config.concatWidth + 1, +)
        let entries = dataset[.train]?.maxEntriesPerRow ?? dataset.manifest.fields.count
        let perRow = max(4 * widths, 2 * entries)
        guard perRow <= TrainingLimits.maxScratchFloats / batchSize else {
            throw NFMError(
                .configuration,
                "a batch of \(batchSize) rows needs \(perRow) floats of scratch per row, over the limit of \(TrainingLimits.maxScratchFloats) floats; lower --batch-size",
                at: .init(field: "--batch-size", value: String(batchSize)))
        }
    }

    /// The field cardinalities of a dataset, for the models that concatenate per-field embeddings.
    static func fieldSizes(of dataset: Dataset, for config: ModelConfig) throws -> [Int] {
        let fields = dataset.manifest.fields
        var offset = 0
        for field in fields {
            guard field.offset == offset, field.cardinality > 0, field.cardinality <= dataset.manifest.featureCount else {
                break
            }
            offset += field.cardinality
        }
        guard !fields.isEmpty, offset == dataset.manifest.featureCount else {
            throw NFMError(
                .configuration,
                "\(config.kind.rawValue) concatenates one embedding per field, but this dataset has no fixed fields (\(dataset.manifest.layout == .fixed ? "fixed" : "sparse") layout, \(fields.count) fields covering \(offset) of \(dataset.manifest.featureCount) features); use nfm, fm, hofm or lr, or build the data with fields",
                at: .init(file: dataset.directory))
        }
        let sizes = fields.map(\.cardinality)
        if let given = config.fieldSizes, given != sizes {
            throw NFMError(.configuration, "the model's field sizes \(given) differ from the dataset's \(sizes)")
        }
        return sizes
    }

    /// Pre-training (He & Chua, Fig. 1 and §4.3): copies a checkpoint's embeddings (HOFM: its order-2
    /// embeddings `P`), first-order weights and bias into the model, where both models have them. The
    /// checkpoint must come from a dataset with the same features and have the same k. A HOFM source
    /// also initialises a HOFM's order-3 embeddings.
    private func pretrain(from path: String) throws {
        let checkpoint = try Checkpoint.load(path: path)
        try checkpoint.header.dataset.checkCompatible(with: fingerprint, directory: dataset.directory)
        let source = checkpoint.model
        guard source.config.kind != .lr || config.kind == .lr, source.config.factors == config.factors else {
            throw NFMError(
                .configuration,
                "a \(source.config.kind.rawValue) checkpoint with k=\(source.config.factors) cannot initialise a \(config.kind.rawValue) model with k=\(config.factors)",
                at: .init(file: path))
        }
        try source.checkFinite(file: path)
        let shared: Set = ["bias", "linear", "embeddings", "embeddings3"]
        let sources = Dictionary(source.namedTensors.map { ($0.name, $0.buffer) }, uniquingKeysWith: { a, _ in a })
        for (name, buffer) in model.namedTensors where shared.contains(name) {
            if let from = sources[name], from.count == buffer.count { buffer.copy(from: from) }
        }
    }

    /// The dataset's fingerprint, as recorded in checkpoints.
    public var fingerprint: DatasetFingerprint {
        DatasetFingerprint(manifest: dataset.manifest, sha256: dataset.manifestSHA256)
    }

    /// Trains, writing into `options.outDirectory` when it is set (claimed as a new run directory, refused
    /// when it exists and is not empty, committed when the run ends, removed when it fails).
    public func run(observer: TrainingObserver = TrainingObserver()) throws -> TrainingResult {
        guard let path = options.outDirectory else { return try run(in: nil, observer: observer) }
        let directory = try RunDirectory.claim(path, force: false, inputs: [dataset.directory, options.initFrom].compactMap { $0 })
        do {
            let result = try run(in: directory, observer: observer)
            directory.commit()
            return result
        } catch {
            directory.abandon()
            throw error
        }
    }

    /// Trains for up to `options.epochs` epochs. Each epoch: the training steps over the batch source,
    /// then evaluation of the three splits, the divergence check, early stopping; the best epoch's model is
    /// kept (and written to `directory`'s `model.nfmc`), `metrics.csv` and `curve.svg` are rewritten after
    /// every epoch and `summary.json` at the end. The caller commits (or abandons) `directory`.
    public func run(in directory: RunDirectory?, observer: TrainingObserver = TrainingObserver()) throws -> TrainingResult {
        let state = EpochState(trainer: self)
        var stopping = EarlyStopping(patience: options.patience, enabled: options.earlyStop)
        var records: [EpochRecord] = []
        var stoppedEarly = false
        for epoch in 1...options.epochs {
            let record = try runEpoch(epoch, state: state, observer: observer)
            records.append(record)
            if let failure = divergence(of: record) {
                observer.epochFinished?(record, false)
                throw failure
            }
            let decision = stopping.record(epoch: epoch, metric: record.validation.primary)
            if decision.isBest {
                state.bestModel.copyParameters(from: model)
                state.bestModel.prepareInference()
                try directory?.writeCheckpoint(try checkpoint(of: state.bestModel, record: record))
            }
            observer.epochFinished?(record, decision.isBest)
            try directory?.writeReports(records: records, loss: config.loss, title: chartTitle)
            if let target = options.stopAt, record.validation.primary <= target {
                observer.message?(
                    "validation \(config.loss == .squared ? "RMSE" : "log loss") \(record.validation.primary) reached the target \(target) at epoch \(epoch)")
                break
            }
            if decision.stop {
                stoppedEarly = true
                observer.message?(
                    "early stop: validation worsened \(stopping.worsening) epochs in a row; best epoch \(stopping.best?.epoch ?? 0)")
                break
            }
        }
        let summary = TrainingSummary(
            trainer: self, records: records, bestEpoch: stopping.best?.epoch ?? 0, stoppedEarly: stoppedEarly,
            checkpoint: directory?.checkpointPath, totalSeconds: now() - created)
        try directory?.writeSummary(summary)
        return TrainingResult(
            records: records, bestEpoch: summary.bestEpoch, stoppedEarly: stoppedEarly, bestModel: state.bestModel,
            checkpointPath: directory?.checkpointPath, summary: summary)
    }

    /// The learning curve's title: the model and the dataset.
    var chartTitle: String { "\(config.summary) on \(dataset.manifest.name)" }

    /// One epoch: training steps over every batch, then the metrics of the three splits.
    private func runEpoch(_ epoch: Int, state: EpochState, observer: TrainingObserver) throws -> EpochRecord {
        let start = now()
        var lossSum = 0.0
        var done = 0
        var throttle = ProgressThrottle(epoch: epoch, total: state.source.rowCount, batch: options.batchSize, start: start)
        let pool = state.workspace.pool
        try state.source.forEachDeferredBatch { rows, targets, fill in
            let stepStart = pool.threads > 1 ? now() : 0
            pool.runsInline = pool.threads > 1 && state.threadChoice.nextRunsInline
            lossSum += model.trainStep(
                rows, targets: targets, workspace: state.workspace, optimizer: state.optimizer, random: &state.dropoutRandom,
                fill: fill)
            if pool.threads > 1 { state.threadChoice.record(seconds: now() - stepStart) }
            done += rows.rowCount
            throttle.batchDone(done, observer: observer)
        }
        let trained = now()
        model.prepareInference()
        var metrics: [Split: SplitMetrics] = [:]
        for split in Split.allCases {
            observer.evaluating?(epoch, split)
            metrics[split] = try evaluate(split, with: state.predictor)
        }
        return EpochRecord(
            epoch: epoch, trainLoss: lossSum / Double(state.source.rowCount), train: metrics[.train]!,
            validation: metrics[.validation]!, test: metrics[.test]!, trainSeconds: trained - start,
            evalSeconds: now() - trained)
    }

    private func evaluate(_ split: Split, with predictor: Predictor) throws -> SplitMetrics {
        let positive = dataset.manifest.labels.positive
        if let data = dataset[split] {
            return data.rowCount == 0 ? SplitMetrics() : predictor.evaluate(data, labelRange: dataset.labelRange, positive: positive)
        }
        return dataset.rowCount(split) == 0 ? SplitMetrics() : try predictor.evaluate(split, of: dataset)
    }

    /// The `.diverged` error for an epoch whose training loss, weights or metrics are not all finite.
    func divergence(of record: EpochRecord) -> NFMError? {
        let metric = config.loss == .squared ? "RMSE" : "log loss"
        func text<F: FloatingPoint>(_ value: F) -> String { value.isNaN ? "NaN" : "\(value)" }
        var problem: String?
        if !record.trainLoss.isFinite {
            problem = "the training loss is \(text(record.trainLoss))"
        } else if let bad = model.firstNonFiniteParameter() {
            problem = "parameter \(bad.name)[\(bad.index)] is \(text(bad.value))"
        } else {
            for split in Split.allCases where dataset.rowCount(split) > 0 {
                let m = record[split]
                if !m.primary.isFinite { problem = "the \(split.rawValue) \(metric) is \(text(m.primary))"; break }
                if let auc = m.auc, !auc.isFinite { problem = "the \(split.rawValue) AUC is \(text(auc))"; break }
            }
        }
        return problem.map {
            NFMError(.diverged, "training diverged at epoch \(record.epoch): \($0); lower --lr (now \(learningRate))")
        }
    }

    private func checkpoint(of model: Model, record: EpochRecord) throws -> Checkpoint {
        let training = Checkpoint.Training(
            epoch: record.epoch, seed: options.seed, optimizer: options.optimizer.rawValue, learningRate: learningRate,
            batchSize: options.batchSize, l2: options.l2, train: record.train, validation: record.validation,
            test: record.test)
        return Checkpoint(
            model: model, dataset: fingerprint, training: training, definition: dataset.manifest.definition,
            vocabularies: try vocabularies.get())
    }

    /// The dataset's vocabularies, read once (confined and hash-checked) for every checkpoint.
    private lazy var vocabularies = Result { try Checkpoint.vocabularies(of: dataset.manifest, directory: dataset.directory) }

    /// What a run carries from epoch to epoch: the batch source, the optimiser and its state, the dropout
    /// stream, the training workspace, the evaluation predictor and the best epoch's model.
    final class EpochState {
        let source: any BatchSource
        let optimizer: Optimizer
        let workspace: Workspace
        let predictor: Predictor
        let bestModel: Model
        var dropoutRandom: Xoshiro256
        /// Whether each step runs on the pool or on the calling thread (timed; the same bits either way).
        var threadChoice: ThreadChoice

        init(trainer: Trainer) {
            let options = trainer.options
            let shuffleRandom = Xoshiro256(seed: options.seed, stream: .shuffle)
            dropoutRandom = Xoshiro256(seed: options.seed, stream: .dropout)
            threadChoice = ThreadChoice(schedule: options.threadChoice)
            if let cached = trainer.dataset[.train] {
                let positive = trainer.dataset.manifest.labels.positive
                let targets = trainer.config.loss == .log ? cached.labels.map { $0 == positive ? 1 : 0 } : cached.labels
                source = CachedBatchSource(data: cached, targets: targets, batchSize: options.batchSize, random: shuffleRandom)
            } else {
                source = StreamedBatchSource(
                    dataset: trainer.dataset, batchSize: options.batchSize, shuffleRows: options.shuffleBuffer,
                    isLog: trainer.config.loss == .log, random: shuffleRandom)
            }
            optimizer = Optimizer(kind: options.optimizer, learningRate: trainer.learningRate, l2: options.l2)
            let pool = options.threads > 1
                ? WorkerPool(threads: options.threads, minimumParallelCost: options.minimumParallelCost) : .serial
            workspace = Workspace(model: trainer.model, capacity: options.batchSize, pool: pool)
            predictor = Predictor(model: trainer.model, threads: options.threads)
            bestModel = Model(config: trainer.config)
            bestModel.copyParameters(from: trainer.model)
        }
    }
}
