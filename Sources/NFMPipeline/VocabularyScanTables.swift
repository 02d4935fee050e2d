import NFMFormat

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The per-field vocabularies of a partition scan, in plain memory: the same first-appearance indices and
/// counts as one `Vocabulary` per field, without its arrays' copy-on-write checks in the per-field hot path.
///
/// Field `f`'s table is `Vocabulary`'s open-addressing table (the same `Vocabulary.Slot`s and
/// `Vocabulary.key`, load ≤ ½), its values' bytes an arena and their end offsets. A reference type whose
/// stored properties are constants (no run-time exclusivity checks); the scan owns it alone.
/// Encoding a value: O(1) expected; memory: 24 bytes per table slot plus 8 per value and its bytes.
final class VocabularyScanTables {
    /// One field's table and values.
    struct Table {
        var slots: UnsafeMutablePointer<Vocabulary.Slot>
        var mask: Int
        var distinct = 0
        var arena: UnsafeMutablePointer<UInt8>
        var arenaCount = 0
        var arenaCapacity: Int
        var ends: UnsafeMutablePointer<Int>
        var endsCapacity: Int
    }

    private let tables: UnsafeMutablePointer<Table>
    /// Number of fields.
    let count: Int

    /// Empty vocabularies for `count` fields (16 slots each at first).
    init(count: Int) {
        self.count = count
        tables = .allocate(capacity: max(count, 1))
        for f in 0..<count {
            (tables + f).initialize(
                to: Table(
                    slots: VocabularyScanTables.emptySlots(16), mask: 15, arena: .allocate(capacity: 64),
                    arenaCapacity: 64, ends: .allocate(capacity: 16), endsCapacity: 16))
        }
    }

    deinit {
        for f in 0..<count {
            tables[f].slots.deallocate()
            tables[f].arena.deallocate()
            tables[f].ends.deallocate()
        }
        tables.deallocate()
    }

    /// Empties every field's vocabulary, keeping its memory (slots, arena, ends) at the size it grew to:
    /// a scan that reuses the tables of an earlier partition (`ScanMemoryPool`) neither rehashes
    /// up to that size again nor faults in fresh pages. O(slots).
    func reset() {
        for f in 0..<count {
            tables[f].slots.update(repeating: VocabularyScanTables.emptySlot, count: tables[f].mask + 1)
            tables[f].distinct = 0
            tables[f].arenaCount = 0
        }
    }

    private static let emptySlot = Vocabulary.Slot(key: 0, index: -1, length: 0, count: 0)

    /// `size` empty slots; from 4 MiB on under huge pages (`HugePages`): a large vocabulary is probed at
    /// random, once or more per row, and with 4 KiB pages nearly every probe of a 12 MB table also missed
    /// the TLB (10 M-row synthetic log: the item field's table).
    private static func emptySlots(_ size: Int) -> UnsafeMutablePointer<Vocabulary.Slot> {
        let slots = UnsafeMutablePointer<Vocabulary.Slot>.allocate(capacity: size)
        HugePages.advise(UnsafeMutableRawPointer(slots), bytes: size * MemoryLayout<Vocabulary.Slot>.stride, minimum: 4 << 20)
        slots.initialize(repeating: emptySlot, count: size)
        return slots
    }

    /// Index of `bytes` in field `field`'s vocabulary (`Vocabulary.encode`): inserted as the next index
    /// when unseen; counts the occurrence.
    @inline(__always) func encode(_ field: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let (key, hash) = Vocabulary.key(bytes)
        return encode(field, bytes, key: key, hash: hash)
    }

    /// Prefetches (`CacheHint`) the slot where field `field`'s lookup of a value of hash `hash` starts: a
    /// scan hashes a record's fields and prefetches their slots first, so that the cache misses of its
    /// large vocabularies overlap instead of coming one after another. Changes nothing.
    @inline(__always) func prefetch(_ field: Int, hash: UInt64) {
        let table = tables + field
        CacheHint.prefetch(table.pointee.slots + (Int(truncatingIfNeeded: hash) & table.pointee.mask))
    }

    /// `encode(_:_:)` of `bytes` whose `Vocabulary.key` is `(key, hash)`.
    @inline(__always) func encode(_ field: Int, _ bytes: UnsafeBufferPointer<UInt8>, key: UInt64, hash: UInt64) -> Int {
        let table = tables + field
        let slots = table.pointee.slots
        let mask = table.pointee.mask
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = slots[slot]
            if entry.index < 0 { break }
            if entry.key == key && Int(entry.length) == bytes.count
                && (bytes.count <= 8 || matches(table, Int(entry.index), bytes))
            {
                slots[slot].count += 1
                return Int(entry.index)
            }
            slot = (slot + 1) & mask
        }
        return insert(table, bytes, key: key, at: slot)
    }

    /// Whether value `index` of `table` is `bytes` (of the same length).
    @inline(__always) private func matches(_ table: UnsafeMutablePointer<Table>, _ index: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = index == 0 ? 0 : table.pointee.ends[index - 1]
        return memcmp(table.pointee.arena + start, bytes.baseAddress!, bytes.count) == 0
    }

    /// Stores the unseen `bytes` as the next value of `table` in the empty slot `slot`.
    private func insert(_ table: UnsafeMutablePointer<Table>, _ bytes: UnsafeBufferPointer<UInt8>, key: UInt64, at slot: Int) -> Int {
        let index = table.pointee.distinct
        let needed = table.pointee.arenaCount + bytes.count
        if needed > table.pointee.arenaCapacity {
            let capacity = max(needed, 2 * table.pointee.arenaCapacity)
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            bigger.update(from: table.pointee.arena, count: table.pointee.arenaCount)
            table.pointee.arena.deallocate()
            table.pointee.arena = bigger
            table.pointee.arenaCapacity = capacity
        }
        if let source = bytes.baseAddress {
            (table.pointee.arena + table.pointee.arenaCount).update(from: source, count: bytes.count)
        }
        table.pointee.arenaCount = needed
        if index == table.pointee.endsCapacity {
            let bigger = UnsafeMutablePointer<Int>.allocate(capacity: 2 * index)
            bigger.update(from: table.pointee.ends, count: index)
            table.pointee.ends.deallocate()
            table.pointee.ends = bigger
            table.pointee.endsCapacity = 2 * index
        }
        table.pointee.ends[index] = needed
        table.pointee.distinct = index + 1
        table.pointee.slots[slot] = Vocabulary.Slot(key: key, index: Int32(index), length: UInt32(bytes.count), count: 1)
        if 2 * (index + 1) > table.pointee.mask + 1 { rehash(table) }
        return index
    }

    /// Doubles `table`'s slots, placing every value again.
    private func rehash(_ table: UnsafeMutablePointer<Table>) {
        let oldSize = table.pointee.mask + 1
        let old = table.pointee.slots
        let slots = VocabularyScanTables.emptySlots(2 * oldSize)
        let mask = 2 * oldSize - 1
        for i in 0..<oldSize where old[i].index >= 0 {
            let index = Int(old[i].index)
            let start = index == 0 ? 0 : table.pointee.ends[index - 1]
            let value = UnsafeBufferPointer(start: table.pointee.arena + start, count: table.pointee.ends[index] - start)
            var slot = Int(truncatingIfNeeded: Vocabulary.key(value).hash) & mask
            while slots[slot].index >= 0 { slot = (slot + 1) & mask }
            slots[slot] = old[i]
        }
        old.deallocate()
        table.pointee.slots = slots
        table.pointee.mask = mask
    }

    /// Field `field`'s values in index order with their counts (what `ValueList(vocabulary)` gives for
    /// the equivalent `Vocabulary`). O(values + slots).
    func valueList(_ field: Int) -> ValueList {
        let table = tables[field]
        var counts = [Int](repeating: 0, count: table.distinct)
        for i in 0...table.mask where table.slots[i].index >= 0 { counts[Int(table.slots[i].index)] = table.slots[i].count }
        let arena = Array(UnsafeBufferPointer(start: table.arena, count: table.arenaCount))
        let ends = Array(UnsafeBufferPointer(start: table.ends, count: table.distinct))
        guard let list = ValueList(arena: arena, ends: ends, counts: counts) else {
            preconditionFailure("a scan table's ends ascend and its counts are positive")
        }
        return list
    }
}
