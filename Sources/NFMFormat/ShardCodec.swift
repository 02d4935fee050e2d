/// Binary shard format, version 1 (`.nfms`).
///
/// ```
/// offset size  field
///  0      8    magic "NFMSHARD"
///  8      2    format version (1), little-endian
/// 10      1    layout: 0 fixed fields, 1 sparse
/// 11      1    reserved (0)
/// 12      4    field count (fixed layout; 0 for sparse)
/// 16      8    row count
/// 24      8    stored feature entries (rows × fields, or nnz)
/// 32      8    uncompressed payload bytes
/// 40      8    compressed frame bytes
/// 48      …    one zstd frame (content size + XXH64 checksum) holding the payload
/// ```
/// Payload, fixed layout (columnar, which compresses ~25% better than row-major): a column table of
/// 8 bytes per field (base index UInt32, width in bytes 1, 2 or 4, three zero bytes), then
/// `labels: Float32[rows]`, then for each field its column of `rows` values `index − base`, each
/// `width` bytes. Narrow columns
/// (Frappe: 16 instead of 44 bytes a row) make shards smaller and compress and decompress ~2.5× faster.
/// Payload, sparse layout: `labels: Float32[rows]`, `rowOffsets: UInt32[rows + 1]`,
/// `indices: UInt32[nnz]`, `values: Float32[nnz]`. All numbers little-endian.
public enum ShardCodec {
    /// The first 8 bytes of every shard: `"NFMSHARD"` in ASCII.
    public static let magic: [UInt8] = Array("NFMSHARD".utf8)
    /// The format version this build writes and reads.
    public static let version: UInt16 = 1
    /// Bytes of the fixed header before the zstd frame.
    public static let headerSize = 48
    /// The shard files' extension (`part-00000.nfms`).
    public static let fileExtension = "nfms"

    /// Encodes a block into the bytes of a shard file; refuses (`.configuration`) a block whose payload
    /// exceeds `ShardHeader.maxPayloadBytes`, which no reader would accept.
    public static func encode(_ block: ShardBlock, level: Int) throws -> [UInt8] {
        let rows = block.rowCount
        var payload = [UInt8]()
        switch block.layout {
        case .fixed:
            payload = block.indices.withUnsafeBufferPointer { indices in
                block.labels.withUnsafeBufferPointer { labels in
                    fixedPayload(FixedColumns(values: indices, fieldCount: block.fieldCount, rows: rows, rowMajor: true), labels: labels)
                }
            }
        case .sparse:
            payload.reserveCapacity(4 * (2 * rows + 1 + 2 * block.indices.count))
            #if _endian(little)
                // The arrays' bytes are already the little-endian words of the format: copy them whole.
                block.labels.withUnsafeBytes { payload.append(contentsOf: $0) }
                block.rowOffsets.withUnsafeBytes { payload.append(contentsOf: $0) }
                block.indices.withUnsafeBytes { payload.append(contentsOf: $0) }
                block.values.withUnsafeBytes { payload.append(contentsOf: $0) }
            #else
                for label in block.labels { payload.appendLittleEndian(label.bitPattern) }
                for offset in block.rowOffsets { payload.appendLittleEndian(offset) }
                for index in block.indices { payload.appendLittleEndian(index) }
                for value in block.values { payload.appendLittleEndian(value.bitPattern) }
            #endif
        }
        return try file(
            payload, layout: block.layout, fieldCount: block.fieldCount, rows: rows, entries: block.indices.count,
            level: level)
    }

    /// The shard file of `payload`: checked against the format's limits, compressed at `level` behind the
    /// header.
    static func file(
        _ payload: [UInt8], layout: ShardBlock.Layout, fieldCount: Int, rows: Int, entries: Int, level: Int
    ) throws -> [UInt8] {
        try checkLimits(payloadBytes: payload.count, fieldCount: fieldCount)
        let frame = try payload.withUnsafeBytes { try Zstd.compress($0, level: level) }
        let header = ShardHeader(
            layout: layout, fieldCount: fieldCount, rowCount: rows, entryCount: entries,
            payloadBytes: payload.count, compressedBytes: frame.count)
        var file = header.encoded()
        file.append(contentsOf: frame)
        return file
    }

    /// Refuses (`.configuration`) a payload or field count above the format's limits.
    static func checkLimits(payloadBytes: Int, fieldCount: Int) throws {
        guard payloadBytes <= ShardHeader.maxPayloadBytes, fieldCount <= ShardHeader.maxFieldCount else {
            throw NFMError(
                .configuration,
                "a shard holds at most \(ShardHeader.maxPayloadBytes) payload bytes and \(ShardHeader.maxFieldCount) fields"
                    + " (this one: \(payloadBytes) bytes, \(fieldCount) fields); write fewer rows per shard")
        }
    }

    /// Decodes the bytes of a shard file; `name` is used in error messages.
    public static func decode(_ bytes: [UInt8], name: String) throws -> ShardBlock {
        try bytes.withUnsafeBytes { try decode($0, name: name) }
    }

    /// Reads and decodes a shard file (no manifest check; readers of a dataset use
    /// `DatasetManifest.readShard(_:in:)`, which also checks its size and SHA-256).
    public static func read(path: String) throws -> ShardBlock {
        try decode(ReadableFile.readAll(path), name: path)
    }

    /// The error for a malformed shard: `.corruptShard` at (file, field, value).
    static func corrupt(_ name: String, field: String, value: any CustomStringConvertible, _ what: String) -> NFMError {
        NFMError(.corruptShard, what, at: .init(file: name, field: field, value: NFMError.excerpt("\(value)")))
    }
}

/// Little-endian integer encoding shared by the binary formats (shards, checkpoints).
extension [UInt8] {
    /// Appends `value`'s bytes, least significant first.
    @inline(__always) public mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    /// The `T` stored little-endian at `offset ..< offset + T.size`; the caller checks the bounds (traps
    /// out of range).
    @inline(__always) public func readLittleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size { value |= T(self[offset + i]) << (8 * i) }
        return value
    }
}
