import Foundation
import NFMFormat
import NFMTestSupport
import Testing

@testable import NFMPipeline

/// `PendingRecord`: a held record's fields and keys, read after the reader has moved on (the next record,
/// a refilled buffer), are the record's own — plain fields, quoted ones, unescaped `""` (bytes outside the
/// raw record), empty fields and records longer than its first buffer.
@Suite struct PendingRecordTests {
    @Test func heldFieldsOutliveTheCallback() throws {
        var lines = ["a,\"q,1\",\"say \"\"hi\"\"\",", "\"\",x,\"\"\"\",yy", String(repeating: "long", count: 200) + ",2,3,4"]
        for i in 0..<300 { lines.append("u\(i),i\(i * 7),\"c\"\"\(i)\",") }
        let directory = TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = TestSupport.writeBytes(Array((lines.joined(separator: "\n") + "\n").utf8), named: "in.csv", in: directory)
        // A small buffer: records are moved and the buffer refilled while a record is held.
        let reader = try DelimitedReader(
            path: path, format: .init(delimiter: 44, quote: UInt8(ascii: "\"")), bufferSize: 1 << 10,
            maximumRecordBytes: 1 << 20)
        let tables = VocabularyScanTables(count: 3)
        var (held, spare) = (PendingRecord(fieldCount: 3), PendingRecord(fieldCount: 3))
        var expected: [[[UInt8]]] = []
        var seen: [[[UInt8]]] = []
        let columns = [2, 0, 1]
        func check(_ record: PendingRecord) {
            seen.append((0..<3).map { Array(record.field($0)) })
            for f in 0..<3 {
                let (key, hash) = Vocabulary.key(record.field(f))
                #expect(record.keys[2 * f] == key && record.keys[2 * f + 1] == hash)
            }
        }
        try reader.forEachRecord { row in
            #expect(row.problem == nil)
            expected.append(columns.map { Array(row.field($0)) })
            columns.withUnsafeBufferPointer { spare.hold(row, columns: $0, tables) }
            if held.isHeld { check(held) }
            (held, spare) = (spare, held)
        }
        check(held)
        #expect(seen == expected)
        #expect(expected[0] == [Array("say \"hi\"".utf8), Array("a".utf8), Array("q,1".utf8)])
        #expect(expected[1][2] == Array("x".utf8) && expected[1][0] == Array("\"".utf8) && expected[1][1].isEmpty)
    }
}
