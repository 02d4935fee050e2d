import NFMFormat
import NFMTestSupport
import Testing

@Suite struct ShardCodecTests {
    func fixedBlock(rows: Int, fields: Int) -> ShardBlock {
        var block = ShardBlock(fieldCount: fields)
        for r in 0..<rows {
            let features = (0..<fields).map { UInt32(f: $0, r: r) }
            features.withUnsafeBufferPointer { block.append(label: r % 3 == 0 ? 1 : -1, features: $0) }
        }
        return block
    }

    @Test func fixedLayoutRoundTrips() throws {
        let block = fixedBlock(rows: 1000, fields: 10)
        let bytes = try ShardCodec.encode(block, level: 3)
        #expect(try ShardCodec.decode(bytes, name: "x") == block)
        #expect(bytes.count < 1000 * 44)  // compresses
    }

    @Test func sparseLayoutRoundTrips() throws {
        var block = ShardBlock()
        block.append(label: 0.5, indices: [1, 7, 9], values: [1, 0.25, -2])
        block.append(label: -1, indices: [], values: [])
        block.append(label: 3, indices: [4000000], values: [1e-3])
        let decoded = try ShardCodec.decode(try ShardCodec.encode(block, level: 1), name: "x")
        #expect(decoded == block)
        #expect(decoded.features(ofRow: 0).indices.elementsEqual([1, 7, 9]))
        #expect(decoded.features(ofRow: 1).indices.isEmpty)
    }

    @Test func emptyShardRoundTrips() throws {
        var block = ShardBlock(fieldCount: 3)
        block.labels = []
        #expect(try ShardCodec.decode(try ShardCodec.encode(block, level: 1), name: "x") == block)
    }

    @Test(arguments: [0, 8, 11, 20, 47, 60, 200, -1])
    func everyCorruptionIsDetected(position: Int) throws {
        var bytes = try ShardCodec.encode(fixedBlock(rows: 500, fields: 4), level: 3)
        let at = position < 0 ? bytes.count - 1 : position
        bytes[at] ^= 0x40
        #expect(throws: FormatError.self) { try ShardCodec.decode(bytes, name: "x") }
    }

    @Test func truncationIsDetected() throws {
        let bytes = try ShardCodec.encode(fixedBlock(rows: 500, fields: 4), level: 3)
        for cut in [1, 10, bytes.count / 2, bytes.count - ShardCodec.headerSize + 1] {
            #expect(throws: FormatError.self) { try ShardCodec.decode(Array(bytes.dropLast(cut)), name: "x") }
        }
        #expect(throws: FormatError.self) { try ShardCodec.decode(bytes + [0], name: "x") }
    }

    @Test func errorNamesTheFile() throws {
        var bytes = try ShardCodec.encode(fixedBlock(rows: 10, fields: 2), level: 3)
        bytes[0] = 0
        do {
            _ = try ShardCodec.decode(bytes, name: "train/part-00007.nfms")
            Issue.record("no error")
        } catch let error as NFMError {
            #expect(error.position == .init(file: "train/part-00007.nfms", field: "magic", value: "00464d5348415244"))
            #expect(error.description.hasPrefix("train/part-00007.nfms: field magic = "))
            #expect(error.code == .corruptShard)
        }
    }
}

@Suite struct ChecksumTests {
    @Test func sha256KnownVectors() {
        #expect(SHA256.hexDigest(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hexDigest(of: []) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let hasher = SHA256()
        hasher.update(Array("ab".utf8))
        hasher.update(Array("c".utf8))
        #expect(hasher.hexDigest() == SHA256.hexDigest(of: Array("abc".utf8)))
    }

    @Test func sha256OfFileMatchesInMemory() throws {
        let directory = TestSupport.temporaryDirectory()
        let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let path = TestSupport.writeBytes(bytes, named: "blob", in: directory)
        #expect(try SHA256.hexDigest(ofFile: path) == SHA256.hexDigest(of: bytes))
    }

    @Test func zstdDetectsCorruptFrames() throws {
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        var frame = try payload.withUnsafeBytes { try Zstd.compress($0, level: 3) }
        var out = [UInt8](repeating: 0, count: payload.count)
        try frame.withUnsafeBytes { f in
            try out.withUnsafeMutableBytes { try Zstd.decompress(f, expectedSize: payload.count, into: $0) }
        }
        #expect(out == payload)
        frame[frame.count - 2] ^= 1  // inside the XXH64 checksum
        #expect(throws: FormatError.self) {
            try frame.withUnsafeBytes { f in
                try out.withUnsafeMutableBytes { try Zstd.decompress(f, expectedSize: payload.count, into: $0) }
            }
        }
    }
}

extension UInt32 {
    init(f: Int, r: Int) { self = UInt32(f * 1000 + (r * 7919 + f) % 997) }
}
