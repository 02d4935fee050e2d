import Foundation
import NFMFormat
import NFMPipeline
import NFMTestSupport
import Testing

/// Reads every record of `text` with a given buffer size: fields, or the problem message with position.
func readAll(
    _ text: [UInt8], delimiter: UInt8 = 44, bufferSize: Int = 1 << 20, maximumRecordBytes: Int = 1 << 26
) throws -> [[String]] {
    let directory = TestSupport.temporaryDirectory()
    let path = TestSupport.writeBytes(text, named: "input.csv", in: directory)
    let reader = try DelimitedReader(
        path: path, format: .init(delimiter: delimiter, quote: UInt8(ascii: "\"")), bufferSize: bufferSize,
        maximumRecordBytes: maximumRecordBytes)
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

    @Test(arguments: [16, 1 << 20])
    func aByteOrderMarkIsSkipped(bufferSize: Int) throws {
        let records = try readAll([0xEF, 0xBB, 0xBF] + Array("user,item\n1,\"x\"y\n".utf8), bufferSize: bufferSize)
        #expect(records[0] == ["user", "item", "@1"])
        #expect(records[1] == ["!2:6 expected a delimiter or end of line after closing quote"])
        #expect(try readAll([0xEF, 0xBB, 0xBF]) == [])
        // Only at the very start: elsewhere the bytes are field content.
        #expect(try readAll(Array("a\n".utf8) + [0xEF, 0xBB, 0xBF] + Array("b\n".utf8))[1] == ["\u{FEFF}b", "@2"])
    }

    @Test(arguments: [
        ("gzip", [0x1F, 0x8B, 0x08, 0x00] as [UInt8]), ("zstd", [0x28, 0xB5, 0x2F, 0xFD, 0x24]),
        ("xz", [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 0x00]), ("zip", [0x50, 0x4B, 0x03, 0x04, 0x14]),
        ("bzip2", [0x42, 0x5A, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 0x00]),
    ])
    func compressedInputIsNamed(format: String, magic: [UInt8]) throws {
        let error = #expect(throws: NFMError.self) { try readAll(magic + [0x8B, 0x00, 0xFF, 10]) }
        #expect(error?.code == .input)
        #expect(error?.position?.file == "input.csv" && error?.position?.line == 1 && error?.position?.column == 1)
        #expect(error?.message == "the file is \(format)-compressed; decompress it first")
    }

    @Test func textThatLooksLikeAMagicNumberIsText() throws {
        #expect(try readAll(Array("BZh9,x\n".utf8)) == [["BZh9", "x", "@1"]])
        #expect(try readAll(Array("PK,x\n".utf8)) == [["PK", "x", "@1"]])
    }

    @Test func anOverlongRecordIsAnError() throws {
        let text = Array("a,b\n1,2\n".utf8) + [UInt8](repeating: 120, count: 5000) + [10]
        let error = #expect(throws: NFMError.self) { try readAll(text, bufferSize: 64, maximumRecordBytes: 1000) }
        #expect(error?.code == .input && error?.position?.line == 3 && error?.position?.column == 1)
        #expect(error?.message.hasPrefix("a record longer than 1000 bytes") == true)
        #expect(try readAll(text, bufferSize: 64, maximumRecordBytes: 5001).count == 3)
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
