/// The table of nfm's random streams: every use of a seed draws from its own named stream, so that two
/// uses never share random numbers and changing one never shifts another.
///
/// Two derivations, both fixed by the values below (changing a value changes every dataset or model
/// built with it):
/// - counter-based (`SplitMix64(seed:stream:index:)`): element `index` of a stream is a pure function of
///   `(seed, stream, index)`; used by the builder, whose results must not depend on order or threads.
/// - sequential (`seed ⊕ id` seeds one generator, `Xoshiro256(seed:stream:)`): used by the trainer,
///   which draws in a fixed order.
public struct RandomStream: Sendable, Hashable, CustomStringConvertible {
    /// The stream's number (counter-based) or seed tag (sequential).
    public let id: UInt64
    /// A short name for messages and tests.
    public let name: String

    /// A stream numbered (or tagged) `id`; add new streams to the table below, never reuse an id.
    public init(id: UInt64, name: String) {
        self.id = id
        self.name = name
    }

    /// The seed of a sequential stream's generator: `seed ⊕ id`.
    @inline(__always) public func seed(_ seed: UInt64) -> UInt64 { seed ^ id }

    /// The stream's name.
    public var description: String { name }

    // MARK: counter-based (SplitMix64(seed:stream:index:))

    /// Negative sampling: the negatives of positive row `index` (`NegativeSampler`).
    public static let negatives = RandomStream(id: 1, name: "negatives")
    /// The keys of the Feistel permutation that shuffles and splits the instances (`FeistelPermutation`).
    public static let permutation = RandomStream(id: 2, name: "permutation")
    /// A synthetic user's fixed traits, indexed by nothing and seeded by the user id (`nfm synth`).
    public static let syntheticUser = RandomStream(id: 5, name: "synthetic-user")
    /// The rows of a synthetic Frappe or MovieLens tag log (`nfm synth`).
    public static let syntheticRows = RandomStream(id: 77, name: "synthetic-rows")
    /// The rows of a synthetic Criteo-shaped click log (`SyntheticClickLog`).
    public static let syntheticClicks = RandomStream(id: 91, name: "synthetic-clicks")
    /// The rows of a synthetic MovieLens-1M-shaped rating log (`SyntheticRatingsLog`).
    public static let syntheticRatings = RandomStream(id: 92, name: "synthetic-ratings")
    /// A synthetic rating user's traits, seeded by the user id.
    public static let syntheticRatingUser = RandomStream(id: 93, name: "synthetic-rating-user")
    /// A synthetic movie's traits, seeded by the movie id.
    public static let syntheticRatingMovie = RandomStream(id: 94, name: "synthetic-rating-movie")
    /// The per-column keys of a synthetic click log's value hashes and hidden click effects, indexed by
    /// column (`SyntheticClickModel`).
    public static let syntheticClickValues = RandomStream(id: 95, name: "synthetic-click-values")

    // MARK: sequential (Xoshiro256(seed: stream.seed(seed)))

    /// Parameter initialisation (`Model.initialize(seed:)`), tag "INIT".
    public static let initialization = RandomStream(id: 0x494E_4954, name: "INIT")
    /// Batch order and shard order of training (`Trainer`), tag "SHUF".
    public static let shuffle = RandomStream(id: 0x5348_5546, name: "SHUF")
    /// Dropout masks of training (`Trainer`), tag "DROP".
    public static let dropout = RandomStream(id: 0x4452_4F50, name: "DROP")

    /// Every stream of the table, counter-based first.
    public static let all: [RandomStream] = [
        negatives, permutation, syntheticUser, syntheticRows, syntheticClicks, syntheticRatings,
        syntheticRatingUser, syntheticRatingMovie, syntheticClickValues, initialization, shuffle, dropout,
    ]
}
