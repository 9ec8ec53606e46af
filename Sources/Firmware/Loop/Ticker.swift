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
    /// The board's wall clock, read when a tick fires.
    public let wallClock: @Sendable () -> UnixTime

    public init(clock: C, period: Duration, wallClock: @escaping @Sendable () -> UnixTime) {
        self.clock = clock
        self.period = period
        self.wallClock = wallClock
    }

    /// Ticks on the calling thread (`emeter run`'s timer thread): `sleep` blocks it for the time left to each
    /// deadline, so no async work (the HTTP API, a forwarder, a slow actor) can delay a wake-up. Returns when
    /// `shouldStop` is true, checked before each sleep and before each tick.
    public func runBlocking(
        sleep: (Duration) -> Void, shouldStop: () -> Bool, _ body: (Tick) -> Void
    ) {
        var schedule = Schedule(start: clock.now, period: period)
        while !shouldStop() {
            let left = clock.now.duration(to: schedule.deadline)
            if left > .zero { sleep(left) }
            let now = clock.now
            // A wake-up before the deadline (a signal, a coarse sleep) sleeps again for the rest.
            if now < schedule.deadline { continue }
            if shouldStop() { return }
            if let tick = schedule.fired(at: now, wallTime: wallClock()) { body(tick) }
        }
    }

    /// Deadline arithmetic: `start + index × period`, skipping (and counting) deadlines slept through.
    struct Schedule {
        let start: C.Instant
        let period: Duration
        var index: Int64 = 1
        var missedSinceLast: Int64 = 0

        init(start: C.Instant, period: Duration) {
            self.start = start
            self.period = period
        }

        var deadline: C.Instant { start.advanced(by: period * index) }

        /// The tick for a wake-up at `now` (at or after ``deadline``), or `nil` when whole periods were slept
        /// through: those deadlines are skipped and counted, and the next one is waited for instead of bunching.
        mutating func fired(at now: C.Instant, wallTime: UnixTime) -> Tick? {
            let late = deadline.duration(to: now)
            if late >= period {
                let behind = Int64(late / period)
                missedSinceLast += behind
                index += behind
                return nil
            }
            let tick = Tick(index: index, wallTime: wallTime, lateness: late, missed: missedSinceLast)
            missedSinceLast = 0
            index += 1
            return tick
        }
    }
}
