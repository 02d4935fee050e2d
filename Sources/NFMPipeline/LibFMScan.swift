import NFMFormat

/// The label values of an import: range, the counts at both ends, and up to three distinct values (enough
/// to tell binary labels from a regression target).
public struct LabelSummary: Sendable, Equatable, CustomStringConvertible {
    /// Smallest label (the manifest's `labels.negative`).
    public private(set) var minimum: Float = .infinity
    /// Largest label (the manifest's `labels.positive`).
    public private(set) var maximum: Float = -.infinity
    /// Rows labelled `minimum`.
    public private(set) var minimumCount = 0
    /// Rows labelled `maximum`.
    public private(set) var maximumCount = 0
    /// The first three distinct values seen.
    public private(set) var distinct: [Float] = []

    /// An empty summary.
    public init() {}

    /// Two distinct values: positives (the larger) and negatives.
    public var isBinary: Bool { distinct.count == 2 }

    mutating func add(_ label: Float) {
        if label > maximum {
            maximum = label
            maximumCount = 1
        } else if label == maximum {
            maximumCount += 1
        }
        if label < minimum {
            minimum = label
            minimumCount = 1
        } else if label == minimum {
            minimumCount += 1
        }
        if distinct.count < 3, !distinct.contains(label) { distinct.append(label) }
    }

    /// `1 (120 rows) and -1 (240 rows)`, `every row is 1`, or `3 or more distinct values from 1 to 5 …`.
    public var description: String {
        switch distinct.count {
        case 0: return "no labels"
        case 1: return "every row is \(LibFMConverter.format(maximum))"
        case 2:
            return "\(LibFMConverter.format(maximum)) (\(maximumCount) rows) and \(LibFMConverter.format(minimum))"
                + " (\(minimumCount) rows)"
        default:
            return "3 or more distinct values from \(LibFMConverter.format(minimum)) to \(LibFMConverter.format(maximum))"
                + " (not binary: a regression target; predictions are clipped to this range)"
        }
    }
}

/// What one pass over libFM rows learns: rows per split, index range, and whether the rows are one-hot
/// fields (same entry count, all values 1, entry `k` always in its own index range, ranges disjoint and
/// increasing), which the fixed layout stores compactly.
struct LibFMScan {
    var rows: [Split: Int] = [:]
    var maxIndex = -1
    var maxEntries = 0
    var entriesPerRow: Int?
    var uniform = true
    var allOnes = true
    var ranges: [(low: Int, high: Int)] = []
    var labels = LabelSummary()

    /// The dataset layout: fixed fields (empty for sparse) and the feature count.
    struct Shape {
        var fields: [DatasetManifest.Field]
        var featureCount: Int
    }

    mutating func add(_ row: LibFMRow, split: Split) {
        rows[split, default: 0] += 1
        labels.add(row.label)
        maxEntries = max(maxEntries, row.indices.count)
        if let count = entriesPerRow, count != row.indices.count { uniform = false }
        if entriesPerRow == nil { entriesPerRow = row.indices.count }
        if allOnes, row.values.contains(where: { $0 != 1 }) { allOnes = false }
        for index in row.indices { maxIndex = max(maxIndex, Int(index)) }
        if uniform && allOnes {
            if ranges.isEmpty { ranges = row.indices.map { (Int($0), Int($0)) } }
            for (k, index) in row.indices.enumerated() {
                ranges[k].low = min(ranges[k].low, Int(index))
                ranges[k].high = max(ranges[k].high, Int(index))
            }
        }
    }

    /// Chooses the layout and checks the shard-size limit (`rowsPerShard × entries per row`).
    func shape(rowsPerShard: Int) throws -> Shape {
        let featureCount = maxIndex + 1
        let budget = LibFMLine.maximumShardEntries
        if maxEntries > 0, rowsPerShard > budget / maxEntries {
            throw NFMError(
                .usage,
                "\(rowsPerShard) rows per shard × \(maxEntries) entries per row exceeds \(budget) (2^26) entries per"
                    + " shard (a shard is built in memory); use --shard-rows \(budget / maxEntries) or less",
                at: .init(field: "--shard-rows", value: String(rowsPerShard)))
        }
        let disjoint = !ranges.isEmpty && zip(ranges, ranges.dropFirst()).allSatisfy { $0.high < $1.low }
        let fixed =
            uniform && allOnes && disjoint && (entriesPerRow ?? 0) > 0
            && ranges.count <= DatasetDefinition.Limits.fields.upperBound
        guard fixed else { return Shape(fields: [], featureCount: featureCount) }
        var fields: [DatasetManifest.Field] = []
        for k in 0..<ranges.count {
            let offset = k == 0 ? 0 : ranges[k - 1].high + 1
            let end = k + 1 < ranges.count ? ranges[k].high + 1 : featureCount
            fields.append(.init(name: "field\(k)", offset: offset, cardinality: end - offset, vocabulary: ""))
        }
        return Shape(fields: fields, featureCount: featureCount)
    }
}
