/// Decoded rows of one shard, row-major, ready for a trainer.
///
/// Fixed layout: every row has `fieldCount` feature indices (one per field, value 1), `indices` holds
/// `rowCount × fieldCount` global feature indices. Sparse layout (libFM imports): row `r` owns
/// `indices[rowOffsets[r]..<rowOffsets[r+1]]` with the matching `values`.
public struct ShardBlock: Sendable, Equatable {
    public enum Layout: UInt8, Sendable, Codable {
        case fixed = 0
        case sparse = 1
    }

    public var layout: Layout
    public var fieldCount: Int
    public var labels: [Float]
    public var indices: [UInt32]
    public var rowOffsets: [UInt32]
    public var values: [Float]

    public var rowCount: Int { labels.count }

    public init(fieldCount: Int) {
        layout = .fixed
        self.fieldCount = fieldCount
        labels = []
        indices = []
        rowOffsets = []
        values = []
    }

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

    /// Number of (index, value) entries in row `row`.
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
