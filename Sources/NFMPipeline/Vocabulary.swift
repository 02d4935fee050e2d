import NFMFormat

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The values of one field in first-appearance order: value → index, with counts.
///
/// Stored as a byte arena plus an open-addressing table (linear probing, load ≤ ½), so encoding a raw field
/// needs no `String` allocation. Index `i` is the `i`-th distinct value seen. A table slot (24 bytes) holds
/// the value's index, length, occurrence count and a 64-bit key (so that counting an occurrence touches
/// the slot's cache line only, not a separate array indexed by value): for values of at most 8 bytes the bytes themselves (so a lookup touches
/// one cache line and never the arena: hashed ids, small integers, most categories), for longer ones their
/// 64-bit FNV-1a-style hash (the arena is compared only when hashes agree). A value type, so that the
/// builder's hot loop mutates it with static (not run-time) exclusivity checks.
public struct Vocabulary: Sendable {
    /// One slot of the table: `index < 0` is empty.
    struct Slot: Sendable {
        var key: UInt64
        var index: Int32
        var length: UInt32
        var count: Int
    }

    /// Number of distinct values.
    public var count: Int { distinct }
    private var distinct: Int
    private var arena: [UInt8]
    private var starts: [Int]
    private var table: [Slot]
    private var mask: Int

    /// Occurrences of each value, by index: gathered from the table, O(table size) per call.
    public var counts: [Int] {
        var counts = [Int](repeating: 0, count: distinct)
        for slot in table where slot.index >= 0 { counts[Int(slot.index)] = slot.count }
        return counts
    }

    /// An empty vocabulary with table room for about `capacity` values before it grows.
    public init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        distinct = 0
        arena = []
        starts = [0]
        table = [Slot](repeating: Slot(key: 0, index: -1, length: 0, count: 0), count: size)
        mask = size - 1
    }

    /// The slot key of `bytes` and the hash that places it: short values are their own key (the bytes,
    /// little-endian, zero-padded), longer ones a hash of their 8-byte words. Every read stays inside
    /// `bytes`: 4 to 8 bytes are two overlapping 4-byte loads, 1 to 3 bytes three single bytes, and a long
    /// value's last word overlaps the one before — no loop over bytes. The hash is private to the table
    /// (no file holds it), so only its spread matters.
    @inline(__always) static func key(_ bytes: UnsafeBufferPointer<UInt8>) -> (key: UInt64, hash: UInt64) {
        let count = bytes.count
        guard let start = bytes.baseAddress, count > 0 else { return (0, mix(0)) }
        let raw = UnsafeRawPointer(start)
        if count <= 8 {
            var packed: UInt64
            if count >= 4 {
                let low = UInt64(UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)))
                let high = UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)))
                packed = low | high << UInt64(8 * (count - 4))
            } else {
                packed = UInt64(start[0]) | UInt64(start[count >> 1]) << UInt64(8 * (count >> 1))
                packed |= UInt64(start[count - 1]) << UInt64(8 * (count - 1))
            }
            return (packed, mix(packed ^ (UInt64(count) << 59)))
        }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(count)
        var offset = 0
        while offset + 8 < count {
            h = (h ^ UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self))) &* 0x9e37_79b9_7f4a_7c15
            h ^= h >> 29
            offset += 8
        }
        h ^= UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))
        let hash = mix(h)
        return (hash, hash)
    }

    /// A 64-bit finaliser, so that packed bytes spread over the table: the folded multiply of wyhash
    /// (`high ^ low` of the 128-bit product of `x ^ c₁` and `c₂`; every input bit reaches the low bits
    /// through the high half). One multiply; the hash places slots only, so no output depends on it.
    @inline(__always) static func mix(_ x: UInt64) -> UInt64 {
        let product = (x ^ 0x2d35_8dcc_aa6c_78a5).multipliedFullWidth(by: 0x8bb8_4b93_962e_acc9)
        return product.high ^ product.low
    }

    /// The slot holding `bytes`, or the empty slot where it would go.
    @inline(__always) private func find(_ bytes: UnsafeBufferPointer<UInt8>, _ key: UInt64, _ hash: UInt64) -> Int {
        var slot = Int(truncatingIfNeeded: hash) & mask
        return table.withUnsafeBufferPointer { table in
            while true {
                let entry = table[slot]
                if entry.index < 0 { return slot }
                if entry.key == key && Int(entry.length) == bytes.count
                    && (bytes.count <= 8 || matches(Int(entry.index), bytes))
                {
                    return slot
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// Index of `bytes`, inserting it as a new value when unseen; counts the occurrence.
    @inline(__always)
    public mutating func encode(_ bytes: UnsafeBufferPointer<UInt8>) -> Int { encode(bytes, count: 1) }

    /// Index of `bytes`, inserting it when unseen; adds `count` occurrences (merging partitions'
    /// vocabularies: values arrive in their first-appearance order, so indices stay first-appearance).
    @inline(__always)
    mutating func encode(_ bytes: UnsafeBufferPointer<UInt8>, count occurrences: Int) -> Int {
        let (key, hash) = Vocabulary.key(bytes)
        let slot = find(bytes, key, hash)
        let found = Int(table[slot].index)
        if found >= 0 {
            table[slot].count += occurrences
            return found
        }
        let index = distinct
        arena.append(contentsOf: bytes)
        starts.append(arena.count)
        distinct += 1
        table[slot] = Slot(key: key, index: Int32(index), length: UInt32(bytes.count), count: occurrences)
        if distinct * 2 > table.count { rehash() }
        return index
    }

    /// Calls `body` with the bytes of the value with index `index` (`0..<count`).
    @inline(__always)
    func withValue<R>(at index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try arena.withUnsafeBufferPointer { a in
            try body(UnsafeBufferPointer(rebasing: a[starts[index]..<starts[index + 1]]))
        }
    }

    /// The arena and the end offset of every value, for the private step files of a partitioned build.
    var storage: (arena: [UInt8], ends: ArraySlice<Int>) { (arena, starts.dropFirst()) }

    /// Index of `bytes`, or nil when the value was never seen.
    public func index(of bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let (key, hash) = Vocabulary.key(bytes)
        let found = Int(table[find(bytes, key, hash)].index)
        return found >= 0 ? found : nil
    }

    /// Index of `value`, or nil when it was never seen.
    public func index(of value: String) -> Int? {
        var value = value
        return value.withUTF8 { index(of: $0) }
    }

    /// The value with index `index` (`0..<count`).
    public func value(at index: Int) -> String {
        String(decoding: arena[starts[index]..<starts[index + 1]], as: UTF8.self)
    }

    @inline(__always) private func matches(_ entry: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = starts[entry]
        guard starts[entry + 1] - start == bytes.count else { return false }
        guard let other = bytes.baseAddress else { return true }
        return arena.withUnsafeBufferPointer { a in memcmp(a.baseAddress! + start, other, bytes.count) == 0 }
    }

    private mutating func rehash() {
        let old = table
        table = [Slot](repeating: Slot(key: 0, index: -1, length: 0, count: 0), count: old.count * 2)
        mask = table.count - 1
        arena.withUnsafeBufferPointer { a in
            for entry in old where entry.index >= 0 {
                let index = Int(entry.index)
                let hash = Vocabulary.key(UnsafeBufferPointer(rebasing: a[starts[index]..<starts[index + 1]])).hash
                var slot = Int(truncatingIfNeeded: hash) & mask
                while table[slot].index >= 0 { slot = (slot + 1) & mask }
                table[slot] = entry
            }
        }
    }
}

// MARK: - Vocabulary files

extension Vocabulary {
    /// The vocabulary file: a header line `index<TAB>count<TAB>value`, then one line per value in index
    /// order. Values are escaped: `\\` for backslash, `\t`, `\n`, `\r` for tab and line breaks.
    public func fileBytes() -> [UInt8] { fileBytes(keeping: Array(0..<count)) }

    /// The vocabulary file of the values `kept` (indices of this vocabulary), renumbered `0..<kept.count`
    /// in that order: what a field with `minCount` keeps.
    public func fileBytes(keeping kept: [Int]) -> [UInt8] {
        let counts = self.counts
        let header = Array("index\tcount\tvalue\n".utf8)
        // A line: two decimals (≤ 20 digits and a sign each), two tabs, the value escaped (≤ 2 bytes per
        // byte) and a line feed.
        var bound = header.count
        for index in kept { bound += 45 + 2 * (starts[index + 1] - starts[index]) }
        return [UInt8](unsafeUninitializedCapacity: bound) { out, written in
            var at = out.baseAddress!
            at.initialize(from: header, count: header.count)
            at += header.count
            arena.withUnsafeBufferPointer { arena in
                for (newIndex, index) in kept.enumerated() {
                    at = Vocabulary.writeDecimal(newIndex, at: at)
                    at.initialize(to: 9)
                    at = Vocabulary.writeDecimal(counts[index], at: at + 1)
                    at.initialize(to: 9)
                    at = Vocabulary.writeEscaped(UnsafeBufferPointer(rebasing: arena[starts[index]..<starts[index + 1]]), at: at + 1)
                    at.initialize(to: 10)
                    at += 1
                }
            }
            written = at - out.baseAddress!
        }
    }

    /// Writes `value` in decimal at `at`, as `String(value)` spells it (a `-` then the digits of the
    /// magnitude; at most 20 bytes), and returns the end of what it wrote. O(digits).
    static func writeDecimal(_ value: Int, at: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        var at = at
        if value < 0 {
            at.initialize(to: UInt8(ascii: "-"))
            at += 1
        }
        var digits = 1
        var rest = value.magnitude / 10
        while rest > 0 { (digits, rest) = (digits + 1, rest / 10) }
        var magnitude = value.magnitude
        for i in stride(from: digits - 1, through: 0, by: -1) {
            (at + i).initialize(to: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10))
            magnitude /= 10
        }
        return at + digits
    }

    /// Writes `bytes` escaped as `appendEscaped` does at `at` (at most twice as many bytes) and returns
    /// the end of what it wrote.
    static func writeEscaped(_ bytes: UnsafeBufferPointer<UInt8>, at: UnsafeMutablePointer<UInt8>)
        -> UnsafeMutablePointer<UInt8>
    {
        var at = at
        for byte in bytes {
            if let escaped = escapeLetter(byte) {
                at.initialize(to: UInt8(ascii: "\\"))
                (at + 1).initialize(to: escaped)
                at += 2
            } else {
                at.initialize(to: byte)
                at += 1
            }
        }
        return at
    }

    /// Appends `bytes` with backslash, tab, line feed and carriage return escaped as `\\`, `\t`, `\n`, `\r`,
    /// so that a value stays on one line of a tab-separated file (vocabularies, rejects).
    static func appendEscaped<S: Sequence<UInt8>>(_ bytes: S, to out: inout [UInt8]) {
        for byte in bytes {
            if let escaped = escapeLetter(byte) {
                out.append(UInt8(ascii: "\\"))
                out.append(escaped)
            } else {
                out.append(byte)
            }
        }
    }

    /// The letter that follows a backslash for a byte that must be escaped (`\\`, `\t`, `\n`, `\r`), nil
    /// for a byte written as it is.
    @inline(__always) static func escapeLetter(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "\\"): UInt8(ascii: "\\")
        case 9: UInt8(ascii: "t")
        case 10: UInt8(ascii: "n")
        case 13: UInt8(ascii: "r")
        default: nil
        }
    }

    /// Reads a vocabulary file written by `fileBytes()`: `.io` when it cannot be read, `.vocabulary` with
    /// its line when it is malformed.
    public static func load(path: String) throws -> Vocabulary {
        try parse(try ReadableFile.readAll(path), file: path)
    }

    /// Parses the bytes of a vocabulary file (see `fileBytes()`); `file` names it in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws -> Vocabulary {
        let lines = bytes.split(separator: 10, omittingEmptySubsequences: false)
        guard lines.first.map(Array.init) == Array("index\tcount\tvalue".utf8) else {
            throw NFMError(.vocabulary, file: file, line: 1, column: 1, "expected header 'index<TAB>count<TAB>value'")
        }
        var vocabulary = Vocabulary(capacity: lines.count)
        for (number, line) in lines.enumerated().dropFirst() where !line.isEmpty {
            let parts = line.split(separator: 9, maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, let index = Int(String(decoding: parts[0], as: UTF8.self)),
                let count = Int(String(decoding: parts[1], as: UTF8.self)), index == vocabulary.count
            else {
                throw NFMError(
                    .vocabulary, file: file, line: number + 1, column: 1,
                    "expected '\(vocabulary.count)<TAB>count<TAB>value'")
            }
            var value: [UInt8] = []
            var escaped = false
            for byte in parts[2] {
                if escaped {
                    switch byte {
                    case UInt8(ascii: "t"): value.append(9)
                    case UInt8(ascii: "n"): value.append(10)
                    case UInt8(ascii: "r"): value.append(13)
                    default: value.append(byte)
                    }
                    escaped = false
                } else if byte == 92 {
                    escaped = true
                } else {
                    value.append(byte)
                }
            }
            let assigned = value.withUnsafeBufferPointer { vocabulary.encode($0, count: count) }
            guard assigned == index else {
                throw NFMError(.vocabulary, file: file, line: number + 1, column: 1, "duplicate value")
            }
        }
        return vocabulary
    }
}
