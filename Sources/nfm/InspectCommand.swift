import ArgumentParser
import Foundation
import NFMFormat

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
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
            lines.append("labels     positive \(manifest.labels.positive), negative \(manifest.labels.negative)")
            lines.append("features   \(manifest.featureCount) in \(manifest.fields.count) fields (\(manifest.layout))")
            for field in manifest.fields {
                lines.append(
                    "  \(field.name.padding(toLength: 12, withPad: " ", startingAt: 0)) offset \(field.offset)"
                        + "  cardinality \(field.cardinality)")
            }
            for split in Split.allCases {
                let shards = manifest.shards(in: split)
                let bytes = shards.reduce(0) { $0 + $1.bytes }
                lines.append(
                    "\(split.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(shards.count) shards,"
                        + " \(shards.reduce(0) { $0 + $1.rows }) rows, \(bytes) bytes")
            }
            print(lines.joined(separator: "\n"))
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every file of a dataset against its manifest (sizes, SHA-256, shard frames).",
        discussion: "Exits 0 when the dataset is intact, 4 when any file is missing, corrupt, truncated or extra.")

    @Argument(help: "The dataset directory.")
    var directory: String

    @Flag(help: "Print only problems.")
    var quiet = false

    func run() throws {
        try runMapped {
            let report = try DatasetVerifier.verify(directory: directory)
            for problem in report.problems { Diagnostics.write("\(directory)/\(problem)\n") }
            guard report.isValid else {
                Diagnostics.write("verify failed: \(report.problems.count) problem(s) in \(directory)\n")
                throw ExitCode(4)
            }
            if !quiet {
                print(
                    "ok: \(directory): \(report.filesChecked) files, \(report.manifest.shards.count) shards,"
                        + " \(report.manifest.counts.instances) instances verified")
            }
        }
    }
}
