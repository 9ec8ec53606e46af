import CivilTime
import Firmware
import Simulator
import Synchronization
import TestSupport
import Testing

/// Waits (bounded) until `condition` holds, yielding to other tasks.
func eventually(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<10_000 {
        if condition() { return true }
        await Task.yield()
    }
    return condition()
}

@Test func ticksFollowDriftFreeDeadlines() async {
    let clock = ManualClock()
    let ticks = Mutex<[Tick]>([])
    let ticker = Ticker(clock: clock, period: .milliseconds(100), wallClock: { .epoch })
    let task = Task {
        await ticker.run(count: 5) { tick in ticks.withLock { $0.append(tick) } }
    }
    for expected in 1...5 {
        #expect(await eventually { clock.sleeperCount == 1 })
        // Wake late by 30 ms each time: the next deadline still comes from the schedule, not from now.
        clock.advance(by: .milliseconds(expected == 1 ? 130 : 100))
        #expect(await eventually { ticks.withLock { $0.count } == expected })
    }
    await task.value
    let seen = ticks.withLock { $0 }
    #expect(seen.map(\.index) == [1, 2, 3, 4, 5])
    #expect(seen.map(\.lateness) == Array(repeating: .milliseconds(30), count: 5))
    #expect(seen.allSatisfy { $0.missed == 0 })
}

@Test func missedDeadlinesAreCountedAndSkippedNotBunched() async {
    let clock = ManualClock()
    let ticks = Mutex<[Tick]>([])
    let ticker = Ticker(clock: clock, period: .seconds(1), wallClock: { .epoch })
    let task = Task {
        await ticker.run(count: 2) { tick in ticks.withLock { $0.append(tick) } }
    }
    #expect(await eventually { clock.sleeperCount == 1 })
    clock.advance(by: .seconds(1))
    #expect(await eventually { ticks.withLock { $0.count } == 1 })
    #expect(await eventually { clock.sleeperCount == 1 })
    // A stall: the ticker wakes at 5.5 s. Deadlines 2, 3 and 4 are more than a period late: skipped and
    // counted; deadline 5 fires (500 ms late) — one tick, not a burst of four.
    clock.advance(by: .milliseconds(4500))
    await task.value
    let seen = ticks.withLock { $0 }
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
