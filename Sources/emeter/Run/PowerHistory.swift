import CivilTime

/// The live page's chart data: the power as 1-minute averages, in memory only, filled from the live readings.
///
/// A ring of at most ``capacity`` closed minutes (48 h) plus the minute in progress: bounded memory whatever the
/// uptime. Times are the samples' own, never the wall clock, so "today" is the day of the
/// newest sample. A sample older than the minute in progress (the board's clock stepped back) is dropped.
struct PowerHistory: Sendable, Equatable {
    /// One minute: its start and the mean power of the samples in it (W, + import).
    struct Point: Sendable, Equatable {
        var minute: UnixTime
        var powerW: Int64
    }

    /// 48 hours of minutes.
    static let capacity = 2880

    /// Closed minutes, oldest first from ``start`` on (a ring once full).
    private var ring: [Point] = []
    private var start = 0
    private let limit: Int
    /// The minute in progress: its start, the sum and count of its samples.
    private var open: (minute: UnixTime, sum: Int64, count: Int64)?

    init(capacity: Int = PowerHistory.capacity) {
        limit = max(1, capacity)
    }

    static func == (a: PowerHistory, b: PowerHistory) -> Bool {
        a.points() == b.points()
    }

    /// The start of the newest minute, `nil` before the first sample.
    var newestMinute: UnixTime? { open?.minute }

    /// Closed minutes held (the ring's fill).
    var closedCount: Int { ring.count }

    /// A live reading's power at `time`.
    mutating func add(time: UnixTime, powerW: Int64) {
        let minute = time.floored(toMultipleOf: .seconds(60))
        if let current = open {
            if minute < current.minute { return }
            if minute == current.minute {
                open = (minute, current.sum + powerW, current.count + 1)
                return
            }
            append(Point(minute: current.minute, powerW: Self.mean(current.sum, current.count)))
        }
        open = (minute, powerW, 1)
    }

    /// The minutes from `since` on, oldest first, the minute in progress last (its mean so far).
    func points(since: UnixTime = .distantPast) -> [Point] {
        var result: [Point] = []
        result.reserveCapacity(ring.count + 1)
        for index in 0..<ring.count {
            let point = ring[(start + index) % ring.count]
            if point.minute >= since { result.append(point) }
        }
        if let open, open.minute >= since {
            result.append(Point(minute: open.minute, powerW: Self.mean(open.sum, open.count)))
        }
        return result
    }

    private mutating func append(_ point: Point) {
        if ring.count < limit {
            ring.append(point)
        } else {
            ring[start] = point
            start = (start + 1) % limit
        }
    }

    /// Rounded to the nearest watt, halves away from zero.
    static func mean(_ sum: Int64, _ count: Int64) -> Int64 {
        guard count > 0 else { return 0 }
        let half = count / 2
        return sum >= 0 ? (sum + half) / count : -((-sum + half) / count)
    }

    /// The instant at which the local day containing `time` began (00:00 local).
    static func dayStart(containing time: UnixTime, in local: LocalTime) -> UnixTime {
        // Civil arithmetic in Unix seconds, as CivilTime has it.
        let seconds = time.seconds
        let date = CivilTime.civil(unixSeconds: seconds + local.offset(at: seconds))
        let localMidnight = CivilTime.seconds(
            year: date.year, month: date.month, day: date.day, hour: 0, minute: 0, second: 0)
        // EU summer time switches at 01:00 UTC, never at local midnight: the offset just before it holds.
        return UnixTime(seconds: localMidnight - local.offset(at: localMidnight - local.standardOffset - 3600))
    }
}
