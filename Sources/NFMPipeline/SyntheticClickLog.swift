import Foundation

/// Writes synthetic click logs in the shape of the Criteo display-ads log (as DeepCTR's `criteo_sample.txt`:
/// CSV with a header `label,I1…I13,C1…C26`).
///
/// - `label`: 0/1, a click with probability σ(b + Σ effects) of a few columns' values, about 25 % clicks, so
///   that a model has something to learn.
/// - `I1…I13`: heavy-tailed counts, ⌊exp(N(μ, σ))⌋ with per-column μ, σ; `I2` is sometimes −1…−3; each
///   column is empty (missing) at Criteo's per-column rate (e.g. I12 76 %, I1 and I10 45 %).
/// - `C1…C26`: 8-hex-digit hashes whose frequencies follow a Zipf law (P(rank r) ∝ (r + 1)^−1.1), so most
///   values are rare; cardinalities are Criteo's (45.8 M rows) scaled to the row count for the large columns
///   and kept for the small ones; missing at Criteo's per-column rates.
///
/// Output is a pure function of (rows, seed). About 300 bytes a row.
public enum SyntheticClickLog {
    /// Criteo's cardinality and missing rate of each categorical column, and the row count they describe.
    static let categorical: [(cardinality: Int, missing: Double)] = [
        (1460, 0), (583, 0), (10_131_227, 0.03), (2_202_608, 0.03), (305, 0), (24, 0.12), (12517, 0), (633, 0),
        (3, 0), (93145, 0), (5683, 0), (8_351_593, 0.03), (3194, 0), (27, 0), (14992, 0), (5_461_306, 0.03),
        (10, 0), (5652, 0), (2173, 0.44), (4, 0.44), (7_046_547, 0.03), (18, 0.76), (15, 0), (286_181, 0.03),
        (105, 0.44), (142_572, 0.44),
    ]
    static let criteoRows = 45_840_617.0
    /// Per numeric column: missing rate, μ and σ of log(1 + x).
    static let numeric: [(missing: Double, mu: Double, sigma: Double)] = [
        (0.45, 0.7, 1.1), (0, 2.0, 2.2), (0.21, 1.7, 1.4), (0.22, 1.6, 1.0), (0.03, 7.5, 2.6), (0.22, 3.2, 2.0),
        (0.04, 1.5, 1.5), (0.0005, 2.4, 1.2), (0.04, 3.4, 1.6), (0.45, 0.4, 0.6), (0.04, 1.0, 0.9),
        (0.76, 0.3, 0.8), (0.22, 1.8, 1.2),
    ]

    /// Writes the header and `rows` rows to `sink` in chunks of about 1 MiB.
    public static func write(rows: Int, seed: UInt64, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var out = [UInt8]()
        out.reserveCapacity(1 << 20 + 4096)
        let header = ["label"] + (1...13).map { "I\($0)" } + (1...26).map { "C\($0)" }
        out += Array((header.joined(separator: ",") + "\n").utf8)
        let samplers = categorical.map { column in
            let scaled = Int(Double(column.cardinality) * Double(rows) / criteoRows)
            return Zipf(count: max(min(column.cardinality, 1000), scaled), exponent: 1.1)
        }
        var random = SplitMix64(seed: seed, stream: 91, index: 0)
        var ranks = [Int](repeating: 0, count: categorical.count)
        for _ in 0..<rows {
            let numbers = numeric.map { column -> Int? in
                guard uniform(&random) >= column.missing else { return nil }
                return Int(exp(column.mu + column.sigma * normal(&random))) - 1
            }
            for c in 0..<categorical.count { ranks[c] = samplers[c].sample(&random) }
            let score = -1.6 + 0.9 * effect(column: 5, rank: ranks[5]) + 0.7 * effect(column: 13, rank: ranks[13])
                + 0.5 * effect(column: 16, rank: ranks[16]) - 0.15 * Double(min(numbers[0] ?? 0, 8))
            out.append(uniform(&random) < 1 / (1 + exp(-score)) ? 49 : 48)
            for (i, number) in numbers.enumerated() {
                out.append(44)
                guard var value = number else { continue }
                if i == 1, uniform(&random) < 0.05 { value = -1 - Int(random.below(3)) }
                out += Array(String(value).utf8)
                if i >= 2 { out += [46, 48] }  // "260.0", as the sample writes most columns
            }
            for c in 0..<categorical.count {
                out.append(44)
                guard uniform(&random) >= categorical[c].missing else { continue }
                appendHash(&out, column: c, rank: ranks[c])
            }
            out.append(10)
            if out.count >= 1 << 20 {
                try out.withUnsafeBytes(sink)
                out.removeAll(keepingCapacity: true)
            }
        }
        if !out.isEmpty { try out.withUnsafeBytes(sink) }
    }

    /// A fixed effect in [−1, 1] of a categorical value on the click probability.
    private static func effect(column: Int, rank: Int) -> Double {
        Double(SplitMix64.mix(UInt64(column) << 40 ^ UInt64(rank)) >> 11) * 0x1.0p-52 - 1
    }

    private static func appendHash(_ out: inout [UInt8], column: Int, rank: Int) {
        let hash = UInt32(truncatingIfNeeded: SplitMix64.mix(UInt64(column + 1) << 32 ^ UInt64(rank)))
        let digits = Array("0123456789abcdef".utf8)
        for shift in stride(from: 28, through: 0, by: -4) { out.append(digits[Int((hash >> UInt32(shift)) & 15)]) }
    }

    static func uniform(_ random: inout SplitMix64) -> Double { Double(random.next() >> 11) * 0x1.0p-53 }

    /// A standard normal draw (Box–Muller).
    static func normal(_ random: inout SplitMix64) -> Double {
        let u = max(uniform(&random), 0x1.0p-53)
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * uniform(&random))
    }
}
