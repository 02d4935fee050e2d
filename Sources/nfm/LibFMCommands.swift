import ArgumentParser
import NFMFormat
import NFMPipeline

struct ExportLibFM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-libfm",
        abstract: "Write a dataset's splits as libFM text (train.libfm, validation.libfm, test.libfm).")

    @Argument(help: "The dataset directory.")
    var directory: String

    @Option(help: "Directory for the .libfm files.")
    var out: String

    func run() throws {
        try runMapped { try LibFMConverter.export(datasetDirectory: directory, to: out) }
    }
}

struct ImportLibFM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-libfm",
        abstract: "Make a dataset directory from libFM text files, one per split.")

    @Option(help: "libFM file for the train split.")
    var train: String

    @Option(help: "libFM file for the validation split.")
    var validation: String?

    @Option(help: "libFM file for the test split.")
    var test: String?

    @Option(help: "The output dataset directory.")
    var out: String

    @Option(help: "Rows per shard.")
    var shardRows = 65536

    @Option(help: "zstd level (1…22).")
    var zstdLevel = 3

    @Flag(help: "Replace a non-empty output directory.")
    var force = false

    func validate() throws {
        guard shardRows > 0 else { throw ValidationError("--shard-rows must be > 0") }
        guard (1...22).contains(zstdLevel) else { throw ValidationError("--zstd-level must be 1…22") }
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
            let manifest = try LibFMConverter.importFiles(options)
            print(
                "imported \(manifest.counts.instances) instances, \(manifest.featureCount) features,"
                    + " \(manifest.layout) layout into \(out)")
        }
    }
}
