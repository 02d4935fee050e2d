import Foundation
import NFMFormat
import NFMTestSupport
import Testing

/// `nfm predict --dataset/--libfm`, `--out`'s overwrite rules and `nfm export-model`, on one fixture
/// dataset and one FM trained for one epoch (built once for the suite).
@Suite struct PredictCLITests {
    struct Setup: Sendable {
        let root: String
        let data: String
        let checkpoint: String
        let libfm: String
        let testRows: Int
    }

    static let shared: Result<Setup, any Error> = Result {
        let root = TestSupport.temporaryDirectory("nfm-predict-cli")
        let data = root + "/ds"
        let fixture = TestSupport.fixture("frappe-synthetic.tsv")
        try expectSuccess(["build", TestSupport.pipeline("frappe.json"), "--input", fixture, "--out", data, "--quiet"])
        try expectSuccess(["train", data, "--model", "fm", "--factors", "4", "--epochs", "1", "--out", root + "/run", "--quiet"])
        try expectSuccess(["export-libfm", data, "--out", root + "/libfm"])
        let manifest = try JSONDecoder().decode(DatasetManifest.self, from: Data(try ReadableFile.readAll(data + "/manifest.json")))
        return Setup(
            root: root, data: data, checkpoint: root + "/run/model.nfmc", libfm: root + "/libfm/test.libfm",
            testRows: manifest.counts.test)
    }

    static func expectSuccess(_ arguments: [String]) throws {
        let result = try nfm(arguments)
        guard result.status == 0 else { throw NFMError(.io, "nfm \(arguments.joined(separator: " ")): \(result.stderr)") }
    }

    static func lines(_ path: String) throws -> [Substring] {
        String(decoding: try ReadableFile.readAll(path), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
    }

    /// One prediction per row in stored order; the libFM export of the split predicts the same values;
    /// their RMSE against the split's labels is `nfm evaluate`'s test RMSE.
    @Test func datasetAndLibFMPredictionsFollowTheStoredOrder() throws {
        let s = try Self.shared.get()
        let fromDataset = s.root + "/dataset-\(UUID().uuidString).txt"
        let fromLibFM = s.root + "/libfm-\(UUID().uuidString).txt"
        let run = try nfm(["predict", s.checkpoint, "--dataset", s.data, "--split", "test", "--precision", "9", "--out", fromDataset, "--json"])
        #expect(run.status == 0 && run.stdout.isEmpty)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(run.stderr.utf8)) as? [String: Any])
        #expect(summary["rows"] as? Int == s.testRows && summary["written"] as? Int == s.testRows && summary["skipped"] as? Int == 0)
        #expect(try nfm(["predict", s.checkpoint, "--libfm", s.libfm, "--precision", "9", "--out", fromLibFM, "--quiet"]).status == 0)
        let a = try Self.lines(fromDataset).map { try #require(Double($0)) }
        let b = try Self.lines(fromLibFM).map { try #require(Double($0)) }
        #expect(a.count == s.testRows && b.count == s.testRows)
        #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-6 })
        let labels = try Self.lines(s.libfm).map { try #require(Double($0.prefix { $0 != " " })) }
        let rmse = (zip(a, labels).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } / Double(a.count)).squareRoot()
        let evaluate = try nfm(["evaluate", s.checkpoint, s.data, "--splits", "test", "--json"])
        let result = try #require(try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any])
        let test = try #require((result["splits"] as? [String: Any])?["test"] as? [String: Any])
        #expect(abs(try #require(test["rmse"] as? Double) - rmse) < 1e-6)
        // Standard output, libFM's 6 significant digits by default.
        let stdout = try nfm(["predict", s.checkpoint, "--dataset", s.data, "--split", "test", "--quiet"])
        let printed = stdout.stdout.split(separator: "\n")
        func significantDigits(_ text: Substring) -> Int {
            text.prefix { $0 != "e" }.filter(\.isNumber).drop { $0 == "0" }.count
        }
        #expect(printed.count == s.testRows && printed.allSatisfy { significantDigits($0) <= 6 })
        #expect(printed.contains { significantDigits($0) == 6 })
        #expect(zip(printed, a).allSatisfy { abs(Double($0)! - $1) <= 5e-6 })
    }

    /// `--out` never truncates an existing file without --force, and never is the checkpoint, an input
    /// or a file of the dataset.
    @Test func outFollowsTheSafeOverwriteRules() throws {
        let s = try Self.shared.get()
        let existing = TestSupport.write("keep\n", named: "existing-\(UUID().uuidString).txt", in: s.root)
        let args = ["predict", s.checkpoint, "--dataset", s.data, "--split", "test", "--quiet"]
        let refused = try nfm(args + ["--out", existing])
        #expect(refused.status == 2 && refused.stderr.contains("error:"))
        #expect(try ReadableFile.readAll(existing) == Array("keep\n".utf8))
        let checkpointBytes = try ReadableFile.readAll(s.checkpoint)
        let libfmBytes = try ReadableFile.readAll(s.libfm)
        for target in [s.checkpoint, s.data + "/manifest.json", s.data + "/new-file.txt"] {
            #expect(try nfm(args + ["--out", target, "--force"]).status == 2, "\(target)")
        }
        #expect(try nfm(["predict", s.checkpoint, "--libfm", s.libfm, "--out", s.libfm, "--force"]).status == 2)
        #expect(try ReadableFile.readAll(s.checkpoint) == checkpointBytes && (try ReadableFile.readAll(s.libfm)) == libfmBytes)
        #expect(!FileSystem.exists(s.data + "/new-file.txt"))
        #expect(try nfm(["verify", s.data]).status == 0)
        #expect(try nfm(args + ["--output", existing, "--force"]).status == 0)
        #expect(try Self.lines(existing).count == s.testRows)
    }

    /// Indices beyond the model's features stop at their file:line:column unless ignored; skipping rows
    /// is refused where the output is one line per input row.
    @Test func libFMIndicesBeyondTheModelAreErrorsWithTheirPosition() throws {
        let s = try Self.shared.get()
        let bad = TestSupport.write("1 0:1 3:1\n-1 2:1 999999:1\n", named: "bad-\(UUID().uuidString).libfm", in: s.root)
        let name = (bad as NSString).lastPathComponent
        let failed = try nfm(["predict", s.checkpoint, "--libfm", bad])
        #expect(failed.status == 1 && failed.stderr.contains("\(name):2:8:"))
        let ignored = try nfm(["predict", s.checkpoint, "--libfm", bad, "--unseen", "ignore", "--quiet"])
        #expect(ignored.status == 0 && ignored.stdout.split(separator: "\n").count == 2)
        let skip = try nfm(["predict", s.checkpoint, "--libfm", bad, "--unseen", "skip"])
        #expect(skip.status == 2 && skip.stderr.contains("misalign"))
    }

    /// `nfm export-model` writes the safetensors, config and vocabularies, and refuses to overwrite
    /// without --force.
    @Test func exportModelWritesTheDirectoryOnce() throws {
        let s = try Self.shared.get()
        let out = s.root + "/export-\(UUID().uuidString)"
        let first = try nfm(["export-model", s.checkpoint, "--out", out])
        #expect(first.status == 0 && first.stdout.contains("exported fm"))
        for file in ["model.safetensors", "config.json", "definition.json", "vocab/user.tsv"] {
            #expect(FileSystem.exists(out + "/" + file), "\(file)")
        }
        #expect(try nfm(["export-model", s.checkpoint, "--out", out]).status == 2)
        #expect(try nfm(["export-model", s.checkpoint, "--out", out, "--force"]).status == 0)
    }
}
