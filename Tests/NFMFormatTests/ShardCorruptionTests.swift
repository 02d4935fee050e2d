import NFMFormat
import NFMTestSupport
import Testing

/// Shard headers and payloads at extreme values and with flipped bits: every one gives an `NFMError`
/// naming the file and the field (never a trap, never a huge allocation), or decodes to the same block.
@Suite struct ShardCorruptionTests {
    static let name = "train/part-00003.nfms"
    /// Header fields: (name, offset, width in bytes).
    static let fields: [(String, Int, Int)] = [
        ("version", 8, 2), ("layout", 10, 1), ("reserved", 11, 1), ("fieldCount", 12, 4), ("rows", 16, 8),
        ("entries", 24, 8), ("payloadBytes", 32, 8), ("compressedBytes", 40, 8),
    ]
    static let extremes: [UInt64] = [0, 1, 1 << 31, (1 << 32) - 1, 1 << 40, 1 << 63, UInt64.max]

    static func fixedShard() throws -> (ShardBlock, [UInt8]) {
        var block = ShardBlock(fieldCount: 3)
        for r in 0..<300 {
            let features: [UInt32] = [UInt32(r % 7), UInt32(7 + r % 300), UInt32(70_000 + r * 5)]
            features.withUnsafeBufferPointer { block.append(label: r % 3 == 0 ? 1 : -1, features: $0) }
        }
        return (block, try ShardCodec.encode(block, level: 3))
    }

    static func sparseShard() throws -> (ShardBlock, [UInt8]) {
        var block = ShardBlock()
        for r in 0..<50 { block.append(label: Float(r % 2), indices: (0..<UInt32(r % 4)).map { $0 * 3 }, values: [1, 0.5, 2, 4].prefix(r % 4).map { $0 }) }
        return (block, try ShardCodec.encode(block, level: 1))
    }

    static func poke(_ bytes: [UInt8], at offset: Int, width: Int, _ value: UInt64) -> [UInt8] {
        var out = bytes
        for i in 0..<width { out[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        return out
    }

    /// Decodes `bytes`; returns the error, or nil when it decoded to `original`.
    static func outcome(_ bytes: [UInt8], original: ShardBlock) -> NFMError? {
        do {
            let block = try ShardCodec.decode(bytes, name: name)
            #expect(block == original, "a corrupted shard decoded to different rows")
            return nil
        } catch let error as NFMError {
            return error
        } catch {
            Issue.record("not an NFMError: \(error)")
            return nil
        }
    }

    @Test(arguments: [false, true])
    func everyHeaderFieldAtEveryExtremeIsNamed(sparse: Bool) throws {
        let (block, bytes) = try sparse ? Self.sparseShard() : Self.fixedShard()
        for (field, offset, width) in Self.fields {
            for value in Self.extremes {
                let mutant = Self.poke(bytes, at: offset, width: width, value)
                if mutant == bytes { continue }
                let error = try #require(Self.outcome(mutant, original: block), "\(field) = \(value) accepted")
                #expect(error.code == .corruptShard)
                #expect(error.position?.file == Self.name)
                // The field itself, or (for counts that are consistent alone) the one it contradicts.
                let named = try #require(error.position?.field)
                let related: Set<String> = ["layout", "rows", "entries", "payloadBytes", "fieldCount", "frame"]
                #expect(named == field || (related.contains(field) && related.contains(named)), "\(field) = \(value): \(error)")
                #expect(error.description.utf8.count < 400)
            }
        }
    }

    @Test func everyBitOfTheHeaderIsChecked() throws {
        for (block, bytes) in [try Self.fixedShard(), try Self.sparseShard()] {
            for byte in 0..<ShardCodec.headerSize {
                for bit in 0..<8 {
                    var mutant = bytes
                    mutant[byte] ^= 1 << bit
                    let error = try #require(Self.outcome(mutant, original: block), "flip \(byte).\(bit) accepted")
                    #expect(error.code == .corruptShard && error.position?.field != nil)
                }
            }
        }
    }

    @Test func everyBitOfTheFrameIsCheckedOrHarmless() throws {
        var block = ShardBlock(fieldCount: 2)
        for r in 0..<20 { [UInt32(r), UInt32(100 + r % 3)].withUnsafeBufferPointer { block.append(label: 1, features: $0) } }
        let bytes = try ShardCodec.encode(block, level: 1)
        for byte in ShardCodec.headerSize..<bytes.count {
            for bit in 0..<8 {
                var mutant = bytes
                mutant[byte] ^= 1 << bit
                if let error = Self.outcome(mutant, original: block) {
                    #expect(error.code == .corruptShard && error.position?.field == "frame" || error.position?.field == "payloadBytes")
                }
            }
        }
    }

    @Test func truncatedAndPaddedFilesAreNamed() throws {
        let (block, bytes) = try Self.fixedShard()
        for length in [0, 1, 8, 47, 48, 49, bytes.count - 1] {
            let error = try #require(Self.outcome(Array(bytes.prefix(length)), original: block))
            #expect(error.position?.field == (length < 48 ? "header" : "compressedBytes"))
        }
        let padded = try #require(Self.outcome(bytes + [0, 0, 0], original: block))
        #expect(padded.position?.field == "compressedBytes")
    }

    /// A shard whose header and frame agree but whose payload is bad: built from raw payload words.
    static func shard(layout: ShardBlock.Layout, fields: Int, rows: Int, entries: Int, payload: [UInt8]) throws -> [UInt8] {
        let frame = try payload.withUnsafeBytes { try Zstd.compress($0, level: 1) }
        let header = ShardHeader(
            layout: layout, fieldCount: fields, rowCount: rows, entryCount: entries, payloadBytes: payload.count,
            compressedBytes: frame.count)
        return header.encoded() + frame
    }

    static func words(_ values: [UInt32]) -> [UInt8] {
        var out: [UInt8] = []
        for value in values { out.appendLittleEndian(value) }
        return out
    }

    @Test func badPayloadsAreNamed() throws {
        let one = Float(1).bitPattern
        let cases: [(String, [UInt8], String)] = [
            // One field of width 3 (not 1, 2 or 4).
            ("width", try Self.shard(layout: .fixed, fields: 1, rows: 1, entries: 1, payload: Self.words([0, 3, one]) + [0, 0, 0]), "column[0].width"),
            // base 2^32 − 1 plus a stored 5 overflows.
            ("base", try Self.shard(layout: .fixed, fields: 1, rows: 1, entries: 1, payload: Self.words([UInt32.max, 1, one]) + [5]), "column[0].base"),
            // Width 2 declared, but the payload is sized for width 1.
            ("table", try Self.shard(layout: .fixed, fields: 1, rows: 4, entries: 4, payload: Self.words([0, 2, one, one, one, one]) + [1, 2, 3, 4]), "payloadBytes"),
            // A NaN label.
            ("label", try Self.shard(layout: .fixed, fields: 1, rows: 1, entries: 1, payload: Self.words([0, 1, Float.nan.bitPattern]) + [0]), "label[0]"),
            // Sparse row offsets 0, 2, 1 (not monotone).
            ("offsets", try Self.shard(layout: .sparse, fields: 0, rows: 2, entries: 1, payload: Self.words([one, one, 0, 2, 1, 7, one])), "rowOffsets"),
            // A sparse value of +∞.
            ("value", try Self.shard(layout: .sparse, fields: 0, rows: 1, entries: 1, payload: Self.words([one, 0, 1, 7, Float.infinity.bitPattern])), "value[0]"),
        ]
        for (label, bytes, field) in cases {
            let error = try #require(throws: NFMError.self, "\(label)") { try ShardCodec.decode(bytes, name: Self.name) }
            #expect(error.code == .corruptShard && error.position?.field == field, "\(label): \(error)")
        }
    }

    @Test func aFrameDeclaringMoreThanTheHeaderIsRefusedBeforeAllocating() throws {
        // Header claims 1 GiB of payload in a tiny file: refused by the ratio bound, nothing allocated.
        let (_, bytes) = try Self.fixedShard()
        let huge = Self.poke(bytes, at: 32, width: 8, 1 << 30)
        let error = try #require(throws: NFMError.self) { try ShardCodec.decode(huge, name: Self.name) }
        #expect(error.position?.field == "payloadBytes" && error.position?.value == "\(1 << 30)")
        // A frame whose content size disagrees with a plausible header.
        let off = Self.poke(bytes, at: 32, width: 8, UInt64(bytes.count))
        #expect(throws: NFMError.self) { try ShardCodec.decode(off, name: Self.name) }
    }

    @Test func theWriterRefusesWhatNoReaderWouldAccept() throws {
        var block = ShardBlock(fieldCount: ShardHeader.maxFieldCount + 1)
        block.labels = []
        let error = try #require(throws: NFMError.self) { try ShardCodec.encode(block, level: 1) }
        #expect(error.code == .configuration)
    }
}
