import ArgumentParser
import Foundation
import NFMFormat
import NFMPipeline

struct Build: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build a sharded dataset from a raw log and a pipeline definition.",
        discussion: """
            Streams the raw log through one-hot encoding, samples negatives, splits it (70/20/10 by \
            default) and writes zstd shards, vocabularies, manifest.json and manifest.sha256 to --out. \
            The output depends only on the input, the definition, the rule and the seed.

            --input may be repeated and may be a glob (*, ?, [...]; each pattern's matches are read in \
            sorted byte order); the inputs are read in the order given, as one log. - reads standard input \
            (at most once). Gzip and zstd inputs (.gz, .zst: recognised by their first bytes) are \
            decompressed while streaming. The first input starts with the header line (when the definition \
            has one); each later input may repeat it (its column order may differ) or start with data. The \
            manifest lists every input with the size and SHA-256 of its stored bytes.

            --out must not exist or be an empty directory. --force replaces only a directory that nfm \
            wrote, and only after the input, the definition and every option have been checked; --out may \
            neither be nor contain the input or the definition. A second nfm writing the same --out fails \
            at once. An interrupted or failed build removes its partial output.
            """)

    @Argument(help: "The pipeline definition (e.g. pipelines/frappe.json).")
    var definition: String

    @Option(help: "A raw log (frappe.csv, part-*.csv.gz, - for standard input); repeatable, globs allowed.")
    var input: [String] = []

    @Option(help: "The output dataset directory (must not exist or be empty, unless --force; default: data/<definition name>).")
    var out: String?

    @Option(help: "Seed for negatives, split and order (default: the definition's).")
    var seed: UInt64?

    @Option(help: "Negative-sampling rule, one of the definition's rules (Frappe: user, context).")
    var rule: String?

    @Option(help: "Threads for parsing, sampling, placing and compressing (1…1024, default: all cores); the output never depends on it.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "MiB of instances held in memory while shuffling; more spills to disk.")
    var memoryMib: Int = 256

    @Option(help: .hidden)
    var readBuffer: Int = 1 << 20

    @Option(help: .hidden)
    var partitionBytes: Int?

    @Flag(help: .hidden)
    var singlePass = false

    @Flag(help: "Count malformed rows, write them to rejects.tsv and go on, instead of stopping.")
    var skipBadRows = false

    @Flag(help: "Replace an output directory that nfm wrote before (never a foreign one).")
    var force = false

    @Flag(help: "No progress output.")
    var quiet = false

    @Flag(help: "Print the result as JSON on standard output.")
    var json = false

    func validate() throws {
        guard (1...1024).contains(threads) else { throw ValidationError("--threads must be 1…1024") }
        guard (1...(1 << 20)).contains(memoryMib) else { throw ValidationError("--memory-mib must be 1…1048576") }
        if let partitionBytes, partitionBytes < 1 { throw ValidationError("--partition-bytes must be ≥ 1") }
        guard readBuffer >= 16 && readBuffer <= 1 << 30 else {
            throw ValidationError("--read-buffer must be 16…1073741824")
        }
    }

    func run() throws {
        try runMapped {
            let started = Date()
            let loaded = try DatasetDefinition.load(path: definition)
            let out = self.out ?? "data/" + FileSystem.sanitizedComponent(loaded.name)
            var options = DatasetBuilder.Options(
                definition: loaded, inputPaths: try InputPatterns.expand(input), outputDirectory: out)
            options.definitionPath = definition
            options.seed = seed
            options.rule = rule
            options.threads = threads
            options.memoryBudget = memoryMib << 20
            options.readBufferSize = readBuffer
            options.partitionBytes = partitionBytes
            options.singlePass = singlePass
            options.skipBadRows = skipBadRows
            options.force = force
            let progress = ProgressLine(enabled: !quiet)
            if !quiet && Diagnostics.stderrIsTerminal {  // else the line is never shown: no text to format
                options.progress = { step in progress.update(step.text, phase: step.phase.rawValue, count: step.rows ?? step.done) }
            }
            let manifest = try DatasetBuilder.build(options)
            progress.clear()
            let result = BuildResult(out: out, manifest: manifest, seconds: Date().timeIntervalSince(started))
            if json {
                print(try result.json())
            } else if !quiet {
                Diagnostics.write(result.summary + "\n")
            }
        }
    }
}

/// What `nfm build` reports: the counts of the built dataset, as a line or as JSON.
struct BuildResult: Encodable {
    var directory: String
    var name: String
    var rowsRead: Int
    var rowsRejected: Int
    var unsampleableRows: Int
    var positives: Int
    var negatives: Int
    var instances: Int
    var train: Int
    var validation: Int
    var test: Int
    var featureCount: Int
    var shards: Int
    var seconds: Double
    /// The explicit label column's summary (labelled builds).
    var label: DatasetManifest.LabelSummary?

    init(out: String, manifest: DatasetManifest, seconds: Double) {
        let c = manifest.counts
        directory = out
        name = manifest.name
        (rowsRead, rowsRejected, unsampleableRows) = (c.rowsRead, c.rowsRejected, c.unsampleableRows)
        (positives, negatives, instances) = (c.positives, c.negatives, c.instances)
        (train, validation, test) = (c.train, c.validation, c.test)
        featureCount = manifest.featureCount
        shards = manifest.shards.count
        label = manifest.label
        self.seconds = (seconds * 1000).rounded() / 1000
    }

    /// One human-readable line.
    var summary: String {
        let sampling =
            label.map { String(format: "label '%@' %g…%g (mean %.4g), no negatives sampled", $0.column, $0.minimum, $0.maximum, $0.mean) }
            ?? "\(unsampleableRows) unsampleable rows"
        return String(
            format: "built %@: %d rows read (%d rejected), %d instances (train %d, validation %d, test %d), "
                + "%d features, %@, %.2f s",
            directory, rowsRead, rowsRejected, instances, train, validation, test, featureCount, sampling, seconds)
    }

    /// Pretty-printed JSON with sorted keys.
    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

extension DatasetBuilder.Progress {
    /// The progress line: the pass, its percentage of the known total, and what was done.
    var text: String {
        let percent = fraction.map { String(format: " %3.0f%%", $0 * 100) } ?? ""
        switch phase {
        case .read:
            let size = total.map { " of " + Self.megabytes($0) } ?? ""
            return "reading\(percent) (\(Self.megabytes(done))\(size)), \(rows ?? 0) rows"
        case .sample:
            return "sampling negatives\(percent) (\(done) of \(total ?? 0) instances)"
        case .write:
            return "writing shards\(percent) (\(done) of \(total ?? 0) instances)"
        }
    }

    private static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
}
