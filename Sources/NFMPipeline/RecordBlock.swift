/// A block of up to `RecordBlock.capacity` fixed-width `UInt32` records stored packed: each column in the
/// fewest whole bytes (0…4) that hold its largest value in this block, so a partition's positives (local
/// indices that mostly need one or two bytes) take ≈ 15 bytes a record instead of 44.
///
/// Format (little-endian): the record count (4 bytes), each column's byte width (1 byte a column, 0…4),
/// then `count` rows of `rowBytes = Σ widths` bytes — column `c`'s low `widths[c]` bytes at byte
/// `Σ_{c' < c} widths[c']` of its row — then 8 zero bytes, so that every column is written with one
/// unaligned 4-byte store (in column order: each store's excess bytes are overwritten by the next
/// column's) and read with one unaligned 4-byte load and a mask. A block's bytes depend only on its
/// records. O(count × width) to encode and to decode.
enum RecordBlock {
    /// Records per block: 4,096 records of 11 words are 176 KiB unpacked, which stays in the L2 cache while
    /// a block is encoded or decoded.
    static let capacity = 4096

    /// Words of padding a staging buffer of records needs past its last record (`encode` reads 16 words
    /// from each record's first).
    static let stagingPadding = 16

    /// Bytes of the header of a block of `width`-word records.
    static func headerBytes(width: Int) -> Int { 4 + width }

    /// The most bytes a block of `width`-word records takes.
    static func maximumBytes(width: Int) -> Int { headerBytes(width: width) + capacity * width * 4 + 8 }

    /// Encodes `count` (1…`capacity`) records of `width` words at `records` (followed by `stagingPadding`
    /// readable words) to `out` (room for `maximumBytes(width:)`); `columnScratch` holds `width` words.
    /// Returns the bytes written.
    static func encode(
        _ records: UnsafePointer<UInt32>, count: Int, width: Int, into out: UnsafeMutableRawPointer,
        columnScratch offsets: UnsafeMutablePointer<UInt32>
    ) -> Int {
        columnMaxima(records, count: count, width: width, into: offsets)
        out.storeBytes(of: UInt32(truncatingIfNeeded: count).littleEndian, as: UInt32.self)
        for c in 0..<width {
            let bytes = (32 &- offsets[c].leadingZeroBitCount &+ 7) / 8
            out.storeBytes(of: UInt8(truncatingIfNeeded: bytes), toByteOffset: 4 &+ c, as: UInt8.self)
        }
        // Widths of 0…4 bytes were just written: the header is valid.
        let rowBytes = columns(UnsafeRawPointer(out), width: width, offsets: offsets, masks: nil) ?? 0
        let rows = out + headerBytes(width: width)
        for r in 0..<count {
            let record = records + r &* width
            let row = rows + r &* rowBytes
            for c in 0..<width {
                row.storeBytes(of: record[c].littleEndian, toByteOffset: Int(offsets[c]), as: UInt32.self)
            }
        }
        (rows + count &* rowBytes).storeBytes(of: 0, as: UInt64.self)
        return headerBytes(width: width) &+ count &* rowBytes &+ 8
    }

    /// Each column's bitwise or over the records (`maxima[c]`): 16 columns at once when the records are
    /// at most 16 words wide (the lanes past the record read the next one's words and are dropped).
    private static func columnMaxima(
        _ records: UnsafePointer<UInt32>, count: Int, width: Int, into maxima: UnsafeMutablePointer<UInt32>
    ) {
        guard width <= 16 else {
            maxima.update(repeating: 0, count: width)
            for r in 0..<count {
                for c in 0..<width { maxima[c] |= records[r &* width &+ c] }
            }
            return
        }
        var lanes = SIMD16<UInt32>(repeating: 0)
        let raw = UnsafeRawPointer(records)
        for r in 0..<count { lanes |= raw.loadUnaligned(fromByteOffset: 4 &* r &* width, as: SIMD16<UInt32>.self) }
        for c in 0..<width { maxima[c] = lanes[c] }
    }

    /// The size of the block at `block` whose first `available` bytes are readable (at least its header),
    /// and its record count; nil when the header is not one `encode` writes for `width`-word records.
    static func measure(_ block: UnsafeRawPointer, available: Int, width: Int) -> (bytes: Int, count: Int)? {
        guard available >= headerBytes(width: width) else { return nil }
        let count = Int(UInt32(littleEndian: block.loadUnaligned(as: UInt32.self)))
        guard count >= 1 && count <= capacity,
            let rowBytes = columns(block, width: width, offsets: nil, masks: nil)
        else { return nil }
        return (headerBytes(width: width) + count * rowBytes + 8, count)
    }

    /// The row layout that the header of the block at `block` gives its `width` columns: each column's
    /// byte offset in a row (to `offsets`) and value mask (to `masks`), when given; returns the row's bytes,
    /// or nil when a column's width is over 4 bytes (no header `encode` writes). O(width).
    @inline(__always)
    private static func columns(
        _ block: UnsafeRawPointer, width: Int, offsets: UnsafeMutablePointer<UInt32>?, masks: UnsafeMutablePointer<UInt32>?
    ) -> Int? {
        var rowBytes = 0
        for c in 0..<width {
            let bytes = Int(block.load(fromByteOffset: 4 &+ c, as: UInt8.self))
            guard bytes <= 4 else { return nil }
            offsets?[c] = UInt32(truncatingIfNeeded: rowBytes)
            masks?[c] = UInt32(truncatingIfNeeded: (1 << (8 * bytes)) - 1)
            rowBytes &+= bytes
        }
        return rowBytes
    }

    /// Decodes the block at `block` (whole, as `measure` sized it) into `count × width` words at `out`;
    /// `columnScratch` holds `2 × width` words.
    static func decode(
        _ block: UnsafeRawPointer, count: Int, width: Int, into out: UnsafeMutablePointer<UInt32>,
        columnScratch: UnsafeMutablePointer<UInt32>
    ) {
        let (offsets, masks) = (columnScratch, columnScratch + width)
        // `measure` accepted the header: every width is 0…4 bytes.
        let rowBytes = columns(block, width: width, offsets: offsets, masks: masks) ?? 0
        let rows = block + headerBytes(width: width)
        for r in 0..<count {
            let row = rows + r &* rowBytes
            let record = out + r &* width
            for c in 0..<width {
                record[c] = UInt32(littleEndian: row.loadUnaligned(fromByteOffset: Int(offsets[c]), as: UInt32.self)) & masks[c]
            }
        }
    }
}
