/// Open-addressing set of non-zero `UInt64` keys (linear probing, load ≤ ½): the positive
/// (rule key, corrupted value) pairs that negatives must avoid.
struct UInt64Set {
    private var slots: [UInt64]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 1024) {
        var size = 1024
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always) private static func hash(_ key: UInt64) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 32
        return Int(truncatingIfNeeded: h)
    }

    /// Inserts `key` (must be non-zero); returns true when it was new.
    @inline(__always) mutating func insert(_ key: UInt64) -> Bool {
        var slot = UInt64Set.hash(key) & mask
        while true {
            let current = slots[slot]
            if current == key { return false }
            if current == 0 { break }
            slot = (slot + 1) & mask
        }
        slots[slot] = key
        count += 1
        if count * 2 > slots.count { grow() }
        return true
    }

    @inline(__always) func contains(_ key: UInt64) -> Bool {
        var slot = UInt64Set.hash(key) & mask
        while true {
            let current = slots[slot]
            if current == key { return true }
            if current == 0 { return false }
            slot = (slot + 1) & mask
        }
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        mask = slots.count - 1
        for key in old where key != 0 {
            var slot = UInt64Set.hash(key) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = key
        }
    }
}
