/// A partition's distinct values of one field (or its distinct rule keys) in first-appearance order, with
/// their counts: the compact form a scan hands to the merge, without the lookup table of a `Vocabulary`.
///
/// Value `i` is `arena[ends[i − 1]..<ends[i]]` (`ends[−1] = 0`), seen `counts[i]` times. 16 bytes per
/// value plus its bytes (a `Vocabulary` adds a 16-byte slot per value at load ≤ ½).
struct ValueList: Sendable, Equatable {
    private(set) var arena: [UInt8]
    private(set) var ends: [Int]
    private(set) var counts: [Int]

    /// Number of values.
    var count: Int { counts.count }

    /// The values of `vocabulary`, in its index order.
    init(_ vocabulary: Vocabulary) {
        let (arena, ends) = vocabulary.storage
        self.arena = arena
        self.ends = Array(ends)
        counts = vocabulary.counts
    }

    /// A list read back from a step file; nil unless the ends ascend within the arena, there is one count
    /// per value and every count is positive.
    init?(arena: [UInt8], ends: [Int], counts: [Int]) {
        guard ends.count == counts.count, counts.allSatisfy({ $0 > 0 }) else { return nil }
        var previous = 0
        for end in ends {
            guard end >= previous, end <= arena.count else { return nil }
            previous = end
        }
        guard previous == arena.count else { return nil }
        self.arena = arena
        self.ends = ends
        self.counts = counts
    }

    /// Calls `body` with the bytes of value `index` (`0..<count`).
    @inline(__always)
    func withValue<R>(at index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let start = index == 0 ? 0 : ends[index - 1]
        return try arena.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[start..<ends[index]])) }
    }
}
