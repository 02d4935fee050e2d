import NFMFormat

/// The values of one field in first-appearance order: value → index, with counts.
///
/// Stored as a byte arena plus an open-addressing table (linear probing, load ≤ ½, 64-bit FNV-1a-style
/// hash), so encoding a raw field needs no `String` allocation. Index `i` is the `i`-th distinct value seen.
/// A value type, so that the builder's hot loop mutates it with static (not run-time) exclusivity checks.
public struct Vocabulary: Sendable {
    private var arena: [UInt8] = []
    private var starts: [Int] = [0]
    /// Occurrences of each value, by index.
    public private(set) var counts: [Int] = []
    private var table: [Int32]
    private var mask: Int

    /// An empty vocabulary with table room for about `capacity` values before it grows.
    public init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        table = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    /// Number of distinct values.
    public var count: Int { counts.count }

    @inline(__always) static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        h ^= h >> 29
        h = h &* 0xbf58_476d_1ce4_e5b9
        return h ^ (h >> 32)
    }

    /// Index of `bytes`, inserting it as a new value when unseen; counts the occurrence.
    @inline(__always)
    public mutating func encode(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var slot = Int(truncatingIfNeeded: Vocabulary.hash(bytes)) & mask
        while true {
            let entry = Int(table[slot])
            if entry < 0 { break }
            if matches(entry, bytes) {
                counts[entry] += 1
                return entry
            }
            slot = (slot + 1) & mask
        }
        let index = counts.count
        arena.append(contentsOf: bytes)
        starts.append(arena.count)
        counts.append(1)
        table[slot] = Int32(index)
        if counts.count * 2 > table.count { rehash() }
        return index
    }

    /// Index of `bytes`, or nil when the value was never seen.
    public func index(of bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var slot = Int(truncatingIfNeeded: Vocabulary.hash(bytes)) & mask
        while true {
            let entry = Int(table[slot])
            if entry < 0 { return nil }
            if matches(entry, bytes) { return entry }
            slot = (slot + 1) & mask
        }
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
        return arena.withUnsafeBufferPointer { a in
            for i in 0..<bytes.count where a[start + i] != bytes[i] { return false }
            return true
        }
    }

    private mutating func rehash() {
        table = [Int32](repeating: -1, count: table.count * 2)
        mask = table.count - 1
        arena.withUnsafeBufferPointer { a in
            for entry in 0..<counts.count {
                let bytes = UnsafeBufferPointer(rebasing: a[starts[entry]..<starts[entry + 1]])
                var slot = Int(truncatingIfNeeded: Vocabulary.hash(bytes)) & mask
                while table[slot] >= 0 { slot = (slot + 1) & mask }
                table[slot] = Int32(entry)
            }
        }
    }
}

// MARK: - Vocabulary files

extension Vocabulary {
    /// The vocabulary file: a header line `index<TAB>count<TAB>value`, then one line per value in index
    /// order. Values are escaped: `\\` for backslash, `\t`, `\n`, `\r` for tab and line breaks.
    public func fileBytes() -> [UInt8] { fileBytes(keeping: Array(0..<counts.count)) }

    /// The vocabulary file of the values `kept` (indices of this vocabulary), renumbered `0..<kept.count`
    /// in that order: what a field with `minCount` keeps.
    public func fileBytes(keeping kept: [Int]) -> [UInt8] {
        var out = Array("index\tcount\tvalue\n".utf8)
        out.reserveCapacity(arena.count + kept.count * 12)
        for (newIndex, index) in kept.enumerated() {
            out.append(contentsOf: String(newIndex).utf8)
            out.append(9)
            out.append(contentsOf: String(counts[index]).utf8)
            out.append(9)
            Vocabulary.appendEscaped(arena[starts[index]..<starts[index + 1]], to: &out)
            out.append(10)
        }
        return out
    }

    /// Appends `bytes` with backslash, tab, line feed and carriage return escaped as `\\`, `\t`, `\n`, `\r`,
    /// so that a value stays on one line of a tab-separated file (vocabularies, rejects).
    static func appendEscaped<S: Sequence<UInt8>>(_ bytes: S, to out: inout [UInt8]) {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
            case 9: out.append(contentsOf: [92, UInt8(ascii: "t")])
            case 10: out.append(contentsOf: [92, UInt8(ascii: "n")])
            case 13: out.append(contentsOf: [92, UInt8(ascii: "r")])
            default: out.append(byte)
            }
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
            let assigned = value.withUnsafeBufferPointer { vocabulary.encode($0) }
            guard assigned == index else {
                throw NFMError(.vocabulary, file: file, line: number + 1, column: 1, "duplicate value")
            }
            vocabulary.counts[index] = count
        }
        return vocabulary
    }
}
