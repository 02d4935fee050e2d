import Foundation
import NFMFormat
import NFMTestSupport
import Testing

/// `nfm train`, `evaluate` and `experiment` as a careless or hostile user would call them.
@Suite struct TrainCommandTests {
    static let usage = NFMError.Code.usage.exitCode

    /// The fixture built once per test (a fresh directory each time).
    func dataset(name: String? = nil) throws -> String {
        try TestSupport.build(definition: "frappe.json", input: TestSupport.fixture("frappe-synthetic.tsv")) { options in
            if let name { options.definition.name = name }
        }.directory
    }

    @Test func optionsBeyondTheirBoundsExitTwoNamingTheOption() throws {
        let data = try dataset()
        let cases = [
            ["--batch-size", "100000000"], ["--batch-size", "4611686018427387904"], ["--factors", "100000000"],
            ["--factors", "4611686018427387904"], ["--layers", "100000000"], ["--layers", "64,4611686018427387904"],
            ["--epochs", "4611686018427387904"], ["--shuffle-buffer", "4611686018427387904"],
            ["--cache-mib", "4611686018427387904"], ["--threads", "4611686018427387904"], ["--patience", "0"],
            ["--lr", "inf"], ["--dropout", "0.5,1.5"], ["--stop-at", "0"], ["--stop-at", "nan"],
        ]
        for arguments in cases {
            let out = TestSupport.temporaryDirectory() + "/run"
            let result = try nfm(["train", data, "--quiet", "--out", out] + arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(arguments[0]), "\(arguments): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out), "\(arguments)")
        }
    }

    @Test func threadCountsWriteTheSameCheckpointAndMetrics() throws {
        let data = try dataset()
        let root = TestSupport.temporaryDirectory()
        var outputs: [(checkpoint: [UInt8], metrics: [Substring])] = []
        for threads in ["1", "2", "3"] {
            let out = root + "/run" + threads
            let result = try nfm(
                ["train", data, "--epochs", "2", "--factors", "8", "--layers", "8", "--batch-size", "50", "--quiet", "--threads", threads, "--out", out])
            #expect(result.status == 0, "\(result.stderr)")
            // The metric columns (the last two are seconds).
            let metrics = String(decoding: try ReadableFile.readAll(out + "/metrics.csv"), as: UTF8.self)
                .split(separator: "\n").map { $0.split(separator: ",").dropLast(2).joined(separator: ",")[...] }
            outputs.append((try ReadableFile.readAll(out + "/model.nfmc"), metrics))
        }
        #expect(outputs[0].metrics.count == 3)
        #expect(outputs.allSatisfy { $0.checkpoint == outputs[0].checkpoint && $0.metrics == outputs[0].metrics })
        let stopped = try nfm(["train", data, "--epochs", "5", "--factors", "8", "--quiet", "--stop-at", "10", "--json", "--out", root + "/stop"])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(stopped.stdout.contains("\"target\"") && stopped.stdout.contains("\"cumulativeTrainSeconds\""))
        let metrics = String(decoding: try ReadableFile.readAll(root + "/stop/metrics.csv"), as: UTF8.self)
        #expect(metrics.split(separator: "\n").count == 2)
    }

    @Test func theDatasetAndAnEarlierRunAreNeverOverwritten() throws {
        let data = try dataset()
        let manifest = try ReadableFile.readAll(data + "/manifest.json")
        let intoData = try nfm(["train", data, "--epochs", "1", "--factors", "4", "--quiet", "--out", data])
        #expect(intoData.status == NFMError.Code.refused.exitCode)
        let inside = try nfm(["train", data, "--epochs", "1", "--factors", "4", "--quiet", "--out", data + "/run", "--force"])
        #expect(inside.status == NFMError.Code.refused.exitCode)
        #expect(try ReadableFile.readAll(data + "/manifest.json") == manifest)
        #expect(!FileManager.default.fileExists(atPath: data + "/run"))
        #expect(try nfm(["verify", data]).status == 0)

        let run = TestSupport.temporaryDirectory() + "/run"
        let arguments = ["train", data, "--epochs", "1", "--factors", "4", "--quiet", "--out", run]
        #expect(try nfm(arguments).status == 0)
        let again = try nfm(arguments)
        #expect(again.status == NFMError.Code.refused.exitCode)
        #expect(again.stderr.contains("--force"))
        #expect(try nfm(arguments + ["--force"]).status == 0)
    }

    @Test func defaultRunNamesAreSanitised() throws {
        let data = try dataset(name: "../../escaped")
        let work = TestSupport.temporaryDirectory() + "/a/b"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let result = try nfm(["train", data, "--epochs", "1", "--factors", "4", "--quiet"], in: work)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: work + "/runs/.._.._escaped-nfm/summary.json"))
        #expect(!FileManager.default.fileExists(atPath: work + "/../../escaped-nfm"))
    }

    @Test func aDivergingRunExitsTwoNamingTheEpoch() throws {
        let data = try dataset()
        let out = TestSupport.temporaryDirectory() + "/run"
        for extra in [[String](), ["--loss", "log", "--model", "fm"]] {
            let result = try nfm(["train", data, "--optimizer", "sgd", "--lr", "1e30", "--epochs", "3", "--quiet", "--out", out] + extra)
            #expect(result.status == NFMError.Code.diverged.exitCode, "\(extra): \(result.stderr)")
            #expect(result.stderr.contains("error: training diverged at epoch 1"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    @Test func cliModelsAreTheLibraryDefaults() throws {
        let data = try dataset()
        let run = TestSupport.temporaryDirectory() + "/run"
        let fm = try nfm(["train", data, "--model", "fm", "--epochs", "1", "--quiet", "--json", "--out", run])
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(fm.stdout.utf8)) as? [String: Any])
        let model = try #require(summary["model"] as? [String: Any])
        #expect(model["batchNorm"] as? Bool == false)
        #expect(model["biDropout"] as? Double == 0.5)
        #expect(model["factors"] as? Int == 64)
        #expect(summary["learningRate"] as? Double == 0.05)
        #expect(summary["epochLimit"] as? Int == 1 && summary["patience"] as? Int == 4 && summary["earlyStop"] as? Bool == true)
    }

    @Test func evaluateWithSwappedArgumentsSaysSo() throws {
        let data = try dataset()
        let run = TestSupport.temporaryDirectory() + "/run"
        #expect(try nfm(["train", data, "--model", "lr", "--epochs", "1", "--quiet", "--out", run]).status == 0)
        let swapped = try nfm(["evaluate", data, run + "/model.nfmc"])
        #expect(swapped.status == Self.usage)
        #expect(swapped.stderr.contains("swapped"))
        #expect(try nfm(["evaluate", run + "/model.nfmc", data, "--threads", "0"]).status == 2)
    }

    @Test func experimentRunsHaveSummariesAndTheirOutputIsConfined() throws {
        let data = try dataset(name: "../../escaped")
        let work = TestSupport.temporaryDirectory() + "/a/b"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let result = try nfm(["experiment", "fig5", data, "--epochs", "1", "--factors", "4"], in: work)
        #expect(result.status == 0, "\(result.stderr)")
        let out = work + "/experiments/.._.._escaped/fig5"
        let runs = try FileManager.default.contentsOfDirectory(atPath: out + "/runs")
        #expect(runs.count == 2)
        for run in runs {
            for file in ["model.nfmc", "metrics.csv", "curve.svg", "summary.json", "result.json"] {
                #expect(FileManager.default.fileExists(atPath: out + "/runs/\(run)/\(file)"), "\(file)")
            }
        }
        // Not into the dataset; a foreign directory is not taken over.
        #expect(try nfm(["experiment", "fig5", data, "--epochs", "1", "--factors", "4", "--out", data]).status == 2)
        let foreign = TestSupport.temporaryDirectory()
        _ = TestSupport.write("mine", named: "notes.txt", in: foreign)
        #expect(try nfm(["experiment", "fig5", data, "--epochs", "1", "--factors", "4", "--out", foreign, "--force"]).status == 2)
        #expect(FileManager.default.fileExists(atPath: foreign + "/notes.txt"))
    }
}
