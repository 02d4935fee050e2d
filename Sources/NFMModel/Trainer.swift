import Dispatch
import Foundation
import NFMFormat
import NFMKernels

/// Options of a training run (everything but the architecture).
public struct TrainingOptions: Sendable {
    public var epochs = 200
    public var batchSize = 128
    public var optimizer: OptimizerKind = .adagrad
    /// nil: the optimiser's default (Adagrad 0.05).
    public var learningRate: Float?
    /// L2 on embedding rows (`λ/2·‖v‖²`, applied to the rows updated by a batch).
    public var l2: Float = 0
    public var earlyStop = true
    /// Stop when the validation metric worsened this many epochs in a row.
    public var patience = 4
    public var seed: UInt64 = 2016
    /// Threads for evaluation; training steps run on one thread, so results never depend on it.
    public var threads = 2
    /// An FM (or NFM) checkpoint whose embeddings, first-order weights and bias initialise the model.
    public var initFrom: String?
    /// Run directory for the checkpoint and the reports; nil writes nothing.
    public var outDirectory: String?
    /// Rows of the shuffle buffer when the dataset is streamed (shard order is shuffled too).
    public var shuffleBuffer = 1 << 17

    public init() {}

    public var resolvedLearningRate: Float { learningRate ?? optimizer.defaultLearningRate }
}

/// One epoch's row of the metrics table.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    /// Mean training loss per row over the epoch's batches (with dropout, before each update).
    public var trainLoss: Double
    public var train: SplitMetrics
    public var validation: SplitMetrics
    public var test: SplitMetrics
    public var trainSeconds: Double
    public var evalSeconds: Double
}

/// Callbacks for reporting; all optional.
public struct TrainingObserver {
    public var progress: ((_ epoch: Int, _ rowsDone: Int, _ rowsTotal: Int, _ seconds: Double) -> Void)?
    public var epochFinished: ((_ record: EpochRecord, _ isBest: Bool) -> Void)?
    public var message: ((String) -> Void)?
    public init(
        progress: ((Int, Int, Int, Double) -> Void)? = nil, epochFinished: ((EpochRecord, Bool) -> Void)? = nil,
        message: ((String) -> Void)? = nil
    ) {
        self.progress = progress
        self.epochFinished = epochFinished
        self.message = message
    }
}

public struct TrainingResult: Sendable {
    public var records: [EpochRecord]
    public var bestEpoch: Int
    public var stoppedEarly: Bool
    /// The best epoch's model (lowest validation metric).
    public var bestModel: Model
    public var checkpointPath: String?
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// Mini-batch training with a seeded per-epoch shuffle, per-epoch evaluation of the three splits and
/// the authors' early stopping.
public final class Trainer {
    public let dataset: Dataset
    public let config: ModelConfig
    public let options: TrainingOptions
    public let model: Model

    /// `config.fieldSizes` may be nil: Wide&Deep and DeepCross take their fields from the dataset's manifest
    /// (the trainer's `config` is the resolved one).
    public init(dataset: Dataset, config: ModelConfig, options: TrainingOptions) throws {
        guard options.batchSize > 0, options.epochs > 0, options.patience > 0 else {
            throw ModelError(.configuration, "--batch-size, --epochs and --patience must be positive")
        }
        guard config.featureCount == dataset.manifest.featureCount else {
            throw ModelError(.configuration, "model has \(config.featureCount) features, dataset \(dataset.manifest.featureCount)")
        }
        for split in [Split.train, .validation] where dataset.rowCount(split) == 0 {
            throw ModelError(.dataset, "\(dataset.directory): the \(split.rawValue) split is empty")
        }
        guard options.shuffleBuffer > 0 else { throw ModelError(.configuration, "--shuffle-buffer must be positive") }
        var config = config
        if config.kind.concatenatesFields { config.fieldSizes = try Self.fieldSizes(of: dataset, for: config) }
        try config.validate()
        self.dataset = dataset
        self.config = config
        self.options = options
        model = Model(config: config)
        model.initialize(seed: options.seed)
        if let path = options.initFrom { try pretrain(from: path) }
    }

    /// The field cardinalities of a dataset, for the models that concatenate per-field embeddings.
    static func fieldSizes(of dataset: Dataset, for config: ModelConfig) throws -> [Int] {
        let fields = dataset.manifest.fields
        var offset = 0
        for field in fields {
            guard field.offset == offset, field.cardinality > 0 else { break }
            offset += field.cardinality
        }
        guard !fields.isEmpty, offset == dataset.manifest.featureCount else {
            throw ModelError(
                .configuration,
                "\(dataset.directory): \(config.kind.rawValue) concatenates one embedding per field, but this dataset has no fixed fields (\(dataset.manifest.layout == .fixed ? "fixed" : "sparse") layout, \(fields.count) fields covering \(offset) of \(dataset.manifest.featureCount) features); use nfm, fm, hofm or lr, or build the data with fields")
        }
        let sizes = fields.map(\.cardinality)
        if let given = config.fieldSizes, given != sizes {
            throw ModelError(.configuration, "the model's field sizes \(given) differ from the dataset's \(sizes)")
        }
        return sizes
    }

    /// Pre-training (He & Chua, Fig. 1 and §4.3): copies a checkpoint's embeddings (HOFM: its order-2
    /// embeddings `P`), first-order weights and bias into the model, where both models have them. The
    /// checkpoint must come from a dataset with the same features and have the same k. A HOFM source
    /// also initialises a HOFM's order-3 embeddings.
    private func pretrain(from path: String) throws {
        let checkpoint = try Checkpoint.load(path: path)
        try checkpoint.header.dataset.checkCompatible(
            with: DatasetFingerprint(manifest: dataset.manifest, sha256: dataset.manifestSHA256), directory: dataset.directory)
        let source = checkpoint.model
        guard source.config.kind != .lr || config.kind == .lr, source.config.factors == config.factors else {
            throw ModelError(
                .configuration,
                "\(path): a \(source.config.kind.rawValue) checkpoint with k=\(source.config.factors) cannot initialise a \(config.kind.rawValue) model with k=\(config.factors)")
        }
        model.bias.copy(from: source.bias)
        if config.kind.hasLinearPart && source.config.kind.hasLinearPart { model.linear.copy(from: source.linear) }
        if config.kind != .lr { model.embeddings.copy(from: source.embeddings) }
        if config.kind == .hofm && source.config.kind == .hofm { model.embeddings3.copy(from: source.embeddings3) }
    }

    public var fingerprint: DatasetFingerprint {
        DatasetFingerprint(manifest: dataset.manifest, sha256: dataset.manifestSHA256)
    }

    public func run(observer: TrainingObserver = TrainingObserver()) throws -> TrainingResult {
        let cached = dataset[.train]
        let n = dataset.rowCount(.train)
        let batch = options.batchSize
        let positive = dataset.manifest.labels.positive
        let isLog = config.loss == .log
        let targets: [Float] = cached.map { isLog ? $0.labels.map { $0 == positive ? 1 : 0 } : $0.labels } ?? []
        let optimizer = Optimizer(kind: options.optimizer, learningRate: options.resolvedLearningRate, l2: options.l2)
        let maxEntries = cached?.maxEntriesPerRow ?? dataset.manifest.fields.count
        let workspace = Workspace(model: model, capacity: batch)
        let predictor = Predictor(model: model, threads: options.threads)
        var shuffleRandom = Xoshiro256(seed: options.seed ^ 0x5348_5546)  // "SHUF"
        var dropoutRandom = Xoshiro256(seed: options.seed ^ 0x4452_4F50)  // "DROP"
        var order = [Int32](0..<Int32(cached == nil ? 0 : n))
        let streamer = cached == nil ? ShuffleBuffer(rows: min(options.shuffleBuffer, n), fieldCount: maxEntries) : nil
        let batchIndices = UnsafeMutablePointer<UInt32>.allocate(capacity: batch * maxEntries)
        let batchOffsets = UnsafeMutablePointer<UInt32>.allocate(capacity: batch + 1)
        let batchValues = UnsafeMutablePointer<Float>.allocate(capacity: batch * maxEntries)
        let batchTargets = UnsafeMutablePointer<Float>.allocate(capacity: batch)
        batchOffsets[0] = 0
        defer {
            batchIndices.deallocate()
            batchOffsets.deallocate()
            batchValues.deallocate()
            batchTargets.deallocate()
        }

        var records: [EpochRecord] = []
        var best: (epoch: Int, metric: Double)? = nil
        let bestModel = Model(config: config)
        bestModel.copyParameters(from: model)
        var worsening = 0
        var stoppedEarly = false
        var checkpointPath: String? = nil
        if let out = options.outDirectory {
            try FileSystem.createDirectory(out)
            checkpointPath = out + "/model.nfmc"
        }

        for epoch in 1...options.epochs {
            let start = now()
            var lossSum = 0.0
            var lastReport = start
            var done = 0
            func step(_ view: SparseRows, rows: Int) {
                lossSum += model.trainStep(
                    view, targets: batchTargets, workspace: workspace, optimizer: optimizer, random: &dropoutRandom)
                done += rows
                if let progress = observer.progress, done & 0x3FFF < batch {
                    let t = now()
                    if t - lastReport > 0.1 {
                        lastReport = t
                        progress(epoch, done, n, t - start)
                    }
                }
            }
            if let train = cached {
                // Fisher–Yates over the training rows with the run's seed.
                for i in stride(from: n - 1, to: 0, by: -1) {
                    order.swapAt(i, shuffleRandom.next(below: i + 1))
                }
                while done < n {
                    let rows = min(batch, n - done)
                    switch train.layout {
                    case .fixed:
                        let f = train.fieldCount
                        train.indices.withUnsafeBufferPointer { source in
                            for r in 0..<rows {
                                let row = Int(order[done + r])
                                (batchIndices + r * f).update(from: source.baseAddress! + row * f, count: f)
                            }
                        }
                        for r in 0..<rows { batchTargets[r] = targets[Int(order[done + r])] }
                        step(SparseRows(rowCount: rows, fieldCount: f, indices: batchIndices), rows: rows)
                    case .sparse:
                        var cursor = 0
                        for r in 0..<rows {
                            let row = Int(order[done + r])
                            batchTargets[r] = targets[row]
                            for e in Int(train.offsets[row])..<Int(train.offsets[row + 1]) {
                                batchIndices[cursor] = train.indices[e]
                                batchValues[cursor] = train.values[e]
                                cursor += 1
                            }
                            batchOffsets[r + 1] = UInt32(cursor)
                        }
                        step(
                            SparseRows(
                                rowCount: rows, fieldCount: 0, indices: batchIndices, offsets: batchOffsets,
                                values: batchValues),
                            rows: rows)
                    }
                }
            } else {
                // Streamed: shards in a seeded random order through a seeded shuffle buffer.
                let f = maxEntries
                var filled = 0
                func emit(_ features: UnsafePointer<UInt32>, _ label: Float) {
                    (batchIndices + filled * f).update(from: features, count: f)
                    batchTargets[filled] = isLog ? (label == positive ? 1 : 0) : label
                    filled += 1
                    if filled == batch {
                        step(SparseRows(rowCount: filled, fieldCount: f, indices: batchIndices), rows: filled)
                        filled = 0
                    }
                }
                var shardOrder = Array(dataset.manifest.shards(in: .train).indices)
                for i in stride(from: shardOrder.count - 1, to: 0, by: -1) {
                    shardOrder.swapAt(i, shuffleRandom.next(below: i + 1))
                }
                try dataset.forEachShard(of: .train, order: shardOrder) { data in
                    data.indices.withUnsafeBufferPointer { rows in
                        for r in 0..<data.rowCount {
                            streamer!.push(rows.baseAddress! + r * f, data.labels[r], random: &shuffleRandom, emit: emit)
                        }
                    }
                }
                streamer!.drain(random: &shuffleRandom, emit: emit)
                if filled > 0 { step(SparseRows(rowCount: filled, fieldCount: f, indices: batchIndices), rows: filled) }
            }
            let trained = now()
            model.prepareInference()
            let labelRange = dataset.labelRange
            func evaluate(_ split: Split) throws -> SplitMetrics {
                if let data = dataset[split] {
                    return data.rowCount == 0 ? SplitMetrics() : predictor.evaluate(data, labelRange: labelRange, positive: positive)
                }
                return dataset.rowCount(split) == 0 ? SplitMetrics() : try predictor.evaluate(split, of: dataset)
            }
            let record = EpochRecord(
                epoch: epoch, trainLoss: lossSum / Double(n), train: try evaluate(.train),
                validation: try evaluate(.validation), test: try evaluate(.test), trainSeconds: trained - start,
                evalSeconds: now() - trained)
            let metric = record.validation.primary
            guard metric.isFinite else {
                records.append(record)
                observer.epochFinished?(record, false)
                throw ModelError(.configuration, "training diverged at epoch \(epoch) (validation metric \(metric)); lower --lr")
            }
            let previous = records.last?.validation.primary
            records.append(record)
            var isBest = false
            if best == nil || metric < best!.metric {
                best = (epoch, metric)
                isBest = true
                bestModel.copyParameters(from: model)
                bestModel.prepareInference()
                if let path = checkpointPath { try saveCheckpoint(bestModel, record: record, to: path) }
            }
            observer.epochFinished?(record, isBest)
            if let out = options.outDirectory { try Reports.writeTables(records: records, loss: config.loss, to: out) }
            if let previous, metric > previous { worsening += 1 } else { worsening = 0 }
            if options.earlyStop && worsening >= options.patience {
                stoppedEarly = true
                observer.message?("early stop: validation worsened \(worsening) epochs in a row; best epoch \(best!.epoch)")
                break
            }
        }
        return TrainingResult(
            records: records, bestEpoch: best?.epoch ?? 0, stoppedEarly: stoppedEarly, bestModel: bestModel,
            checkpointPath: checkpointPath)
    }

    private func saveCheckpoint(_ model: Model, record: EpochRecord, to path: String) throws {
        let training = Checkpoint.Training(
            epoch: record.epoch, seed: options.seed, optimizer: options.optimizer.rawValue,
            learningRate: options.resolvedLearningRate, batchSize: options.batchSize, l2: options.l2,
            train: record.train, validation: record.validation, test: record.test)
        let checkpoint = Checkpoint(
            model: model, dataset: fingerprint, training: training, definition: dataset.manifest.definition,
            vocabularies: try vocabularies.get())
        try checkpoint.write(to: path)
    }

    private lazy var vocabularies = Result { try Checkpoint.vocabularies(of: dataset.manifest, directory: dataset.directory) }
}
