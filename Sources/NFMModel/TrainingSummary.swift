import Foundation
import NFMFormat

/// The JSON summary of a training run (`summary.json`, and stdout with `nfm train --json`): the dataset,
/// the model, every training setting (including the epoch limit, early stopping and patience), the best
/// epoch, timing and every epoch's record.
public struct TrainingSummary: Codable, Sendable {
    /// Wall time of the run's epochs, in seconds.
    public struct Timing: Codable, Sendable {
        public var epochs: Int
        public var trainSecondsMin: Double
        public var trainSecondsMedian: Double
        public var trainSecondsMax: Double
        public var evalSecondsMedian: Double
        public var totalSeconds: Double
    }

    public var tool = ToolInfo.name
    public var dataset: String
    public var datasetName: String
    public var manifestSHA256: String
    public var model: ModelConfig
    public var optimizer: String
    public var learningRate: Float
    public var batchSize: Int
    public var l2: Float
    public var seed: UInt64
    public var threads: Int
    public var initFrom: String?
    /// The epoch limit (`--epochs`).
    public var epochLimit: Int
    /// Whether early stopping was on (`--early-stop`), and its patience in epochs.
    public var earlyStop: Bool
    public var patience: Int
    /// Whether the training rows were streamed from the shards (with this shuffle buffer) or cached.
    public var streamed: Bool
    public var shuffleBuffer: Int?
    public var bestEpoch: Int
    public var stoppedEarly: Bool
    public var best: EpochRecord?
    public var timing: Timing
    public var checkpoint: String?
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
            evalSecondsMedian: evals.isEmpty ? 0 : evals[evals.count / 2], totalSeconds: totalSeconds)
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
