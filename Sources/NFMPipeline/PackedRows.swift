import NFMFormat

/// A table of `rows × columns` unsigned values, row-major, each column stored in the fewest bits that hold
/// its largest value: the positives of a build with their global indices and their negatives, in a
/// fraction of 4 bytes per value (the 3 M-row synthetic Frappe log: 12 bytes a row instead of 48).
///
/// Row `r` is the `rowBytes = ⌈Σ widths / 8⌉` bytes at `r · rowBytes`; column `c` is the `widths[c]` bits
/// from bit `bits[c]` of the row, little-endian. A value is read as an unaligned 64-bit word at byte
/// `⌊bits[c] / 8⌋` of the row, shifted by `bits[c] mod 8` and masked (the storage has 8 bytes of padding
/// past the last row), so a read has no branch. Rows are written whole (`store`), so several threads may
/// write their own rows at once. O(rows × rowBytes) memory, allocated untouched.
final class PackedRows: @unchecked Sendable {
    /// Number of rows.
    let rows: Int
    /// Bits of each column (1…32).
    let widths: [Int]
    /// First bit of each column in a row.
    let bits: [Int]
    /// Bytes per row.
    let rowBytes: Int
    private let layout: [Column]
    private let storage: UnsafeMutableRawPointer

    /// Where a column's value is in a row: the byte of its 64-bit read, the shift and the mask.
    struct Column {
        let byte: Int
        let shift: UInt64
        let mask: UInt64

        /// The column's value in the row at `row` (8 bytes readable from `row + byte`).
        @inline(__always) func value(in row: UnsafeRawPointer) -> UInt32 {
            // A masking shift: `shift` is below 8, so no test for a shift of 64 or more is needed.
            UInt32(truncatingIfNeeded: (UInt64(littleEndian: row.loadUnaligned(fromByteOffset: byte, as: UInt64.self)) &>> shift) & mask)
        }
    }

    /// A table of `rows` rows whose column `c` holds values `≤ maxima[c]`.
    init(rows: Int, maxima: [UInt32]) {
        self.rows = rows
        widths = maxima.map(PackedRows.width)
        var bits: [Int] = []
        var bit = 0
        for width in widths {
            bits.append(bit)
            bit += width
        }
        self.bits = bits
        rowBytes = (bit + 7) / 8
        layout = zip(bits, widths).map { Column(byte: $0 >> 3, shift: UInt64($0 & 7), mask: (1 << UInt64($1)) - 1) }
        columnCount = widths.count
        placements = .allocate(capacity: max(widths.count, 1))
        for (c, (bit, width)) in zip(bits, widths).enumerated() {
            placements[c] = Placement(
                word: bit >> 6, shift: UInt64(bit & 63), mask: (1 << UInt64(width)) - 1, inFirstWord: bit < 64 ? ~0 : 0)
        }
        let bytes = PackedRows.bytes(rows: rows, maxima: maxima)
        storage = .allocate(byteCount: bytes, alignment: 16)
        HugePages.advise(storage, bytes: bytes)
    }

    deinit {
        storage.deallocate()
        placements.deallocate()
    }

    /// Where `store` puts a column's value in the row's 64-bit words: the word, the shift and the mask.
    private struct Placement {
        let word: Int
        let shift: UInt64
        let mask: UInt64
        /// All ones when the column starts in the row's first word, else 0.
        let inFirstWord: UInt64
    }

    /// Number of columns.
    private let columnCount: Int

    /// Each column's `Placement`, as plain memory (the store loop reads no array).
    private let placements: UnsafeMutablePointer<Placement>

    /// The bytes `init(rows:maxima:)` allocates (`Int.max` when they overflow).
    static func bytes(rows: Int, maxima: [UInt32]) -> Int {
        let rowBytes = (maxima.reduce(0) { $0 + width($1) } + 7) / 8
        let (product, overflow) = rows.multipliedReportingOverflow(by: rowBytes)
        return overflow || product > Int.max - 8 ? Int.max : product + 8
    }

    /// The bits that hold `maximum`: 1…32.
    static func width(_ maximum: UInt32) -> Int { max(1, 32 - maximum.leadingZeroBitCount) }

    /// 8-byte words that cover a row (`⌈rowBytes / 8⌉`): what `copyRow` copies and `store` composes in.
    var wordsPerRow: Int { (rowBytes + 7) / 8 }

    /// Stores row `row` (< `rows`) from `values` (one per column, each ≤ its maximum): only the row's own
    /// bytes are written. A row of 8…16 bytes is composed in two registers and written as two 8-byte
    /// stores that overlap inside it; other rows are composed in `scratch` (`wordsPerRow + 1` words).
    @inline(__always)
    func store(_ row: Int, _ values: UnsafePointer<UInt32>, scratch: UnsafeMutablePointer<UInt64>) {
        let target = UnsafeMutableRawPointer(storage + row &* rowBytes)
        guard rowBytes >= 8 && rowBytes <= 16 else {
            storeComposed(target, values, scratch: scratch)
            return
        }
        var (low, high): (UInt64, UInt64) = (0, 0)
        for c in 0..<columnCount {
            let placement = placements[c]
            let value = UInt64(values[c]) & placement.mask
            let shifted = value &<< placement.shift
            // The bits that cross into the next word: value >> (64 − shift), 0 for a shift of 0.
            let carried = (value &>> 1) &>> (63 &- placement.shift)
            low |= shifted & placement.inFirstWord
            high |= (shifted & ~placement.inFirstWord) | (carried & placement.inFirstWord)
        }
        target.storeBytes(of: low.littleEndian, as: UInt64.self)
        // Bytes rowBytes − 8 ..< rowBytes of the 16 composed ones: smart shifts (a shift by 64, for a row of
        // 16 bytes, gives 0, where a masking shift would give the value unshifted).
        let tail = UInt64(rowBytes - 8)
        let last = tail == 0 ? low : (low >> (8 * tail)) | (high << (64 - 8 * tail))
        target.storeBytes(of: last.littleEndian, toByteOffset: rowBytes - 8, as: UInt64.self)
    }

    /// `store` of any row width, composed in `scratch` and copied whole.
    private func storeComposed(
        _ target: UnsafeMutableRawPointer, _ values: UnsafePointer<UInt32>, scratch: UnsafeMutablePointer<UInt64>
    ) {
        let words = wordsPerRow
        for w in 0...words { scratch[w] = 0 }
        for c in 0..<columnCount {
            let placement = placements[c]
            let value = UInt64(values[c]) & placement.mask
            scratch[placement.word] |= value &<< placement.shift
            scratch[placement.word + 1] |= (value &>> 1) &>> (63 &- placement.shift)
        }
        for w in 0..<words { scratch[w] = scratch[w].littleEndian }
        target.copyMemory(from: scratch, byteCount: rowBytes)
    }

    /// The value at row `row`, column `column`.
    @inline(__always)
    func get(_ row: Int, _ column: Int) -> UInt32 { layout[column].value(in: storage + row &* rowBytes) }

    /// Copies row `row` (< `rows`) as `wordsPerRow` unaligned 8-byte words to `out`: a gather loop copies
    /// a batch of rows first, so that their cache misses overlap, then decodes them from the copies (read
    /// them with `withLayout`'s columns; `out` needs one more word of room for those reads).
    @inline(__always)
    func copyRow(_ row: Int, to out: UnsafeMutablePointer<UInt64>) {
        let start = UnsafeRawPointer(storage + row &* rowBytes)
        for w in 0..<(rowBytes + 7) / 8 { out[w] = start.loadUnaligned(fromByteOffset: 8 * w, as: UInt64.self) }
    }

    /// Prefetches row `row` (< `rows`): the cache lines of its first and last byte (`CacheHint`).
    @inline(__always)
    func prefetchRow(_ row: Int) {
        let start = UnsafeRawPointer(storage + row &* rowBytes)
        CacheHint.prefetch(start)
        CacheHint.prefetch(start + (rowBytes - 1))
    }

    /// Calls `body` with the columns' positions as plain memory.
    func withLayout<R>(_ body: (UnsafeBufferPointer<Column>) throws -> R) rethrows -> R {
        try layout.withUnsafeBufferPointer(body)
    }
}
