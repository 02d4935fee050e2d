import Foundation
import NFMFormat

/// The instances of one bucket by slot (position − the bucket's first): label bits and `fieldCount`
/// global indices each. Slots are disjoint, so several threads may scatter into one bucket at once.
final class BucketContents: @unchecked Sendable {
    let positions: Range<Int>
    let fieldCount: Int
    private let labels: UnsafeMutableBufferPointer<UInt32>
    private let features: UnsafeMutableBufferPointer<UInt32>
    private let width: Int

    /// Room for the instances of `positions`.
    init(positions: Range<Int>, fieldCount: Int) {
        self.positions = positions
        self.fieldCount = fieldCount
        width = fieldCount + 2
        labels = .allocate(capacity: max(1, positions.count))
        features = .allocate(capacity: max(1, positions.count * fieldCount))
        // Not zeroed: every slot is written before it is read (a bijection fills the bucket; the steps
        // check the count of scattered records).
    }

    deinit {
        labels.deallocate()
        features.deallocate()
    }

    /// Puts records `(slot, label bits, features…)` in their slots; `.corruptShard`-free: a slot outside
    /// the bucket is an `.io` error naming `source` (only a damaged step file can hold one).
    func scatter(_ records: UnsafeBufferPointer<UInt32>, source: String) throws {
        let count = positions.count
        var start = 0
        while start + width <= records.count {
            let slot = Int(records[start])
            guard slot < count else {
                throw NFMError(.io, "instance slot \(slot) outside its bucket of \(count)", at: .init(file: source))
            }
            labels[slot] = records[start + 1]
            for f in 0..<fieldCount { features[slot * fieldCount + f] = records[start + 2 + f] }
            start += width
        }
    }

    /// Puts one instance in slot `slot` (< `positions.count`, which the permutation guarantees).
    @inline(__always)
    func put(slot: Int, label: UInt32, features source: UnsafePointer<UInt32>) {
        labels[slot] = label
        (features.baseAddress! + slot * fieldCount).update(from: source, count: fieldCount)
    }

    /// The shard block of positions `range` (inside the bucket), in position order: the slots are
    /// consecutive, so labels and indices are copied whole.
    func block(_ range: Range<Int>) -> ShardBlock {
        var block = ShardBlock(fieldCount: fieldCount)
        let first = range.lowerBound - positions.lowerBound
        block.labels = UnsafeBufferPointer(rebasing: labels[first..<first + range.count]).map { Float(bitPattern: $0) }
        block.indices = Array(UnsafeBufferPointer(rebasing: features[first * fieldCount..<(first + range.count) * fieldCount]))
        return block
    }
}

/// The reduce step of a partitioned build: writes the shards of one bucket (the same files, bytes and
/// zstd frames as `ShardWriter` writes for those rows) and returns their manifest records in order.
/// Shards are encoded on up to `threads` threads; O(instances of the bucket) time.
enum BucketReduce {
    /// The shards of `bucket` filled from `contents`.
    static func writeShards(
        _ contents: BucketContents, bucket: Int, layout: BucketLayout, level: Int, directory: String, threads: Int
    ) throws -> [DatasetManifest.Shard] {
        try writeShards(bucket: bucket, layout: layout, level: level, directory: directory, threads: threads) {
            contents.block($0.positions)
        }
    }

    /// The shards of `bucket`, each filled by `block` (called on up to `threads` threads at once).
    static func writeShards(
        bucket: Int, layout: BucketLayout, level: Int, directory: String, threads: Int,
        block: (BucketLayout.Shard) throws -> ShardBlock
    ) throws -> [DatasetManifest.Shard] {
        try writeShards(bucket: bucket, layout: layout, directory: directory, threads: threads) { shard in
            try ShardCodec.encode(try block(shard), level: level)
        }
    }

    /// The shards of `bucket`, each file's bytes made by `bytes` (called on up to `threads` threads at once).
    static func writeShards(
        bucket: Int, layout: BucketLayout, directory: String, threads: Int,
        bytes encode: (BucketLayout.Shard) throws -> [UInt8]
    ) throws -> [DatasetManifest.Shard] {
        try writeShards(bucket: bucket, layout: layout, directory: directory, threads: threads) { shard, scratch in
            let bytes = try encode(shard)
            let file = scratch.file(bytes: bytes.count)
            bytes.withUnsafeBytes { file.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return UnsafeRawBufferPointer(start: file, count: bytes.count)
        }
    }

    /// The shards of `bucket`, each file's bytes made by `bytes` in a `ShardScratch` of its thread (called
    /// on up to `threads` threads at once; the bytes need to stay valid until the scratch is used again).
    static func writeShards(
        bucket: Int, layout: BucketLayout, directory: String, threads: Int,
        bytes encode: (BucketLayout.Shard, ShardScratch) throws -> UnsafeRawBufferPointer
    ) throws -> [DatasetManifest.Shard] {
        let shards = Array(layout.shards[layout.buckets[bucket]])
        for split in Set(shards.map(\.split)) { try FileSystem.createDirectory(directory + "/" + split.rawValue) }
        let pool = ShardScratch.Pool()
        let records = ParallelTasks.map(count: shards.count, threads: threads) { i -> DatasetManifest.Shard in
            let shard = shards[i]
            let scratch = pool.take()
            defer { pool.give(scratch) }
            let bytes = try encode(shard, scratch)
            let name = BucketLayout.file(of: shard)
            let file = try WritableFile(path: directory + "/" + name)
            try file.write(bytes)
            try file.close()
            return DatasetManifest.Shard(
                split: shard.split, file: name, rows: shard.positions.count, bytes: bytes.count,
                sha256: SHA256.hexDigest(of: bytes))
        }
        return try records.map { try $0.get() }
    }
}
