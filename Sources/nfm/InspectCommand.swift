import ArgumentParser
import Foundation
import NFMFormat

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Summarise a dataset directory (counts, fields, shards).")

    @Argument(help: "The dataset directory.")
    var directory: String

    @Flag(help: "Print the manifest as JSON instead of a summary.")
    var json = false

    func run() throws {
        try runMapped {
            let (manifest, sha256) = try DatasetManifest.load(directory: directory)
            if json {
                FileHandle.standardOutput.write(Data(try manifest.encoded()))
                return
            }
            let c = manifest.counts
            var lines: [String] = []
            lines.append("dataset    \(manifest.name)  (\(manifest.tool), format v\(manifest.formatVersion))")
            lines.append("manifest   sha256 \(sha256)")
            for input in manifest.inputs {
                lines.append("input      \(input.name)  \(input.bytes) bytes  sha256 \(input.sha256)")
            }
            lines.append("seed       \(manifest.seed)  negative rule: \(manifest.negativeRule ?? "-")")
            lines.append(
                "rows       \(c.rowsRead) read, \(c.rowsRejected) rejected, \(c.positives) positives,"
                    + " \(c.negatives) negatives, \(c.unsampleableRows) unsampleable")
            lines.append(
                "instances  \(c.instances): train \(c.train), validation \(c.validation), test \(c.test)")
            if let label = manifest.label {
                lines.append(
                    "label      column \(label.column) (\(label.type)): \(label.minimum)…\(label.maximum), mean \(label.mean),"
                        + " \(label.atMaximum) at \(label.maximum); no negatives sampled")
            } else {
                lines.append("labels     positive \(manifest.labels.positive), negative \(manifest.labels.negative)")
            }
            lines.append("features   \(manifest.featureCount) in \(manifest.fields.count) fields (\(manifest.layout))")
            for field in manifest.fields {
                lines.append(
                    "  \(field.name.padding(toLength: 12, withPad: " ", startingAt: 0)) offset \(field.offset)"
                        + "  cardinality \(field.cardinality)" + FieldWords.encoding(of: field))
            }
            for split in Split.allCases {
                let shards = manifest.shards(in: split)
                let bytes = shards.reduce(0) { $0 + $1.bytes }
                lines.append(
                    "\(split.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(counted(shards.count, "shard")),"
                        + " \(counted(shards.reduce(0) { $0 + $1.rows }, "row")), \(counted(bytes, "byte"))")
            }
            print(lines.joined(separator: "\n"))
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every file of a dataset against its manifest (sizes, SHA-256, shard frames).",
        discussion: """
            Checks manifest.json against manifest.sha256 and for consistency, then every listed file: a regular \
            file inside the dataset (no symlink, FIFO or device; a path that leaves the dataset is reported, \
            never opened) with the recorded size and SHA-256, every shard decoding to the recorded rows with \
            feature indices in range, and no unlisted file. Exits 0 when the dataset is intact, 4 when \
            anything is wrong (each problem is named), 3 when the directory does not exist.
            """)

    @Argument(help: "The dataset directory.")
    var directory: String

    @Flag(help: "Print only problems.")
    var quiet = false

    @Flag(help: "Print the report as JSON on standard output (problems: path, kind, detail).")
    var json = false

    func run() throws {
        try runMapped {
            let report = try DatasetVerifier.verify(directory: directory)
            if json {
                FileHandle.standardOutput.write(Data(try VerifyReportJSON(directory: directory, report: report).encoded()))
            } else {
                for problem in report.problems { Diagnostics.write("\(directory)/\(problem)\n") }
            }
            guard report.isValid else {
                throw NFMError(.verification, "verify failed: \(counted(report.problems.count, "problem")) in \(directory)")
            }
            if !quiet && !json {
                print(
                    "ok: \(directory): \(counted(report.filesChecked, "file")), \(counted(report.manifest.shards.count, "shard")),"
                        + " \(counted(report.manifest.counts.instances, "instance")) verified")
            }
        }
    }
}

/// `nfm verify --json`: the report in machine-readable form.
struct VerifyReportJSON: Encodable {
    struct Problem: Encodable {
        var path: String
        /// The kind in words, e.g. "checksum mismatch".
        var kind: String
        var detail: String
    }

    var directory: String
    var valid: Bool
    var filesChecked: Int
    var shards: Int
    var problems: [Problem]

    init(directory: String, report: DatasetVerifier.Report) {
        self.directory = directory
        valid = report.isValid
        filesChecked = report.filesChecked
        shards = report.manifest.shards.count
        problems = report.problems.map { Problem(path: $0.path, kind: $0.kind.rawValue, detail: $0.detail) }
    }

    /// Pretty-printed JSON with sorted keys and a trailing newline.
    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [10]
    }
}

/// "1 shard", "2 shards", "0 shards".
func counted(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }

/// Words for `nfm inspect`.
enum FieldWords {
    /// A field's kind, OOV feature and standardize statistics, when it has any (labelled builds).
    static func encoding(of field: DatasetManifest.Field) -> String {
        var words: [String] = []
        if let kind = field.kind { words.append(kind) }
        if let oov = field.oov { words.append("OOV at \(oov)") }
        if let mean = field.mean, let stddev = field.stddev { words.append("standardized μ \(mean) σ \(stddev)") }
        return words.isEmpty ? "" : "  (" + words.joined(separator: ", ") + ")"
    }
}
