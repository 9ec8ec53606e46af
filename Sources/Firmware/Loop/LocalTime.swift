/// Civil time of the meter's country, for month boundaries of the capacity tariff.
///
/// Pure arithmetic (no tz database): a fixed standard offset plus the EU summer-time rule (from the last Sunday of
/// March 01:00 UTC to the last Sunday of October 01:00 UTC), which covers every P1 country we support.
public struct LocalTime: Sendable, Equatable {
    /// Standard (winter) offset from UTC, seconds: 3600 for CET (Belgium, the Netherlands, Luxembourg, Austria).
    public var standardOffset: Int64
    /// Whether EU summer time applies.
    public var europeanSummerTime: Bool

    public init(standardOffset: Int64, europeanSummerTime: Bool) {
        self.standardOffset = standardOffset
        self.europeanSummerTime = europeanSummerTime
    }

    public static let centralEurope = LocalTime(standardOffset: 3600, europeanSummerTime: true)
    public static let utc = LocalTime(standardOffset: 0, europeanSummerTime: false)

    /// Offset from UTC at the UTC instant `time` (Unix seconds).
    public func offset(at time: Int64) -> Int64 {
        guard europeanSummerTime else { return standardOffset }
        let year = Civil(unix: time).year
        let start = Self.lastSunday(year: year, month: 3) + 3600
        let end = Self.lastSunday(year: year, month: 10) + 3600
        return time >= start && time < end ? standardOffset + 3600 : standardOffset
    }

    /// The UTC instant (Unix seconds) at which the local month containing `time` began (1st, 00:00 local).
    public func monthStart(containing time: Int64) -> Int64 {
        let local = Civil(unix: time + offset(at: time))
        let localMidnight = Civil.unix(year: local.year, month: local.month, day: 1)
        // The offset at the boundary itself (months never start inside a DST transition hour).
        let guess = localMidnight - standardOffset
        return localMidnight - offset(at: guess)
    }

    /// 00:00 UTC of the last Sunday of `month` in `year`, Unix seconds.
    static func lastSunday(year: Int64, month: Int64) -> Int64 {
        let nextMonth = month == 12 ? Civil.unix(year: year + 1, month: 1, day: 1) : Civil.unix(year: year, month: month + 1, day: 1)
        let lastDay = nextMonth - 86400
        let weekday = ((lastDay / 86400) % 7 + 4 + 7) % 7  // 1970-01-01 was a Thursday (4); 0 = Sunday
        return lastDay - weekday * 86400
    }
}

/// Proleptic Gregorian calendar date of a Unix time (Howard Hinnant's days-from-civil algorithms).
struct Civil: Equatable {
    var year: Int64
    var month: Int64
    var day: Int64

    init(year: Int64, month: Int64, day: Int64) {
        self.year = year
        self.month = month
        self.day = day
    }

    init(unix: Int64) {
        let days = unix >= 0 ? unix / 86400 : (unix - 86399) / 86400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    static func unix(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return (era * 146_097 + doe - 719_468) * 86400
    }
}
