import Foundation
import NFMFormat
import Testing

/// Checks that the worked examples of docs/FORMAT.md are what `ShardCodec` writes and reads.
@Suite struct FormatDocTests {
    /// docs/FORMAT.md, found from this file's path (Tests/NFMFormatTests/ → repository root).
    static let documentPath = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/FORMAT.md").path

    /// The bytes of the hex dump between `<!-- NAME: begin -->` and `<!-- NAME: end -->`: lines
    /// `OFFSET  hh hh … |ascii|`, each offset equal to the number of bytes before it.
    static func hexDump(_ name: String) throws -> [UInt8] {
        let text = try String(contentsOfFile: documentPath, encoding: .utf8)
        let begin = try #require(text.range(of: "<!-- \(name): begin -->"), "no \(name) in FORMAT.md")
        let end = try #require(text.range(of: "<!-- \(name): end -->", range: begin.upperBound..<text.endIndex))
        var bytes: [UInt8] = []
        for line in text[begin.upperBound..<end.lowerBound].split(separator: "\n") {
            let hex = line.split(separator: "|", maxSplits: 1).first ?? ""
            let tokens = hex.split(separator: " ")
            guard let first = tokens.first, first.count == 8, let offset = Int(first, radix: 16) else { continue }
            #expect(offset == bytes.count, "offset \(first) in \(name)")
            for token in tokens.dropFirst() {
                bytes.append(try #require(UInt8(token, radix: 16), "bad byte '\(token)' in \(name)"))
            }
        }
        return bytes
    }

    /// The example's rows: labels 1, −1, 1; field 0 indices 0, 2, 1; field 1 indices 3, 4, 3.
    static func exampleBlock() -> ShardBlock {
        var block = ShardBlock(fieldCount: 2)
        for (label, features) in [(Float(1), [UInt32(0), 3]), (-1, [2, 4]), (1, [1, 3])] {
            features.withUnsafeBufferPointer { block.append(label: label, features: $0) }
        }
        return block
    }

    static func payload(ofShard bytes: [UInt8]) throws -> [UInt8] {
        let size = Int(bytes.readLittleEndian(UInt64.self, at: 32))
        var out = [UInt8](repeating: 0, count: size)
        try bytes.withUnsafeBytes { raw in
            try out.withUnsafeMutableBytes { destination in
                try Zstd.decompress(
                    UnsafeRawBufferPointer(rebasing: raw[ShardCodec.headerSize...]), expectedSize: size, into: destination)
            }
        }
        return out
    }

    @Test func fixedExampleIsWhatTheEncoderWrites() throws {
        let document = try Self.hexDump("shard-hex")
        let payload = try Self.hexDump("payload-hex")
        let encoded = try ShardCodec.encode(Self.exampleBlock(), level: 3)
        #expect(document.count == 91 && payload.count == 34)
        #expect(Array(encoded[0..<40]) == Array(document[0..<40]))
        #expect(try Self.payload(ofShard: encoded) == payload)
        #expect(try Self.payload(ofShard: document) == payload)
        #expect(try ShardCodec.decode(document, name: "FORMAT.md") == Self.exampleBlock())
        withKnownIssue(
            "this libzstd compresses the payload differently from docs/FORMAT.md (the format fixes the payload, not its compression)",
            isIntermittent: true
        ) {
            #expect(encoded == document)
        }
    }

    @Test func sparseExamplePayloadIsWhatTheEncoderWrites() throws {
        var block = ShardBlock()
        block.append(label: 0.5, indices: [1, 4], values: [2, 0.25])
        block.append(label: -1, indices: [], values: [])
        block.append(label: 1, indices: [3], values: [1])
        let encoded = try ShardCodec.encode(block, level: 3)
        #expect(try Self.payload(ofShard: encoded) == Self.hexDump("sparse-payload-hex"))
        #expect(Array(encoded[8..<12]) == [1, 0, 1, 0])
    }

    @Test func aChangedDocumentByteIsCaught() throws {
        var document = try Self.hexDump("shard-hex")
        document[60] ^= 0x01
        #expect(throws: FormatError.self) { try ShardCodec.decode(document, name: "FORMAT.md") }
    }
}
