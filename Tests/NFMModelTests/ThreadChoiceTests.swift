import Testing

@testable import NFMModel

/// `ThreadChoice` samples both modes at the start of every period and runs the rest of it in the faster.
@Suite struct ThreadChoiceTests {
    /// Runs `steps` steps whose time is `inline` or `pool` seconds by mode; returns the modes taken.
    func modes(_ schedule: ThreadChoice.Schedule, steps: Int, inline: (Int) -> Double, pool: (Int) -> Double) -> [Bool] {
        var choice = ThreadChoice(schedule: schedule)
        return (0..<steps).map { step in
            let runsInline = choice.nextRunsInline
            choice.record(seconds: runsInline ? inline(step) : pool(step))
            return runsInline
        }
    }

    @Test func theFasterModeRunsTheRestOfEachPeriod() {
        let schedule = ThreadChoice.Schedule(sample: 2, period: 8)
        // The pool is faster in the first period, slower in the second.
        let taken = modes(schedule, steps: 16, inline: { _ in 1.0 }, pool: { $0 < 8 ? 0.5 : 2.0 })
        #expect(taken == [true, true, false, false, false, false, false, false]
            + [true, true, false, false, true, true, true, true])
    }

    @Test func aScheduleTooShortToSampleBothModesIsWidened() {
        let choice = ThreadChoice(schedule: .init(sample: 0, period: 1))
        #expect(choice.schedule.sample == 1 && choice.schedule.period == 3)
    }
}
