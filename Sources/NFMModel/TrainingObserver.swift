import NFMFormat

/// Callbacks through which a training run reports what it is doing; all optional and called on the
/// training thread.
public struct TrainingObserver {
    /// Training rows done in the current epoch, of `rowsTotal`, after `seconds` of the epoch (called at
    /// most ten times a second, never before the epoch's first batches have run).
    public var progress: ((_ epoch: Int, _ rowsDone: Int, _ rowsTotal: Int, _ seconds: Double) -> Void)?
    /// Evaluation of `split` begins (after the epoch's training steps).
    public var evaluating: ((_ epoch: Int, _ split: Split) -> Void)?
    /// An epoch's record, and whether it is the best so far (lowest validation metric).
    public var epochFinished: ((_ record: EpochRecord, _ isBest: Bool) -> Void)?
    /// A line for the user (e.g. why training stopped early).
    public var message: ((String) -> Void)?

    /// An observer with the given callbacks (each nil by default: not called).
    public init(
        progress: ((Int, Int, Int, Double) -> Void)? = nil, evaluating: ((Int, Split) -> Void)? = nil,
        epochFinished: ((EpochRecord, Bool) -> Void)? = nil, message: ((String) -> Void)? = nil
    ) {
        self.progress = progress
        self.evaluating = evaluating
        self.epochFinished = epochFinished
        self.message = message
    }
}

/// Rate-limits `TrainingObserver.progress` within one epoch: it reports every 16,384 rows, and at most
/// every 0.1 s.
struct ProgressThrottle {
    let epoch: Int
    let total: Int
    let batch: Int
    let start: Double
    private var lastReport: Double

    init(epoch: Int, total: Int, batch: Int, start: Double) {
        self.epoch = epoch
        self.total = total
        self.batch = batch
        self.start = start
        lastReport = start
    }

    /// Called after each batch with the rows done so far.
    @inline(__always)
    mutating func batchDone(_ done: Int, observer: TrainingObserver) {
        guard let progress = observer.progress, done & 0x3FFF < batch else { return }
        let t = now()
        if t - lastReport > 0.1 {
            lastReport = t
            progress(epoch, done, total, t - start)
        }
    }
}
