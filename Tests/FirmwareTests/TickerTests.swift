import CivilTime
import Firmware
import TestSupport
import Testing

/// Runs `ticker` until `count` ticks, with a sleep that advances `clock` by the time asked plus the next of
/// `oversleeps` (a loaded kernel waking late; none once they run out).
private func ticks(
    of ticker: Ticker<ManualClock>, on clock: ManualClock, count: Int, oversleeps: [Duration]
) -> [Tick] {
    var late = oversleeps
    var seen: [Tick] = []
    ticker.runBlocking(
        sleep: { clock.advance(by: $0 + (late.isEmpty ? .zero : late.removeFirst())) },
        shouldStop: { seen.count == count }
    ) { seen.append($0) }
    return seen
}

@Test func ticksFollowDriftFreeDeadlines() {
    let clock = ManualClock()
    let ticker = Ticker(clock: clock, period: .milliseconds(100), wallClock: { .epoch })
    // Every wake-up 30 ms late: each sleep asks only for the time left to the next deadline (70 ms).
    let seen = ticks(of: ticker, on: clock, count: 5, oversleeps: Array(repeating: .milliseconds(30), count: 5))
    #expect(seen.map(\.index) == [1, 2, 3, 4, 5])
    #expect(seen.map(\.lateness) == Array(repeating: .milliseconds(30), count: 5))
    #expect(seen.allSatisfy { $0.missed == 0 })
    // Drift-free: five ticks 30 ms late each end at 530 ms, not 5 × 130 ms.
    #expect(clock.now.offset == .milliseconds(530))
}

@Test func missedDeadlinesAreCountedAndSkippedNotBunched() {
    let clock = ManualClock()
    let ticker = Ticker(clock: clock, period: .seconds(1), wallClock: { .epoch })
    // A stall: the second wake-up comes at 5.5 s. Deadlines 2, 3 and 4 are more than a period late: skipped and
    // counted; deadline 5 fires (500 ms late) — one tick, not a burst of four.
    let seen = ticks(of: ticker, on: clock, count: 2, oversleeps: [.zero, .milliseconds(3500)])
    #expect(seen.count == 2)
    #expect(seen[1].index == 5)
    #expect(seen[1].missed == 3)
    #expect(seen[1].lateness == .milliseconds(500))
}

/// The timer thread's variant: the same schedule, with a blocking sleep that here advances a manual clock by the
/// time asked plus an oversleep (a loaded kernel), once by whole periods (a stall), once too little (a signal).
@Test func theBlockingTickerKeepsTheSameScheduleAndSkipsStalls() {
    let clock = ManualClock()
    var ticks: [Tick] = []
    var sleeps: [Duration] = []
    // What each sleep does beyond the time asked for.
    var oversleeps: [Duration] = [.milliseconds(30), .zero, .milliseconds(2_250), .milliseconds(-40), .zero, .zero]
    let ticker = Ticker(clock: clock, period: .seconds(1), wallClock: { UnixTime(milliseconds: 42) })
    ticker.runBlocking(
        sleep: { asked in
            sleeps.append(asked)
            clock.advance(by: asked + (oversleeps.isEmpty ? .zero : oversleeps.removeFirst()))
        },
        shouldStop: { ticks.count == 4 }
    ) { ticks.append($0) }
    #expect(ticks.map(\.index) == [1, 2, 5, 6])
    #expect(ticks.map(\.missed) == [0, 0, 2, 0])
    #expect(ticks.map(\.lateness) == [.milliseconds(30), .zero, .milliseconds(250), .zero])
    #expect(ticks.allSatisfy { $0.wallTime == UnixTime(milliseconds: 42) })
    // Deadlines stay drift-free: after the 30 ms late first tick, the second sleep asks for 970 ms; the early
    // wake-up (40 ms short) sleeps the rest.
    #expect(sleeps == [.seconds(1), .milliseconds(970), .seconds(1), .milliseconds(750), .milliseconds(40)])
}
