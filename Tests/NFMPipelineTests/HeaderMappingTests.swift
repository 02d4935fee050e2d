import Foundation
import NFMFormat
import NFMPipeline
import NFMTestSupport
import Testing

/// The one header mapper, as the builder and `RawRowEncoder` both see it.
@Suite struct HeaderMappingTests {
    static let header = "userId,movieId,tag,timestamp\n"

    /// Builds `text` as a MovieLens log and returns the error it fails with.
    func buildError(_ text: String) throws -> NFMError {
        let directory = TestSupport.temporaryDirectory()
        let input = TestSupport.write(text, named: "tags.csv", in: directory)
        let error = try #require(throws: NFMError.self) {
            try TestSupport.build(definition: "movielens.json", input: input)
        }
        return error
    }

    /// Encodes `text` with the vocabularies of a MovieLens build and returns the error it fails with.
    func encodeError(_ text: String) throws -> NFMError {
        let (dataset, manifest) = try TestSupport.build(
            definition: "movielens.json", input: TestSupport.fixture("movielens-synthetic.csv"))
        let encoder = try RawRowEncoder(datasetDirectory: dataset, manifest: manifest)
        let input = TestSupport.write(text, named: "tags.csv", in: TestSupport.temporaryDirectory())
        let error = try #require(throws: NFMError.self) { try encoder.encode(path: input) { _ in } }
        return error
    }

    @Test func duplicateHeaderColumnNamesBothPositions() throws {
        let text = "userId,movieId,tag,userId,timestamp\n1,2,a,3,4\n"
        for error in [try buildError(text), try encodeError(text)] {
            #expect(error.code == .input)
            #expect(error.position == .init(file: "tags.csv", line: 1, column: 20))
            #expect(error.message == "duplicate header column 'userId' (also at tags.csv:1:1)")
        }
    }

    @Test func builderAndEncoderReportTheSamePositions() throws {
        let cases: [(String, line: Int, column: Int, found: Int)] = [
            ("1,2,x\n", 2, 6, 3), ("1,2,x,4,5\n", 2, 9, 5), ("1,\"a\nb\",x\n", 3, 5, 3),
        ]
        for (row, line, column, found) in cases {
            for error in [try buildError(Self.header + row), try encodeError(Self.header + row)] {
                #expect(error.code == .input)
                #expect(error.position == .init(file: "tags.csv", line: line, column: column))
                #expect(error.message == "expected 4 fields, found \(found)")
            }
        }
    }

    @Test func missingColumnIsNamedAtTheHeaderLine() throws {
        let error = try buildError("userId,movieId,timestamp\n1,2,3\n")
        #expect(error.code == .input)
        #expect(error.position == .init(file: "tags.csv", line: 1, column: 1))
        #expect(error.message.hasPrefix("missing header column 'tag'"))
    }

    @Test func byteOrderMarkBeforeTheHeaderIsSkipped() throws {
        let directory = TestSupport.temporaryDirectory()
        let text = try String(contentsOfFile: TestSupport.fixture("movielens-synthetic.csv"), encoding: .utf8)
        let input = TestSupport.writeBytes([0xEF, 0xBB, 0xBF] + Array(text.utf8), named: "bom.csv", in: directory)
        let (withMark, _) = try TestSupport.build(definition: "movielens.json", input: input)
        let (without, _) = try TestSupport.build(
            definition: "movielens.json", input: TestSupport.fixture("movielens-synthetic.csv"))
        var a = TestSupport.snapshot(withMark)
        var b = TestSupport.snapshot(without)
        // The manifests differ in the input's name, size and hash; shards and vocabularies do not.
        a["manifest.json"] = nil
        b["manifest.json"] = nil
        a["manifest.sha256"] = nil
        b["manifest.sha256"] = nil
        #expect(a.count > 5 && a == b)
    }
}
