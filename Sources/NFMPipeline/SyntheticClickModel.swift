import Foundation
import NFMRandom

/// The generative model of `SyntheticClickLog`: per-column samplers and keys, the missing groups, and the
/// hidden logistic click model with its calibrated bias.
struct SyntheticClickModel {
    private let seed: UInt64
    private let samplers: [SyntheticPowerLaw]
    /// Per categorical column, the 64-bit key of its hashes and effects; the last one keys the pair term.
    private let keys: [UInt64]
    /// Per missing group, P(missing) · 2⁶⁴ (a draw below it empties the group).
    private let missingThresholds: [UInt64]
    /// The click model's bias b.
    private(set) var bias = 0.0

    /// Rows drawn to calibrate the bias (the log's first rows, whatever its length).
    static let pilotRows = 8192

    /// The model of a `rows`-row log with `seed`: samplers sized for `rows`, bias calibrated.
    init(rows: Int, seed: UInt64) {
        self.seed = seed
        samplers = SyntheticClickLog.categorical.map {
            SyntheticPowerLaw(count: $0.values(rows: rows), exponent: $0.exponent)
        }
        keys = (0...SyntheticClickLog.categorical.count).map {
            var random = SplitMix64(seed: seed, stream: .syntheticClickValues, index: UInt64($0))
            return random.next()
        }
        missingThresholds = SyntheticClickLog.missingRates.map { UInt64(($0 * 0x1.0p64).rounded(.down)) }
        bias = calibratedBias()
    }

    /// P(click) = σ(b + score).
    @inline(__always) func clickProbability(_ row: SyntheticClickRow) -> Double {
        1 / (1 + exp(-(bias + row.score)))
    }

    /// Draws row `index` from its own stream: missing groups, numbers, ranks, hashes, score, label draw.
    func draw(_ row: inout SyntheticClickRow, index: UInt64) {
        var random = SplitMix64(seed: seed, stream: .syntheticClicks, index: index)
        var missing: UInt32 = 0
        for group in 1..<missingThresholds.count where random.next() < missingThresholds[group] {
            missing |= 1 << UInt32(group)
        }
        drawNumbers(&row, missing: missing, random: &random)
        for column in 0..<samplers.count {
            if missing & (1 << UInt32(SyntheticClickLog.categorical[column].group)) != 0 {
                row.ranks[column] = -1
                continue
            }
            let rank = samplers[column].sample(&random)
            row.ranks[column] = rank
            row.hashes[column] = Self.hash(rank: rank, key: keys[column])
        }
        row.score = score(row)
        row.labelDraw = Double(random.next() >> 11) * 0x1.0p-53
    }

    /// I1…I13 (pairs of normals by Box–Muller; I2 sometimes negative).
    @inline(__always)
    private func drawNumbers(_ row: inout SyntheticClickRow, missing: UInt32, random: inout SplitMix64) {
        var spare = 0.0
        for column in 0..<SyntheticClickLog.numeric.count {
            let spec = SyntheticClickLog.numeric[column]
            let z: Double
            if column & 1 == 0 {
                let u = Double((random.next() >> 11) + 1) * 0x1.0p-53  // (0, 1]
                let radius = (-2 * log(u)).squareRoot()
                let angle = 2 * Double.pi * Double(random.next() >> 11) * 0x1.0p-53
                z = radius * cos(angle)
                spare = radius * sin(angle)
            } else {
                z = spare
            }
            if missing & (1 << UInt32(spec.group)) != 0 {
                row.numbers[column] = SyntheticClickRow.missing
                continue
            }
            let scale = min(exp(spec.mu + spec.sigma * z), 1e15)
            row.numbers[column] = max(0, Int(scale) - 1)
        }
        if random.next() < UInt64(SyntheticClickLog.negativeI2 * 0x1.0p64) {
            let kind = random.next() >> 60  // 0…15
            row.numbers[1] = kind < 14 ? -1 : (kind == 14 ? -2 : -3)
        }
    }

    /// The hidden logit without bias: categorical effects, the pair effect, I1 and I5.
    @inline(__always) private func score(_ row: SyntheticClickRow) -> Double {
        var total = 0.0
        for term in SyntheticClickLog.clickTerms where row.ranks[term.column] >= 0 {
            total += term.weight * Self.effect(UInt64(row.ranks[term.column]), key: keys[term.column])
        }
        let pair = SyntheticClickLog.clickPair
        if row.ranks[pair.first] >= 0, row.ranks[pair.second] >= 0 {
            let both = UInt64(row.ranks[pair.first]) << 32 | UInt64(row.ranks[pair.second])
            total += pair.weight * Self.effect(both, key: keys[keys.count - 1])
        }
        if row.numbers[0] != SyntheticClickRow.missing { total += 0.35 * (log1p(Double(row.numbers[0])) - 0.8) }
        if row.numbers[4] != SyntheticClickRow.missing { total -= 0.15 * (log1p(Double(row.numbers[4])) - 7.5) }
        return total
    }

    /// The bias b with mean σ(b + score) = `clickRate` over the first ``pilotRows`` rows (bisection).
    private func calibratedBias() -> Double {
        var row = SyntheticClickRow()
        let scores = (0..<Self.pilotRows).map { index -> Double in
            draw(&row, index: UInt64(index))
            return row.score
        }
        var low = -12.0
        var high = 12.0
        for _ in 0..<60 {
            let middle = (low + high) / 2
            let rate = scores.reduce(0.0) { $0 + 1 / (1 + exp(-(middle + $1))) } / Double(scores.count)
            if rate < SyntheticClickLog.clickRate { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }

    /// A value's fixed effect in [−1, 1).
    @inline(__always) static func effect(_ value: UInt64, key: UInt64) -> Double {
        Double(SplitMix64.mix(key ^ value) >> 11) * 0x1.0p-52 - 1
    }

    /// The written hash of rank `rank`: a keyed bijection of 32 bits (MurmurHash3's finaliser).
    @inline(__always) static func hash(rank: Int, key: UInt64) -> UInt32 {
        var h = UInt32(truncatingIfNeeded: rank) &+ UInt32(truncatingIfNeeded: key)
        h ^= h >> 16
        h &*= 0x85EB_CA6B
        h ^= h >> 13
        h &*= 0xC2B2_AE35
        h ^= h >> 16
        return h ^ UInt32(truncatingIfNeeded: key >> 32)
    }
}

/// One synthetic click row before it is written: numbers, value ranks and hashes, the hidden score.
struct SyntheticClickRow {
    /// The marker of an empty cell in ``numbers`` (and −1 in ``ranks``).
    static let missing = Int.min
    /// I1…I13, or ``missing``.
    var numbers = [Int](repeating: 0, count: 13)
    /// C1…C26 value ranks (0 = most frequent), or −1 when empty.
    var ranks = [Int](repeating: 0, count: 26)
    /// C1…C26 as written (valid where the rank is ≥ 0).
    var hashes = [UInt32](repeating: 0, count: 26)
    /// The hidden logit without the bias.
    var score = 0.0
    /// The uniform draw that decides the label.
    var labelDraw = 0.0
}
