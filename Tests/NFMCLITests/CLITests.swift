import Foundation
import NFMFormat
import NFMTestSupport
import Testing

/// Runs the built `nfm` executable; returns exit status, standard output and standard error (in `directory` when given, for default output paths).
@discardableResult
func nfm(_ arguments: [String], in directory: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let executable = try #require(TestSupport.nfmExecutable, "the nfm executable is built beside the tests")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

@Suite struct CLITests {
    @Test func buildInspectVerifyEndToEnd() throws {
        let out = TestSupport.temporaryDirectory() + "/ds"
        let build = try nfm([
            "build", TestSupport.pipeline("movielens.json"), "--input", TestSupport.fixture("movielens-synthetic.csv"),
            "--out", out,
        ])
        #expect(build.status == 0)
        #expect(build.stderr.contains("9000 instances (train 6300, validation 1800, test 900)"))
        let inspect = try nfm(["inspect", out])
        #expect(inspect.status == 0 && inspect.stdout.contains("instances  9000: train 6300, validation 1800, test 900"))
        let json = try nfm(["inspect", out, "--json"])
        let manifest = try JSONDecoder().decode(DatasetManifest.self, from: Data(json.stdout.utf8))
        #expect(manifest.counts.instances == 9000)
        #expect(try nfm(["verify", out]).status == 0)
    }

    @Test func verifyExitsNonZeroNamingTheBadFile() throws {
        let out = TestSupport.temporaryDirectory() + "/ds"
        try nfm(["build", TestSupport.pipeline("frappe.json"), "--input", TestSupport.fixture("frappe-synthetic.tsv"), "--out", out])
        let shard = out + "/validation/part-00000.nfms"
        var bytes = try ReadableFile.readAll(shard)
        bytes[100] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: shard))
        let verify = try nfm(["verify", out])
        #expect(verify.status == 4)
        #expect(verify.stderr.contains("validation/part-00000.nfms: checksum mismatch"))
    }

    @Test func badInputExitsNonZeroWithPosition() throws {
        let directory = TestSupport.temporaryDirectory()
        let input = TestSupport.write("userId,movieId,tag,timestamp\n1,2,x\n", named: "tags.csv", in: directory)
        let result = try nfm(["build", TestSupport.pipeline("movielens.json"), "--input", input, "--out", directory + "/ds"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("error: tags.csv:2:6: expected 4 fields, found 3"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/ds"))
        let usage = try nfm(["build", TestSupport.pipeline("movielens.json"), "--input", input, "--out", "x", "--threads", "0"])
        #expect(usage.status == 64)
    }

    @Test func killedBuildNeverLeavesADirectoryThatVerifies() throws {
        let directory = TestSupport.temporaryDirectory()
        let input = directory + "/big.csv"
        try nfm(["synth", "movielens", "--rows", "400000", "--out", input])
        for delay in [0.02, 0.08, 0.2, 0.4, 0.7] {
            let out = directory + "/ds-\(delay)"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try #require(TestSupport.nfmExecutable))
            process.arguments = ["build", TestSupport.pipeline("movielens.json"), "--input", input, "--out", out, "--quiet"]
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal {
                #expect(throws: FormatError.self) { try DatasetVerifier.verify(directory: out) }
            } else {
                // Finished before the kill: then it must be complete.
                #expect(try DatasetVerifier.verify(directory: out).isValid)
            }
        }
    }

    @Test func synthIsDeterministic() throws {
        let a = try nfm(["synth", "movielens", "--rows", "500", "--seed", "3"])
        let b = try nfm(["synth", "movielens", "--rows", "500", "--seed", "3"])
        let c = try nfm(["synth", "movielens", "--rows", "500", "--seed", "4"])
        #expect(a.stdout == b.stdout && a.stdout != c.stdout)
        #expect(a.stdout.split(separator: "\n").count == 501)
    }
}

@Suite struct TrainingCLITests {
    let fixture = TestSupport.fixture("frappe-synthetic.tsv")

    func dataset(seed: String = "2017") throws -> String {
        let out = TestSupport.temporaryDirectory() + "/ds"
        let result = try nfm(["build", TestSupport.pipeline("frappe.json"), "--input", fixture, "--out", out, "--seed", seed, "--quiet"])
        #expect(result.status == 0)
        return out
    }

    @Test func trainEvaluatePredictEndToEnd() throws {
        let data = try dataset()
        let run = TestSupport.temporaryDirectory() + "/run"
        let train = try nfm(["train", data, "--factors", "8", "--layers", "8", "--epochs", "3", "--out", run, "--json", "--quiet"])
        #expect(train.status == 0)
        let summary = try JSONSerialization.jsonObject(with: Data(train.stdout.utf8)) as? [String: Any]
        #expect(summary?["bestEpoch"] != nil)
        for file in ["model.nfmc", "metrics.csv", "curve.svg", "summary.json"] {
            #expect(FileManager.default.fileExists(atPath: run + "/" + file), "\(file) written")
        }
        let csv = try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 4)  // header + 3 epochs

        let evaluate = try nfm(["evaluate", run + "/model.nfmc", data])
        #expect(evaluate.status == 0)
        #expect(evaluate.stdout.contains("validation") && evaluate.stdout.contains("rmse"))

        let predictions = TestSupport.temporaryDirectory() + "/p.tsv"
        let predict = try nfm(["predict", run + "/model.nfmc", "--input", fixture, "--output", predictions])
        #expect(predict.status == 0)
        let lines = try String(contentsOfFile: predictions, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3001)  // header + one per row
        #expect(lines[1].hasPrefix("2\t"))
    }

    @Test func checkpointErrorsExitNonZero() throws {
        let data = try dataset()
        let run = TestSupport.temporaryDirectory() + "/run"
        #expect(try nfm(["train", data, "--model", "fm", "--factors", "4", "--epochs", "1", "--out", run, "--quiet"]).status == 0)
        // Another dataset with other features: built from the MovieLens fixture.
        let other = TestSupport.temporaryDirectory() + "/ml"
        try nfm(["build", TestSupport.pipeline("movielens.json"), "--input", TestSupport.fixture("movielens-synthetic.csv"), "--out", other, "--quiet"])
        let wrong = try nfm(["evaluate", run + "/model.nfmc", other])
        #expect(wrong.status == NFMError.Code.datasetMismatch.exitCode)
        #expect(wrong.stderr.contains("error:"))
        // A flipped byte in the checkpoint.
        var bytes = try ReadableFile.readAll(run + "/model.nfmc")
        bytes[bytes.count - 10] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: run + "/model.nfmc"))
        let corrupt = try nfm(["evaluate", run + "/model.nfmc", data])
        #expect(corrupt.status == NFMError.Code.checkpoint.exitCode)
        #expect(corrupt.stderr.contains("model.nfmc"))
    }

    @Test func experimentResumesFromTheCommandLine() throws {
        let data = try dataset()
        let out = TestSupport.temporaryDirectory() + "/exp"
        let arguments = ["experiment", "fig5", data, "--epochs", "2", "--factors", "4", "--out", out]
        let first = try nfm(arguments)
        #expect(first.status == 0)
        #expect(first.stdout.contains("| with batch norm | 2 |"))
        let second = try nfm(arguments)
        #expect(second.status == 0)
        #expect(second.stderr.contains("resuming: 2 of 2 runs already finished"))
        #expect(try nfm(["experiment", "fig9", data]).status == 64)
    }
}
