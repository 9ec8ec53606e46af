/// Civil (calendar) time without a time-zone database: the proleptic Gregorian calendar on Unix seconds, and the
/// EU summer-time rule that every P1 country we support follows.
///
/// One small module, so the P1 timestamp parser, the firmware's month boundaries, the HTTP `Retry-After` date and
/// the configuration files all use the same arithmetic. Pure functions, no Foundation.
public enum CivilTime {
    /// A calendar date and time of day.
    public struct Fields: Equatable, Sendable {
        public var year: Int
        public var month: Int
        public var day: Int
        public var hour: Int
        public var minute: Int
        public var second: Int
        /// 0 = Sunday … 6 = Saturday.
        public var weekday: Int
    }

    /// Seconds since the epoch of a civil date and time taken as UTC.
    @inlinable
    public static func seconds(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int64 {
        daysFromCivil(year: year, month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
    @inlinable
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The calendar date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    public static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(m <= 2 ? y + 1 : y), Int(m), Int(d))
    }

    /// The calendar date `unixSeconds` falls on in UTC.
    public static func civil(unixSeconds: Int64) -> (year: Int, month: Int, day: Int) {
        civil(fromDays: floorDiv(unixSeconds, 86_400))
    }

    /// Every calendar field of `unixSeconds` read as a wall-clock time (UTC, or a local time already offset).
    public static func fields(unixSeconds: Int64) -> Fields {
        let days = floorDiv(unixSeconds, 86_400)
        let date = civil(fromDays: days)
        // From the remainder: `unixSeconds - days * 86_400` overflows near Int64.min.
        let remainder = unixSeconds % 86_400
        let secs = Int(remainder < 0 ? remainder + 86_400 : remainder)
        let weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday (4)
        return Fields(
            year: date.year, month: date.month, day: date.day, hour: secs / 3600, minute: secs / 60 % 60,
            second: secs % 60, weekday: weekday)
    }

    /// Days in `month` (1–12) of `year`.
    @inlinable
    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// The day of the month of the last Sunday of `month`.
    public static func lastSunday(year: Int, month: Int) -> Int {
        let last = daysIn(month: month, year: year)
        let days = daysFromCivil(year: year, month: month, day: last)
        let weekday = Int(((days % 7) + 11) % 7)  // 0 = Sunday
        return last - weekday
    }

    /// Whether EU summer time is in force at `utcSeconds`: from the last Sunday of March 01:00 UTC until the last
    /// Sunday of October 01:00 UTC (Directive 2000/84/EC).
    public static func isEUSummerTime(utcSeconds: Int64) -> Bool {
        let year = civil(fromDays: floorDiv(utcSeconds, 86_400)).year
        let start = seconds(year: year, month: 3, day: lastSunday(year: year, month: 3), hour: 1, minute: 0, second: 0)
        let end = seconds(year: year, month: 10, day: lastSunday(year: year, month: 10), hour: 1, minute: 0, second: 0)
        return utcSeconds >= start && utcSeconds < end
    }

    /// ISO 8601 in UTC: `2025-03-30T01:59:59Z` (years 0–9999 zero-padded to four digits).
    public static func iso8601(unixSeconds: Int64) -> String {
        let f = fields(unixSeconds: unixSeconds)
        guard (0...9999).contains(f.year) else {
            return "\(f.year)-\(pad(f.month, 2))-\(pad(f.day, 2))T\(pad(f.hour, 2)):\(pad(f.minute, 2)):"
                + "\(pad(f.second, 2))Z"
        }
        var text: [UInt8] = Array("0000-00-00T00:00:00Z".utf8)
        func put(_ value: Int, at end: Int) {
            var value = value
            var index = end
            while value > 0 {
                text[index] = UInt8(ascii: "0") + UInt8(value % 10)
                value /= 10
                index -= 1
            }
        }
        put(f.year, at: 3)
        put(f.month, at: 6)
        put(f.day, at: 9)
        put(f.hour, at: 12)
        put(f.minute, at: 15)
        put(f.second, at: 18)
        return String(decoding: text, as: UTF8.self)
    }

    /// Floor division (rounds towards −∞, unlike `/`) by a positive `b`; defined for every `a`, `Int64.min` included.
    @inlinable
    public static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let quotient = a / b
        return a % b < 0 ? quotient - 1 : quotient
    }

    /// `value` in decimal, zero-padded on the left to `width` digits.
    public static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

/// Civil time of the meter's country, for month boundaries of the capacity tariff.
///
/// A fixed standard offset plus, optionally, the EU summer-time rule, which covers every P1 country we support.
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
        return CivilTime.isEUSummerTime(utcSeconds: time) ? standardOffset + 3600 : standardOffset
    }

    /// Local calendar fields of the UTC instant `time`.
    public func fields(at time: Int64) -> CivilTime.Fields {
        CivilTime.fields(unixSeconds: time + offset(at: time))
    }

    /// The UTC instant (Unix seconds) at which the local month containing `time` began (1st, 00:00 local).
    public func monthStart(containing time: Int64) -> Int64 {
        let local = CivilTime.civil(unixSeconds: time + offset(at: time))
        let localMidnight = CivilTime.seconds(
            year: local.year, month: local.month, day: 1, hour: 0, minute: 0,
            second: 0)
        // The offset at the boundary itself (months never start inside a DST transition hour).
        let guess = localMidnight - standardOffset
        return localMidnight - offset(at: guess)
    }
}
