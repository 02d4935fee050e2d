extension SyntheticRatingsLog {
    /// The 18 MovieLens genres, in MovieLens' (alphabetical) order, with their number of MovieLens-1M
    /// movies as drawing weights (Drama 1,603 … Film-Noir 44).
    static let genres: [(name: String, weight: Double)] = [
        ("Action", 503), ("Adventure", 283), ("Animation", 105), ("Children's", 251), ("Comedy", 1200),
        ("Crime", 211), ("Documentary", 127), ("Drama", 1603), ("Fantasy", 68), ("Film-Noir", 44),
        ("Horror", 343), ("Musical", 114), ("Mystery", 106), ("Romance", 471), ("Sci-Fi", 276),
        ("Thriller", 492), ("War", 143), ("Western", 68),
    ]
    /// Weights of a movie's number of genres, 1…5 (MovieLens-1M: half the movies have one).
    static let genreCounts: [Double] = [50, 34, 12, 3.5, 0.5]
    /// MovieLens-1M's age groups with their numbers of users.
    static let ages: [(value: Int, weight: Double)] = [
        (1, 222), (18, 1103), (25, 2096), (35, 1193), (45, 550), (50, 496), (56, 380),
    ]
    /// MovieLens-1M's numbers of users per occupation 0…20.
    static let occupations: [Double] = [
        711, 528, 267, 173, 759, 112, 236, 679, 17, 92, 195, 129, 388, 142, 302, 144, 241, 502, 70, 72, 281,
    ]
    /// Share of users who are male (MovieLens-1M: 4,331 of 6,040).
    static let maleShare = 0.717
    /// Share of users whose zip code is written ZIP+4 (`02136-1522`).
    static let zipPlusFourShare = 0.03
    /// Words of synthetic titles.
    static let titleWords = [
        "Night", "River", "Star", "Love", "City", "Ghost", "Summer", "King", "Secret", "Road", "Last", "Dark",
        "House", "Man", "Woman", "Story", "Wild", "Blue", "Big", "Little", "Return", "Dead", "Heart", "Time",
        "Game", "Island", "War", "Girl", "Boy", "Dream", "Fire", "Money", "Street", "Lost", "Angel", "Kiss",
        "Blood", "Sky", "Moon", "Family", "Crazy", "Golden", "Hunter", "Children", "Runaway", "Midnight",
    ]
    /// Alternative (foreign) titles, shown in parentheses after some titles, some with commas or
    /// non-ASCII letters as in MovieLens (`City of Lost Children, The (Cité des enfants perdus, La) (1995)`).
    static let alternativeTitles = [
        "Cité des enfants perdus, La", "Ladri di biciclette", "Die Blechtrommel", "Det sjunde inseglet",
        "Samouraï, Le", "Kagemusha", "Vivre sa vie", "Nuovo cinema Paradiso",
    ]

    /// Index drawn from `weights` with probability proportional to its weight (`u` uniform in [0, 1)).
    static func pick(_ weights: [Double], _ u: Double) -> Int {
        var threshold = u * weights.reduce(0, +)
        for (index, weight) in weights.enumerated() {
            threshold -= weight
            if threshold < 0 { return index }
        }
        return weights.count - 1
    }
}
