import Foundation
import NFMFormat
@testable import NFMPipeline
import NFMTestSupport
import Testing

/// Imports `text` as the train file; returns the error (recording an issue when it succeeded) and checks
/// that no output was left behind.
func libFMImportError(_ text: [UInt8], named name: String = "train.libfm") -> NFMError? {
    let directory = TestSupport.temporaryDirectory()
    let train = TestSupport.writeBytes(text, named: name, in: directory)
    let error = #expect(throws: NFMError.self) {
        try LibFMConverter.importFiles(.init(files: [.train: train], outputDirectory: directory + "/ds"))
    }
    #expect(!FileManager.default.fileExists(atPath: directory + "/ds"))
    return error
}

@Suite struct LibFMLimitsTests {
    /// (line, column, message): each malformed line is an `.input` error at its token.
    static let malformed: [(String, Int, String)] = [
        ("x 1:1", 1, "expected a numeric label, found 'x'"),
        ("nan 1:1", 1, "the label 'nan' is not a finite number"),
        ("-inf 1:1", 1, "the label '-inf' is not a finite number"),
        ("1e39 1:1", 1, "the label '1e39' is not a finite number"),
        ("1 1:nan", 5, "the value 'nan' is not a finite number"),
        ("1 1:-1e39", 5, "the value '-1e39' is not a finite number"),
        ("1 1:", 5, "expected a number after ':', found nothing"),
        ("1 7", 3, "expected 'index:value', found '7'"),
        ("1 -7:1", 3, "expected a non-negative integer index before ':', found '-7'"),
        ("1 :1", 3, "expected a non-negative integer index before ':', found nothing"),
        ("1\t4294967295:1", 3, "index 4294967295 is above the limit 2147483646 (2^31 − 2)"),
        ("1 2147483647:1", 3, "index 2147483647 is above the limit 2147483646 (2^31 − 2)"),
        ("1 99999999999999999999999:1", 3, "index 99999999999999999999999 is above the limit"),
    ]

    @Test(arguments: malformed)
    func malformedLinesNameTheirToken(line: String, column: Int, message: String) throws {
        let error = try #require(libFMImportError(Array(("1 0:1\n" + line + "\n").utf8)))
        #expect(error.code == .input)
        #expect(error.position == NFMError.Position(file: "train.libfm", line: 2, column: column))
        #expect(error.message.hasPrefix(message), "\(error.message)")
        let direct = #expect(throws: NFMError.self) { try LibFMLine.parse(line, file: "t", line: 7) }
        #expect(direct?.position == NFMError.Position(file: "t", line: 7, column: column))
    }

    @Test func aRowOfAMillionEntriesIsRefusedAtEntry4097() throws {
        let text = Array(("1" + String(repeating: " 7:1", count: 1_000_000) + "\n").utf8)
        let error = try #require(libFMImportError(text))
        #expect(error.code == .input && error.position?.line == 1)
        let column = 1 + 4096 * 4 + 2
        #expect(error.position?.column == column)
        #expect(error.message == "more than 4096 entries in one row (the limit)")
    }

    @Test func theLargestIndexAndRowAreAccepted() throws {
        let directory = TestSupport.temporaryDirectory()
        let wide = "1" + (0..<4096).map { " \($0 * 2):0.5" }.joined() + "\n"
        let train = TestSupport.write(wide + "-1 2147483646:1\n", named: "train.libfm", in: directory)
        let result = try LibFMConverter.importFiles(.init(files: [.train: train], outputDirectory: directory + "/ds"))
        #expect(result.manifest.featureCount == 2_147_483_647 && result.manifest.layout == .sparse)
        #expect(result.manifest.shards.count == 1)  // 16,384 rows per shard by default for 4,096-entry rows
        let block = try TestSupport.instances(directory + "/ds", result.manifest, .train)
        #expect(block.features(ofRow: 0).indices.count == 4096)
        #expect(Array(block.features(ofRow: 1).indices) == [2_147_483_646])
        #expect(try DatasetVerifier.verify(directory: directory + "/ds").isValid)
    }

    @Test func shardRowsTimesEntriesIsBounded() throws {
        let directory = TestSupport.temporaryDirectory()
        let train = TestSupport.write("1" + (0..<2048).map { " \($0):1" }.joined() + "\n", named: "train.libfm", in: directory)
        var options = LibFMConverter.ImportOptions(files: [.train: train], outputDirectory: directory + "/ds")
        options.rowsPerShard = 65536
        let error = #expect(throws: NFMError.self) { try LibFMConverter.importFiles(options) }
        #expect(error?.code == .usage && error?.position?.field == "--shard-rows")
        #expect(error?.message.hasSuffix("use --shard-rows 32768 or less") == true)
        options.rowsPerShard = 32768
        #expect(try LibFMConverter.importFiles(options).manifest.layout == .sparse)  // 2,048 fields > 1,024: sparse
        options.rowsPerShard = 0
        #expect(throws: NFMError.self) { try LibFMConverter.importFiles(options) }
    }

    @Test func regressionLabelsAreNotCalledPositiveAndNegative() throws {
        let directory = TestSupport.temporaryDirectory()
        let train = TestSupport.write("1 0:1\n3.5 1:1\n4 0:1\n4 1:1\n", named: "train.libfm", in: directory)
        let result = try LibFMConverter.importFiles(.init(files: [.train: train], outputDirectory: directory + "/ds"))
        #expect(!result.labels.isBinary && result.labels.minimum == 1 && result.labels.maximum == 4)
        #expect(result.labels.description.hasPrefix("3 or more distinct values from 1 to 4 (not binary"))
        #expect(result.manifest.counts.positives == 0 && result.manifest.counts.negatives == 0)
        #expect(result.manifest.labels == .init(positive: 4, negative: 1))  // the range predictions are clipped to
    }

    @Test func binaryLabelsAreCounted() throws {
        let directory = TestSupport.temporaryDirectory()
        let train = TestSupport.write("1 0:1\n-1 1:1\n-1 0:1\n", named: "train.libfm", in: directory)
        let test = TestSupport.write("+1 1:1\n", named: "test.libfm", in: directory)
        let result = try LibFMConverter.importFiles(
            .init(files: [.train: train, .test: test], outputDirectory: directory + "/ds"))
        #expect(result.labels.isBinary && result.labels.description == "1 (2 rows) and -1 (2 rows)")
        #expect(result.manifest.counts.positives == 2 && result.manifest.counts.negatives == 2)
        #expect(result.manifest.inputs.map(\.name) == ["train.libfm", "test.libfm"])
        #expect(result.manifest.inputs[0].bytes == 20)
        #expect(result.manifest.inputs[0].sha256 == SHA256.hexDigest(of: Array("1 0:1\n-1 1:1\n-1 0:1\n".utf8)))
    }

    @Test func anEmptyTrainFileIsAnError() throws {
        let error = try #require(libFMImportError(Array("\n\n".utf8)))
        #expect(error.code == .input && error.position?.file?.hasSuffix("train.libfm") == true)
        #expect(error.message.hasPrefix("no rows in the train file"))
    }

    @Test func compressedAndBOMInputs() throws {
        let bom = try #require(libFMImportError([0xEF, 0xBB, 0xBF] + Array("1 0:x\n".utf8)))
        #expect(bom.position == NFMError.Position(file: "train.libfm", line: 1, column: 5))
        let xz = try #require(libFMImportError([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 0x00, 0x04]))
        #expect(xz.code == .input && xz.message == "the file is xz-compressed; decompress it first")
    }

    @Test func parentDirectories() {
        let cases = [("ds", "."), ("ds/", "."), (".", "."), ("a/b", "a"), ("a/b/", "a"), ("/a", "/"), ("/", "/"), ("a//b", "a/")]
        for (path, parent) in cases { #expect(LibFMConverter.parentDirectory(of: path) == parent, "\(path)") }
    }

    @Test func outputOwnershipRules() throws {
        let directory = TestSupport.temporaryDirectory()
        let train = TestSupport.write("1 0:1\n-1 1:1\n", named: "train.libfm", in: directory)
        // --out equal to or containing an input.
        for out in [directory, train] {
            let error = #expect(throws: NFMError.self) {
                try LibFMConverter.importFiles(.init(files: [.train: train], outputDirectory: out))
            }
            #expect(error?.code == .refused)
        }
        // A directory nfm did not write is never replaced, even with force.
        let foreign = directory + "/foreign"
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: true)
        _ = TestSupport.write("keep", named: "notes.txt", in: foreign)
        var options = LibFMConverter.ImportOptions(files: [.train: train], outputDirectory: foreign)
        options.force = true
        #expect(throws: NFMError.self) { try LibFMConverter.importFiles(options) }
        #expect(FileManager.default.fileExists(atPath: foreign + "/notes.txt"))
        // An earlier import needs force; a bad input never touches it.
        options.outputDirectory = directory + "/ds"
        options.force = false
        try LibFMConverter.importFiles(options)
        #expect(throws: NFMError.self) { try LibFMConverter.importFiles(options) }
        options.force = true
        options.files[.train] = TestSupport.write("1 0:oops\n", named: "bad.libfm", in: directory)
        #expect(throws: NFMError.self) { try LibFMConverter.importFiles(options) }
        #expect(try DatasetVerifier.verify(directory: directory + "/ds").isValid)
    }

    @Test func exportChecksShardsAndOwnership() throws {
        let directory = TestSupport.temporaryDirectory()
        let train = TestSupport.write("1 0:1\n-1 1:1\n", named: "train.libfm", in: directory)
        let dataset = directory + "/ds"
        try LibFMConverter.importFiles(.init(files: [.train: train], outputDirectory: dataset))
        let files = try LibFMConverter.export(datasetDirectory: dataset, to: directory + "/text")
        #expect(files.map(\.rows) == [2, 0, 0] && files[0].bytes == 13)
        #expect(throws: NFMError.self) { try LibFMConverter.export(datasetDirectory: dataset, to: directory + "/text") }
        #expect(try LibFMConverter.export(datasetDirectory: dataset, to: directory + "/text", force: true).count == 3)
        let inside = #expect(throws: NFMError.self) { try LibFMConverter.export(datasetDirectory: dataset, to: dataset + "/x") }
        #expect(inside?.code == .refused)
        let shard = dataset + "/" + (try DatasetManifest.load(directory: dataset)).manifest.shards[0].file
        var bytes = try ReadableFile.readAll(shard)
        bytes[bytes.count - 1] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: shard))
        let corrupt = #expect(throws: NFMError.self) {
            try LibFMConverter.export(datasetDirectory: dataset, to: directory + "/again")
        }
        #expect(corrupt?.code == .corruptShard && corrupt?.position?.file == shard)
        #expect(!FileManager.default.fileExists(atPath: directory + "/again"))
        // A corrupt dataset never costs an earlier export, even with force.
        #expect(throws: NFMError.self) { try LibFMConverter.export(datasetDirectory: dataset, to: directory + "/text", force: true) }
        #expect(try String(contentsOfFile: directory + "/text/train.libfm", encoding: .utf8) == "1 0:1\n-1 1:1\n")
    }
}
