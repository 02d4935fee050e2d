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
        let n = rowCount
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, random.next(below: i + 1)) }
        var done = 0
        while done < n {
            let rows = min(buffer.rows, n - done)
            switch data.layout {
            case .fixed: step(gatherFixed(from: done, rows: rows), buffer.targets)
            case .sparse: step(gatherSparse(from: done, rows: rows), buffer.targets)
            }
            done += rows
        }
    }

    /// Copies the rows `order[start ..< start + rows]` of a fixed-layout split into the batch.
    private func gatherFixed(from start: Int, rows: Int) -> SparseRows {
        let f = data.fieldCount
        let indices = buffer.indices
        data.indices.withUnsafeBufferPointer { source in
            for r in 0..<rows {
                let row = Int(order[start + r])
                (indices + r * f).update(from: source.baseAddress! + row * f, count: f)
            }
        }
        for r in 0..<rows { buffer.targets[r] = targets[Int(order[start + r])] }
        return SparseRows(rowCount: rows, fieldCount: f, indices: indices)
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
