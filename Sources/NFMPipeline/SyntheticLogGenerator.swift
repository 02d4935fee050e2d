import Foundation
import NFMFormat
import NFMRandom

/// Writes synthetic raw logs in the Frappe (TSV) and MovieLens `tags.csv` (RFC 4180 CSV) formats, and
/// dispatches the Criteo-shaped click logs (`SyntheticClickLog`) and MovieLens-1M-shaped rating logs
/// (`SyntheticRatingsLog`).
///
/// Users, items, movies and tags follow Zipf-like popularity (P(rank r) ∝ (r + 1)^-s); Frappe context
/// columns are drawn per row, with `isweekend` consistent with `weekday`, `cost` fixed per item and
/// `country`/`city` fixed per user. MovieLens tags mix plain words, tags with commas, doubled quotes,
/// spaces and non-ASCII text, so quoting is exercised. Cardinalities scale with the row count in the
/// proportions of the real data (MovieLens as in the paper: 668,953 rows, 17,045 users, 23,743 movies,
/// 49,657 tags). Output is a pure function of (kind, rows, seed).
public enum SyntheticLogGenerator {
    /// The log format: Frappe's TSV, MovieLens' `tags.csv`, the Criteo CSV of DeepCTR's `criteo_sample.txt`,
    /// or the MovieLens-1M ratings CSV of DeepCTR's `movielens_sample.txt`.
    public enum Kind: String, CaseIterable, Sendable {
        case frappe, movielens, criteo
        case movielensRatings = "movielens-ratings"
    }

    /// Calls `sink` with the log's bytes in chunks of about 1 MiB: the header line, then `rows` records.
    public static func write(kind: Kind, rows: Int, seed: UInt64, to sink: (UnsafeRawBufferPointer) throws -> Void)
        throws
    {
        var out = [UInt8]()
        out.reserveCapacity(1 << 20)
        var random = SplitMix64(seed: seed, stream: .syntheticRows, index: 0)
        switch kind {
        case .frappe: try writeFrappe(rows: rows, random: &random, out: &out, sink: sink)
        case .movielens: try writeMovieLens(rows: rows, random: &random, out: &out, sink: sink)
        case .criteo: return try SyntheticClickLog.write(rows: rows, seed: seed, to: sink)
        case .movielensRatings: return try SyntheticRatingsLog.write(rows: rows, seed: seed, to: sink)
        }
        try flush(&out, sink, force: true)
    }

    /// Hands `out` to `sink` once it holds 1 MiB (or anything, with `force`).
    @inline(__always)
    private static func flush(_ out: inout [UInt8], _ sink: (UnsafeRawBufferPointer) throws -> Void, force: Bool = false)
        throws
    {
        if out.count >= 1 << 20 || (force && !out.isEmpty) {
            try out.withUnsafeBytes(sink)
            out.removeAll(keepingCapacity: true)
        }
    }

    private static func writeFrappe(
        rows: Int, random: inout SplitMix64, out: inout [UInt8], sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        out += Array("user\titem\tcnt\tdaytime\tweekday\tisweekend\thomework\tcost\tweather\tcountry\tcity\n".utf8)
        let users = max(5, rows / 100)
        let items = max(10, rows / 24)
        let userZipf = Zipf(count: users, exponent: 0.9)
        let itemZipf = Zipf(count: items, exponent: 1.0)
        let daytimes = ["morning", "afternoon", "evening", "sunset", "night", "sunrise", "noon"]
        let weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        let homework = ["unknown", "home", "work"]
        let weather = ["sunny", "cloudy", "unknown", "rainy", "foggy", "snowy", "drizzle", "stormy", "sleet"]
        let countries = (0..<80).map { $0 % 7 == 3 ? "Country \($0) of Nowhere" : "Country\($0)" }
        for _ in 0..<rows {
            let user = userZipf.sample(&random)
            let item = itemZipf.sample(&random)
            let weekday = Int(random.below(7))
            var h = SplitMix64(seed: UInt64(user), stream: .syntheticUser, index: 0)
            let country = Int(h.below(80))
            let city = Int(h.below(233))
            append(&out, user)
            out.append(9)
            append(&out, item)
            out.append(9)
            append(&out, 1 + Int(random.below(40)))
            for text in [
                daytimes[Int(random.below(7))], weekdays[weekday], weekday >= 5 ? "weekend" : "workday",
                homework[Int(random.below(3))], item % 5 == 0 ? "paid" : "free", weather[Int(random.below(9))],
                countries[country],
            ] {
                out.append(9)
                out += Array(text.utf8)
            }
            out.append(9)
            append(&out, city)
            out.append(10)
            try flush(&out, sink)
        }
    }

    private static func writeMovieLens(
        rows: Int, random: inout SplitMix64, out: inout [UInt8], sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        out += Array("userId,movieId,tag,timestamp\n".utf8)
        let users = max(5, Int(Double(rows) * 17_045 / 668_953))
        let movies = max(5, Int(Double(rows) * 23_743 / 668_953))
        let tags = max(10, Int(Double(rows) * 49_657 / 668_953))
        let userZipf = Zipf(count: users, exponent: 1.0)
        let movieZipf = Zipf(count: movies, exponent: 0.9)
        let tagZipf = Zipf(count: tags, exponent: 1.05)
        let tagText = (0..<tags).map { tagName($0) }
        for _ in 0..<rows {
            append(&out, 1 + userZipf.sample(&random))
            out.append(44)
            append(&out, 1 + movieZipf.sample(&random))
            out.append(44)
            out += tagText[tagZipf.sample(&random)]
            out.append(44)
            append(&out, 1_100_000_000 + Int(random.below(500_000_000)))
            out.append(10)
            try flush(&out, sink)
        }
    }

    /// Tag `i` as it appears in the CSV (quoted when needed).
    static func tagName(_ i: Int) -> [UInt8] {
        let words = [
            "funny", "dark", "sci-fi", "twist ending", "atmospheric", "based on a book", "Oscar", "classic",
            "violence", "romance", "visually appealing", "dystopia", "comedy", "thought-provoking",
        ]
        let text: String
        switch i % 10 {
        case 3: text = "\(words[i % words.count]), \(words[(i / 3) % words.count]) \(i)"  // comma → quoted
        case 5: text = "\"\(words[i % words.count])\" \(i)"  // quotes → doubled inside quotes
        case 7: text = "été \(words[i % words.count]) \(i) 日本"  // non-ASCII
        default: text = "\(words[i % words.count]) \(i)"
        }
        if text.contains(",") || text.contains("\"") {
            return Array(("\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"").utf8)
        }
        return Array(text.utf8)
    }

    @inline(__always) private static func append(_ out: inout [UInt8], _ value: Int) {
        if value == 0 {
            out.append(48)
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = value
        var count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while n > 0 {
                d[count] = UInt8(48 + n % 10)
                n /= 10
                count += 1
            }
            for k in stride(from: count - 1, through: 0, by: -1) { out.append(d[k]) }
        }
    }
}

/// Zipf-like sampler over ranks `0..<count` by inverse CDF (binary search).
struct Zipf {
    private let cdf: [Double]

    init(count: Int, exponent: Double) {
        var cumulative = [Double]()
        cumulative.reserveCapacity(count)
        var sum = 0.0
        for rank in 0..<count {
            sum += 1 / pow(Double(rank + 1), exponent)
            cumulative.append(sum)
        }
        cdf = cumulative.map { $0 / sum }
    }

    func sample(_ random: inout SplitMix64) -> Int {
        let u = Double(random.next() >> 11) * 0x1.0p-53
        var low = 0
        var high = cdf.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cdf[mid] < u { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
