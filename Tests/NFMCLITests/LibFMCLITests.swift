import Foundation
import NFMFormat
import NFMTestSupport
import Testing

/// Runs `nfm` with `input` on standard input (a pipe written by this process).
func nfm(
    _ arguments: [String], stdin input: [UInt8], in directory: String? = nil
) throws -> (status: Int32, stdout: String, stderr: String) {
    let executable = try #require(TestSupport.nfmExecutable, "the nfm executable is built beside the tests")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let inPipe = Pipe()
    let out = Pipe()
    let err = Pipe()
    process.standardInput = inPipe
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let writer = inPipe.fileHandleForWriting
    let data = Data(input)
    let feeding = Thread {
        writer.write(data)
        try? writer.close()
    }
    feeding.start()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

@Suite struct LibFMCLITests {
    static let text = Array("1 0:1 3:1\n3.5 1:1 4:1\n4 2:1 3:1\n".utf8)

    @Test(arguments: ["/dev/stdin", "-"])
    func importReadsAPipeOnce(path: String) throws {
        let out = TestSupport.temporaryDirectory() + "/ds"
        let result = try nfm(["import-libfm", "--train", path, "--out", out], stdin: Self.text)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("imported 3 instances (train 3, validation 0, test 0), 5 features, fixed layout"))
        #expect(result.stdout.contains("labels: 3 or more distinct values from 1 to 4 (not binary"))
        let (manifest, _) = try DatasetManifest.load(directory: out)
        #expect(manifest.counts.train == 3)
        #expect(manifest.inputs[0].sha256 == SHA256.hexDigest(of: Self.text))
        #expect(try DatasetVerifier.verify(directory: out).isValid)
    }

    /// A bare relative `--out` (and `.`): the spool goes to the current directory, and nothing is left.
    @Test(arguments: ["ds", "."])
    func importIntoARelativeDirectory(out: String) throws {
        let directory = TestSupport.temporaryDirectory() + "/work"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let result = try nfm(["import-libfm", "--train", "-", "--out", out], stdin: Self.text, in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let listing = try FileManager.default.contentsOfDirectory(atPath: directory)
        #expect(!listing.contains { $0.contains("spool") })
        #expect(try DatasetVerifier.verify(directory: directory + "/" + out).isValid)
    }

    @Test func oneStreamForTwoSplitsIsRefused() throws {
        let out = TestSupport.temporaryDirectory() + "/ds"
        let result = try nfm(["import-libfm", "--train", "-", "--test", "/dev/stdin", "--out", out], stdin: Self.text)
        #expect(result.status == 2)
        #expect(result.stderr.contains("the same stream is given for --train and --test; a stream can be read only once"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func anEmptyPipeIsAnErrorNotZeroRows() throws {
        let out = TestSupport.temporaryDirectory() + "/ds"
        let result = try nfm(["import-libfm", "--train", "-", "--out", out], stdin: [])
        #expect(result.status == 1)
        #expect(result.stderr.contains("error: <stdin>: no rows in the train file"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func badLinesExitOneWithPosition() throws {
        let directory = TestSupport.temporaryDirectory()
        let train = TestSupport.writeBytes(Array("1 0:1\n1 0:inf\n".utf8), named: "train.libfm", in: directory)
        let result = try nfm(["import-libfm", "--train", train, "--out", directory + "/ds"], stdin: [])
        #expect(result.status == 1)
        #expect(result.stderr.contains("error: train.libfm:2:5: the value 'inf' is not a finite number"))
    }

    @Test func jsonAndOwnershipOnBothCommands() throws {
        let directory = TestSupport.temporaryDirectory()
        let train = TestSupport.writeBytes(Array("1 0:1\n-1 1:1\n".utf8), named: "train.libfm", in: directory)
        let dataset = directory + "/ds"
        let imported = try nfm(["import-libfm", "--train", train, "--out", dataset, "--json"], stdin: [])
        #expect(imported.status == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(imported.stdout.utf8)) as? [String: Any])
        #expect(report["instances"] as? Int == 2 && report["layout"] as? String == "fixed")
        #expect((report["labels"] as? [String: Any])?["binary"] as? Bool == true)
        let again = try nfm(["import-libfm", "--train", train, "--out", dataset], stdin: [])
        #expect(again.status == 2 && again.stderr.contains("use --force"))
        let intoInput = try nfm(["import-libfm", "--train", train, "--out", directory, "--force"], stdin: [])
        #expect(intoInput.status == 2)
        #expect(FileManager.default.fileExists(atPath: train))
        let exported = try nfm(["export-libfm", dataset, "--out", directory + "/text", "--json"], stdin: [])
        #expect(exported.status == 0)
        let files = try #require(try JSONSerialization.jsonObject(with: Data(exported.stdout.utf8)) as? [String: Any])
        #expect((files["files"] as? [[String: Any]])?.map { $0["rows"] as? Int } == [2, 0, 0])
        #expect(try String(contentsOfFile: directory + "/text/train.libfm", encoding: .utf8) == "1 0:1\n-1 1:1\n")
        let overwrite = try nfm(["export-libfm", dataset, "--out", directory + "/text"], stdin: [])
        #expect(overwrite.status == 2)
        let intoDataset = try nfm(["export-libfm", dataset, "--out", dataset, "--force"], stdin: [])
        #expect(intoDataset.status == 2)
        #expect(try DatasetVerifier.verify(directory: dataset).isValid)
        let forced = try nfm(["export-libfm", dataset, "--out", directory + "/text", "--force"], stdin: [])
        #expect(forced.status == 0 && forced.stdout.contains("exported train 2 rows, validation 0 rows, test 0 rows"))
    }
}
