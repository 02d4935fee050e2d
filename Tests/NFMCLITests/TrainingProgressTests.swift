import Testing

@testable import nfm

/// The training progress line: no rate before there is elapsed time to measure it.
@Suite struct TrainingProgressTests {
    @Test func noRateOrETABeforeTimeHasElapsed() {
        let start = TrainingProgress.trainingText(epoch: 3, done: 16384, total: 202_027, seconds: 1e-9)
        #expect(start == "epoch 3: training 8% (16384/202027 rows)")
        let later = TrainingProgress.trainingText(epoch: 3, done: 101_000, total: 202_027, seconds: 0.5)
        #expect(later == "epoch 3: training 49% (101000/202027 rows), 202000 rows/s, ETA 0.5 s")
    }
}
