import ArgumentParser
import Foundation
import NFMFormat
import NFMPipeline

/// Prints `value` as pretty, key-sorted JSON on standard output.
private func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

struct ExportLibFM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-libfm",
        abstract: "Write a dataset's splits as libFM text (train.libfm, validation.libfm, test.libfm).",
        discussion: """
            Every shard is checked against the manifest's SHA-256 before it is written out. --out must be \
            absent or empty; --force replaces only an earlier export-libfm output, never the dataset itself.
            """)

    @Argument(help: "The dataset directory.")
    var directory: String

    @Option(help: "Directory for the .libfm files.")
    var out: String

    @Flag(help: "Replace an output directory that an earlier export-libfm wrote.")
    var force = false

    @Flag(help: "Print the result as JSON on standard output.")
    var json = false

    private struct Report: Encodable {
        let dataset: String
        let out: String
        let files: [LibFMConverter.ExportedFile]
    }

    func run() throws {
        try runMapped {
            let files = try LibFMConverter.export(datasetDirectory: directory, to: out, force: force)
            if json { return try printJSON(Report(dataset: directory, out: out, files: files)) }
            let parts = files.map { "\($0.split.rawValue) \($0.rows) \($0.rows == 1 ? "row" : "rows")" }
            print("exported \(parts.joined(separator: ", ")) to \(out)")
        }
    }
}

struct ImportLibFM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-libfm",
        abstract: "Make a dataset directory from libFM text files, one per split.",
        discussion: """
            Each file is read once, so a pipe works (--train - or /dev/stdin); gzip and zstd files are \
            decompressed. Limits: feature indices up to 2147483646, 4096 entries and 16 MiB per line, \
            --shard-rows × entries per row up to 2^26. --out must be absent or empty; --force replaces only \
            an earlier nfm dataset, and never a directory that holds an input.
            """)

    @Option(help: "libFM file for the train split ('-' for standard input).")
    var train: String

    @Option(help: "libFM file for the validation split.")
    var validation: String?

    @Option(help: "libFM file for the test split.")
    var test: String?

    @Option(help: "The output dataset directory.")
    var out: String

    @Option(help: "Rows per shard (1…16777216; default 65536, fewer when rows hold more than 1024 entries).")
    var shardRows: Int?

    @Option(help: "zstd level (1…22).")
    var zstdLevel = 3

    @Flag(help: "Replace an output directory that an earlier nfm build or import wrote.")
    var force = false

    @Flag(help: "Print the result as JSON on standard output.")
    var json = false

    private struct Report: Encodable {
        struct Labels: Encodable {
            let minimum: Float
            let maximum: Float
            let binary: Bool
            let distinctValues: String
            let summary: String
        }
        let out: String
        let instances: Int
        let train: Int
        let validation: Int
        let test: Int
        let featureCount: Int
        let layout: String
        let shards: Int
        let labels: Labels
    }

    func run() throws {
        try runMapped {
            var files: [Split: String] = [.train: train]
            files[.validation] = validation
            files[.test] = test
            var options = LibFMConverter.ImportOptions(files: files, outputDirectory: out)
            options.rowsPerShard = shardRows
            options.zstdLevel = zstdLevel
            options.force = force
            let result = try LibFMConverter.importFiles(options)
            let manifest = result.manifest
            let c = manifest.counts
            if json {
                let labels = Report.Labels(
                    minimum: result.labels.minimum, maximum: result.labels.maximum, binary: result.labels.isBinary,
                    distinctValues: result.labels.distinct.count > 2 ? "3 or more" : String(result.labels.distinct.count),
                    summary: result.labels.description)
                return try printJSON(
                    Report(
                        out: out, instances: c.instances, train: c.train, validation: c.validation, test: c.test,
                        featureCount: manifest.featureCount, layout: "\(manifest.layout)",
                        shards: manifest.shards.count, labels: labels))
            }
            print(
                "imported \(c.instances) instances (train \(c.train), validation \(c.validation), test \(c.test)),"
                    + " \(manifest.featureCount) features, \(manifest.layout) layout into \(out)")
            print("labels: \(result.labels)")
        }
    }
}
