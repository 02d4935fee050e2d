import Foundation
import NFMRandom

/// Writes synthetic click logs in the format of the Criteo display-ads log as DeepCTR ships it
/// (`criteo_sample.txt`): CSV with the header `label,I1,…,I13,C1,…,C26`, no quoting, `\n` line ends.
///
/// - `I1…I13`: lognormal counts x = max(0, ⌊exp(μ + σz)⌋ − 1) with μ, σ per column (fitted to the sample's
///   quartiles: I5 has a median near 2,000 and values in the millions), written `260.0` except `I2`, which
///   is written `260` and is −1 (rarely −2, −3) in 7 % of rows.
/// - `C1…C26`: 8-hex-digit hashes; value ranks follow a power law (`SyntheticPowerLaw`) with a per-column
///   exponent, over Criteo's cardinalities (the columns with ≥ 50,000 values scaled to the row count, so a
///   10 M-row log has columns of tens of values and columns of millions, most of them rare). The hash of
///   a rank is a bijection of 32 bits keyed per column and seed, so distinct values never collide.
/// - Missing cells: groups of columns are empty together at Criteo's rates (`missingRates`).
/// - `label`: 1 with probability σ(b + Σ wₖ·eₖ(Cₖ) + w·e(C6, C14) + 0.35·(log(1 + I1) − 0.8) −
///   0.15·(log(1 + I5) − 7.5)), where the effects e ∈ [−1, 1) are fixed per value (and per pair) by the
///   seed and the bias b is calibrated on the first 8,192 rows for `clickRate` = 25 % clicks. A model can
///   learn it: the effects sit on frequent values of small columns, one of them an interaction.
///
/// Row `i` draws from its own counter-based stream (`RandomStream.syntheticClicks`, index i); per-column
/// keys come from `RandomStream.syntheticClickValues`. Output is a pure function of (rows, seed), written
/// in 1 MiB blocks (memory independent of rows); about 275 bytes a row.
public enum SyntheticClickLog {
    /// The header line's cells: `label`, `I1`…`I13`, `C1`…`C26`.
    public static let header = ["label"] + (1...13).map { "I\($0)" } + (1...26).map { "C\($0)" }

    /// Writes the header and `rows` rows to `sink` in blocks of about 1 MiB.
    public static func write(rows: Int, seed: UInt64, to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let model = SyntheticClickModel(rows: rows, seed: seed)
        let buffer = SyntheticTextBuffer()
        buffer.append(Array((header.joined(separator: ",") + "\n").utf8))
        var row = SyntheticClickRow()
        for index in 0..<max(0, rows) {
            model.draw(&row, index: UInt64(index))
            append(row, clicked: row.labelDraw < model.clickProbability(row), to: buffer)
            try buffer.flushIfFull(sink)
        }
        try buffer.flushIfFull(sink, force: true)
    }

    /// Appends one CSV record: label, numbers (`.0` where the column is written so), hashes.
    @inline(__always)
    static func append(_ row: SyntheticClickRow, clicked: Bool, to buffer: SyntheticTextBuffer) {
        buffer.append(clicked ? 49 : 48)
        for column in 0..<numeric.count {
            buffer.append(44)
            let value = row.numbers[column]
            guard value != SyntheticClickRow.missing else { continue }
            buffer.append(decimal: value)
            if numeric[column].decimal {
                buffer.append(46)
                buffer.append(48)
            }
        }
        for column in 0..<categorical.count {
            buffer.append(44)
            if row.ranks[column] >= 0 { buffer.append(hex: row.hashes[column]) }
        }
        buffer.append(10)
    }
}
