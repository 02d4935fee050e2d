import ArgumentParser
import Foundation
import NFMFormat
import NFMModel

/// Runs a training command through the one error mapper (kept as a name for the command files).
func runModelCommand(_ body: () throws -> Void) throws { try runMapped(body) }

/// Splits a comma-separated option value; a part that does not parse is a `.usage` error naming the option.
func parseList<T>(_ text: String, _ name: String, _ parse: (String) -> T?) throws -> [T] {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    return try parts.map {
        guard let value = parse($0) else {
            throw NFMError(.usage, "not a valid value", at: .init(field: name, value: String($0)))
        }
        return value
    }
}

extension ModelKind: ExpressibleByArgument {}
extension Activation: ExpressibleByArgument {}
extension LossKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}

struct Train: ParsableCommand {
    /// The default dropout ratios of every model kind, for the help text (from `ModelDefaults`).
    static var dropoutDefaults: String {
        let kinds: [(String, ModelKind)] = [("nfm", .nfm), ("fm and hofm", .fm), ("wide-deep and deep-cross", .wideDeep)]
        return kinds.map { "\($0.0) \(ModelDefaults.of($0.1).dropoutText)" }.joined(separator: "; ")
    }

    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an NFM, FM, LR, Wide&Deep, DeepCross or HOFM model on a dataset directory.",
        discussion: """
            Defaults are the paper's Frappe settings (He & Chua, SIGIR 2017): k=64, one hidden layer of 64, ReLU, \
            dropout 0.5 on the Bi-Interaction layer and 0.2 on the hidden layer, batch norm, Adagrad lr 0.05, batch 128, \
            squared loss, early stopping after 4 worsening epochs. FM defaults to dropout 0.5 on the Bi-Interaction \
            layer and no batch norm (the authors' FM.py). The paper's baselines: wide-deep (hidden layers 1024,512,256 on \
            the concatenated field embeddings, plus the linear part), deep-cross (residual units 512,512,256,128,64) and \
            hofm (order 3); see docs/TRAINING.md for their defaults and for the limits on every option.

            Writes OUT/model.nfmc (the best epoch's model), OUT/metrics.csv, OUT/curve.svg and OUT/summary.json. OUT \
            must be absent or empty; --force replaces an earlier run directory (never a directory nfm did not write, \
            the dataset, or a directory inside it). A run whose loss, weights or metrics become NaN or infinite stops \
            with exit status 2 and leaves no run directory.
            """)

    @Argument(help: "The dataset directory (written by `nfm build`).")
    var dataset: String

    @Option(help: "Model: nfm, fm, lr, wide-deep, deep-cross or hofm.")
    var model: ModelKind = .nfm

    @Option(help: "Embedding size k (1…\(TrainingLimits.maxFactors)).")
    var factors: Int = ModelDefaults.of(.nfm).factors

    @Option(
        help: "Hidden layer widths, e.g. 64 or 64,32; 0 or an empty string for NFM-0 (default: nfm 64, wide-deep 1024,512,256, deep-cross residual units 512,512,256,128,64; at most \(TrainingLimits.maxLayerCount) layers of at most \(TrainingLimits.maxLayerWidth)).")
    var layers: String?

    @Option(help: "Hidden-layer activation: relu, sigmoid, tanh or identity.")
    var activation: Activation = .relu

    @Option(
        help: "Dropout ratios in [0, 1): Bi-Interaction (wide-deep, deep-cross: the concatenated embeddings; hofm: both interaction vectors) first, then each hidden layer or residual unit (the last repeats). Default: \(Train.dropoutDefaults).")
    var dropout: String?

    @Flag(inversion: .prefixedNo, help: "Batch norm on the Bi-Interaction output and each hidden layer (default: on for nfm, off for the others; wide-deep: hidden layers only; never for lr, hofm, deep-cross).")
    var batchNorm: Bool?

    @Option(help: "Optimizer: adagrad, adam, sgd or momentum.")
    var optimizer: OptimizerKind = .adagrad

    @Option(help: "Learning rate (default: adagrad 0.05, but 0.01 for wide-deep and deep-cross; adam, sgd and momentum 0.001; the loss is summed over the batch).")
    var lr: Float?

    @Option(help: "Rows per mini-batch (1…\(TrainingLimits.maxBatchSize)).")
    var batchSize: Int = 128

    @Option(help: "Maximum number of epochs (1…\(TrainingLimits.maxEpochs)).")
    var epochs: Int = 200

    @Option(help: "L2 regularisation λ on the embeddings (λ/2·‖v‖² on the rows a batch updates).")
    var l2: Float = 0

    @Option(help: "Loss: squared (RMSE) or log (log loss and AUC).")
    var loss: LossKind = .squared

    @Flag(inversion: .prefixedNo, help: "Stop when the validation metric worsens --patience epochs in a row.")
    var earlyStop = true

    @Option(help: "Consecutive worsening epochs before early stopping (1…\(TrainingLimits.maxEpochs)).")
    var patience: Int = 4

    @Option(help: "Initialise embeddings, first-order weights and bias from an FM checkpoint of the same k (pre-training; hofm: its order-2 embeddings).")
    var initFrom: String?

    @Option(help: "Stop after the first epoch whose validation metric (RMSE, or log loss) is at or below this value; summary.json's target records the epoch and the training seconds up to it.")
    var stopAt: Double?

    @Option(help: "Seed for initialisation, shuffling and dropout.")
    var seed: UInt64 = 2016

    @Option(help: "Threads of each training step and of evaluation, 1…\(TrainingLimits.maxThreads) (default: all cores; metrics and checkpoints are the same bits for every value).")
    var threads: Int = min(ProcessInfo.processInfo.activeProcessorCount, TrainingLimits.maxThreads)

    @Option(help: "Cache the decoded splits in memory up to this many MiB (0…\(TrainingLimits.maxCacheMiB)); larger datasets are streamed from their shards.")
    var cacheMib: Int = Dataset.defaultCacheBytes >> 20

    @Flag(help: "Stream the shards (seeded shard order and shuffle buffer) even when the data would fit in memory.")
    var stream = false

    @Option(help: "Rows in the shuffle buffer when streaming (1…\(TrainingLimits.maxShuffleBuffer)).")
    var shuffleBuffer: Int = 1 << 17

    @Option(help: "Run directory (default: runs/<dataset name>-<model>).")
    var out: String?

    @Flag(help: "Replace an existing run directory (only one that nfm wrote).")
    var force = false

    @Flag(help: "Print the JSON summary (summary.json) on standard output.")
    var json = false

    @Flag(help: "No per-epoch lines or progress on standard error.")
    var quiet = false

    /// The training options, checked against their ranges (`.configuration`, exit 2).
    func trainingOptions() throws -> TrainingOptions {
        var options = TrainingOptions()
        options.epochs = epochs
        options.batchSize = batchSize
        options.optimizer = optimizer
        options.learningRate = lr
        options.l2 = l2
        options.earlyStop = earlyStop
        options.patience = patience
        options.seed = seed
        options.threads = threads
        options.shuffleBuffer = shuffleBuffer
        options.initFrom = initFrom
        options.stopAt = stopAt
        try options.validate()
        try TrainingLimits.check(cacheMib, in: 0...TrainingLimits.maxCacheMiB, option: "--cache-mib")
        return options
    }

    /// The model configuration; `--dropout` and `--layers` are parsed and range-checked here, the rest of the
    /// configuration once the dataset's features are known.
    func modelConfig(featureCount: Int) throws -> ModelConfig {
        let widths = try layers.map { try parseList($0, "--layers") { Int($0) } }
        for width in widths ?? [] { try TrainingLimits.check(width, in: 0...TrainingLimits.maxLayerWidth, option: "--layers") }
        let ratios = try dropout.map { try parseList($0, "--dropout") { Float($0) } }
        for ratio in ratios ?? [] where !(ratio >= 0 && ratio < 1) {
            throw NFMError(.configuration, "ratios must be in [0, 1)", at: .init(field: "--dropout", value: "\(ratio)"))
        }
        if model != .lr { try TrainingLimits.check(factors, in: 1...TrainingLimits.maxFactors, option: "--factors") }
        return ModelConfig(
            kind: model, featureCount: featureCount, factors: factors, layers: widths, activation: activation,
            biDropout: ratios?.first ?? (ratios == nil ? nil : 0), hiddenDropout: ratios.map { Array($0.dropFirst()) },
            batchNorm: batchNorm, loss: loss)
    }

    func run() throws {
        try runMapped {
            let options = try trainingOptions()
            _ = try modelConfig(featureCount: 1)
            let data = try Dataset.load(directory: dataset, cacheBytes: cacheMib << 20, stream: stream)
            let trainer = try Trainer(dataset: data, config: try modelConfig(featureCount: data.manifest.featureCount), options: options)
            let path = out ?? RunDirectory.defaultPath(datasetName: data.manifest.name, model: model)
            let directory = try RunDirectory.claim(path, force: force, inputs: [dataset] + (initFrom.map { [$0] } ?? []))
            let result: TrainingResult
            do {
                if !quiet { Diagnostics.write(introduction(trainer) + "\n") }
                result = try trainer.run(in: directory, observer: observer())
                directory.commit()
            } catch {
                directory.abandon()
                throw error
            }
            if !quiet, let best = result.summary.best {
                Diagnostics.write(
                    String(
                        format: "best epoch %d: validation %@ %@, test %@; median epoch %.3f s train + %.3f s eval; saved %@\n",
                        best.epoch, metricName, format(best.validation), format(best.test),
                        result.summary.timing.trainSecondsMedian, result.summary.timing.evalSecondsMedian, directory.path))
            }
            if json { print(try result.summary.encoded(), terminator: "") }
        }
    }

    private var metricName: String { loss == .squared ? "rmse" : "logloss" }

    private func format(_ m: SplitMetrics) -> String {
        var text = String(format: "%.4f", m.primary)
        if let auc = m.auc { text += String(format: " (auc %.4f)", auc) }
        return text
    }

    private func introduction(_ trainer: Trainer) -> String {
        let data = trainer.dataset
        let rows = Split.allCases.map { "\($0.rawValue) \(data.rowCount($0))" }.joined(separator: ", ")
        return "training \(trainer.config.summary) on \(dataset) (\(rows) rows, \(trainer.config.featureCount) features, "
            + "\(trainer.model.trainableParameterCount) parameters\(data.streamed ? ", streamed" : "")); "
            + "\(optimizer.rawValue) lr \(trainer.learningRate), batch \(batchSize), seed \(seed)"
    }

    /// Progress on a terminal; one line per epoch and the early-stop message unless `--quiet`.
    private func observer() -> TrainingObserver {
        let progress = TrainingProgress(enabled: !quiet)
        let quiet = quiet
        let metricName = metricName
        return TrainingObserver(
            progress: { progress.training(epoch: $0, done: $1, total: $2, seconds: $3) },
            evaluating: { progress.evaluating(epoch: $0, split: $1) },
            epochFinished: { record, isBest in
                progress.clear()
                guard !quiet else { return }
                Diagnostics.write(
                    String(
                        format: "epoch %3d  train %@ %@  validation %@  test %@  [train %.2f s, eval %.2f s]%@\n",
                        record.epoch, metricName, format(record.train), format(record.validation), format(record.test),
                        record.trainSeconds, record.evalSeconds, isBest ? "  *" : ""))
            },
            message: { text in if !quiet { Diagnostics.write(text + "\n") } })
    }
}
