import NFMFormat

/// The shards of a build and the position-range buckets that group them.
///
/// Split `s` holds positions `[lo, hi)` (train `[0, b₀)`, validation `[b₀, b₁)`, test `[b₁, N)`) and is cut
/// into shards of `rowsPerShard` rows from `lo` (`SPLIT/part-NNNNN.nfms`, the last one shorter), exactly as
/// `ShardWriter` cuts the split's row sequence. A bucket is a run of consecutive shards of at most
/// `capacity` positions (at least one shard), so every shard is written whole by one reduce step.
struct BucketLayout: Equatable, Sendable {
    /// One shard: its split, its number in the split, and its positions.
    struct Shard: Equatable, Sendable {
        var split: Split
        var index: Int
        var positions: Range<Int>
    }

    /// Every shard, in position order.
    let shards: [Shard]
    /// `shards` indices of each bucket.
    let buckets: [Range<Int>]
    /// First position of each bucket, ascending.
    let starts: [Int]
    /// `N`.
    let total: Int

    /// The shards of `total` instances split at `boundaries`, grouped into buckets of at most `capacity`
    /// positions.
    init(total: Int, boundaries: (Int, Int), rowsPerShard: Int, capacity: Int) {
        var shards: [Shard] = []
        for (split, range) in zip(Split.allCases, [0..<boundaries.0, boundaries.0..<boundaries.1, boundaries.1..<total]) {
            var index = 0
            for start in stride(from: range.lowerBound, to: range.upperBound, by: rowsPerShard) {
                shards.append(Shard(split: split, index: index, positions: start..<min(start + rowsPerShard, range.upperBound)))
                index += 1
            }
        }
        var buckets: [Range<Int>] = []
        var first = 0
        while first < shards.count {
            var last = first + 1
            let start = shards[first].positions.lowerBound
            while last < shards.count && shards[last].positions.upperBound - start <= capacity { last += 1 }
            buckets.append(first..<last)
            first = last
        }
        self.shards = shards
        self.buckets = buckets
        starts = buckets.map { shards[$0.lowerBound].positions.lowerBound }
        self.total = total
    }

    /// Number of buckets.
    var count: Int { buckets.count }

    /// The positions of bucket `bucket`.
    func positions(of bucket: Int) -> Range<Int> {
        let range = buckets[bucket]
        return shards[range.lowerBound].positions.lowerBound..<shards[range.upperBound - 1].positions.upperBound
    }

    /// The bucket holding `position` (binary search over `starts`).
    @inline(__always)
    func bucket(of position: Int) -> Int {
        var (low, high) = (0, starts.count - 1)
        while low < high {
            let mid = (low + high + 1) / 2
            if starts[mid] <= position { low = mid } else { high = mid - 1 }
        }
        return low
    }

    /// The shard's path in the dataset (`train/part-00000.nfms`).
    static func file(of shard: Shard) -> String {
        shard.split.rawValue + "/part-" + String(repeating: "0", count: max(0, 5 - String(shard.index).count))
            + String(shard.index) + "." + ShardCodec.fileExtension
    }
}
