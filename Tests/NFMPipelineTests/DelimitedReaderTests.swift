import Foundation
import NFMPipeline
import NFMTestSupport
import Testing

/// Reads every record of `text` with a given buffer size: fields, or the problem message with position.
func readAll(_ text: [UInt8], delimiter: UInt8 = 44, bufferSize: Int = 1 << 20) throws -> [[String]] {
    let directory = TestSupport.temporaryDirectory()
    let path = TestSupport.writeBytes(text, named: "input.csv", in: directory)
    let reader = try DelimitedReader(
        path: path, format: .init(delimiter: delimiter, quote: UInt8(ascii: "\"")), bufferSize: bufferSize)
    var records: [[String]] = []
    try reader.forEachRecord { record in
        if let problem = record.problem {
            records.append(["!\(problem.line):\(problem.column) \(problem.message)"])
        } else {
            records.append((0..<record.fieldCount).map { record.string($0) } + ["@\(record.line)"])
        }
    }
    return records
}

@Suite struct DelimitedReaderTests {
    let rfc4180: [UInt8] = Array(
        [
            "userId,movieId,tag,timestamp\r\n",
            "1,2,\"funny, dark\",10\r\n",
            "3,4,\"say \"\"hi\"\"\",11\n",
            "5,6,\"multi\nline\",12\n",
            "\n",
            "7,8,,13\n",
            "9,10,\"\",14\n",
            "11,12,été 日本,15",
        ].joined().utf8)

    @Test func parsesRFC4180() throws {
        let records = try readAll(rfc4180)
        #expect(
            records == [
                ["userId", "movieId", "tag", "timestamp", "@1"],
                ["1", "2", "funny, dark", "10", "@2"],
                ["3", "4", "say \"hi\"", "11", "@3"],
                ["5", "6", "multi\nline", "12", "@4"],
                ["7", "8", "", "13", "@7"],
                ["9", "10", "", "14", "@8"],
                ["11", "12", "été 日本", "15", "@9"],
            ])
    }

    @Test(arguments: [16, 17, 23, 64, 4096])
    func bufferSizeChangesNothing(bufferSize: Int) throws {
        #expect(try readAll(rfc4180, bufferSize: bufferSize) == readAll(rfc4180))
        let fixture = try ReadableFileBytes.load(TestSupport.fixture("movielens-synthetic.csv"))
        #expect(try readAll(fixture, bufferSize: bufferSize) == readAll(fixture))
    }

    @Test func unterminatedQuoteNamesItsPosition() throws {
        let records = try readAll(Array("a,b\n1,\"open\n2,3\n".utf8))
        #expect(records.last == ["!2:3 unterminated quoted field (no closing quote before end of file)"])
    }

    @Test func textAfterClosingQuoteIsAnError() throws {
        let records = try readAll(Array("a,b\n1,\"x\"y\n2,3\n".utf8))
        #expect(records[1] == ["!2:6 expected a delimiter or end of line after closing quote"])
        #expect(records[2] == ["2", "3", "@3"])
    }

    @Test func invalidUTF8IsAnError() throws {
        let records = try readAll(Array("a,b\n".utf8) + [49, 44, 0x61, 0xC3, 0x28, 10] + Array("2,3\n".utf8))
        #expect(records[1] == ["!2:4 invalid UTF-8 byte 0xc3"])
        #expect(records[2] == ["2", "3", "@3"])
    }

    @Test func tabSeparatedWithSpaces() throws {
        let records = try readAll(Array("user\tcountry\n0\tUnited States\n".utf8), delimiter: 9)
        #expect(records[1] == ["0", "United States", "@2"])
    }

    @Test func lastLineWithoutNewline() throws {
        #expect(try readAll(Array("a,b\n1,2".utf8)) == [["a", "b", "@1"], ["1", "2", "@2"]])
    }
}

enum ReadableFileBytes {
    static func load(_ path: String) throws -> [UInt8] {
        try Array(String(contentsOfFile: path, encoding: .utf8).utf8)
    }
}
