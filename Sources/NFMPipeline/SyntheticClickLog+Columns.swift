extension SyntheticClickLog {
    /// How a numeric column `I1…I13` is drawn and written.
    ///
    /// x = max(0, ⌊exp(μ + σ·z)⌋ − 1) with z ~ N(0, 1): lognormal counts, many of them 0 when μ is small.
    struct NumericColumn: Sendable {
        /// The missing group (``missingRates``) whose draw empties the cell.
        let group: Int
        /// μ of log(x + 1).
        let mu: Double
        /// σ of log(x + 1).
        let sigma: Double
        /// Written as `260.0` (as the sample writes every numeric column but `I2`) rather than `260`.
        let decimal: Bool
    }

    /// How a categorical column `C1…C26` is drawn.
    struct CategoricalColumn: Sendable {
        /// Distinct values in Criteo's 45,840,617 rows.
        let cardinality: Int
        /// Exponent s of the power law over the values (larger: a few values dominate).
        let exponent: Double
        /// The missing group (``missingRates``) whose draw empties the cell.
        let group: Int

        /// The number of values for a log of `rows` rows: Criteo's cardinality scaled to the row count for
        /// the columns with ≥ 50,000 values (at least 2,000 or the cardinality), Criteo's otherwise.
        func values(rows: Int) -> Int {
            guard cardinality >= 50_000 else { return cardinality }
            let scaled = Double(cardinality) * Double(rows) / SyntheticClickLog.criteoRows
            return max(min(cardinality, 2000), Int(min(scaled, Double(cardinality))))
        }
    }

    /// Rows of the Criteo display-ads training log that the cardinalities describe.
    static let criteoRows = 45_840_617.0

    /// Probability that a row's cell is empty, per missing group; the columns of one group are empty
    /// together, as in Criteo (I1 and I10; I7, I9 and I11; C3, C4, C12, C16, C21 and C24; C19, C20, C25
    /// and C26). Group 0 is never missing. Rates are Criteo's per-column rates.
    static let missingRates: [Double] = [
        0, 0.454, 0.215, 0.22, 0.026, 0.223, 0.043, 0.0005, 0.766, 0.034, 0.12, 0.44, 0.763,
    ]

    /// I1…I13: μ and σ fitted to the quartiles of DeepCTR's Criteo sample.
    static let numeric: [NumericColumn] = [
        .init(group: 1, mu: 0.75, sigma: 1.1, decimal: true),
        .init(group: 0, mu: 1.4, sigma: 2.3, decimal: false),
        .init(group: 2, mu: 2.0, sigma: 1.5, decimal: true),
        .init(group: 3, mu: 1.8, sigma: 1.05, decimal: true),
        .init(group: 4, mu: 7.5, sigma: 2.4, decimal: true),
        .init(group: 5, mu: 3.6, sigma: 1.8, decimal: true),
        .init(group: 6, mu: 1.3, sigma: 1.7, decimal: true),
        .init(group: 7, mu: 2.0, sigma: 1.1, decimal: true),
        .init(group: 6, mu: 3.8, sigma: 1.7, decimal: true),
        .init(group: 1, mu: 0.2, sigma: 0.6, decimal: true),
        .init(group: 6, mu: 0.7, sigma: 1.0, decimal: true),
        .init(group: 8, mu: 0.1, sigma: 0.8, decimal: true),
        .init(group: 3, mu: 1.8, sigma: 1.3, decimal: true),
    ]

    /// Share of `I2` cells that are negative (−1, rarely −2 or −3), as Criteo's `I2`.
    static let negativeI2 = 0.07

    /// C1…C26: Criteo's cardinalities; exponents chosen so that each column's most frequent value has
    /// about the share it has in the sample (C9: 89 %, C5: 67 %, C1: 43 %, … the hashed ids: 2–5 %).
    static let categorical: [CategoricalColumn] = [
        .init(cardinality: 1460, exponent: 1.8, group: 0), .init(cardinality: 583, exponent: 1.05, group: 0),
        .init(cardinality: 10_131_227, exponent: 0.95, group: 9),
        .init(cardinality: 2_202_608, exponent: 0.97, group: 9),
        .init(cardinality: 305, exponent: 2.6, group: 0), .init(cardinality: 24, exponent: 2.1, group: 10),
        .init(cardinality: 12517, exponent: 0.8, group: 0), .init(cardinality: 633, exponent: 2.3, group: 0),
        .init(cardinality: 3, exponent: 4, group: 0), .init(cardinality: 93145, exponent: 1.4, group: 0),
        .init(cardinality: 5683, exponent: 0.75, group: 0),
        .init(cardinality: 8_351_593, exponent: 0.95, group: 9),
        .init(cardinality: 3194, exponent: 0.7, group: 0), .init(cardinality: 27, exponent: 1.55, group: 0),
        .init(cardinality: 14992, exponent: 0.75, group: 0),
        .init(cardinality: 5_461_306, exponent: 0.95, group: 9),
        .init(cardinality: 10, exponent: 1.65, group: 0), .init(cardinality: 5652, exponent: 0.95, group: 0),
        .init(cardinality: 2173, exponent: 2.2, group: 11), .init(cardinality: 4, exponent: 0.9, group: 11),
        .init(cardinality: 7_046_547, exponent: 0.95, group: 9),
        .init(cardinality: 18, exponent: 1.75, group: 12), .init(cardinality: 15, exponent: 1.9, group: 0),
        .init(cardinality: 286_181, exponent: 1.1, group: 9), .init(cardinality: 105, exponent: 1.5, group: 11),
        .init(cardinality: 142_572, exponent: 1.15, group: 11),
    ]

    /// The hidden click model's categorical terms: (column, weight) with effect e(value) ∈ [−1, 1).
    static let clickTerms: [(column: Int, weight: Double)] = [(5, 0.8), (13, 0.6), (16, 0.5), (1, 0.5), (22, 0.4)]
    /// The hidden click model's pairwise term: an effect of the pair (C6 value, C14 value), with its weight.
    static let clickPair = (first: 5, second: 13, weight: 0.9)
    /// The share of clicks the bias is calibrated to.
    static let clickRate = 0.25
}
