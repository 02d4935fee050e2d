import NFMFormat
import Testing

@testable import NFMPipeline

/// Shards encoded in a reused `ShardScratch` from padded column-major indices against
/// `ShardCodec.encode` of the same rows as a row-major block: the same bytes, shard after shard.
@Suite struct ShardScratchTests {
    /// A block of `rows` rows whose field `f` spans about `spans[f]` values from a large base.
    static func block(rows: Int, spans: [UInt32], seed: UInt64) -> ShardBlock {
        var generator = SplitMix64(seed: seed)
        var block = ShardBlock(fieldCount: spans.count)
        for r in 0..<rows {
            let features = spans.enumerated().map { f, span in 1_000 * UInt32(f) + UInt32(generator.below(UInt64(span))) }
            features.withUnsafeBufferPointer { block.append(label: r % 3 == 0 ? 1 : -1, features: $0) }
        }
        return block
    }

    @Test func paddedColumnsInAReusedScratchGiveTheBlocksBytes() throws {
        let scratch = ShardScratch()
        // Sizes that grow and shrink (the scratch is reused and regrown), widths 1, 2 and 4 bytes.
        for (rows, seed) in [(1000, UInt64(1)), (17, 2), (5000, 3), (0, 4), (1, 5), (3000, 6)] {
            let spans: [UInt32] = [200, 60_000, 3_000_000, 1, 256, 257]
            let block = ShardScratchTests.block(rows: rows, spans: spans, seed: seed)
            let stride = ShardScratch.columnStride(rows: rows)
            #expect(stride >= rows + 16 && stride % 16 == 0)
            let columns = scratch.columns(rows: rows, fieldCount: spans.count)
            let labels = scratch.labels(rows: rows)
            for r in 0..<rows {
                labels[r] = block.labels[r]
                for f in spans.indices { columns[f * stride + r] = block.indices[r * spans.count + f] }
            }
            let bytes = try ShardCodec.encode(
                FixedColumns(
                    values: UnsafeBufferPointer(start: columns, count: stride * spans.count), fieldCount: spans.count,
                    rows: rows, columnStride: stride),
                labels: UnsafeBufferPointer(start: labels, count: rows), level: 3, scratch: scratch)
            let expected = try ShardCodec.encode(block, level: 3)
            #expect(Array(bytes) == expected)
            let decoded = try ShardCodec.decode(Array(bytes), name: "scratch")
            #expect(decoded.indices == block.indices && decoded.labels == block.labels)
        }
    }
}
