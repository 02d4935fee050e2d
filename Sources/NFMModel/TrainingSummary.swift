import Foundation
import NFMFormat

/// The JSON summary of a training run (`summary.json`, and stdout with `nfm train --json`): the dataset,
/// the model, every training setting (including the epoch limit, early stopping and patience), the best
/// epoch, timing and every epoch's record.
public struct TrainingSummary: Codable, Sendable {
    /// Wall time of the run's epochs, in seconds.
    public struct Timing: Codable, Sendable {
        /// Number of epochs run.
        public var epochs: Int
        /// The fastest epoch's training time.
        public var trainSecondsMin: Double
        /// The median epoch's training time (the upper median for an even count).
        public var trainSecondsMedian: Double
        /// The slowest epoch's training time.
        public var trainSecondsMax: Double
        /// The median epoch's evaluation time (all three splits).
        public var evalSecondsMedian: Double
        /// Wall time from the trainer's creation to the summary (dataset loading excluded).
        public var totalSeconds: Double
        /// Training seconds summed up to each epoch (evaluation excluded): entry `i` is the training time
        /// of epochs 1…i+1, so the time to reach an accuracy can be read off the epoch that reached it.
        public var cumulativeTrainSeconds: [Double]?
    }

    /// The validation target of `--stop-at` and when it was reached.
    public struct Target: Codable, Sendable {
        /// The target validation metric (RMSE, or log loss).
        public var value: Double
        /// The first epoch whose validation metric was at or below it; nil when no epoch reached it.
        public var epoch: Int?
        /// Training seconds (evaluation excluded) of the epochs up to and including `epoch`.
        public var trainSeconds: Double?
    }

    /// The name of the tool that wrote it.
    public var tool = ToolInfo.name
    /// The dataset directory, as given.
    public var dataset: String
    /// The dataset's name in its manifest.
    public var datasetName: String
    /// SHA-256 of the dataset's `manifest.json`, lowercase hexadecimal.
    public var manifestSHA256: String
    /// The model's architecture and hyperparameters.
    public var model: ModelConfig
    /// The optimiser's name (`OptimizerKind.rawValue`).
    public var optimizer: String
    /// The learning rate used (the given one or `ModelDefaults.learningRate`).
    public var learningRate: Float
    /// Instances per mini-batch.
    public var batchSize: Int
    /// The L2 regularisation coefficient λ.
    public var l2: Float
    /// The run's seed.
    public var seed: UInt64
    /// Threads of every training step and of evaluation (results never depend on it).
    public var threads: Int
    /// The checkpoint whose parameters initialised the model (`--init-from`), if any.
    public var initFrom: String?
    /// The epoch limit (`--epochs`).
    public var epochLimit: Int
    /// Whether early stopping was on (`--early-stop`), and its patience in epochs.
    public var earlyStop: Bool
    /// Consecutive worsening epochs that stop the run.
    public var patience: Int
    /// Whether the training rows were streamed from the shards (with this shuffle buffer) or cached.
    public var streamed: Bool
    /// Rows of the streaming shuffle buffer; nil when cached.
    public var shuffleBuffer: Int?
    /// The epoch with the lowest validation metric (its model is the checkpoint).
    public var bestEpoch: Int
    /// Whether early stopping ended the run before the epoch limit.
    public var stoppedEarly: Bool
    /// The best epoch's record.
    public var best: EpochRecord?
    /// Wall times of the epochs.
    public var timing: Timing
    /// The `--stop-at` target and the epoch that reached it (nil without a target).
    public var target: Target?
    /// The path of the saved checkpoint; nil when none was written.
    public var checkpoint: String?
    /// Every epoch's record, in order.
    public var epochs: [EpochRecord]

    /// The summary of `trainer`'s run that produced `records`.
    public init(
        trainer: Trainer, records: [EpochRecord], bestEpoch: Int, stoppedEarly: Bool, checkpoint: String?,
        totalSeconds: Double
    ) {
        dataset = trainer.dataset.directory
        datasetName = trainer.dataset.manifest.name
        manifestSHA256 = trainer.dataset.manifestSHA256
        model = trainer.config
        optimizer = trainer.options.optimizer.rawValue
        learningRate = trainer.learningRate
        batchSize = trainer.options.batchSize
        l2 = trainer.options.l2
        seed = trainer.options.seed
        threads = trainer.options.threads
        initFrom = trainer.options.initFrom
        epochLimit = trainer.options.epochs
        earlyStop = trainer.options.earlyStop
        patience = trainer.options.patience
        streamed = trainer.dataset[.train] == nil
        shuffleBuffer = streamed ? trainer.options.shuffleBuffer : nil
        self.bestEpoch = bestEpoch
        self.stoppedEarly = stoppedEarly
        best = records.first { $0.epoch == bestEpoch }
        let times = records.map(\.trainSeconds).sorted()
        let evals = records.map(\.evalSeconds).sorted()
        timing = Timing(
            epochs: records.count, trainSecondsMin: times.first ?? 0,
            trainSecondsMedian: times.isEmpty ? 0 : times[times.count / 2], trainSecondsMax: times.last ?? 0,
            evalSecondsMedian: evals.isEmpty ? 0 : evals[evals.count / 2], totalSeconds: totalSeconds,
            cumulativeTrainSeconds: [])
        var cumulative: [Double] = []
        for record in records { cumulative.append((cumulative.last ?? 0) + record.trainSeconds) }
        timing.cumulativeTrainSeconds = cumulative
        if let value = trainer.options.stopAt {
            let index = records.firstIndex { $0.validation.primary <= value }
            target = Target(value: value, epoch: index.map { records[$0].epoch }, trainSeconds: index.map { cumulative[$0] })
        }
        self.checkpoint = checkpoint
        epochs = records
    }

    /// Pretty-printed JSON with sorted keys and a final newline (non-finite numbers as "nan", "inf").
    public func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }
}
