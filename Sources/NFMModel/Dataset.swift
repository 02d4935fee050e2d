import Foundation
import NFMFormat
import NFMKernels

/// The rows of one split, decoded from its shards and held in memory (Frappe: 288,609 rows × 10
/// fields ≈ 13 MB in all).
public final class SplitData: @unchecked Sendable {
    public let split: Split
    public let layout: ShardBlock.Layout
    public let fieldCount: Int
    public private(set) var labels: [Float] = []
    public private(set) var indices: [UInt32] = []
    /// Sparse layout: absolute entry offsets, `rowCount + 1`.
    public private(set) var offsets: [UInt32] = [0]
    public private(set) var values: [Float] = []

    public var rowCount: Int { labels.count }

    public init(split: Split, layout: ShardBlock.Layout, fieldCount: Int) {
        self.split = split
        self.layout = layout
        self.fieldCount = fieldCount
    }

    /// Appends a decoded shard.
    public func append(_ block: ShardBlock, name: String) throws {
        guard block.layout == layout, layout == .sparse || block.fieldCount == fieldCount else {
            throw ModelError(.dataset, "\(name): shard layout differs from the manifest's")
        }
        labels.append(contentsOf: block.labels)
        switch layout {
        case .fixed:
            indices.append(contentsOf: block.indices)
        case .sparse:
            let base = UInt32(indices.count)
            indices.append(contentsOf: block.indices)
            values.append(contentsOf: block.values)
            offsets.append(contentsOf: block.rowOffsets.dropFirst().map { $0 + base })
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
public struct Dataset: Sendable {
    public let directory: String
    public let manifest: DatasetManifest
    public let manifestSHA256: String
    public let splits: [Split: SplitData]

    /// Loads the manifest and the shards of `splits`, checking every feature index against the
    /// manifest's feature count. Shard integrity is checked by zstd's frame checksum while decoding
    /// (`nfm verify` checks the SHA-256 of every file).
    public static func load(directory: String, splits wanted: [Split] = Split.allCases) throws -> Dataset {
        let (manifest, sha) = try DatasetManifest.load(directory: directory)
        let fieldCount = manifest.layout == .fixed ? manifest.fields.count : 0
        var splits: [Split: SplitData] = [:]
        for split in wanted {
            let data = SplitData(split: split, layout: manifest.layout, fieldCount: fieldCount)
            for shard in manifest.shards(in: split) {
                let path = directory + "/" + shard.file
                let block = try ShardCodec.read(path: path)
                guard block.rowCount == shard.rows else {
                    throw ModelError(.dataset, "\(path): \(block.rowCount) rows, the manifest says \(shard.rows)")
                }
                if let bad = block.indices.first(where: { Int($0) >= manifest.featureCount }) {
                    throw ModelError(
                        .dataset, "\(path): feature index \(bad) is outside the manifest's \(manifest.featureCount) features")
                }
                try data.append(block, name: path)
            }
            splits[split] = data
        }
        return Dataset(directory: directory, manifest: manifest, manifestSHA256: sha, splits: splits)
    }

    public subscript(split: Split) -> SplitData? { splits[split] }

    /// The label range used for clipping predictions: [min, max] of the two label values.
    public var labelRange: ClosedRange<Float> {
        min(manifest.labels.negative, manifest.labels.positive)...max(manifest.labels.negative, manifest.labels.positive)
    }
}
