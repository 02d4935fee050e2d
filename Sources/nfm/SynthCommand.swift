import ArgumentParser
import Foundation
import NFMFormat
import NFMPipeline

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a synthetic raw log in the Frappe (TSV) or MovieLens tags.csv format.")

    @Argument(help: "frappe or movielens.")
    var kind: String

    @Option(help: "Number of data rows.")
    var rows: Int

    @Option(help: "Seed; the output is a pure function of kind, rows and seed.")
    var seed: UInt64 = 1

    @Option(help: "Output file (written atomically); standard output when absent.")
    var out: String?

    @Flag(help: "Replace an existing output file.")
    var force = false

    func validate() throws {
        guard SyntheticLogGenerator.Kind(rawValue: kind) != nil else {
            throw ValidationError("kind must be one of: frappe, movielens")
        }
        guard rows >= 1 else { throw ValidationError("--rows must be ≥ 1") }
    }

    func run() throws {
        try runMapped {
            let kind = SyntheticLogGenerator.Kind(rawValue: kind)!
            if let out {
                let file = try AtomicFileWriter(path: out, force: force, inputs: [])
                try SyntheticLogGenerator.write(kind: kind, rows: rows, seed: seed) { try file.write($0) }
                try file.commit()
            } else {
                try SyntheticLogGenerator.write(kind: kind, rows: rows, seed: seed) { bytes in
                    FileHandle.standardOutput.write(Data(bytes))
                }
            }
        }
    }
}
