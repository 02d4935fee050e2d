import Foundation
import NFMRandom

/// Writes synthetic rating logs in the format of MovieLens-1M ratings joined with users and movies as
/// DeepCTR ships them (`movielens_sample.txt`): CSV with the header
/// `user_id,movie_id,rating,timestamp,title,genres,gender,age,occupation,zip`, RFC 4180 quoting.
///
/// - Users and movies in MovieLens-1M's proportions (6,040 users and 3,706 movies per 1,000,209 ratings);
///   who rates and what is rated follow power laws (`SyntheticPowerLaw`, exponent 0.4: at MovieLens-1M's
///   size the most active user and the most rated movie hold about 0.3 % and 0.4 % of the rows, 17 and 14
///   times the average, as in MovieLens-1M).
/// - A user's `gender` (72 % M), `age` (1, 18, 25, 35, 45, 50, 56), `occupation` (0–20) and `zip` (5 digits,
///   3 % ZIP+4 `02136-1522`) are MovieLens-1M's distributions and fixed per user; a movie's `title`
///   (`Player, The (1992)`, some with an alternative title or quotes, quoted when it holds a comma or a
///   quote) and its 1–5 `genres` of the 18 (weighted as in MovieLens, joined by `|` in alphabetical order)
///   are fixed per movie (`SyntheticRatingsCatalog`).
/// - `rating` = round(3.58 + user bias + movie bias + 0.5·[the movie has the user's favourite genre] −
///   0.12 + N(0, 0.85²)) clamped to 1…5: roughly MovieLens' 6/13/30/32/21 % for 1…5, with an interaction
///   a factorization model can find. `timestamp` is a user's start time plus an exponential gap.
///
/// Row `i` draws from its own counter-based stream (`RandomStream.syntheticRatings`, index i). Output is
/// a pure function of (rows, seed), written in 1 MiB blocks; (user, movie) pairs may repeat.
public enum SyntheticRatingsLog {
    /// The header line's cells.
    public static let header = [
        "user_id", "movie_id", "rating", "timestamp", "title", "genres", "gender", "age", "occupation", "zip",
    ]

    /// Writes the header and `rows` rows to `sink` in blocks of about 1 MiB.
    public static func write(rows: Int, seed: UInt64, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let catalog = SyntheticRatingsCatalog(rows: rows, seed: seed)
        let userActivity = SyntheticPowerLaw(count: catalog.users.count, exponent: 0.4)
        let movieActivity = SyntheticPowerLaw(count: catalog.movies.count, exponent: 0.4)
        let buffer = SyntheticTextBuffer()
        buffer.append(Array((header.joined(separator: ",") + "\n").utf8))
        for index in 0..<max(0, rows) {
            var random = SplitMix64(seed: seed, stream: .syntheticRatings, index: UInt64(index))
            let user = catalog.users[userActivity.sample(&random)]
            let movie = catalog.movies[movieActivity.sample(&random)]
            let liked = movie.genres & user.likes != 0 ? 0.5 : 0
            let score = 3.58 + user.bias + movie.bias + liked - 0.12 + 0.85 * normal(&random)
            let gap = -log(Double((random.next() >> 11) + 1) * 0x1.0p-53) * 2_592_000
            buffer.append(decimal: user.id)
            buffer.append(44)
            buffer.append(decimal: movie.id)
            buffer.append(44)
            buffer.append(decimal: min(5, max(1, Int(score.rounded()))))
            buffer.append(44)
            buffer.append(decimal: min(SyntheticRatingsCatalog.lastTime, user.start + Int(gap)))
            buffer.append(44)
            buffer.append(movie.text)
            buffer.append(44)
            buffer.append(user.attributes)
            try buffer.flushIfFull(sink)
        }
        try buffer.flushIfFull(sink, force: true)
    }

    /// A standard normal draw (Box–Muller, one of the pair).
    static func normal(_ random: inout SplitMix64) -> Double {
        let u = Double((random.next() >> 11) + 1) * 0x1.0p-53
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * Double(random.next() >> 11) * 0x1.0p-53)
    }
}
