import Foundation
import NFMRandom

/// The users and movies of a synthetic ratings log: each one's attributes are drawn once, from its own
/// counter-based stream (`RandomStream.syntheticRatingUser` / `syntheticRatingMovie`, indexed by its
/// activity rank), so they are the same on every row. Memory grows with users + movies (about 1 % of the
/// rows), not with rows.
struct SyntheticRatingsCatalog {
    /// A user: id, rating bias, liked genres, first rating time and the written `gender,age,occupation,zip`.
    struct User {
        var id = 0
        var bias = 0.0
        var likes: UInt32 = 0
        var start = 0
        var attributes: [UInt8] = []
    }

    /// A movie: id, rating bias, genres and the written `title,genres` (title quoted when needed).
    struct Movie {
        var id = 0
        var bias = 0.0
        var genres: UInt32 = 0
        var text: [UInt8] = []
    }

    /// Users by activity rank (rank 0 rates most).
    let users: [User]
    /// Movies by popularity rank (rank 0 is rated most).
    let movies: [Movie]

    /// MovieLens-1M's first rating time (Unix seconds).
    static let firstTime = 956_703_932
    /// MovieLens-1M's last rating time (Unix seconds): no timestamp is later.
    static let lastTime = 1_046_454_590

    /// The catalog of a `rows`-row log: 6,040 users and 3,706 movies per 1,000,209 rows (at least 5 each).
    init(rows: Int, seed: UInt64) {
        let userCount = max(5, Int(Double(rows) * 6040 / 1_000_209))
        let movieCount = max(5, Int(Double(rows) * 3706 / 1_000_209))
        var users = (0..<userCount).map { Self.user(rank: $0, seed: seed) }
        var movies = (0..<movieCount).map { Self.movie(rank: $0, seed: seed) }
        // Ids: 1… in the order of a random key per entity, so that ids do not reveal activity.
        for (index, id) in Self.ids(keys: users.map(\.id)).enumerated() { users[index].id = id }
        for (index, id) in Self.ids(keys: movies.map(\.id)).enumerated() { movies[index].id = id }
        self.users = users
        self.movies = movies
    }

    /// Per entity, 1 + the position of its random key in key order (ties by rank).
    private static func ids(keys: [Int]) -> [Int] {
        let order = keys.indices.sorted { (keys[$0], $0) < (keys[$1], $1) }
        var ids = [Int](repeating: 0, count: keys.count)
        for (position, index) in order.enumerated() { ids[index] = position + 1 }
        return ids
    }

    private static func user(rank: Int, seed: UInt64) -> User {
        var random = SplitMix64(seed: seed, stream: .syntheticRatingUser, index: UInt64(rank))
        var user = User()
        user.id = Int(random.next() >> 2)
        user.bias = 0.45 * SyntheticRatingsLog.normal(&random)
        user.likes = 1 << UInt32(SyntheticRatingsLog.pick(SyntheticRatingsLog.genres.map(\.weight), uniform(&random)))
        user.start = firstTime + Int(pow(uniform(&random), 3) * 85_000_000)
        let male = uniform(&random) < SyntheticRatingsLog.maleShare
        let age = SyntheticRatingsLog.ages[SyntheticRatingsLog.pick(SyntheticRatingsLog.ages.map(\.weight), uniform(&random))]
        let occupation = SyntheticRatingsLog.pick(SyntheticRatingsLog.occupations, uniform(&random))
        var zip = String(format: "%05d", Int(random.below(100_000)))
        if uniform(&random) < SyntheticRatingsLog.zipPlusFourShare { zip += String(format: "-%04d", Int(random.below(10_000))) }
        user.attributes = Array("\(male ? "M" : "F"),\(age.value),\(occupation),\(zip)\n".utf8)
        return user
    }

    private static func movie(rank: Int, seed: UInt64) -> Movie {
        var random = SplitMix64(seed: seed, stream: .syntheticRatingMovie, index: UInt64(rank))
        var movie = Movie()
        movie.id = Int(random.next() >> 2)
        movie.bias = 0.55 * SyntheticRatingsLog.normal(&random)
        let weights = SyntheticRatingsLog.genres.map(\.weight)
        let count = 1 + SyntheticRatingsLog.pick(SyntheticRatingsLog.genreCounts, uniform(&random))
        var remaining = weights
        while movie.genres.nonzeroBitCount < count {
            let genre = SyntheticRatingsLog.pick(remaining, uniform(&random))
            movie.genres |= 1 << UInt32(genre)
            remaining[genre] = 0
        }
        let names = SyntheticRatingsLog.genres.indices.filter { movie.genres & (1 << UInt32($0)) != 0 }
            .map { SyntheticRatingsLog.genres[$0].name }
        movie.text = Array((csvCell(title(&random)) + "," + names.joined(separator: "|")).utf8)
        return movie
    }

    /// A MovieLens-style title: words, sometimes a trailing article (`Player, The`), an alternative title in
    /// parentheses or a quoted part, then the year in parentheses.
    private static func title(_ random: inout SplitMix64) -> String {
        let words = SyntheticRatingsLog.titleWords
        let length = 1 + SyntheticRatingsLog.pick([25, 40, 25, 10], uniform(&random))
        var text = (0..<length).map { _ in words[Int(random.below(UInt64(words.count)))] }.joined(separator: " ")
        let kind = uniform(&random)
        if kind < 0.15 {
            text += ", The"
        } else if kind < 0.19 {
            text += ", A"
        } else if kind < 0.20 {
            text = "\"\(text)\" \(words[Int(random.below(UInt64(words.count)))])"
        }
        if uniform(&random) < 0.04 {
            let alternatives = SyntheticRatingsLog.alternativeTitles
            text += " (\(alternatives[Int(random.below(UInt64(alternatives.count)))]))"
        }
        let year = 2000 - Int(pow(uniform(&random), 2) * 81)
        return "\(text) (\(year))"
    }

    /// `text` as an RFC 4180 cell: quoted, with quotes doubled, when it holds a comma or a quote.
    static func csvCell(_ text: String) -> String {
        guard text.contains(",") || text.contains("\"") else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    @inline(__always) static func uniform(_ random: inout SplitMix64) -> Double {
        Double(random.next() >> 11) * 0x1.0p-53
    }
}
