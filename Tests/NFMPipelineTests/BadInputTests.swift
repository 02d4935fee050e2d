import Foundation
import NFMFormat
import NFMPipeline
import NFMTestSupport
import Testing

@Suite struct BadInputTests {
    static let header = "userId,movieId,tag,timestamp\n"

    /// Builds `text` as a MovieLens log; returns the error message, and checks no output is left behind.
    func failure(_ text: [UInt8], definition: String = "movielens.json") throws -> String {
        let directory = TestSupport.temporaryDirectory()
        let input = TestSupport.writeBytes(text, named: "tags.csv", in: directory)
        let out = directory + "/out"
        var options = DatasetBuilder.Options(
            definition: try DatasetDefinition.load(path: TestSupport.pipeline(definition)), inputPath: input,
            outputDirectory: out)
        options.definition.shardRows = 2
        do {
            try DatasetBuilder.build(options)
            Issue.record("build succeeded")
            return ""
        } catch let error as PipelineError {
            #expect(!FileManager.default.fileExists(atPath: out))
            return error.description
        }
    }

    @Test func wrongColumnCount() throws {
        let message = try failure(Array((Self.header + "1,2,funny,3\n1,2,funny\n").utf8))
        #expect(message == "tags.csv:3:10: expected 4 fields, found 3")
        let tooMany = try failure(Array((Self.header + "1,2,funny,3,extra\n").utf8))
        #expect(tooMany == "tags.csv:2:13: expected 4 fields, found 5")
    }

    @Test func unterminatedQuote() throws {
        let message = try failure(Array((Self.header + "1,2,funny,3\n4,5,\"never closed,6\n7,8,x,9\n").utf8))
        #expect(message == "tags.csv:3:5: unterminated quoted field (no closing quote before end of file)")
    }

    @Test func missingHeaderColumn() throws {
        let message = try failure(Array("userId,movieId,timestamp\n1,2,3\n".utf8))
        #expect(message.hasPrefix("tags.csv:1:1: missing header column 'tag'"))
    }

    @Test func emptyFile() throws {
        #expect(try failure([]) == "tags.csv:1:1: empty file: expected a header line")
        #expect(try failure(Array(Self.header.utf8)).contains("no valid data rows"))
    }

    @Test func invalidUTF8() throws {
        let message = try failure(Array((Self.header + "1,2,ok,3\n").utf8) + Array("1,2,caf".utf8) + [0xE9] + Array(",4\n".utf8))
        #expect(message == "tags.csv:3:8: invalid UTF-8 byte 0xe9")
    }

    /// Issue 7 §6: a byte-order mark is not part of the first column's name. Issue 9: gzip and zstd input
    /// is decompressed, so a truncated stream is an error naming the input and the compressed byte.
    @Test func byteOrderMarkAndCompressedInput() throws {
        let directory = TestSupport.temporaryDirectory()
        let input = TestSupport.writeBytes(
            [0xEF, 0xBB, 0xBF] + Array((Self.header + "1,2,a,3\n1,3,b,4\n2,2,c,5\n").utf8), named: "tags.csv", in: directory)
        let (_, manifest) = try TestSupport.build(definition: "movielens.json", input: input)
        #expect(manifest.counts.rowsRead == 3)
        let gzip = try failure([0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x8B])
        #expect(gzip.hasSuffix("/tags.csv: field compressed byte = 11: gzip stream is truncated"))
        let zstd = try failure([0x28, 0xB5, 0x2F, 0xFD, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00])
        #expect(zstd.hasSuffix("/tags.csv: field compressed byte = 10: zstd stream is truncated"))
    }

    @Test func definitionNamingAnUnknownColumn() throws {
        var text = try String(contentsOfFile: TestSupport.pipeline("movielens.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: "\"fields\": [\"userId\", \"movieId\", \"tag\"]", with: "\"fields\": [\"userId\", \"movie\", \"tag\"]")
        let error = #expect(throws: NFMError.self) { try DatasetDefinition.parse(text: text, file: "bad.json") }
        #expect(error?.code == .definition)
        #expect(error?.position == NFMError.Position(file: "bad.json", line: 5, column: 24, field: "fields[1]", value: "movie"))
        #expect(error?.message == "is not one of the columns; did you mean 'movieId'?")
        let missing = #expect(throws: NFMError.self) { try DatasetDefinition.parse(text: "{\"name\": \"x\"}", file: "bad.json") }
        #expect(missing?.code == .definition)
        #expect(missing?.position == NFMError.Position(file: "bad.json", line: 1, column: 1, field: "input"))
        #expect(missing?.message == "missing key")
    }

    @Test func unknownRuleIsAUsageError() throws {
        let directory = TestSupport.temporaryDirectory()
        let input = TestSupport.write(Self.header + "1,2,a,3\n", named: "tags.csv", in: directory)
        let error = #expect(throws: NFMError.self) {
            try TestSupport.build(definition: "movielens.json", input: input) { $0.rule = "nope" }
        }
        #expect(error?.code == .usage)
        #expect(error?.message == "unknown negative rule 'nope'; movielens.json defines [\"user-movie\"]")
    }

    @Test func skipBadRowsCountsAndKeepsThem() throws {
        let directory = TestSupport.temporaryDirectory()
        let text = Self.header + "1,2,a,3\n1,2\n2,3,b,4\n5,6,\"x\"y,7\n3,4,c,5\n"
        let input = TestSupport.write(text, named: "tags.csv", in: directory)
        let (out, manifest) = try TestSupport.build(definition: "movielens.json", input: input) {
            $0.skipBadRows = true
        }
        #expect(manifest.counts.rowsRead == 5)
        #expect(manifest.counts.rowsRejected == 2)
        #expect(manifest.counts.positives == 3)
        let rejects = try String(contentsOfFile: out + "/rejects.tsv", encoding: .utf8)
        #expect(
            rejects == "line\tcolumn\treason\trecord\n3\t4\texpected 4 fields, found 2\t1,2\n"
                + "5\t8\texpected a delimiter or end of line after closing quote\t5,6,\"x\"y,7\n")
        #expect(manifest.files.contains { $0.path == "rejects.tsv" })
        #expect(try DatasetVerifier.verify(directory: out).isValid)
    }

    @Test func nonEmptyOutputNeedsForce() throws {
        let (out, _) = try TestSupport.build(definition: "frappe.json", input: TestSupport.fixture("frappe-synthetic.tsv"))
        var options = DatasetBuilder.Options(
            definition: try DatasetDefinition.load(path: TestSupport.pipeline("frappe.json")),
            inputPath: TestSupport.fixture("frappe-synthetic.tsv"), outputDirectory: out)
        #expect(throws: PipelineError.self) { try DatasetBuilder.build(options) }
        #expect(try DatasetVerifier.verify(directory: out).isValid)  // untouched
        options.force = true
        options.seed = 99
        let manifest = try DatasetBuilder.build(options)
        #expect(manifest.seed == 99)
    }
}
