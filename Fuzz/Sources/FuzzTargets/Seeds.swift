import Foundation
import NFMFormat
import NFMModel
import NFMPipeline
import NFMTestSupport

extension FuzzTarget {
    /// Valid inputs to start from (written as libFuzzer's seed corpus by `MutationFuzz --write-corpus`).
    public func seeds(packageRoot: String) throws -> [[UInt8]] {
        switch self {
        case .shard: return try Self.shardSeeds()
        case .manifest: return [try TestSupport.sampleManifest().encoded()]
        case .checkpoint: return try Self.checkpointSeeds()
        case .definition:
            return try ["frappe.json", "movielens.json"].map { try ReadableFile.readAll(packageRoot + "/pipelines/" + $0) }
        case .libfm:
            return [
                Array("1 0:1 7:1 12:1\n-1 3:1 9:1 12:1\n".utf8),
                Array("0.5 1:0.25 4000000:1e-3\r\n\n-1\n3 2:-2 2:1\n".utf8),
            ]
        }
    }

    static func shardSeeds() throws -> [[UInt8]] {
        var fixed = ShardBlock(fieldCount: 3)
        for r in 0..<40 {
            [UInt32(r % 5), UInt32(5 + r % 200), UInt32(300 + r * 2_000)].withUnsafeBufferPointer {
                fixed.append(label: r % 2 == 0 ? 1 : -1, features: $0)
            }
        }
        var sparse = ShardBlock()
        for r in 0..<12 { sparse.append(label: 1, indices: (0..<UInt32(r % 3)).map { $0 + 1 }, values: Array(repeating: 0.5, count: r % 3)) }
        let encoded = [try ShardCodec.encode(fixed, level: 1), try ShardCodec.encode(sparse, level: 3)]
        // The same shards as header + raw payload, the form `recompressedShard` turns back into a shard.
        let raw = try encoded.map { bytes -> [UInt8] in
            let size = Int(bytes.readLittleEndian(UInt64.self, at: 32))
            var payload = [UInt8](repeating: 0, count: size)
            try bytes.withUnsafeBytes { frame in
                try payload.withUnsafeMutableBytes {
                    try Zstd.decompress(UnsafeRawBufferPointer(rebasing: frame[ShardCodec.headerSize...]), expectedSize: size, into: $0)
                }
            }
            return Array(bytes[0..<ShardCodec.headerSize]) + payload
        }
        return encoded + raw
    }

    /// Reads `bytes` as a shard header followed by a raw (uncompressed) payload and returns the shard
    /// file it describes: the payload compressed into a valid frame, the header's payload and compressed
    /// sizes set to match. Mutations then reach the column table and row decoding behind the frame.
    public static func recompressedShard(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= ShardCodec.headerSize,
            let frame = try? bytes.withUnsafeBytes({ try Zstd.compress(UnsafeRawBufferPointer(rebasing: $0[ShardCodec.headerSize...]), level: 1) })
        else { return nil }
        var out = Array(bytes[0..<32])
        out.appendLittleEndian(UInt64(bytes.count - ShardCodec.headerSize))
        out.appendLittleEndian(UInt64(frame.count))
        return out + frame
    }

    static func checkpointSeeds() throws -> [[UInt8]] {
        let manifest = TestSupport.sampleManifest()
        let configs = [
            ModelConfig(kind: .nfm, featureCount: 30, factors: 3, layers: [2]),
            ModelConfig(kind: .lr, featureCount: 30),
            ModelConfig(kind: .deepCross, featureCount: 30, factors: 2, layers: [3], fieldSizes: [10, 10, 10]),
        ]
        return try configs.map { config in
            let model = Model(config: config)
            model.initialize(seed: 1)
            return try Checkpoint(
                model: model, dataset: DatasetFingerprint(manifest: manifest, sha256: String(repeating: "0", count: 64)),
                training: nil, definition: nil, vocabularies: [.init(path: "vocab/00-f0.tsv", text: "0\t1\ta\n")]
            ).encoded()
        }
    }

    /// `bytes` with the checkpoint checksum recomputed over bytes [96, end), so that mutations reach the
    /// header and tensor checks behind it (nil when too short to hold a prefix).
    public static func rehashedCheckpoint(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= 96 else { return nil }
        var out = bytes
        let digest = bytes.withUnsafeBytes { SHA256.hexDigest(of: UnsafeRawBufferPointer(rebasing: $0[96...])) }
        out.replaceSubrange(32..<96, with: Array(digest.utf8))
        return out
    }
}
