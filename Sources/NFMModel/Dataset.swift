import Foundation
import NFMFormat
import NFMKernels

/// The rows of one split, decoded from its shards and held in memory (Frappe: 288,609 rows × 10
/// fields ≈ 13 MB in all).
public final class SplitData: @unchecked Sendable {
    /// The split these rows belong to.
    public let split: Split
    /// The shard layout of every appended block.
    public let layout: ShardBlock.Layout
    /// Fields per row in the fixed layout (one index each); 0 for the sparse layout.
    public let fieldCount: Int
    /// One label per row, as stored in the shards (the dataset's positive or negative value, or a rating).
    public private(set) var labels: [Float] = []
    /// Global feature indices: `rowCount × fieldCount` row-major (fixed), or the entries of every row in
    /// order (sparse, delimited by `offsets`).
    public private(set) var indices: [UInt32] = []
    /// Sparse layout: absolute entry offsets, `rowCount + 1`.
    public private(set) var offsets: [UInt32] = [0]
    /// Sparse layout: the value of each entry, parallel to `indices`; empty for the fixed layout.
    public private(set) var values: [Float] = []

    /// Number of rows appended so far.
    public var rowCount: Int { labels.count }

    /// An empty split of the given layout; rows come from `append(_:name:)`.
    public init(split: Split, layout: ShardBlock.Layout, fieldCount: Int) {
        self.split = split
        self.layout = layout
        self.fieldCount = fieldCount
    }

    /// Appends a decoded shard; refuses one whose layout differs, or that would take a split past 2^32
    /// entries (sparse offsets are UInt32).
    public func append(_ block: ShardBlock, name: String) throws {
        guard block.layout == layout, layout == .sparse || block.fieldCount == fieldCount else {
            throw NFMError(.dataset, "shard layout differs from the manifest's", at: .init(file: name, field: "layout"))
        }
        switch layout {
        case .fixed:
            labels.append(contentsOf: block.labels)
            indices.append(contentsOf: block.indices)
        case .sparse:
            let (total, overflow) = indices.count.addingReportingOverflow(block.indices.count)
            guard !overflow, total <= Int(UInt32.max) else {
                throw NFMError(
                    .dataset, "a sparse split holds at most 2^32 − 1 entries", at: .init(file: name, field: "entries", value: "\(total)"))
            }
            let base = UInt32(indices.count)
            labels.append(contentsOf: block.labels)
            indices.append(contentsOf: block.indices)
            values.append(contentsOf: block.values)
            offsets.append(contentsOf: block.rowOffsets.dropFirst().map { $0 + base })  // ≤ total: no overflow
        }
    }

    /// Calls `body` with a kernel view of rows `range` and a pointer to their labels.
    public func withRows<R>(_ range: Range<Int>, _ body: (SparseRows, UnsafePointer<Float>) throws -> R) rethrows -> R {
        try labels.withUnsafeBufferPointer { labels in
            try indices.withUnsafeBufferPointer { indices in
                switch layout {
                case .fixed:
                    let view = SparseRows(
                        rowCount: range.count, fieldCount: fieldCount,
                        indices: indices.baseAddress! + range.lowerBound * fieldCount)
                    return try body(view, labels.baseAddress! + range.lowerBound)
                case .sparse:
                    return try offsets.withUnsafeBufferPointer { offsets in
                        try values.withUnsafeBufferPointer { values in
                            let view = SparseRows(
                                rowCount: range.count, fieldCount: 0, indices: indices.baseAddress!,
                                offsets: offsets.baseAddress! + range.lowerBound, values: values.baseAddress!)
                            return try body(view, labels.baseAddress! + range.lowerBound)
                        }
                    }
                }
            }
        }
    }

    /// The largest number of entries in a row.
    public var maxEntriesPerRow: Int {
        if layout == .fixed { return fieldCount }
        var widest = 0
        for r in 0..<rowCount { widest = max(widest, Int(offsets[r + 1] - offsets[r])) }
        return widest
    }
}

/// A dataset directory written by `nfm build` (or `nfm import`), loaded for training or evaluation.
///
/// Splits are cached in memory (decoded) when they fit `cacheBytes`; otherwise the dataset is *streamed*:
/// no split is held, and training and evaluation read the shards one at a time (`forEachShard`), so
/// memory stays at one decoded shard plus the trainer's shuffle buffer, whatever the dataset's size.
public struct Dataset: Sendable {
    /// The dataset directory, as given to `load`.
    public let directory: String
    /// The dataset's manifest, checked against `manifest.sha256`.
    public let manifest: DatasetManifest
    /// SHA-256 of `manifest.json`, lowercase hexadecimal.
    public let manifestSHA256: String
    /// The decoded splits; empty when `streamed`.
    public let splits: [Split: SplitData]
    /// True when the shards are read on demand instead of cached.
    public let streamed: Bool

    /// Default limit for caching decoded splits (2 GiB).
    public static let defaultCacheBytes = 2 << 30

    /// Loads the manifest and, unless they exceed `cacheBytes` decoded (or `stream` is set), the shards
    /// of `splits`. The manifest must match `manifest.sha256` and be consistent
    /// (`DatasetManifest.load`); every shard is checked against it as it is read, in the same pass
    /// (`DatasetManifest.readShard`: confined regular file, size, SHA-256, header, rows, layout, and every
    /// feature index within its field's range), on the first load and on every streamed read.
    /// Sparse-layout datasets are always cached.
    public static func load(
        directory: String, splits wanted: [Split] = Split.allCases, cacheBytes: Int = defaultCacheBytes,
        stream: Bool = false
    ) throws -> Dataset {
        let (manifest, sha) = try DatasetManifest.load(directory: directory)
        let decoded = wanted.reduce(0) { total, split in
            let (sum, overflow) = total.addingReportingOverflow(decodedBytes(manifest, split))
            return overflow ? Int.max : sum
        }
        if manifest.layout == .fixed && (stream || decoded > cacheBytes) {
            return Dataset(directory: directory, manifest: manifest, manifestSHA256: sha, splits: [:], streamed: true)
        }
        var splits: [Split: SplitData] = [:]
        for split in wanted {
            let data = SplitData(split: split, layout: manifest.layout, fieldCount: fieldCount(manifest))
            for shard in manifest.shards(in: split) {
                try data.append(manifest.readShard(shard, in: directory), name: directory + "/" + shard.file)
            }
            splits[split] = data
        }
        return Dataset(directory: directory, manifest: manifest, manifestSHA256: sha, splits: splits, streamed: false)
    }

    /// Bytes of a split's rows once decoded (labels and indices; sparse: estimated from entries);
    /// `Int.max` when that does not fit in an `Int`.
    public static func decodedBytes(_ manifest: DatasetManifest, _ split: Split) -> Int {
        let rows = manifest.shards(in: split).reduce(0) { $0 &+ max($1.rows, 0) }
        let perRow = 4 * (1 + max(manifest.fields.count, 1) * (manifest.layout == .fixed ? 1 : 2))
        let (bytes, overflow) = rows.multipliedReportingOverflow(by: perRow)
        return overflow || rows < 0 ? Int.max : bytes
    }

    private static func fieldCount(_ manifest: DatasetManifest) -> Int {
        manifest.layout == .fixed ? manifest.fields.count : 0
    }

    /// The cached rows of `split`; nil when streamed or not loaded.
    public subscript(split: Split) -> SplitData? { splits[split] }

    /// Rows of a split, from the manifest.
    public func rowCount(_ split: Split) -> Int { manifest.shards(in: split).reduce(0) { $0 + $1.rows } }

    /// Calls `body` with each shard of `split` decoded into its own `SplitData`, in manifest order or in
    /// the order of `order` (indices into the split's shards). Cached datasets hand out the whole split.
    public func forEachShard(of split: Split, order: [Int]? = nil, _ body: (SplitData) throws -> Void) throws {
        if let data = splits[split] {
            try body(data)
            return
        }
        let shards = manifest.shards(in: split)
        for index in order ?? Array(shards.indices) {
            let data = SplitData(split: split, layout: manifest.layout, fieldCount: Self.fieldCount(manifest))
            try data.append(manifest.readShard(shards[index], in: directory), name: directory + "/" + shards[index].file)
            try body(data)
        }
    }

    /// The label range used for clipping predictions: [min, max] of the two label values.
    public var labelRange: ClosedRange<Float> {
        min(manifest.labels.negative, manifest.labels.positive)...max(manifest.labels.negative, manifest.labels.positive)
    }
}
