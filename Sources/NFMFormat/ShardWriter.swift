import Dispatch
import Foundation

/// Writes the rows of one split as a sequence of shards `SPLIT/part-NNNNN.nfms`, cutting a shard every
/// `rowsPerShard` rows.
///
/// Shard boundaries depend only on the row sequence, so output is identical for any `threads` value:
/// threads only compress and hash full shards concurrently (at most `threads` in flight).
public final class ShardWriter {
    /// The dataset directory; shards go to `directory/SPLIT/`.
    public let directory: String
    /// The split whose rows are written.
    public let split: Split
    /// Rows per shard (the last shard may hold fewer).
    public let rowsPerShard: Int
    /// The zstd compression level.
    public let level: Int
    private var block: ShardBlock
    private var shardCount = 0
    private let jobs: DispatchGroup = DispatchGroup()
    private let slots: DispatchSemaphore
    private let results = ResultsBox()

    /// A writer of `split`'s shards into `directory/SPLIT/` (created), holding at most `threads` full shards
    /// being compressed at once.
    ///
    /// - Parameters:
    ///   - directory: the dataset directory; shards go to `directory/SPLIT/part-NNNNN.nfms`.
    ///   - split: the split whose rows are appended.
    ///   - layout: the layout of every row (`fieldCount` is ignored for sparse).
    ///   - fieldCount: features per row of the fixed layout.
    ///   - rowsPerShard: rows per shard (> 0).
    ///   - level: the zstd compression level.
    ///   - threads: full shards compressed and written at once; output never depends on it.
    public init(
        directory: String, split: Split, layout: ShardBlock.Layout, fieldCount: Int, rowsPerShard: Int,
        level: Int, threads: Int
    ) throws {
        precondition(rowsPerShard > 0)
        self.directory = directory
        self.split = split
        self.rowsPerShard = rowsPerShard
        self.level = level
        slots = DispatchSemaphore(value: max(1, threads))
        block = layout == .fixed ? ShardBlock(fieldCount: fieldCount) : ShardBlock()
        reserve()
        try FileSystem.createDirectory(directory + "/" + split.rawValue)
    }

    private func reserve() {
        block.labels.reserveCapacity(rowsPerShard)
        if block.layout == .fixed { block.indices.reserveCapacity(rowsPerShard * block.fieldCount) }
    }

    /// Appends a fixed-layout row (`fieldCount` global feature indices); writes a shard when it is full.
    @inline(__always)
    public func append(label: Float, features: UnsafeBufferPointer<UInt32>) throws {
        block.append(label: label, features: features)
        if block.rowCount == rowsPerShard { try flush() }
    }

    /// Appends a sparse-layout row of (index, value) pairs; writes a shard when it is full.
    public func append(label: Float, indices: [UInt32], values: [Float]) throws {
        block.append(label: label, indices: indices, values: values)
        if block.rowCount == rowsPerShard { try flush() }
    }

    private func flush() throws {
        guard block.rowCount > 0 else { return }
        if let error = results.firstError { throw error }
        let full = block
        block = block.layout == .fixed ? ShardBlock(fieldCount: block.fieldCount) : ShardBlock()
        reserve()
        let name = String(format: "%@/part-%05d.%@", split.rawValue, shardCount, ShardCodec.fileExtension)
        shardCount += 1
        let path = directory + "/" + name
        let (split, level, results) = (self.split, self.level, self.results)
        slots.wait()
        let job = UncheckedSendable(full)
        DispatchQueue.global().async(group: jobs) { [slots] in
            defer { slots.signal() }
            do {
                let bytes = try ShardCodec.encode(job.value, level: level)
                let file = try WritableFile(path: path)
                try file.write(bytes)
                try file.close()
                results.add(
                    DatasetManifest.Shard(
                        split: split, file: name, rows: job.value.rowCount, bytes: bytes.count,
                        sha256: SHA256.hexDigest(of: bytes)))
            } catch {
                results.fail(error)
            }
        }
    }

    /// Writes the last partial shard, waits for all, and returns the shard records in file order.
    public func finish() throws -> [DatasetManifest.Shard] {
        try flush()
        jobs.wait()
        if let error = results.firstError { throw error }
        return results.shards.sorted { $0.file < $1.file }
    }
}

/// Moves a value into a concurrent job that is its only user.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

private final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var _shards: [DatasetManifest.Shard] = []
    private var _error: Error?

    func add(_ shard: DatasetManifest.Shard) { lock.withLock { _shards.append(shard) } }
    func fail(_ error: Error) { lock.withLock { if _error == nil { _error = error } } }
    var shards: [DatasetManifest.Shard] { lock.withLock { _shards } }
    var firstError: Error? { lock.withLock { _error } }
}
