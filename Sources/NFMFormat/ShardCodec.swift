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
/// Payload, fixed layout (columnar, which compresses ~25% better than row-major):
/// `labels: Float32[rows]`, then for each field `indices: UInt32[rows]` (global feature indices).
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
        switch block.layout {
        case .fixed:
            let fields = block.fieldCount
            payload = [UInt8](repeating: 0, count: rows * 4 * (1 + fields))
            payload.withUnsafeMutableBytes { out in
                let floats = out.bindMemory(to: UInt32.self)
                block.labels.withUnsafeBufferPointer { labels in
                    for r in 0..<rows { floats[r] = labels[r].bitPattern.littleEndian }
                }
                block.indices.withUnsafeBufferPointer { indices in
                    for f in 0..<fields {
                        let column = (1 + f) * rows
                        for r in 0..<rows { floats[column + r] = indices[r * fields + f].littleEndian }
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
        guard rows < 1 << 32, entries < 1 << 40, frameBytes == bytes.count - headerSize else {
            throw fail(
                "header announces \(frameBytes) compressed bytes, file holds \(bytes.count - headerSize)"
                    + " (truncated or padded)")
        }
        let expected: Int
        switch layout {
        case .fixed:
            guard entries == rows * fields, fields > 0 else { throw fail("inconsistent fixed-layout counts") }
            expected = 4 * rows * (1 + fields)
        case .sparse:
            guard fields == 0 else { throw fail("sparse shard with a field count") }
            expected = 4 * (2 * rows + 1 + 2 * entries)
        }
        guard payloadBytes == expected else { throw fail("payload size \(payloadBytes), expected \(expected)") }
        var payload = [UInt32](repeating: 0, count: expected / 4)
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
            block = ShardBlock(fieldCount: fields)
            block.labels = payload[0..<rows].map { Float(bitPattern: UInt32(littleEndian: $0)) }
            block.indices = [UInt32](repeating: 0, count: rows * fields)
            block.indices.withUnsafeMutableBufferPointer { out in
                payload.withUnsafeBufferPointer { columns in
                    for f in 0..<fields {
                        let column = (1 + f) * rows
                        for r in 0..<rows { out[r * fields + f] = UInt32(littleEndian: columns[column + r]) }
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

extension [UInt8] {
    @inline(__always) mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    @inline(__always) func readLittleEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        for i in 0..<MemoryLayout<T>.size { value |= T(self[offset + i]) << (8 * i) }
        return value
    }
}
