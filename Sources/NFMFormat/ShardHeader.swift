/// The 48-byte header of a shard file (`ShardCodec` documents the layout), parsed and range-checked
/// against the size of the file it came from before any number in it is trusted.
///
/// Hard limits, each derived from the bytes actually present:
/// - `compressedBytes` = file size − 48 (exactly; a truncated or padded file is refused);
/// - `payloadBytes` ≤ min(`maxPayloadBytes`, `compressedBytes` × `maxCompressionRatio`): zstd cannot expand
///   a block of at least 4 stored bytes to more than 128 KiB, so no frame decompresses to more;
/// - fixed layout: 1 ≤ `fieldCount` ≤ `maxFieldCount`, `entries` = rows × fields, and
///   8·F + 4·R + R·F ≤ payload ≤ 8·F + 4·R + 4·R·F (column table, labels, columns 1–4 bytes wide);
/// - sparse layout: `fieldCount` = 0 and payload = 4·(2·R + 1 + 2·E) exactly.
/// Every product is formed only after its factors are bounded, so nothing overflows or traps.
public struct ShardHeader: Sendable, Equatable {
    /// The layout byte.
    public var layout: ShardBlock.Layout
    /// Features per row (fixed layout, 1 … `maxFieldCount`); 0 for sparse.
    public var fieldCount: Int
    /// Number of rows (R).
    public var rowCount: Int
    /// Stored feature entries (E): R × F for fixed, nnz for sparse.
    public var entryCount: Int
    /// Size of the decompressed payload, in bytes.
    public var payloadBytes: Int
    /// Size of the zstd frame, in bytes: the file's size − 48.
    public var compressedBytes: Int

    /// Most fields a fixed-layout shard may have.
    public static let maxFieldCount = 65_535
    /// Largest decompressed payload of one shard (4 GiB); `ShardCodec.encode` refuses larger blocks.
    public static let maxPayloadBytes = 1 << 32
    /// zstd's largest expansion: a 128 KiB block stored as a 3-byte block header and one RLE byte.
    public static let maxCompressionRatio = 32_768

    /// A header with the given values, unchecked (for writing).
    public init(
        layout: ShardBlock.Layout, fieldCount: Int, rowCount: Int, entryCount: Int, payloadBytes: Int,
        compressedBytes: Int
    ) {
        self.layout = layout
        self.fieldCount = fieldCount
        self.rowCount = rowCount
        self.entryCount = entryCount
        self.payloadBytes = payloadBytes
        self.compressedBytes = compressedBytes
    }

    /// Parses and checks the header at the start of `bytes`, the whole shard file called `name`.
    ///
    /// Throws `.corruptShard` naming the file, the field and its value. O(1).
    public init(parsing bytes: UnsafeRawBufferPointer, name: String) throws {
        func fail(_ field: String, _ value: any CustomStringConvertible, _ what: String) -> NFMError {
            ShardCodec.corrupt(name, field: field, value: value, what)
        }
        guard bytes.count >= ShardCodec.headerSize else {
            throw fail("header", "\(bytes.count) bytes", "a shard starts with a \(ShardCodec.headerSize)-byte header")
        }
        guard bytes.prefix(8).elementsEqual(ShardCodec.magic) else {
            throw fail("magic", hex(Array(bytes.prefix(8))), "not an nfm shard (its first 8 bytes are not \"NFMSHARD\")")
        }
        let version = bytes.littleEndian(UInt16.self, at: 8)
        guard version == ShardCodec.version else {
            throw fail("version", version, "this build reads shard version \(ShardCodec.version)")
        }
        guard let layout = ShardBlock.Layout(rawValue: bytes[10]) else {
            throw fail("layout", bytes[10], "the layout is 0 (fixed fields) or 1 (sparse)")
        }
        guard bytes[11] == 0 else { throw fail("reserved", bytes[11], "the reserved byte is 0") }
        let compressed = bytes.count - ShardCodec.headerSize
        let declaredCompressed = bytes.littleEndian(UInt64.self, at: 40)
        guard declaredCompressed == UInt64(compressed) else {
            throw fail("compressedBytes", declaredCompressed, "the file holds \(compressed) bytes after the header (truncated or padded)")
        }
        let declaredPayload = bytes.littleEndian(UInt64.self, at: 32)
        let (ratioBound, overflow) = compressed.multipliedReportingOverflow(by: Self.maxCompressionRatio)
        let payloadLimit = overflow ? Self.maxPayloadBytes : min(Self.maxPayloadBytes, ratioBound)
        guard declaredPayload <= UInt64(payloadLimit) else {
            throw fail("payloadBytes", declaredPayload, "at most \(payloadLimit) for \(compressed) compressed bytes")
        }
        let payload = Int(declaredPayload)  // ≤ 2^32, exact
        let fields = Int(bytes.littleEndian(UInt32.self, at: 12))
        let rows = bytes.littleEndian(UInt64.self, at: 16)
        let entries = bytes.littleEndian(UInt64.self, at: 24)
        switch layout {
        case .fixed:
            self = try Self.fixed(fields: fields, rows: rows, entries: entries, payload: payload, compressed: compressed, fail)
        case .sparse:
            self = try Self.sparse(fields: fields, rows: rows, entries: entries, payload: payload, compressed: compressed, fail)
        }
    }

    private static func fixed(
        fields: Int, rows declaredRows: UInt64, entries: UInt64, payload: Int, compressed: Int,
        _ fail: (String, any CustomStringConvertible, String) -> NFMError
    ) throws -> ShardHeader {
        guard (1...maxFieldCount).contains(fields) else {
            throw fail("fieldCount", fields, "a fixed-layout shard has 1…\(maxFieldCount) fields")
        }
        guard payload >= 8 * fields else {
            throw fail("payloadBytes", payload, "smaller than the column table of \(fields) fields")
        }
        // Each row takes a 4-byte label and at least one byte per field.
        let rowLimit = (payload - 8 * fields) / (4 + fields)
        guard declaredRows <= UInt64(rowLimit) else {
            throw fail("rows", declaredRows, "at most \(rowLimit) rows fit \(payload) payload bytes")
        }
        let rows = Int(declaredRows)
        guard entries == UInt64(rows * fields) else {
            throw fail("entries", entries, "a fixed-layout shard stores rows × fields = \(rows * fields) entries")
        }
        let smallest = 8 * fields + 4 * rows + rows * fields
        let largest = smallest + 3 * rows * fields
        guard (smallest...largest).contains(payload) else {
            throw fail("payloadBytes", payload, "\(rows) rows of \(fields) fields take \(smallest)…\(largest) bytes")
        }
        return ShardHeader(
            layout: .fixed, fieldCount: fields, rowCount: rows, entryCount: rows * fields, payloadBytes: payload,
            compressedBytes: compressed)
    }

    private static func sparse(
        fields: Int, rows declaredRows: UInt64, entries declaredEntries: UInt64, payload: Int, compressed: Int,
        _ fail: (String, any CustomStringConvertible, String) -> NFMError
    ) throws -> ShardHeader {
        guard fields == 0 else { throw fail("fieldCount", fields, "a sparse shard has field count 0") }
        guard payload >= 4, payload % 4 == 0 else {
            throw fail("payloadBytes", payload, "a sparse payload is a positive multiple of 4 bytes")
        }
        let words = payload / 4  // 2·R + 1 + 2·E
        guard declaredRows <= UInt64((words - 1) / 2) else {
            throw fail("rows", declaredRows, "at most \((words - 1) / 2) rows fit \(payload) payload bytes")
        }
        let rows = Int(declaredRows)
        let entries = (words - 1 - 2 * rows) / 2
        guard declaredEntries == UInt64(entries), 2 * rows + 1 + 2 * entries == words, entries <= Int(UInt32.max)
        else {
            throw fail("entries", declaredEntries, "\(rows) rows in \(payload) payload bytes leave room for \(entries) entries")
        }
        return ShardHeader(
            layout: .sparse, fieldCount: 0, rowCount: rows, entryCount: entries, payloadBytes: payload,
            compressedBytes: compressed)
    }

    /// The 48 header bytes.
    public func encoded() -> [UInt8] {
        var out = ShardCodec.magic
        out.reserveCapacity(ShardCodec.headerSize)
        out.appendLittleEndian(ShardCodec.version)
        out.append(layout.rawValue)
        out.append(0)
        out.appendLittleEndian(UInt32(fieldCount))
        out.appendLittleEndian(UInt64(rowCount))
        out.appendLittleEndian(UInt64(entryCount))
        out.appendLittleEndian(UInt64(payloadBytes))
        out.appendLittleEndian(UInt64(compressedBytes))
        return out
    }
}

extension UnsafeRawBufferPointer {
    /// The little-endian integer at `offset`; the caller has checked that it lies inside the buffer.
    @inline(__always) func littleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
