import ArgumentParser
import Foundation
import NFMFormat
import NFMModel

/// Runs a training command through the one error mapper (kept as a name for the command files).
func runModelCommand(_ body: () throws -> Void) throws { try runMapped(body) }

func parseList<T>(_ text: String, _ name: String, _ parse: (String) -> T?) throws -> [T] {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    return try parts.map {
        guard let value = parse($0) else { throw ValidationError("\(name): '\($0)' is not a valid value") }
        return value
    }
}

extension ModelKind: ExpressibleByArgument {}
extension Activation: ExpressibleByArgument {}
extension LossKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}

struct Train: ParsableCommand {
    /// Default dropout of Wide&Deep and DeepCross: on the concatenated embeddings, then after each hidden
    /// layer or residual unit.
    static let baselineDropout = "0.2,0.5"

    /// Adagrad's default learning rate is 0.05 (the paper's), but 0.01 for Wide&Deep and DeepCross: with
    /// the authors' initial accumulator of 1e-8 each weight's first step is ≈ ±lr, which at 0.05 blows up
    /// their deep layers (DeepCross's first-epoch training loss reached 10⁸ on Frappe) and wipes out FM
    /// pre-training (docs/TRAINING-BENCHMARKS.md).
    static func defaultLearningRate(_ kind: ModelKind, _ optimizer: OptimizerKind) -> Float? {
        kind.concatenatesFields && optimizer == .adagrad ? 0.01 : nil
    }

    static func defaultDropout(_ kind: ModelKind) -> String {
        switch kind {
        case .nfm: "0.5,0.2"
        case .fm, .hofm: "0.5"
        case .lr: "0"
        case .wideDeep, .deepCross: baselineDropout
        }
    }

    static let configuration = CommandConfiguration(
        abstract: "Train an NFM, FM, LR, Wide&Deep, DeepCross or HOFM model on a dataset directory.",
        discussion: """
            Defaults are the paper's Frappe settings (He & Chua, SIGIR 2017): k=64, one hidden layer of 64,
            ReLU, dropout 0.5 on the Bi-Interaction layer and 0.2 on the hidden layer, batch norm, Adagrad
            lr 0.05, batch 128, squared loss, early stopping after 4 worsening epochs. FM defaults to
            dropout 0.5 on the Bi-Interaction layer and no batch norm (the authors' FM.py). The paper's
            baselines: wide-deep (hidden layers 1024,512,256 on the concatenated field embeddings, plus the
            linear part), deep-cross (residual units 512,512,256,128,64) and hofm (order 3); see
            docs/TRAINING.md for their defaults.
            Writes OUT/model.nfmc (the best epoch's model), OUT/metrics.csv, OUT/curve.svg, OUT/summary.json.
            """)

    @Argument(help: "The dataset directory (written by `nfm build`).")
    var dataset: String

    @Option(help: "Model: nfm, fm, lr, wide-deep, deep-cross or hofm.")
    var model: ModelKind = .nfm

    @Option(help: "Embedding size k.")
    var factors: Int = 64

    @Option(
        help: "Hidden layer widths, e.g. 64 or 64,32; 0 or an empty string for NFM-0 (default: nfm 64, wide-deep 1024,512,256, deep-cross residual units 512,512,256,128,64).")
    var layers: String?

    @Option(help: "Hidden-layer activation: relu, sigmoid, tanh or identity.")
    var activation: Activation = .relu

    @Option(
        help: "Dropout ratios: Bi-Interaction (wide-deep, deep-cross: the concatenated embeddings; hofm: both interaction vectors) first, then each hidden layer or residual unit (the last repeats). Default: nfm 0.5,0.2; fm and hofm 0.5; wide-deep and deep-cross \(Train.baselineDropout).")
    var dropout: String?

    @Flag(inversion: .prefixedNo, help: "Batch norm on the Bi-Interaction output and each hidden layer (default: on for nfm, off for the others; wide-deep: hidden layers only; never for lr, hofm, deep-cross).")
    var batchNorm: Bool?

    @Option(help: "Optimizer: adagrad, adam, sgd or momentum.")
    var optimizer: OptimizerKind = .adagrad

    @Option(help: "Learning rate (default: adagrad 0.05 — 0.01 for wide-deep and deep-cross —, adam/sgd/momentum 0.001; the loss is summed over the batch).")
    var lr: Float?

    @Option(help: "Rows per mini-batch.")
    var batchSize: Int = 128

    @Option(help: "Maximum number of epochs.")
    var epochs: Int = 200

    @Option(help: "L2 regularisation λ on the embeddings (λ/2·‖v‖² on the rows a batch updates).")
    var l2: Float = 0

    @Option(help: "Loss: squared (RMSE) or log (log loss and AUC).")
    var loss: LossKind = .squared

    @Flag(inversion: .prefixedNo, help: "Stop when the validation metric worsens --patience epochs in a row.")
    var earlyStop = true

    @Option(help: "Consecutive worsening epochs before early stopping.")
    var patience: Int = 4

    @Option(help: "Initialise embeddings, first-order weights and bias from an FM checkpoint of the same k (pre-training; hofm: its order-2 embeddings).")
    var initFrom: String?

    @Option(help: "Seed for initialisation, shuffling and dropout.")
    var seed: UInt64 = 2016

    @Option(help: "Threads for evaluation (results never depend on it).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Cache the decoded splits in memory up to this many MiB; larger datasets are streamed from their shards.")
    var cacheMib: Int = Dataset.defaultCacheBytes >> 20

    @Flag(help: "Stream the shards (seeded shard order and shuffle buffer) even when the data would fit in memory.")
    var stream = false

    @Option(help: "Rows in the shuffle buffer when streaming.")
    var shuffleBuffer: Int = 1 << 17

    @Option(help: "Run directory (default: runs/<dataset name>-<model>).")
    var out: String?

    @Flag(help: "Print the JSON summary on standard output.")
    var json = false

    @Flag(help: "No per-epoch lines or progress on standard error.")
    var quiet = false

    func validate() throws {
        guard factors > 0 else { throw ValidationError("--factors must be positive") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard epochs > 0 else { throw ValidationError("--epochs must be positive") }
        guard patience > 0 else { throw ValidationError("--patience must be positive") }
        guard threads >= 1 else { throw ValidationError("--threads must be ≥ 1") }
        guard l2 >= 0 else { throw ValidationError("--l2 must be ≥ 0") }
        if let lr { guard lr > 0 else { throw ValidationError("--lr must be positive") } }
        let widths = try parseList(layers ?? "", "--layers") { Int($0) }
        guard widths.allSatisfy({ $0 >= 0 }) else { throw ValidationError("--layers: widths must be ≥ 0") }
        let ratios = try parseList(dropout ?? "", "--dropout") { Float($0) }
        guard ratios.allSatisfy({ $0 >= 0 && $0 < 1 }) else { throw ValidationError("--dropout: ratios must be in [0, 1)") }
    }

    func run() throws {
        try runModelCommand {
            let started = Date()
            let data = try Dataset.load(directory: dataset, cacheBytes: cacheMib << 20, stream: stream)
            let ratios = try parseList(dropout ?? Self.defaultDropout(model), "--dropout") { Float($0) }
            let config = ModelConfig(
                kind: model, featureCount: data.manifest.featureCount, factors: factors,
                layers: try layers.map { try parseList($0, "--layers") { Int($0) } }, activation: activation,
                biDropout: ratios.first ?? 0, hiddenDropout: Array(ratios.dropFirst()),
                batchNorm: batchNorm ?? (model == .nfm), loss: loss)
            var options = TrainingOptions()
            options.epochs = epochs
            options.batchSize = batchSize
            options.optimizer = optimizer
            options.learningRate = lr ?? Self.defaultLearningRate(model, optimizer)
            options.l2 = l2
            options.earlyStop = earlyStop
            options.patience = patience
            options.seed = seed
            options.threads = threads
            options.shuffleBuffer = shuffleBuffer
            options.initFrom = initFrom
            let runDirectory = out ?? "runs/\(data.manifest.name)-\(model.rawValue)"
            options.outDirectory = runDirectory
            let trainer = try Trainer(dataset: data, config: config, options: options)
            let progress = ProgressLine(enabled: !quiet)
            let metricName = loss == .squared ? "rmse" : "logloss"
            if !quiet {
                let rows = Split.allCases.map { "\($0.rawValue) \(data[$0]?.rowCount ?? 0)" }.joined(separator: ", ")
                Diagnostics.write(
                    "training \(trainer.config.summary) on \(dataset) (\(rows) rows, \(config.featureCount) features, \(trainer.model.trainableParameterCount) parameters); \(optimizer.rawValue) lr \(options.resolvedLearningRate), batch \(batchSize), seed \(seed)\n")
            }
            func format(_ m: SplitMetrics) -> String {
                var text = String(format: "%.4f", m.primary)
                if let auc = m.auc { text += String(format: " (auc %.4f)", auc) }
                return text
            }
            let observer = TrainingObserver(
                progress: { epoch, done, total, seconds in
                    let rate = Double(done) / max(seconds, 1e-9)
                    progress.update(
                        String(format: "epoch %d: %d/%d rows (%.0f%%), ETA %.1f s", epoch, done, total, 100 * Double(done) / Double(total), Double(total - done) / max(rate, 1)),
                        phase: "epoch \(epoch)", count: done)
                },
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
            let result = try trainer.run(observer: observer)
            progress.clear()
            let summary = TrainingSummary(trainer: trainer, result: result, totalSeconds: Date().timeIntervalSince(started))
            let text = try summary.encoded()
            try FileSystem.writeAtomically(Array(text.utf8), to: runDirectory + "/summary.json")
            if !quiet, let best = summary.best {
                Diagnostics.write(
                    String(
                        format: "best epoch %d: validation %@ %@, test %@; median epoch %.3f s train + %.3f s eval; saved %@\n",
                        best.epoch, metricName, format(best.validation), format(best.test), summary.timing.trainSecondsMedian,
                        summary.timing.evalSecondsMedian, result.checkpointPath ?? runDirectory))
            }
            if json { print(text, terminator: "") }
        }
    }
}

/// Hidden: kernel micro-benchmarks for BENCHMARKS.md.
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-kernels", abstract: "Time the hot training kernels (GFLOP/s).", shouldDisplay: false)

    func run() throws {
        for line in KernelBenchmark.run() {
            print(String(format: "%-60@ %9.2f µs  %6.1f GFLOP/s", line.name, line.seconds * 1e6, line.gflops))
        }
    }
}
