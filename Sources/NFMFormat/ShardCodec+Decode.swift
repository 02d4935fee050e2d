extension ShardCodec {
    /// Decodes the bytes of a shard file called `name` (used in errors).
    ///
    /// Nothing is allocated before the header has been range-checked against the file's size
    /// (`ShardHeader`) and the zstd frame's declared content size equals the header's payload size. Any
    /// byte string gives a block or a `.corruptShard` error naming the file, the field and the value; it
    /// never traps. O(payload).
    public static func decode(_ bytes: UnsafeRawBufferPointer, name: String) throws -> ShardBlock {
        let header = try ShardHeader(parsing: bytes, name: name)
        let frame = UnsafeRawBufferPointer(rebasing: bytes[headerSize...])
        let info: Zstd.FrameInfo
        do { info = try Zstd.frameInfo(frame) } catch let error as NFMError {
            throw corrupt(name, field: "frame", value: "\(frame.count) bytes", error.message)
        }
        guard info.contentSize == UInt64(header.payloadBytes) else {
            throw corrupt(
                name, field: "payloadBytes", value: header.payloadBytes,
                "the zstd frame declares \(info.contentSize) bytes of content")
        }
        guard info.hasChecksum else {
            throw corrupt(name, field: "frame", value: "no checksum", "shard frames carry an XXH64 content checksum")
        }
        var words = [UInt32](repeating: 0, count: (header.payloadBytes + 3) / 4)
        do {
            try words.withUnsafeMutableBytes {
                try Zstd.decompress(frame, expectedSize: header.payloadBytes, into: $0)
            }
        } catch let error as NFMError {
            throw corrupt(name, field: "frame", value: "\(frame.count) bytes", error.message)
        }
        let block =
            switch header.layout {
            case .fixed: try decodeFixed(words, header, name)
            case .sparse: try decodeSparse(words, header, name)
            }
        if let bad = block.labels.firstIndex(where: { !$0.isFinite }) {
            throw corrupt(name, field: "label[\(bad)]", value: block.labels[bad], "labels are finite numbers")
        }
        return block
    }

    /// The column table of a fixed-layout payload: per field its base index and width (1, 2 or 4 bytes),
    /// checked against the payload size.
    private static func columnTable(_ words: [UInt32], _ header: ShardHeader, _ name: String) throws
        -> [(base: UInt32, width: Int)]
    {
        var columns: [(base: UInt32, width: Int)] = []
        columns.reserveCapacity(header.fieldCount)
        var size = 8 * header.fieldCount + 4 * header.rowCount
        for f in 0..<header.fieldCount {
            let word = UInt32(littleEndian: words[2 * f + 1])
            let width = Int(word & 0xFF)
            guard [1, 2, 4].contains(width), word >> 8 == 0 else {
                throw corrupt(name, field: "column[\(f)].width", value: word, "a column is 1, 2 or 4 bytes wide")
            }
            columns.append((UInt32(littleEndian: words[2 * f]), width))
            size += width * header.rowCount  // ≤ payloadBytes + 3·R·F (bounded by the header check)
        }
        guard size == header.payloadBytes else {
            throw corrupt(
                name, field: "payloadBytes", value: header.payloadBytes, "the column table describes \(size) bytes")
        }
        return columns
    }

    private static func decodeFixed(_ words: [UInt32], _ header: ShardHeader, _ name: String) throws -> ShardBlock {
        let (rows, fields) = (header.rowCount, header.fieldCount)
        let columns = try columnTable(words, header, name)
        var block = ShardBlock(fieldCount: fields)
        block.labels = words[2 * fields..<2 * fields + rows].map { Float(bitPattern: UInt32(littleEndian: $0)) }
        block.indices = [UInt32](repeating: 0, count: rows * fields)
        var overflow: Int?
        block.indices.withUnsafeMutableBufferPointer { out in
            words.withUnsafeBytes { raw in
                var cursor = 8 * fields + 4 * rows
                for (f, column) in columns.enumerated() {
                    if !unpack(raw, at: cursor, column, field: f, rows: rows, fields: fields, into: out) {
                        overflow = overflow ?? f
                    }
                    cursor += column.width * rows
                }
            }
        }
        if let f = overflow {
            throw corrupt(
                name, field: "column[\(f)].base", value: columns[f].base, "base + stored value exceeds 2^32 − 1")
        }
        return block
    }

    /// Unpacks one column into the row-major index matrix; false when a base + value overflows UInt32.
    @inline(__always)
    private static func unpack(
        _ raw: UnsafeRawBufferPointer, at cursor: Int, _ column: (base: UInt32, width: Int), field f: Int, rows: Int,
        fields: Int, into out: UnsafeMutableBufferPointer<UInt32>
    ) -> Bool {
        let base = column.base
        switch column.width {
        case 1:
            guard base <= UInt32.max - 0xFF else { break }
            for r in 0..<rows { out[r * fields + f] = base &+ UInt32(raw[cursor + r]) }
            return true
        case 2:
            guard base <= UInt32.max - 0xFFFF else { break }
            for r in 0..<rows { out[r * fields + f] = base &+ UInt32(raw.littleEndian(UInt16.self, at: cursor + 2 * r)) }
            return true
        default:
            guard base == 0 else { break }
            for r in 0..<rows { out[r * fields + f] = raw.littleEndian(UInt32.self, at: cursor + 4 * r) }
            return true
        }
        // Rare: a base close to 2^32; check every value.
        for r in 0..<rows {
            let stored: UInt32 =
                switch column.width {
                case 1: UInt32(raw[cursor + r])
                case 2: UInt32(raw.littleEndian(UInt16.self, at: cursor + 2 * r))
                default: raw.littleEndian(UInt32.self, at: cursor + 4 * r)
                }
            let (index, overflow) = base.addingReportingOverflow(stored)
            if overflow { return false }
            out[r * fields + f] = index
        }
        return true
    }

    private static func decodeSparse(_ words: [UInt32], _ header: ShardHeader, _ name: String) throws -> ShardBlock {
        let (rows, entries) = (header.rowCount, header.entryCount)
        var block = ShardBlock()
        var cursor = 0
        func take(_ count: Int) -> ArraySlice<UInt32> {
            defer { cursor += count }
            return words[cursor..<cursor + count]
        }
        block.labels = take(rows).map { Float(bitPattern: UInt32(littleEndian: $0)) }
        block.rowOffsets = take(rows + 1).map { UInt32(littleEndian: $0) }
        block.indices = take(entries).map { UInt32(littleEndian: $0) }
        block.values = take(entries).map { Float(bitPattern: UInt32(littleEndian: $0)) }
        guard block.rowOffsets.first == 0, block.rowOffsets.last.map(Int.init) == entries,
            zip(block.rowOffsets, block.rowOffsets.dropFirst()).allSatisfy({ $0 <= $1 })
        else {
            throw corrupt(
                name, field: "rowOffsets", value: "\(block.rowOffsets.first ?? 0)…\(block.rowOffsets.last ?? 0)",
                "row offsets rise monotonically from 0 to \(entries)")
        }
        if let bad = block.values.firstIndex(where: { !$0.isFinite }) {
            throw corrupt(name, field: "value[\(bad)]", value: block.values[bad], "feature values are finite numbers")
        }
        return block
    }
}
