/// A table of `rows × columns` unsigned values, row-major, each column stored in the fewest whole bytes
/// (1, 2 or 4) that hold its largest value: the positives of a build with their global indices and
/// their negatives, in a fraction of 4 bytes per value (real Frappe: 22 bytes a row instead of 48).
///
/// Value `(r, c)` is the little-endian `widths[c]` bytes at `r · rowBytes + offsets[c]`; it is read as an
/// unaligned 32-bit word masked to its width (the storage has 8 bytes of padding past the last row, so a row may also be copied as whole 8-byte
/// words), so
/// a read is one load and one `and`, without a branch on the width. Rows may be written by several
/// threads at once when each writes its own rows. O(rows × rowBytes) memory, allocated untouched.
final class PackedRows: @unchecked Sendable {
    /// Number of rows.
    let rows: Int
    /// Bytes per value of each column: 1, 2 or 4.
    let widths: [Int]
    /// Byte offset of each column in a row.
    let offsets: [Int]
    /// Bytes per row, `Σ widths`.
    let rowBytes: Int
    private let masks: [UInt32]
    private let storage: UnsafeMutableRawPointer

    /// A table of `rows` rows whose column `c` holds values `≤ maxima[c]`.
    init(rows: Int, maxima: [UInt32]) {
        self.rows = rows
        widths = maxima.map(PackedRows.width)
        var offsets: [Int] = []
        var offset = 0
        for width in widths {
            offsets.append(offset)
            offset += width
        }
        self.offsets = offsets
        rowBytes = offset
        masks = widths.map { $0 == 4 ? UInt32.max : (1 << (8 * UInt32($0))) - 1 }
        storage = .allocate(byteCount: PackedRows.bytes(rows: rows, maxima: maxima), alignment: 16)
    }

    deinit { storage.deallocate() }

    /// The bytes `init(rows:maxima:)` allocates (`nil` when they overflow).
    static func bytes(rows: Int, maxima: [UInt32]) -> Int {
        let rowBytes = maxima.reduce(0) { $0 + width($1) }
        let (product, overflow) = rows.multipliedReportingOverflow(by: rowBytes)
        return overflow || product > Int.max - 8 ? Int.max : product + 8
    }

    /// The bytes that hold `maximum`: 1, 2 or 4.
    static func width(_ maximum: UInt32) -> Int { maximum < 1 << 8 ? 1 : maximum < 1 << 16 ? 2 : 4 }

    /// Stores `value` (≤ the column's maximum) at row `row`, column `column`.
    @inline(__always)
    func set(_ row: Int, _ column: Int, _ value: UInt32) {
        let at = storage + (row &* rowBytes &+ offsets[column])
        switch widths[column] {
        case 1: at.storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
        case 2: at.storeBytes(of: UInt16(truncatingIfNeeded: value).littleEndian, as: UInt16.self)
        default: at.storeBytes(of: value.littleEndian, as: UInt32.self)
        }
    }

    /// The value at row `row`, column `column`.
    @inline(__always)
    func get(_ row: Int, _ column: Int) -> UInt32 {
        let word = (storage + (row &* rowBytes &+ offsets[column])).loadUnaligned(as: UInt32.self)
        return UInt32(littleEndian: word) & masks[column]
    }

    /// 8-byte words that cover a row (`⌈rowBytes / 8⌉`): what `copyRow` copies.
    var wordsPerRow: Int { (rowBytes + 7) / 8 }

    /// Copies row `row` (< `rows`) as `wordsPerRow` unaligned 8-byte words to `out`: a gather loop copies
    /// a batch of rows first, so that their cache misses overlap, then decodes them from the copies.
    @inline(__always)
    func copyRow(_ row: Int, to out: UnsafeMutablePointer<UInt64>) {
        let start = UnsafeRawPointer(storage + row &* rowBytes)
        for w in 0..<(rowBytes + 7) / 8 { out[w] = start.loadUnaligned(fromByteOffset: 8 * w, as: UInt64.self) }
    }

    /// The first byte of row `row` (< `rows`), for a loop that reads many values of one row with
    /// `withLayout`'s offsets and masks.
    @inline(__always)
    func rowStart(_ row: Int) -> UnsafeRawPointer { UnsafeRawPointer(storage + row &* rowBytes) }

    /// Calls `body` with the column offsets and masks as plain memory: value `(r, c)` is
    /// `loadUnaligned(rowStart(r) + offsets[c]) & masks[c]`.
    func withLayout<R>(_ body: (UnsafeBufferPointer<Int>, UnsafeBufferPointer<UInt32>) throws -> R) rethrows -> R {
        try offsets.withUnsafeBufferPointer { offsets in try masks.withUnsafeBufferPointer { try body(offsets, $0) } }
    }
}
