/// Decoded rows of one shard, row-major, ready for a trainer.
///
/// Fixed layout: every row has `fieldCount` feature indices (one per field, value 1), `indices` holds
/// `rowCount × fieldCount` global feature indices. Sparse layout (libFM imports): row `r` owns
/// `indices[rowOffsets[r]..<rowOffsets[r+1]]` with the matching `values`.
public struct ShardBlock: Sendable, Equatable {
    /// The shard layout byte (docs/FORMAT.md §4).
    public enum Layout: UInt8, Sendable, Codable {
        /// Every row has one feature per field, each of value 1 (built datasets).
        case fixed = 0
        /// Rows of any number of (index, value) entries (libFM imports).
        case sparse = 1
    }

    /// The block's layout.
    public var layout: Layout
    /// Features per row (fixed layout); 0 for sparse.
    public var fieldCount: Int
    /// One label per row.
    public var labels: [Float]
    /// Global feature indices: `rowCount × fieldCount` row-major (fixed), or every row's entries in order
    /// (sparse).
    public var indices: [UInt32]
    /// Sparse layout: `rowCount + 1` entry offsets, row `r` owning `rowOffsets[r] ..< rowOffsets[r+1]`;
    /// empty for fixed.
    public var rowOffsets: [UInt32]
    /// Sparse layout: each entry's value, parallel to `indices`; empty for fixed.
    public var values: [Float]

    /// Number of rows.
    public var rowCount: Int { labels.count }

    /// An empty fixed-layout block of `fieldCount` features per row.
    public init(fieldCount: Int) {
        layout = .fixed
        self.fieldCount = fieldCount
        labels = []
        indices = []
        rowOffsets = []
        values = []
    }

    /// An empty sparse-layout block, with room reserved for `capacity` rows' labels.
    public init(sparseRowsReservingCapacity capacity: Int = 0) {
        layout = .sparse
        fieldCount = 0
        labels = []
        indices = []
        rowOffsets = [0]
        values = []
        labels.reserveCapacity(capacity)
    }

    /// Appends a fixed-layout row.
    public mutating func append(label: Float, features: UnsafeBufferPointer<UInt32>) {
        precondition(layout == .fixed && features.count == fieldCount)
        labels.append(label)
        indices.append(contentsOf: features)
    }

    /// Appends a sparse row of (index, value) pairs.
    public mutating func append(label: Float, indices rowIndices: [UInt32], values rowValues: [Float]) {
        precondition(layout == .sparse && rowIndices.count == rowValues.count)
        labels.append(label)
        indices.append(contentsOf: rowIndices)
        values.append(contentsOf: rowValues)
        rowOffsets.append(UInt32(indices.count))
    }

    /// The feature indices of row `row`, and for the sparse layout their values (nil for fixed: all 1).
    public func features(ofRow row: Int) -> (indices: ArraySlice<UInt32>, values: ArraySlice<Float>?) {
        switch layout {
        case .fixed:
            return (indices[row * fieldCount..<(row + 1) * fieldCount], nil)
        case .sparse:
            let range = Int(rowOffsets[row])..<Int(rowOffsets[row + 1])
            return (indices[range], values[range])
        }
    }
}
