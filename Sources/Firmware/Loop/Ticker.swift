import CivilTime

/// One timer tick of the measurement loop.
public struct Tick: Sendable, Equatable {
    /// Which deadline this is: `start + index × period`.
    public var index: Int64
    /// When it fired, by the board's wall clock.
    public var wallTime: UnixTime
    /// How late it fired against its deadline.
    public var lateness: Duration
    /// Deadlines skipped (not bunched) because the loop fell behind before this one.
    public var missed: Int64

    public init(index: Int64, wallTime: UnixTime, lateness: Duration = .zero, missed: Int64 = 0) {
        self.index = index
        self.wallTime = wallTime
        self.lateness = lateness
        self.missed = missed
    }
}

/// Drift-free periodic deadlines on an injected clock: `next += period`, never `sleep(period)`.
///
/// A deadline that has already passed by more than one period when the ticker wakes is counted as missed and
/// skipped, so a stall does not produce a burst of catch-up ticks.
public struct Ticker<C: Clock>: Sendable where C.Duration == Duration {
    public let clock: C
    public let period: Duration
    /// How late the clock may wake us to save power (default 50 µs; the lateness target is 2 ms at p99).
    public var tolerance: Duration = .microseconds(50)
    /// The board's wall clock, read when a tick fires.
    public let wallClock: @Sendable () -> UnixTime

    public init(clock: C, period: Duration, wallClock: @escaping @Sendable () -> UnixTime) {
        self.clock = clock
        self.period = period
        self.wallClock = wallClock
    }

    /// Ticks until `count` ticks were yielded (`nil`: until the task is cancelled).
    public func run(count: Int64? = nil, _ body: (Tick) async -> Void) async {
        let start = clock.now
        var index: Int64 = 1
        var missedSinceLast: Int64 = 0
        var yielded: Int64 = 0
        while !Task.isCancelled {
            if let count, yielded >= count { return }
            let deadline = start.advanced(by: period * index)
            do {
                // An explicit small tolerance: with `nil` the runtime may coalesce the wake-up by milliseconds.
                try await clock.sleep(until: deadline, tolerance: tolerance)
            } catch {
                return  // cancelled
            }
            let now = clock.now
            let late = deadline.duration(to: now)
            if late >= period {
                // Skip the deadlines we slept through; fire on the next one instead of bunching.
                let behind = Int64(late / period)
                missedSinceLast += behind
                index += behind
                continue
            }
            await body(Tick(index: index, wallTime: wallClock(), lateness: late, missed: missedSinceLast))
            missedSinceLast = 0
            yielded += 1
            index += 1
        }
    }
}
