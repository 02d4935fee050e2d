import NFMFormat

/// Upper bounds on the sizes a model or a training run may ask for. They keep a mistyped option (or a
/// corrupted checkpoint header) from trapping on an overflowing size or from trying to allocate terabytes:
/// a value beyond a bound is a `.configuration` error (exit 2) naming the option and the bound.
///
/// The bounds are far above the paper's settings (k ≤ 256, layers ≤ 1024 wide, batch 128).
public enum TrainingLimits {
    /// Largest embedding size k (`--factors`).
    public static let maxFactors = 4096
    /// Most hidden layers or residual units (`--layers`).
    public static let maxLayerCount = 64
    /// Widest hidden layer or residual unit (`--layers`).
    public static let maxLayerWidth = 16384
    /// Most stored parameters of a model (2³¹ floats, 8 GiB): embeddings, weights, batch-norm statistics.
    public static let maxParameters = 1 << 31
    /// Largest mini-batch (`--batch-size`).
    public static let maxBatchSize = 65536
    /// Most floats of per-batch scratch (batch × the widths of every activation, 2²⁸ floats = 1 GiB).
    public static let maxScratchFloats = 1 << 28
    /// Most epochs (`--epochs`) and largest patience (`--patience`).
    public static let maxEpochs = 100_000
    /// Largest shuffle buffer in rows (`--shuffle-buffer`; the buffer never exceeds the training rows).
    public static let maxShuffleBuffer = 1 << 30
    /// Most evaluation threads (`--threads`) and experiment jobs (`--jobs`).
    public static let maxThreads = 256
    /// Largest in-memory cache in MiB (`--cache-mib`, 2²⁰ MiB = 1 TiB).
    public static let maxCacheMiB = 1 << 20

    /// Throws `.configuration` naming `option` unless `value` is in `range`.
    public static func check(_ value: Int, in range: ClosedRange<Int>, option: String) throws {
        guard range.contains(value) else {
            throw NFMError(
                .configuration, "must be in \(range.lowerBound)…\(range.upperBound)", at: .init(field: option, value: String(value)))
        }
    }
}
