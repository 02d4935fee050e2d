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
    public static let magic: [UInt8] = Array("NFMSHARD".utf8)
    public static let version: UInt16 = 1
    public static let headerSize = 48
    public static let fileExtension = "nfms"

    /// Encodes a block into the bytes of a shard file.
    public static func encode(_ block: ShardBlock, level: Int) throws -> [UInt8] {
        let rows = block.rowCount
        var payload = [UInt8]()
        var columns: [(base: UInt32, width: Int)] = []
        switch block.layout {
        case .fixed:
            let fields = block.fieldCount
            columns = (0..<fields).map { f in
                var low = UInt32.max
                var high = UInt32.min
                for r in 0..<rows {
                    let value = block.indices[r * fields + f]
                    low = min(low, value)
                    high = max(high, value)
                }
                if rows == 0 { low = 0; high = 0 }
                let span = high - low
                return (low, span < 1 << 8 ? 1 : span < 1 << 16 ? 2 : 4)
            }
            let table = 8 * fields
            let size = table + rows * 4 + columns.reduce(0) { $0 + $1.width * rows }
            payload = [UInt8](repeating: 0, count: size)
            payload.withUnsafeMutableBytes { out in
                for (f, column) in columns.enumerated() {
                    out.storeBytes(of: column.base.littleEndian, toByteOffset: 8 * f, as: UInt32.self)
                    out[8 * f + 4] = UInt8(column.width)
                }
                block.labels.withUnsafeBufferPointer { labels in
                    for r in 0..<rows {
                        out.storeBytes(of: labels[r].bitPattern.littleEndian, toByteOffset: table + 4 * r, as: UInt32.self)
                    }
                }
                var cursor = table + rows * 4
                block.indices.withUnsafeBufferPointer { indices in
                    for (f, column) in columns.enumerated() {
                        switch column.width {
                        case 1:
                            for r in 0..<rows { out[cursor + r] = UInt8(truncatingIfNeeded: indices[r * fields + f] - column.base) }
                        case 2:
                            for r in 0..<rows {
                                out.storeBytes(of: UInt16(truncatingIfNeeded: indices[r * fields + f] - column.base).littleEndian, toByteOffset: cursor + 2 * r, as: UInt16.self)
                            }
                        default:
                            for r in 0..<rows {
                                out.storeBytes(of: (indices[r * fields + f] - column.base).littleEndian, toByteOffset: cursor + 4 * r, as: UInt32.self)
                            }
                        }
                        cursor += column.width * rows
                    }
                }
            }
        case .sparse:
            payload.reserveCapacity(4 * (2 * rows + 1 + 2 * block.indices.count))
            for label in block.labels { payload.appendLittleEndian(label.bitPattern) }
            for offset in block.rowOffsets { payload.appendLittleEndian(offset) }
            for index in block.indices { payload.appendLittleEndian(index) }
            for value in block.values { payload.appendLittleEndian(value.bitPattern) }
        }
        let frame = try payload.withUnsafeBytes { try Zstd.compress($0, level: level) }
        var file = magic
        file.reserveCapacity(headerSize + frame.count)
        file.appendLittleEndian(version)
        file.append(block.layout.rawValue)
        file.append(0)
        file.appendLittleEndian(UInt32(block.fieldCount))
        file.appendLittleEndian(UInt64(rows))
        file.appendLittleEndian(UInt64(block.indices.count))
        file.appendLittleEndian(UInt64(payload.count))
        file.appendLittleEndian(UInt64(frame.count))
        file.append(contentsOf: frame)
        return file
    }

    /// Decodes the bytes of a shard file; `name` is used in error messages.
    public static func decode(_ bytes: [UInt8], name: String) throws -> ShardBlock {
        func fail(_ what: String) -> FormatError { FormatError(.corruptShard, "\(name): \(what)") }
        guard bytes.count >= headerSize else { throw fail("truncated header (\(bytes.count) bytes)") }
        guard Array(bytes[0..<8]) == magic else { throw fail("not an nfm shard (bad magic)") }
        let version = bytes.readLittleEndian(UInt16.self, at: 8)
        guard version == ShardCodec.version else { throw fail("unsupported shard version \(version)") }
        guard let layout = ShardBlock.Layout(rawValue: bytes[10]), bytes[11] == 0 else {
            throw fail("unknown layout byte \(bytes[10])")
        }
        let fields = Int(bytes.readLittleEndian(UInt32.self, at: 12))
        let rows = Int(bytes.readLittleEndian(UInt64.self, at: 16))
        let entries = Int(bytes.readLittleEndian(UInt64.self, at: 24))
        let payloadBytes = Int(bytes.readLittleEndian(UInt64.self, at: 32))
        let frameBytes = Int(bytes.readLittleEndian(UInt64.self, at: 40))
        guard fields < 1 << 16, rows < 1 << 32, entries < 1 << 40, frameBytes == bytes.count - headerSize else {
            throw fail(
                "header announces \(frameBytes) compressed bytes, file holds \(bytes.count - headerSize)"
                    + " (truncated or padded)")
        }
        let expected: Int
        switch layout {
        case .fixed:
            guard entries == rows * fields, fields > 0, payloadBytes >= 8 * fields + 4 * rows else {
                throw fail("inconsistent fixed-layout counts")
            }
            expected = payloadBytes  // checked against the column table after decompression
        case .sparse:
            guard fields == 0 else { throw fail("sparse shard with a field count") }
            expected = 4 * (2 * rows + 1 + 2 * entries)
        }
        guard payloadBytes == expected else { throw fail("payload size \(payloadBytes), expected \(expected)") }
        var payload = [UInt32](repeating: 0, count: (expected + 3) / 4)
        do {
            try bytes.withUnsafeBytes { raw in
                try payload.withUnsafeMutableBytes { out in
                    try Zstd.decompress(
                        UnsafeRawBufferPointer(rebasing: raw[headerSize...]), expectedSize: expected, into: out)
                }
            }
        } catch let error as FormatError {
            throw fail(error.message)
        }
        var block: ShardBlock
        switch layout {
        case .fixed:
            var columns: [(base: UInt32, width: Int)] = []
            for f in 0..<fields {
                let word = UInt32(littleEndian: payload[2 * f + 1])
                let width = Int(word & 0xFF)
                guard [1, 2, 4].contains(width), word >> 8 == 0 else {
                    throw fail("bad column width \(width) for field \(f)")
                }
                columns.append((UInt32(littleEndian: payload[2 * f]), width))
            }
            let table = 8 * fields
            guard expected == table + 4 * rows + columns.reduce(0, { $0 + $1.width * rows }) else {
                throw fail("payload size \(expected) does not match its column table")
            }
            block = ShardBlock(fieldCount: fields)
            block.labels = payload[2 * fields..<2 * fields + rows].map { Float(bitPattern: UInt32(littleEndian: $0)) }
            block.indices = [UInt32](repeating: 0, count: rows * fields)
            block.indices.withUnsafeMutableBufferPointer { out in
                payload.withUnsafeBytes { raw in
                    var cursor = table + rows * 4
                    for (f, column) in columns.enumerated() {
                        let base = column.base
                        switch column.width {
                        case 1:
                            for r in 0..<rows { out[r * fields + f] = base &+ UInt32(raw[cursor + r]) }
                        case 2:
                            for r in 0..<rows {
                                out[r * fields + f] = base &+ UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: cursor + 2 * r, as: UInt16.self)))
                            }
                        default:
                            for r in 0..<rows {
                                out[r * fields + f] = base &+ UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: cursor + 4 * r, as: UInt32.self))
                            }
                        }
                        cursor += column.width * rows
                    }
                }
            }
        case .sparse:
            block = ShardBlock()
            var cursor = 0
            func take(_ count: Int) -> ArraySlice<UInt32> {
                defer { cursor += count }
                return payload[cursor..<cursor + count]
            }
            block.labels = take(rows).map { Float(bitPattern: UInt32(littleEndian: $0)) }
            block.rowOffsets = take(rows + 1).map { UInt32(littleEndian: $0) }
            block.indices = take(entries).map { UInt32(littleEndian: $0) }
            block.values = take(entries).map { Float(bitPattern: UInt32(littleEndian: $0)) }
            guard block.rowOffsets.first == 0, block.rowOffsets.last.map(Int.init) == entries,
                zip(block.rowOffsets, block.rowOffsets.dropFirst()).allSatisfy({ $0 <= $1 })
            else { throw fail("row offsets are not monotone") }
        }
        return block
    }

    /// Reads and decodes a shard file.
    public static func read(path: String) throws -> ShardBlock {
        try decode(ReadableFile.readAll(path), name: path)
    }
}

/// Little-endian integer encoding shared by the binary formats (shards, checkpoints).
extension [UInt8] {
    @inline(__always) public mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    @inline(__always) public func readLittleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size { value |= T(self[offset + i]) << (8 * i) }
        return value
    }
}
