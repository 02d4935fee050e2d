import NFMFormat

/// Pass 2 of a labelled build: replays the rows of pass 1 in input order, turns each into its global
/// (index, value) entries with the `LabelledLayout` (kept values renumbered, rare and empty values to the
/// OOV feature, numbers as values, multi-valued cells weighted), and places row `g` at position `π(g)` of
/// the seeded Feistel permutation of `0..<N` — the same permutation and split rule as the sampling build.
///
/// It also gathers what depends on the split: the mean and standard deviation of each standardized field
/// over the train rows (in input order, so deterministic), and the instances labelled with the maximum.
struct LabelledPlacement {
    private let codes: [CellCode]
    private let layout: LabelledLayout
    /// Per field: the row's vocabulary word → feature index within the field (the layout's remap, composed
    /// with a partition's local → global table); empty when the word is already that index.
    private let tables: [[UInt32]]
    private let permutation: FeistelPermutation
    private let maximumLabel: Float
    private let progress: ((DatasetBuilder.Progress) -> Void)?
    private(set) var buckets: EntryBuckets
    /// Per standardized field (empty arrays for the others): its values in the train rows, in input order.
    private(set) var trainValues: [[Float]]
    /// Whether field f is standardized.
    private let standardized: [Bool]
    private(set) var atMaximum = 0
    private var record: [UInt32] = []
    /// Rows placed so far; row r of these rows is global row `rowOffset + r`.
    private(set) var row = 0
    private let rowOffset: Int

    /// The placement of a single pass's rows.
    init(pass: LabelledPass, layout: LabelledLayout, scratchDirectory: String) {
        self.init(
            plan: pass.plan, specs: pass.specs, layout: layout, maximumLabel: pass.labelRange.maximum,
            buckets: EntryBuckets(
                total: layout.total, entries: pass.entries, memoryBudget: pass.plan.memoryBudget,
                scratchDirectory: scratchDirectory),
            tables: layout.remap, rowOffset: 0, reportsProgress: true)
    }

    /// The placement of rows whose first is global row `rowOffset`, whose vocabulary words `tables` maps
    /// to feature indices within their fields, into `buckets`.
    init(
        plan: BuildPlan, specs: [FieldSpec], layout: LabelledLayout, maximumLabel: Float, buckets: EntryBuckets,
        tables: [[UInt32]], rowOffset: Int, reportsProgress: Bool
    ) {
        codes = specs.map(\.cellCode)
        self.layout = layout
        self.tables = tables
        self.rowOffset = rowOffset
        permutation = FeistelPermutation(count: UInt64(layout.total), seed: plan.seed)
        self.maximumLabel = maximumLabel
        progress = reportsProgress ? plan.progress : nil
        self.buckets = buckets
        standardized = LabelledPlacement.standardized(specs)
        trainValues = specs.map { _ in [] }
    }

    /// Places every row of `rows` (`expected` of them: all instances for a single pass); throws when their
    /// number differs.
    mutating func run(_ rows: WordSpill, expected: Int) throws {
        try rows.forEachRecord { words in try place(words) }
        rows.removeAll()
        guard row == expected else { throw NFMError(.sampling, "placed \(row) instances, expected \(expected)") }
    }

    /// Each standardized field's (μ, σ) over the train rows of `placements` (in input order): Σx, Σx² and n
    /// summed one value at a time in that order, as one pass over the rows would. σ is the population
    /// standard deviation, 1 when it is 0 or there were no values (then μ = 0).
    static func statistics(_ placements: [LabelledPlacement]) -> [Int: (mean: Double, stddev: Double)] {
        guard let first = placements.first else { return [:] }
        return statistics(placements.map(\.trainValues), standardized: first.standardized)
    }

    /// The same statistics from each partition's train values per field (`parts[i][f]`, partitions in
    /// input order); `standardized[f]` says which fields have them.
    static func statistics(_ parts: [[[Float]]], standardized: [Bool]) -> [Int: (mean: Double, stddev: Double)] {
        var statistics: [Int: (mean: Double, stddev: Double)] = [:]
        for f in standardized.indices where standardized[f] {
            var (sum, squares, count) = (0.0, 0.0, 0.0)
            for part in parts where f < part.count {
                for value in part[f] {
                    let x = Double(value)
                    (sum, squares, count) = (sum + x, squares + x * x, count + 1)
                }
            }
            guard count > 0 else {
                statistics[f] = (0, 1)
                continue
            }
            let mean = sum / count
            let variance = max(0, squares / count - mean * mean)
            statistics[f] = (mean, variance > 0 ? variance.squareRoot() : 1)
        }
        return statistics
    }

    /// Whether field f of `specs` is standardized (its train values are kept).
    static func standardized(_ specs: [FieldSpec]) -> [Bool] {
        specs.map { $0.kind == .numeric && $0.bucketing == nil && $0.transform == .standardize }
    }

    private mutating func place(_ words: UnsafeBufferPointer<UInt32>) throws {
        let position = Int(permutation.position(of: UInt64(rowOffset + row)))
        let isTrain = position < layout.boundaries.0
        record.removeAll(keepingCapacity: true)
        record.append(0)
        record.append(words[0])
        if Float(bitPattern: words[0]) == maximumLabel { atMaximum += 1 }
        var w = 1
        for f in 0..<codes.count {
            let offset = UInt32(truncatingIfNeeded: layout.offsets[f])
            switch codes[f] {
            case .categorical:
                appendValue(f, words[w], offset)
                w += 1
            case .bucketized:
                if words[w] != LabelledPass.noneWord { appendValue(f, words[w], offset) }
                w += 1
            case .number(_, let missingOwnValue):
                appendNumber(f, missingOwnValue, words[w], offset, isTrain: isTrain)
                w += 1
            case .multi(_, let meanWeight):
                let n = Int(words[w])
                let weight = meanWeight ? 1 / Float(n) : Float(1)
                for k in 0..<n { appendValue(f, words[w + 1 + k], offset, weight: weight) }
                w += 1 + n
            }
        }
        try buckets.place(&record, at: position)
        row += 1
        if row & 0xFFFF == 0, let progress {
            progress(.init(phase: .sample, done: row, total: layout.total, rows: row))
        }
    }

    /// A vocabulary value: its kept index, or the OOV feature.
    @inline(__always)
    private mutating func appendValue(_ f: Int, _ word: UInt32, _ offset: UInt32, weight: Float = 1) {
        let local: UInt32
        if word == LabelledPass.oovWord {
            local = UInt32(layout.oov[f] ?? 0)
        } else {
            let table = tables[f]
            local = table.isEmpty ? word : table[Int(word)]
        }
        if weight == 1 {
            record.append((offset + local) | EntryBuckets.unitValue)
        } else {
            record.append(offset + local)
            record.append(weight.bitPattern)
        }
    }

    /// A kept number (bits of t(x)), or for an empty cell nothing or the missing indicator.
    @inline(__always)
    private mutating func appendNumber(_ f: Int, _ missingOwnValue: Bool, _ word: UInt32, _ offset: UInt32, isTrain: Bool) {
        guard word != LabelledPass.noneWord else {
            if missingOwnValue { record.append((offset + 1) | EntryBuckets.unitValue) }
            return
        }
        if isTrain && standardized[f] { trainValues[f].append(Float(bitPattern: word)) }
        record.append(offset)
        record.append(word)
    }
}
