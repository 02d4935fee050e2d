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

    @Test func oneStalledSampleDoesNotDecide() {
        // The pool is twice as fast, but one of its four sampled steps stalls for 100 times an inline step
        // (its total is then the larger): the median still picks the pool.
        let schedule = ThreadChoice.Schedule(sample: 4, period: 12)
        let taken = modes(schedule, steps: 12, inline: { _ in 1.0 }, pool: { $0 == 5 ? 100.0 : 0.5 })
        #expect(taken == [true, true, true, true, false, false, false, false] + [false, false, false, false])
        // And the other way round: a stalled inline step does not hand the period to a slower pool.
        let back = modes(schedule, steps: 12, inline: { $0 == 1 ? 100.0 : 1.0 }, pool: { _ in 2.0 })
        #expect(back == [true, true, true, true, false, false, false, false] + [true, true, true, true])
    }

    @Test func theMedianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
        #expect(ThreadChoice.median([4, 1, 3, 2]) == 2.5)
        #expect(ThreadChoice.median([5, 1, 9]) == 5)
        #expect(ThreadChoice.median([]) == 0)
    }

    @Test func aScheduleTooShortToSampleBothModesIsWidened() {
        let choice = ThreadChoice(schedule: .init(sample: 0, period: 1))
        #expect(choice.schedule.sample == 1 && choice.schedule.period == 3)
    }
}
