import Foundation
import NFMFormat
import NFMTestSupport
import Testing

/// `nfm build`'s ownership rules (issue 7), run through the built executable as a user would.
@Suite struct BuildSafetyTests {
    static let definition = TestSupport.pipeline("movielens.json")
    static let fixture = TestSupport.fixture("movielens-synthetic.csv")

    /// A synthetic log large enough that a build is still running a fraction of a second after it starts
    /// (made once per test process).
    static let largeInput = synthetic(rows: 400_000)
    /// A log whose build takes a moment, so that two builds started together overlap.
    static let mediumInput = synthetic(rows: 60_000)

    static func synthetic(rows: Int) -> String {
        let path = TestSupport.temporaryDirectory("build-safety") + "/synthetic-\(rows).csv"
        _ = try? nfm(["synth", "movielens", "--rows", "\(rows)", "--out", path])
        return path
    }

    func build(_ out: String, input: String = fixture, _ extra: [String] = []) throws -> (status: Int32, stdout: String, stderr: String) {
        try nfm(["build", Self.definition, "--input", input, "--out", out, "--quiet"] + extra)
    }

    func verifies(_ directory: String) throws -> Bool {
        try nfm(["verify", directory]).status == 0
    }

    @Test func forceNeverReplacesAForeignDirectory() throws {
        let out = TestSupport.temporaryDirectory() + "/mine"
        try FileManager.default.createDirectory(atPath: out + "/sub", withIntermediateDirectories: true)
        _ = TestSupport.write("precious\n", named: "notes.txt", in: out)
        _ = TestSupport.write("also\n", named: "sub/more.txt", in: out)
        let before = TestSupport.snapshot(out)
        let result = try build(out, ["--force"])
        #expect(result.status == 2)
        #expect(result.stderr.contains(out))
        #expect(TestSupport.snapshot(out) == before)
    }

    @Test func badInputWithForceLeavesTheDatasetIntact() throws {
        let out = TestSupport.temporaryDirectory() + "/ds"
        #expect(try build(out).status == 0)
        let before = TestSupport.snapshot(out)
        let typo = try build(out, input: Self.fixture + ".typo", ["--force"])
        #expect(typo.status == 3)
        #expect(typo.stderr.contains("movielens-synthetic.csv.typo"))
        let rule = try build(out, ["--force", "--rule", "nosuchrule"])
        #expect(rule.status == 2)
        #expect(rule.stderr.contains("nosuchrule"))
        let directory = TestSupport.temporaryDirectory()
        let header = try build(
            out, input: TestSupport.write("userId,movie,tag,timestamp\n1,2,a,3\n", named: "h.csv", in: directory), ["--force"])
        #expect(header.status == 1)
        #expect(header.stderr.contains("h.csv:1:1: missing header column 'movieId'"))
        let empty = try build(out, input: TestSupport.write("", named: "empty.csv", in: directory), ["--force"])
        #expect(empty.status == 1)
        #expect(empty.stderr.contains("empty.csv:1:1: empty file"))
        #expect(TestSupport.snapshot(out) == before)
        #expect(try verifies(out))
        // And --force does replace nfm's own dataset.
        #expect(try build(out, ["--force", "--seed", "5"]).status == 0)
        #expect(try verifies(out))
        #expect(TestSupport.snapshot(out) != before)
    }

    @Test func outputThatIsOrContainsTheInputIsRefused() throws {
        let directory = TestSupport.temporaryDirectory()
        let input = TestSupport.write(
            try String(contentsOfFile: Self.fixture, encoding: .utf8), named: "tags.csv", in: directory + "/")
        let before = try ReadableFile.readAll(input)
        for out in [directory, directory + "/", directory + "/../" + (directory as NSString).lastPathComponent,
                    (directory as NSString).deletingLastPathComponent, input] {
            let result = try build(out, input: input, ["--force"])
            #expect(result.status == 2, "--out \(out)")
            #expect(result.stderr.contains("the output is the input") || result.stderr.contains("contains the input"))
            #expect(try ReadableFile.readAll(input) == before)
        }
        // Nor may it hold the definition.
        let definitionDirectory = TestSupport.temporaryDirectory()
        let definition = TestSupport.write(
            try String(contentsOfFile: Self.definition, encoding: .utf8), named: "def.json", in: definitionDirectory)
        let result = try nfm(["build", definition, "--input", Self.fixture, "--out", definitionDirectory, "--force"])
        #expect(result.status == 2)
        #expect(try String(contentsOfFile: definition, encoding: .utf8) == String(contentsOfFile: Self.definition, encoding: .utf8))
    }

    @Test func repeatedInputIsRefusedNotDropped() throws {
        let out = TestSupport.temporaryDirectory() + "/ds"
        let result = try nfm([
            "build", Self.definition, "--input", Self.fixture, "--input", Self.fixture, "--out", out,
        ])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--input given 2 times"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func synthReplacesAFileOnlyWithForce() throws {
        let path = TestSupport.write("keep me\n", named: "log.csv", in: TestSupport.temporaryDirectory())
        let refused = try nfm(["synth", "movielens", "--rows", "10", "--out", path])
        #expect(refused.status == 2)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me\n")
        #expect(try nfm(["synth", "movielens", "--rows", "10", "--out", path, "--force"]).status == 0)
        #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("userId,movieId,tag,timestamp\n"))
    }

    @Test func jsonPrintsTheResult() throws {
        let out = TestSupport.temporaryDirectory() + "/ds"
        let result = try build(out, ["--json"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["instances"] as? Int == 9000)
        #expect(object["train"] as? Int == 6300)
        #expect(object["directory"] as? String == out)
    }

    @Test func concurrentBuildsIntoOneDirectory() throws {
        let input = Self.mediumInput
        for trial in 0..<3 {
            let out = TestSupport.temporaryDirectory() + "/ds-\(trial)"
            let processes = try (0..<2).map { _ in try start(["--input", input, "--out", out, "--force"]) }
            let results = processes.map { finish($0) }
            let succeeded = results.filter { $0.status == 0 }
            let failed = results.filter { $0.status != 0 }
            #expect(succeeded.count == 1 && failed.count == 1, "trial \(trial): \(results.map(\.status))")
            for failure in failed {
                #expect(failure.status == 2)
                #expect(failure.stderr.contains("another nfm process is writing"), "\(failure.stderr)")
            }
            #expect(try verifies(out))
        }
    }

    @Test(arguments: [SIGINT, SIGTERM])
    func signalRemovesThePartialOutput(signal: Int32) throws {
        let out = TestSupport.temporaryDirectory() + "/ds"
        let process = try start(["--input", Self.largeInput, "--out", out])
        // Wait until the build has claimed its output and is working in it.
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: out + "/.scratch") && process.process.isRunning
            && Date() < deadline
        {
            Thread.sleep(forTimeInterval: 0.005)
        }
        kill(process.process.processIdentifier, signal)
        let result = finish(process)
        // 400,000 rows take seconds to build; the signal arrives during the first pass.
        #expect(result.status == 128 + signal)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    // MARK: - Processes

    struct Running {
        let process: Process
        let stderr: Pipe
    }

    func start(_ arguments: [String]) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(TestSupport.nfmExecutable))
        process.arguments = ["build", Self.definition, "--quiet"] + arguments
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return Running(process: process, stderr: stderr)
    }

    func finish(_ running: Running) -> (status: Int32, stderr: String) {
        let data = running.stderr.fileHandleForReading.readDataToEndOfFile()
        running.process.waitUntilExit()
        return (running.process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
