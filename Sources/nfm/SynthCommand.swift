import ArgumentParser
import Foundation
import NFMFormat
import NFMPipeline

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a synthetic raw log in the format of a real one (Frappe, MovieLens tags, Criteo, MovieLens ratings).",
        discussion: """
            Kinds (sizes scale with --rows; output is a pure function of kind, rows, seed):
              frappe             Frappe TSV: user, item, cnt and 8 context columns
              movielens          MovieLens tags.csv: userId,movieId,tag,timestamp
              criteo             Criteo CSV as DeepCTR's criteo_sample.txt: label
                                 0/1 (25 % clicks, learnable), I1..I13 heavy-tailed
                                 counts with missing cells, C1..C26 hashes with
                                 power-law frequencies (about 275 bytes a row)
              movielens-ratings  MovieLens-1M ratings as DeepCTR's
                                 movielens_sample.txt: rating 1-5, quoted titles,
                                 genres like Comedy|Drama, user attributes
            """)

    /// The largest `--rows`: 10¹⁰ (about 2.6 TB of Criteo CSV); the Frappe and MovieLens kinds hold tables
    /// that grow with the row count.
    static let maximumRows = 10_000_000_000

    @Argument(help: "frappe, movielens, criteo or movielens-ratings.")
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
            let kinds = SyntheticLogGenerator.Kind.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("kind must be one of: \(kinds)")
        }
        guard rows >= 1 else { throw ValidationError("--rows must be ≥ 1") }
        guard rows <= Self.maximumRows else { throw ValidationError("--rows must be ≤ \(Self.maximumRows)") }
    }

    func run() throws {
        try runMapped {
            guard let kind = SyntheticLogGenerator.Kind(rawValue: kind) else { return }  // checked in validate()
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
