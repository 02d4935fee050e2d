import ArgumentParser
import Foundation
import NFMFormat
import NFMPipeline

struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a sharded dataset from a raw log and a pipeline definition.",
        discussion: """
            Streams the raw log through one-hot encoding, samples negatives, splits 70/20/10 and writes
            zstd shards, vocabularies and manifest.json (last, atomically) to --out.
            """)

    @Argument(help: "The pipeline definition (e.g. pipelines/frappe.json).")
    var definition: String

    @Option(help: "The raw log (frappe.csv, tags.csv, …).")
    var input: String

    @Option(help: "The output dataset directory (must not exist or be empty, unless --force).")
    var out: String

    @Option(help: "Seed for negatives, split and order (default: the definition's).")
    var seed: UInt64?

    @Option(help: "Negative-sampling rule, one of the definition's rules (Frappe: user, context).")
    var rule: String?

    @Option(help: "Threads for compressing shards; the output never depends on it.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "MiB of instances held in memory while shuffling; more spills to disk.")
    var memoryMib: Int = 256

    @Option(help: .hidden)
    var readBuffer: Int = 1 << 20

    @Flag(help: "Count malformed rows, write them to rejects.tsv and go on, instead of stopping.")
    var skipBadRows = false

    @Flag(help: "Replace a non-empty output directory.")
    var force = false

    @Flag(help: "No progress output.")
    var quiet = false

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be ≥ 1") }
        guard memoryMib >= 1 else { throw ValidationError("--memory-mib must be ≥ 1") }
        guard readBuffer >= 16 else { throw ValidationError("--read-buffer must be ≥ 16") }
    }

    func run() throws {
        try runMapped {
            let started = Date()
            var options = DatasetBuilder.Options(
                definition: try DatasetDefinition.load(path: definition), inputPath: input, outputDirectory: out)
            options.seed = seed
            options.rule = rule
            options.threads = threads
            options.memoryBudget = memoryMib << 20
            options.readBufferSize = readBuffer
            options.skipBadRows = skipBadRows
            options.force = force
            let progress = ProgressLine(enabled: !quiet)
            options.progress = { phase, rows in progress.update("\(phase): \(rows) rows", phase: phase, count: rows) }
            let manifest = try DatasetBuilder.build(options)
            progress.clear()
            if !quiet {
                let seconds = Date().timeIntervalSince(started)
                let c = manifest.counts
                Diagnostics.write(
                    String(
                        format: "built %@: %d rows read (%d rejected), %d instances (train %d, validation %d, test %d), %d features, %d unsampleable rows, %.2f s\n",
                        out, c.rowsRead, c.rowsRejected, c.instances, c.train, c.validation, c.test,
                        manifest.featureCount, c.unsampleableRows, seconds))
            }
        }
    }
}
