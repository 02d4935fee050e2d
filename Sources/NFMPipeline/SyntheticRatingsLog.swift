import Foundation

/// Writes synthetic rating logs in the shape of MovieLens-1M ratings joined with users and movies (as
/// DeepCTR's `movielens_sample.txt`: CSV with a header
/// `user_id,movie_id,rating,timestamp,title,genres,gender,age,occupation,zip`).
///
/// Users and movies follow Zipf-like popularity in MovieLens-1M's proportions (6,040 users and 3,706 movies
/// for 1,000,209 ratings). A rating 1–5 is the rounded sum of a global mean, a user bias, a movie bias and
/// noise. Each movie has a title — some with a comma, so quoted (`"Shawshank Redemption, The (1994)"`) —
/// and one to three genres joined by `|`; gender, age group, occupation and zip code are fixed per user.
/// Output is a pure function of (rows, seed).
public enum SyntheticRatingsLog {
    static let genres = [
        "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
        "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
    ]
    static let ages = [1, 18, 25, 35, 45, 50, 56]
    static let words = ["Night", "River", "Star", "Love", "City", "Ghost", "Summer", "King", "Secret", "Road"]

    /// Writes the header and `rows` rows to `sink` in chunks of about 1 MiB.
    public static func write(rows: Int, seed: UInt64, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var out = [UInt8]()
        out.reserveCapacity(1 << 20 + 4096)
        out += Array("user_id,movie_id,rating,timestamp,title,genres,gender,age,occupation,zip\n".utf8)
        let users = max(5, Int(Double(rows) * 6040 / 1_000_209))
        let movies = max(5, Int(Double(rows) * 3706 / 1_000_209))
        let userZipf = Zipf(count: users, exponent: 0.8)
        let movieZipf = Zipf(count: movies, exponent: 0.9)
        var random = SplitMix64(seed: seed, stream: 92, index: 0)
        for _ in 0..<rows {
            let user = userZipf.sample(&random)
            let movie = movieZipf.sample(&random)
            var userTraits = SplitMix64(seed: UInt64(user), stream: 93, index: 0)
            var movieTraits = SplitMix64(seed: UInt64(movie), stream: 94, index: 0)
            let userBias = SyntheticClickLog.normal(&userTraits) * 0.4
            let movieBias = SyntheticClickLog.normal(&movieTraits) * 0.6
            let score = 3.6 + userBias + movieBias + SyntheticClickLog.normal(&random) * 0.9
            let rating = min(5, max(1, Int(score.rounded())))
            let timestamp = 956_703_932 + Int(random.below(90_000_000))
            var line = "\(user + 1),\(movie + 1),\(rating),\(timestamp),"
            line += title(movie, &movieTraits) + "," + movieGenres(&movieTraits) + ","
            line += (userTraits.below(10) < 7 ? "M" : "F") + ",\(ages[Int(userTraits.below(7))]),"
            line += "\(userTraits.below(21)),\(String(format: "%05d", Int(userTraits.below(99_999))))\n"
            out += Array(line.utf8)
            if out.count >= 1 << 20 {
                try out.withUnsafeBytes(sink)
                out.removeAll(keepingCapacity: true)
            }
        }
        if !out.isEmpty { try out.withUnsafeBytes(sink) }
    }

    /// The movie's title as it appears in the CSV (quoted when it holds a comma).
    private static func title(_ movie: Int, _ traits: inout SplitMix64) -> String {
        let first = words[Int(traits.below(UInt64(words.count)))]
        let second = words[Int(traits.below(UInt64(words.count)))]
        let year = 1919 + Int(traits.below(82))
        if movie % 9 == 4 { return "\"\(first) \(second) \(movie), The (\(year))\"" }
        return "\(first) \(second) \(movie) (\(year))"
    }

    /// One to three distinct genres, `|`-separated, in the list's order.
    private static func movieGenres(_ traits: inout SplitMix64) -> String {
        let count = 1 + Int(traits.below(3))
        var chosen = Set<Int>()
        while chosen.count < count { chosen.insert(Int(traits.below(UInt64(genres.count)))) }
        return chosen.sorted().map { genres[$0] }.joined(separator: "|")
    }
}
