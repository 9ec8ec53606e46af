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
