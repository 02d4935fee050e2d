/// A record of a partition scan whose fields are hashed (and their vocabulary slots prefetched) but not yet
/// encoded: the scan encodes each record while the next one's slots are on their way, so that a large
/// vocabulary's cache misses overlap with a record's work instead of stalling it (10 M-row synthetic log:
/// the user and item tables, 6 and 12 MB, missed on nearly every probe).
///
/// Holds copies of the record's field bytes (the reader's buffer and spans are valid only during its
/// callback): the record's raw bytes once, fields that lie inside them as offsets into that copy, any other
/// field (an unescaped quoted one) copied after it. O(record bytes) per record.
final class PendingRecord {
    let fieldCount: Int
    /// Whether a record is held.
    var isHeld = false
    /// `Vocabulary.key` of each field: key at `2f`, hash at `2f + 1`.
    let keys: UnsafeMutablePointer<UInt64>
    private let starts: UnsafeMutablePointer<Int>
    private let counts: UnsafeMutablePointer<Int>
    private var bytes: UnsafeMutablePointer<UInt8>
    private var capacity: Int

    init(fieldCount: Int) {
        self.fieldCount = fieldCount
        keys = .allocate(capacity: max(2 * fieldCount, 1))
        keys.initialize(repeating: 0, count: max(2 * fieldCount, 1))
        starts = .allocate(capacity: max(fieldCount, 1))
        starts.initialize(repeating: 0, count: max(fieldCount, 1))
        counts = .allocate(capacity: max(fieldCount, 1))
        counts.initialize(repeating: 0, count: max(fieldCount, 1))
        capacity = 256
        bytes = .allocate(capacity: capacity)
    }

    deinit {
        keys.deallocate()
        starts.deallocate()
        counts.deallocate()
        bytes.deallocate()
    }

    /// Field `f`'s bytes, as held.
    @inline(__always) func field(_ f: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: bytes + starts[f], count: counts[f])
    }

    /// Holds `row`'s fields `columns[f]` for `f` in `0..<fieldCount`: hashes each (`keys`), prefetches its
    /// slot in `vocabularies` and copies the bytes.
    @inline(__always)
    func hold(_ row: DelimitedReader.Record, columns: UnsafeBufferPointer<Int>, _ vocabularies: VocabularyScanTables) {
        let raw = row.raw
        var used = raw.count
        reserve(used, keeping: 0)
        if let source = raw.baseAddress { bytes.update(from: source, count: raw.count) }
        let low = UInt(bitPattern: raw.baseAddress)
        for f in 0..<fieldCount {
            let value = row.field(columns[f])
            let (key, hash) = Vocabulary.key(value)
            (keys[2 &* f], keys[2 &* f &+ 1]) = (key, hash)
            vocabularies.prefetch(f, hash: hash)
            counts[f] = value.count
            let start = UInt(bitPattern: value.baseAddress)
            if value.count == 0 {
                starts[f] = 0
            } else if start >= low && start &+ UInt(value.count) <= low &+ UInt(raw.count) {
                starts[f] = Int(start &- low)
            } else {
                reserve(used + value.count, keeping: used)
                (bytes + used).update(from: value.baseAddress!, count: value.count)
                starts[f] = used
                used += value.count
            }
        }
        isHeld = true
    }

    /// Room for `needed` bytes, keeping the first `kept` bytes held so far.
    @inline(__always) private func reserve(_ needed: Int, keeping kept: Int) {
        guard needed > capacity else { return }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: max(needed, 2 * capacity))
        bigger.update(from: bytes, count: kept)
        bytes.deallocate()
        (bytes, capacity) = (bigger, max(needed, 2 * capacity))
    }
}
