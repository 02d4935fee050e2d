import Foundation

/// Memory reused from one fixed-layout shard to the next by a thread that encodes many of them: the
/// column-major indices and labels a writer gathers into, the payload, and the file (header + zstd frame).
///
/// Fresh buffers of these sizes (megabytes per shard) come from `mmap` and cost a page fault and a
/// cleared page per 4 KiB every time; reused ones are faulted in once. Columns are `columnStride(rows:)`
/// words apart — the row count padded so that consecutive columns do not start at the same offset
/// modulo 4 KiB, which would make a gather that writes one value to each column per row evict its own
/// lines (all columns in one cache set). Not thread-safe: one thread uses a scratch at a time (`Pool`).
public final class ShardScratch: @unchecked Sendable {
    private var columnStorage = Storage()
    private var labelStorage = Storage()
    private var payloadStorage = Storage()
    private var fileStorage = Storage()

    /// An empty scratch (buffers are allocated by the first shard that needs them).
    public init() {}

    /// The padded column stride for `rows` rows: `rows` rounded up to a multiple of 16 words, plus 16
    /// (64 bytes), so that column starts step through the cache sets.
    public static func columnStride(rows: Int) -> Int { (rows + 15) / 16 * 16 + 16 }

    /// Room for `fieldCount` columns of `rows` indices at `columnStride(rows:)` apart; valid until the
    /// next call.
    public func columns(rows: Int, fieldCount: Int) -> UnsafeMutablePointer<UInt32> {
        columnStorage.reserve(4 * ShardScratch.columnStride(rows: rows) * max(fieldCount, 1))
            .assumingMemoryBound(to: UInt32.self)
    }

    /// Room for `rows` labels; valid until the next call.
    public func labels(rows: Int) -> UnsafeMutablePointer<Float> {
        labelStorage.reserve(4 * max(rows, 1)).assumingMemoryBound(to: Float.self)
    }

    /// Room for `bytes` payload bytes; valid until the next call.
    func payload(bytes: Int) -> UnsafeMutableRawPointer { payloadStorage.reserve(bytes) }

    /// Room for a file of up to `bytes` bytes; valid until the next call.
    public func file(bytes: Int) -> UnsafeMutableRawPointer { fileStorage.reserve(bytes) }

    /// One growable block of plain memory (grown to 1.25 × the request, never shrunk, freed with the scratch).
    private struct Storage {
        var pointer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
        var capacity = 64

        mutating func reserve(_ bytes: Int) -> UnsafeMutableRawPointer {
            if bytes > capacity {
                pointer.deallocate()
                capacity = bytes + bytes / 4
                pointer = .allocate(byteCount: capacity, alignment: 64)
            }
            return pointer
        }
    }

    deinit {
        columnStorage.pointer.deallocate()
        labelStorage.pointer.deallocate()
        payloadStorage.pointer.deallocate()
        fileStorage.pointer.deallocate()
    }

    /// Idle scratches shared by the threads of one build: `take` one (a new one when none is idle), use it
    /// for a shard, `give` it back. Holds at most as many as were ever in use at once.
    public final class Pool: @unchecked Sendable {
        private let lock = NSLock()
        private var idle: [ShardScratch] = []

        /// An empty pool.
        public init() {}

        /// An idle scratch, or a new one.
        public func take() -> ShardScratch { lock.withLock { idle.popLast() } ?? ShardScratch() }

        /// Returns `scratch` to the idle ones.
        public func give(_ scratch: ShardScratch) { lock.withLock { idle.append(scratch) } }
    }
}
