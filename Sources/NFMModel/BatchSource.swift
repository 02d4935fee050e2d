import NFMFormat
import NFMKernels

/// Where a run's training mini-batches come from: the cached training split in a seeded permutation, or
/// the shards streamed in a seeded order through a shuffle buffer. Either way the row order of every
/// epoch depends only on the run's seed (and, streamed, on the shuffle buffer's size).
protocol BatchSource: AnyObject {
    /// Training rows per epoch.
    var rowCount: Int { get }
    /// Calls `step` with each mini-batch of the next epoch and its training targets (±1 or the stored
    /// label for squared loss, {0, 1} for log loss); the last batch may be smaller.
    func forEachBatch(_ step: (SparseRows, UnsafePointer<Float>) -> Void) throws
    /// `forEachBatch`, but a batch's rows may be handed over before they are copied into place: then
    /// `fill` (non-nil) copies the rows `range` and their targets, and must have run on every row before
    /// that row (or its target) is read. Lets the threads of a training step each copy their own rows.
    func forEachDeferredBatch(_ step: (SparseRows, UnsafePointer<Float>, RowFill?) -> Void) throws
}

/// Copies a range of a batch's rows (and targets) into place (`BatchSource.forEachDeferredBatch`).
typealias RowFill = (Range<Int>) -> Void

extension BatchSource {
    /// Every batch already in place.
    func forEachDeferredBatch(_ step: (SparseRows, UnsafePointer<Float>, RowFill?) -> Void) throws {
        try forEachBatch { step($0, $1, nil) }
    }
}

/// The memory of one mini-batch: `rows × entriesPerRow` feature indices (and values), row offsets and
/// targets. Allocated once per run.
final class BatchBuffer {
    let rows: Int
    let entriesPerRow: Int
    let indices: UnsafeMutablePointer<UInt32>
    let offsets: UnsafeMutablePointer<UInt32>
    let values: UnsafeMutablePointer<Float>
    let targets: UnsafeMutablePointer<Float>

    init(rows: Int, entriesPerRow: Int) {
        self.rows = rows
        self.entriesPerRow = entriesPerRow
        indices = .allocate(capacity: rows * entriesPerRow)
        offsets = .allocate(capacity: rows + 1)
        values = .allocate(capacity: rows * entriesPerRow)
        targets = .allocate(capacity: rows)
        offsets[0] = 0
    }

    deinit {
        indices.deallocate()
        offsets.deallocate()
        values.deallocate()
        targets.deallocate()
    }
}

/// Mini-batches of a cached training split: each epoch a Fisher–Yates permutation of the rows drawn from
/// the run's shuffle stream, cut into consecutive batches.
final class CachedBatchSource: BatchSource {
    let data: SplitData
    let rowCount: Int
    private let targets: [Float]
    private let buffer: BatchBuffer
    private var order: [Int32]
    private var random: Xoshiro256

    /// `targets[r]` is row `r`'s training target.
    init(data: SplitData, targets: [Float], batchSize: Int, random: Xoshiro256) {
        self.data = data
        self.targets = targets
        self.random = random
        rowCount = data.rowCount
        order = [Int32](0..<Int32(data.rowCount))
        buffer = BatchBuffer(rows: batchSize, entriesPerRow: data.maxEntriesPerRow)
    }

    func forEachBatch(_ step: (SparseRows, UnsafePointer<Float>) -> Void) throws {
        try forEachDeferredBatch { x, targets, fill in
            fill?(0..<x.rowCount)
            step(x, targets)
        }
    }

    /// Fixed-layout batches are handed over before their rows are copied (`gatherFixed`, by range);
    /// sparse-layout ones in place.
    func forEachDeferredBatch(_ step: (SparseRows, UnsafePointer<Float>, RowFill?) -> Void) throws {
        let n = rowCount
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, random.next(below: i + 1)) }
        var done = 0
        while done < n {
            let rows = min(buffer.rows, n - done)
            switch data.layout {
            case .fixed:
                let start = done
                step(SparseRows(rowCount: rows, fieldCount: data.fieldCount, indices: buffer.indices), buffer.targets) {
                    self.gatherFixed(from: start, rows: $0)
                }
            case .sparse: step(gatherSparse(from: done, rows: rows), buffer.targets, nil)
            }
            done += rows
        }
    }

    /// Copies the rows `order[start + r]` for `r` in `range` of a fixed-layout split, and their targets, into
    /// rows `range` of the batch.
    private func gatherFixed(from start: Int, rows range: Range<Int>) {
        let f = data.fieldCount
        let (indices, batchTargets) = (buffer.indices, buffer.targets)
        data.indices.withUnsafeBufferPointer { source in
            order.withUnsafeBufferPointer { order in
                targets.withUnsafeBufferPointer { targets in
                    for r in range {
                        // The rows a few ahead are requested first: their misses overlap with this copy.
                        if r &+ 6 < range.upperBound {
                            let ahead = Int(order[start &+ r &+ 6])
                            prefetchLines(source.baseAddress! + ahead &* f, bytes: f &* 4)
                            CacheHint.prefetch(targets.baseAddress! + ahead)
                        }
                        let row = Int(order[start + r])
                        copyIndices(f, from: source.baseAddress! + row * f, to: indices + r * f)
                        batchTargets[r] = targets[row]
                    }
                }
            }
        }
    }

    /// Copies `count` indices four at a time (a row of a few fields: cheaper inline than a `memmove` call).
    @inline(__always) private func copyIndices(_ count: Int, from source: UnsafePointer<UInt32>, to target: UnsafeMutablePointer<UInt32>) {
        var j = 0
        while j + 4 <= count {
            UnsafeMutableRawPointer(target + j).storeBytes(
                of: UnsafeRawPointer(source + j).loadUnaligned(as: SIMD4<UInt32>.self), as: SIMD4<UInt32>.self)
            j += 4
        }
        while j < count {
            target[j] = source[j]
            j += 1
        }
    }

    /// Copies the rows `order[start ..< start + rows]` of a sparse-layout split (indices, values and
    /// offsets) into the batch.
    private func gatherSparse(from start: Int, rows: Int) -> SparseRows {
        var cursor = 0
        for r in 0..<rows {
            let row = Int(order[start + r])
            buffer.targets[r] = targets[row]
            for e in Int(data.offsets[row])..<Int(data.offsets[row + 1]) {
                buffer.indices[cursor] = data.indices[e]
                buffer.values[cursor] = data.values[e]
                cursor += 1
            }
            buffer.offsets[r + 1] = UInt32(cursor)
        }
        return SparseRows(
            rowCount: rows, fieldCount: 0, indices: buffer.indices, offsets: buffer.offsets, values: buffer.values)
    }
}

/// Mini-batches of a streamed (fixed-layout) training split: each epoch the shards in an order drawn from
/// the run's shuffle stream, their rows through a `ShuffleBuffer` drawing from the same stream.
final class StreamedBatchSource: BatchSource {
    let dataset: Dataset
    let rowCount: Int
    private let fieldCount: Int
    private let positive: Float
    private let isLog: Bool
    private let buffer: BatchBuffer
    private let shuffle: ShuffleBuffer
    private var random: Xoshiro256

    init(dataset: Dataset, batchSize: Int, shuffleRows: Int, isLog: Bool, random: Xoshiro256) {
        self.dataset = dataset
        self.isLog = isLog
        self.random = random
        rowCount = dataset.rowCount(.train)
        fieldCount = dataset.manifest.fields.count
        positive = dataset.manifest.labels.positive
        buffer = BatchBuffer(rows: batchSize, entriesPerRow: fieldCount)
        shuffle = ShuffleBuffer(rows: min(shuffleRows, rowCount), fieldCount: fieldCount)
    }

    func forEachBatch(_ step: (SparseRows, UnsafePointer<Float>) -> Void) throws {
        let f = fieldCount
        let buffer = buffer
        var filled = 0
        func emit(_ features: UnsafePointer<UInt32>, _ label: Float) {
            (buffer.indices + filled * f).update(from: features, count: f)
            buffer.targets[filled] = isLog ? (label == positive ? 1 : 0) : label
            filled += 1
            if filled == buffer.rows {
                step(SparseRows(rowCount: filled, fieldCount: f, indices: buffer.indices), buffer.targets)
                filled = 0
            }
        }
        var shardOrder = Array(dataset.manifest.shards(in: .train).indices)
        for i in stride(from: shardOrder.count - 1, to: 0, by: -1) { shardOrder.swapAt(i, random.next(below: i + 1)) }
        try dataset.forEachShard(of: .train, order: shardOrder) { data in
            data.indices.withUnsafeBufferPointer { rows in
                for r in 0..<data.rowCount {
                    shuffle.push(rows.baseAddress! + r * f, data.labels[r], random: &random, emit: emit)
                }
            }
        }
        shuffle.drain(random: &random, emit: emit)
        if filled > 0 { step(SparseRows(rowCount: filled, fieldCount: f, indices: buffer.indices), buffer.targets) }
    }
}
