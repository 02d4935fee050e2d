/// The indices of a fixed-layout block, row-major (`ShardBlock.indices`) or column-major (a writer that
/// fills each field's column directly): value `(r, f)` is `values[r · rowStride + f · columnStride]`.
public struct FixedColumns {
    let values: UnsafeBufferPointer<UInt32>
    let fieldCount: Int
    let rows: Int
    let rowStride: Int
    let columnStride: Int

    /// `rows × fieldCount` values, row-major (`rowMajor`) or column-major.
    public init(values: UnsafeBufferPointer<UInt32>, fieldCount: Int, rows: Int, rowMajor: Bool) {
        precondition(values.count >= rows * fieldCount)
        self.values = values
        self.fieldCount = fieldCount
        self.rows = rows
        (rowStride, columnStride) = rowMajor ? (fieldCount, 1) : (1, rows)
    }

    /// `rows × fieldCount` values, column-major with columns `columnStride` (≥ `rows`) words apart: value
    /// `(r, f)` at `f · columnStride + r` (a `ShardScratch`'s padded columns).
    public init(values: UnsafeBufferPointer<UInt32>, fieldCount: Int, rows: Int, columnStride: Int) {
        precondition(columnStride >= rows && values.count >= (fieldCount - 1) * columnStride + rows)
        self.values = values
        self.fieldCount = fieldCount
        self.rows = rows
        (rowStride, self.columnStride) = (1, columnStride)
    }

    /// Value `(r, f)`.
    @inline(__always) func value(_ r: Int, _ f: Int) -> UInt32 { values[r * rowStride + f * columnStride] }

    /// Column `f`'s values as consecutive words when the columns are column-major (`rowStride` 1), else nil.
    @inline(__always) func contiguousColumn(_ f: Int) -> UnsafePointer<UInt32>? {
        rowStride == 1 && rows > 0 ? values.baseAddress! + f * columnStride : nil
    }
}

extension ShardCodec {
    /// Encodes a fixed-layout block given as `columns` and `labels` into the bytes of a shard file: the
    /// same bytes as `encode(_:level:)` of the block with those indices and labels (a writer that has its
    /// indices column-major skips the row-major block and its strided reads).
    public static func encode(_ columns: FixedColumns, labels: UnsafeBufferPointer<Float>, level: Int) throws -> [UInt8] {
        precondition(labels.count == columns.rows)
        return try file(
            fixedPayload(columns, labels: labels), layout: .fixed, fieldCount: columns.fieldCount, rows: columns.rows,
            entries: columns.rows * columns.fieldCount, level: level)
    }

    /// Encodes `columns` and `labels` like `encode(_:labels:level:)`, building the payload and the file in
    /// `scratch`: the returned bytes (header + frame) are the same and stay valid until `scratch` is used again.
    public static func encode(
        _ columns: FixedColumns, labels: UnsafeBufferPointer<Float>, level: Int, scratch: ShardScratch
    ) throws -> UnsafeRawBufferPointer {
        precondition(labels.count == columns.rows)
        let shapes = fixedShapes(columns)
        let size = fixedPayloadSize(columns, shapes)
        let payload = UnsafeMutableRawBufferPointer(start: scratch.payload(bytes: size), count: size)
        writeFixedPayload(columns, shapes, labels: labels, into: payload)
        try checkLimits(payloadBytes: size, fieldCount: columns.fieldCount)
        let bound = Zstd.compressBound(size)
        let file = UnsafeMutableRawBufferPointer(start: scratch.file(bytes: headerSize + bound), count: headerSize + bound)
        let frame = try Zstd.compress(
            UnsafeRawBufferPointer(payload), level: level, into: UnsafeMutableRawBufferPointer(rebasing: file[headerSize...]))
        let header = ShardHeader(
            layout: .fixed, fieldCount: columns.fieldCount, rowCount: columns.rows,
            entryCount: columns.rows * columns.fieldCount, payloadBytes: size, compressedBytes: frame)
        header.encoded().withUnsafeBytes { file.copyMemory(from: $0) }
        return UnsafeRawBufferPointer(rebasing: file[0..<headerSize + frame])
    }

    /// The fixed layout's payload (see the type): a column table of 8 bytes per field (base, width, zeros),
    /// the labels, then each field's column of `index − base` in `width` bytes (1, 2 or 4: the fewest that
    /// hold the column's span).
    static func fixedPayload(_ columns: FixedColumns, labels: UnsafeBufferPointer<Float>) -> [UInt8] {
        let shapes = fixedShapes(columns)
        var payload = [UInt8](repeating: 0, count: fixedPayloadSize(columns, shapes))
        payload.withUnsafeMutableBytes { writeFixedPayload(columns, shapes, labels: labels, into: $0) }
        return payload
    }

    /// Each column's base (its smallest index) and width in bytes (the fewest of 1, 2, 4 that hold its span).
    private static func fixedShapes(_ columns: FixedColumns) -> [(base: UInt32, width: Int)] {
        let rows = columns.rows
        return (0..<columns.fieldCount).map { f -> (base: UInt32, width: Int) in
            var (low, high) = (UInt32.max, UInt32.min)
            if let column = columns.contiguousColumn(f) {
                // Consecutive words: a loop the compiler vectorises.
                for r in 0..<rows {
                    low = min(low, column[r])
                    high = max(high, column[r])
                }
            } else {
                for r in 0..<rows {
                    let value = columns.value(r, f)
                    low = min(low, value)
                    high = max(high, value)
                }
            }
            if rows == 0 { (low, high) = (0, 0) }
            let span = high - low
            return (low, span < 1 << 8 ? 1 : span < 1 << 16 ? 2 : 4)
        }
    }

    /// The payload's bytes: the column table, the labels and the columns.
    private static func fixedPayloadSize(_ columns: FixedColumns, _ shapes: [(base: UInt32, width: Int)]) -> Int {
        8 * columns.fieldCount + columns.rows * 4 + shapes.reduce(0) { $0 + $1.width * columns.rows }
    }

    /// Writes the payload into `out` (exactly `fixedPayloadSize` bytes; every byte is written).
    private static func writeFixedPayload(
        _ columns: FixedColumns, _ shapes: [(base: UInt32, width: Int)], labels: UnsafeBufferPointer<Float>,
        into out: UnsafeMutableRawBufferPointer
    ) {
        let (rows, table) = (columns.rows, 8 * columns.fieldCount)
        for (f, shape) in shapes.enumerated() {
            out.storeBytes(of: shape.base.littleEndian, toByteOffset: 8 * f, as: UInt32.self)
            out.storeBytes(of: UInt32(shape.width).littleEndian, toByteOffset: 8 * f + 4, as: UInt32.self)
        }
        for r in 0..<rows {
            out.storeBytes(of: labels[r].bitPattern.littleEndian, toByteOffset: table + 4 * r, as: UInt32.self)
        }
        var cursor = table + rows * 4
        for (f, shape) in shapes.enumerated() {
            writeColumn(columns, f, shape, into: out, at: cursor)
            cursor += shape.width * rows
        }
    }

    /// Column `f` as `index − base` in `shape.width` bytes each, from byte `cursor` of `out`.
    private static func writeColumn(
        _ columns: FixedColumns, _ f: Int, _ shape: (base: UInt32, width: Int), into out: UnsafeMutableRawBufferPointer,
        at cursor: Int
    ) {
        let base = shape.base
        if let column = columns.contiguousColumn(f) {
            writeContiguousColumn(column, rows: columns.rows, shape, into: out.baseAddress! + cursor)
            return
        }
        switch shape.width {
        case 1:
            for r in 0..<columns.rows { out[cursor + r] = UInt8(truncatingIfNeeded: columns.value(r, f) - base) }
        case 2:
            for r in 0..<columns.rows {
                out.storeBytes(
                    of: UInt16(truncatingIfNeeded: columns.value(r, f) - base).littleEndian, toByteOffset: cursor + 2 * r,
                    as: UInt16.self)
            }
        default:
            for r in 0..<columns.rows {
                out.storeBytes(of: (columns.value(r, f) - base).littleEndian, toByteOffset: cursor + 4 * r, as: UInt32.self)
            }
        }
    }

    /// `writeColumn` of a column of `rows` consecutive words (every value ≥ `shape.base`, its span within
    /// `shape.width` bytes): wrapping arithmetic and plain stores, which the compiler vectorises.
    private static func writeContiguousColumn(
        _ column: UnsafePointer<UInt32>, rows: Int, _ shape: (base: UInt32, width: Int), into out: UnsafeMutableRawPointer
    ) {
        let base = shape.base
        switch shape.width {
        case 1:
            let bytes = out.assumingMemoryBound(to: UInt8.self)
            for r in 0..<rows { bytes[r] = UInt8(truncatingIfNeeded: column[r] &- base) }
        case 2:
            for r in 0..<rows {
                out.storeBytes(of: UInt16(truncatingIfNeeded: column[r] &- base).littleEndian, toByteOffset: 2 * r, as: UInt16.self)
            }
        default:
            for r in 0..<rows { out.storeBytes(of: (column[r] &- base).littleEndian, toByteOffset: 4 * r, as: UInt32.self) }
        }
    }
}
