import NFMFormat

/// Options of a training run (everything but the architecture).
public struct TrainingOptions: Sendable {
    /// The epoch limit (1…`TrainingLimits.maxEpochs`).
    public var epochs = 200
    /// Rows per mini-batch (1…`TrainingLimits.maxBatchSize`).
    public var batchSize = 128
    /// Adagrad (the paper's), Adam, SGD or momentum.
    public var optimizer: OptimizerKind = .adagrad
    /// nil: the model kind's default for the optimiser (`ModelDefaults.learningRate`).
    public var learningRate: Float?
    /// L2 on embedding rows (`λ/2·‖v‖²`, applied to the rows updated by a batch).
    public var l2: Float = 0
    /// Stop early (see `patience`) or run every epoch.
    public var earlyStop = true
    /// Stop when the validation metric worsened this many epochs in a row.
    public var patience = 4
    /// Seed of initialisation, shuffling and dropout.
    public var seed: UInt64 = 2016
    /// Threads of each training step and of evaluation (1…`TrainingLimits.maxThreads`). Metrics, predictions
    /// and checkpoints are bit-identical for every value: each step's work is cut into tasks fixed by the
    /// batch's shape, never by the thread count (`WorkerPool+Batch.swift`, docs/TRAINING.md).
    public var threads = 2
    /// An FM (or NFM) checkpoint whose embeddings, first-order weights and bias initialise the model.
    public var initFrom: String?
    /// Run directory for the checkpoint and the reports, claimed by `Trainer.run(observer:)` (refused when
    /// it exists and is not empty); nil writes nothing. Callers that need `--force` or that add files of
    /// their own pass a `RunDirectory` to `Trainer.run(in:observer:)` instead.
    public var outDirectory: String?
    /// Rows of the shuffle buffer when the dataset is streamed (shard order is shuffled too).
    public var shuffleBuffer = 1 << 17
    /// A validation target: training stops after the first epoch whose validation metric (RMSE, or log
    /// loss) is at or below it; nil trains on (time to accuracy: `TrainingSummary.target`).
    public var stopAt: Double?
    /// The `WorkerPool.minimumParallelCost` of the training workspace (tests set 0 to run every job of
    /// their small batches on the pool).
    var minimumParallelCost = 100_000
    /// How steps are timed to choose between the pool and the calling thread (`ThreadChoice`; tests
    /// switch modes every few steps).
    var threadChoice = ThreadChoice.Schedule.standard

    /// The paper's Frappe settings: 200 epochs, batch 128, Adagrad, early stopping after 4 epochs.
    public init() {}

    /// The learning rate a `kind` model trains with: `learningRate`, or the kind's default.
    public func resolvedLearningRate(for kind: ModelKind) -> Float {
        learningRate ?? ModelDefaults.learningRate(kind, optimizer: optimizer)
    }

    /// Checks every option against its range (`TrainingLimits`); throws `.configuration` naming the option.
    public func validate() throws {
        try TrainingLimits.check(epochs, in: 1...TrainingLimits.maxEpochs, option: "--epochs")
        try TrainingLimits.check(batchSize, in: 1...TrainingLimits.maxBatchSize, option: "--batch-size")
        try TrainingLimits.check(patience, in: 1...TrainingLimits.maxEpochs, option: "--patience")
        try TrainingLimits.check(threads, in: 1...TrainingLimits.maxThreads, option: "--threads")
        try TrainingLimits.check(shuffleBuffer, in: 1...TrainingLimits.maxShuffleBuffer, option: "--shuffle-buffer")
        if let learningRate, !(learningRate > 0 && learningRate.isFinite) {
            throw NFMError(.configuration, "must be a positive finite number", at: .init(field: "--lr", value: "\(learningRate)"))
        }
        if let stopAt, !(stopAt > 0 && stopAt.isFinite) {
            throw NFMError(.configuration, "must be a positive finite number", at: .init(field: "--stop-at", value: "\(stopAt)"))
        }
        guard l2 >= 0 && l2.isFinite else {
            throw NFMError(.configuration, "must be a finite number ≥ 0", at: .init(field: "--l2", value: "\(l2)"))
        }
    }
}

/// One epoch's row of the metrics table.
public struct EpochRecord: Codable, Sendable, Equatable {
    /// 1-based epoch number.
    public var epoch: Int
    /// Mean training loss per row over the epoch's batches (with dropout, before each update).
    public var trainLoss: Double
    /// Metrics of the training split after the epoch (inference mode).
    public var train: SplitMetrics
    /// Metrics of the validation split after the epoch (inference mode).
    public var validation: SplitMetrics
    /// Metrics of the test split after the epoch (inference mode).
    public var test: SplitMetrics
    /// Wall seconds of the epoch's training steps.
    public var trainSeconds: Double
    /// Wall seconds of the epoch's evaluation of all three splits.
    public var evalSeconds: Double

    /// The split's metrics.
    public subscript(split: Split) -> SplitMetrics {
        switch split {
        case .train: train
        case .validation: validation
        case .test: test
        }
    }
}

/// What `Trainer.run` returns.
public struct TrainingResult: Sendable {
    /// One record per epoch run.
    public var records: [EpochRecord]
    /// The epoch with the lowest validation metric.
    public var bestEpoch: Int
    /// Whether early stopping ended the run before the epoch limit.
    public var stoppedEarly: Bool
    /// The best epoch's model (lowest validation metric).
    public var bestModel: Model
    /// The run directory's `model.nfmc`, when the run wrote one.
    public var checkpointPath: String?
    /// The run's summary (also the run directory's `summary.json`).
    public var summary: TrainingSummary
}
