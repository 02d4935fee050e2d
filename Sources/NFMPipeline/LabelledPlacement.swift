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
    private let permutation: FeistelPermutation
    private let maximumLabel: Float
    private let progress: ((DatasetBuilder.Progress) -> Void)?
    private(set) var buckets: EntryBuckets
    /// Σx, Σx², n over train rows, per standardized field.
    private var moments: [Int: (sum: Double, squares: Double, count: Double)] = [:]
    /// Whether field f is standardized (checked before touching `moments`).
    private let standardized: [Bool]
    private(set) var atMaximum = 0
    private var record: [UInt32] = []
    private var row = 0

    init(pass: LabelledPass, layout: LabelledLayout, scratchDirectory: String) {
        codes = pass.specs.map(\.cellCode)
        self.layout = layout
        permutation = FeistelPermutation(count: UInt64(layout.total), seed: pass.plan.seed)
        maximumLabel = pass.labelRange.maximum
        progress = pass.plan.progress
        buckets = EntryBuckets(
            total: layout.total, entries: pass.entries, memoryBudget: pass.plan.memoryBudget, scratchDirectory: scratchDirectory)
        standardized = pass.specs.map { $0.kind == .numeric && $0.bucketing == nil && $0.transform == .standardize }
        for (f, isStandardized) in standardized.enumerated() where isStandardized { moments[f] = (0, 0, 0) }
    }

    /// Places every row of `rows`; throws when their number differs from the layout's.
    mutating func run(_ rows: WordSpill) throws {
        try rows.forEachRecord { words in try place(words) }
        rows.removeAll()
        guard row == layout.total else { throw NFMError(.sampling, "placed \(row) instances, expected \(layout.total)") }
    }

    /// Each standardized field's (μ, σ) over the train rows: σ is the population standard deviation, 1
    /// when it is 0 or there were no values (then μ = 0).
    func statistics() -> [Int: (mean: Double, stddev: Double)] {
        moments.mapValues { m in
            guard m.count > 0 else { return (0, 1) }
            let mean = m.sum / m.count
            let variance = max(0, m.squares / m.count - mean * mean)
            return (mean, variance > 0 ? variance.squareRoot() : 1)
        }
    }

    private mutating func place(_ words: UnsafeBufferPointer<UInt32>) throws {
        let position = Int(permutation.position(of: UInt64(row)))
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
            let table = layout.remap[f]
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
        if isTrain && standardized[f], let m = moments[f] {
            let x = Double(Float(bitPattern: word))
            moments[f] = (m.sum + x, m.squares + x * x, m.count + 1)
        }
        record.append(offset)
        record.append(word)
    }
}
