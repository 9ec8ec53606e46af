/// A meter timestamp converted to UTC.
///
/// DSMR 4/5 §6.4 `TST` = `YYMMDDhhmmssX`: local time (CET/CEST, i.e. Europe/Amsterdam, Brussels, Luxembourg …) with
/// `X` = `S` while daylight-saving time is active (UTC+2) or `W` otherwise (UTC+1). DSMR 2.2/3 send 12 digits without
/// `X`; their offset follows from the EU rule (CEST from the last Sunday of March 01:00 UTC to the last Sunday of
/// October 01:00 UTC; in the repeated October hour the first, summer-time occurrence is chosen).
/// Years are 2000 + YY.
public struct P1Timestamp: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var utcSeconds: Int64
    /// `true` for `S`, `false` for `W`, `nil` when the meter sent no suffix (DSMR 2.2/3).
    public var summerTime: Bool?

    public init(utcSeconds: Int64, summerTime: Bool? = nil) {
        self.utcSeconds = utcSeconds
        self.summerTime = summerTime
    }

    public static func < (lhs: P1Timestamp, rhs: P1Timestamp) -> Bool { lhs.utcSeconds < rhs.utcSeconds }

    /// What a parsed timestamp field turned out to be.
    public enum Parsed: Equatable, Sendable {
        /// A real time.
        case time(P1Timestamp)
        /// A well-formed placeholder the meter sends for "no value" (`632525252525S`, `700101010000W`,
        /// `000101000001W`, `000101010000W`, any 2000-01-01 or 1970-01-01 stamp, or any out-of-range field).
        case sentinel
    }

    /// Parses `YYMMDDhhmmss[S|W]` from ASCII bytes.
    /// - Returns: `nil` when the bytes are not 12 digits plus an optional `S`/`W`; `.sentinel` for placeholders.
    @inlinable
    public static func parse(_ bytes: some Collection<UInt8>) -> Parsed? {
        let count = bytes.count
        guard count == 12 || count == 13 else { return nil }
        var digits = (0, 0, 0, 0, 0, 0)
        var index = bytes.startIndex
        for position in 0..<6 {
            let hi = bytes[index]
            index = bytes.index(after: index)
            let lo = bytes[index]
            index = bytes.index(after: index)
            guard hi >= 0x30, hi <= 0x39, lo >= 0x30, lo <= 0x39 else { return nil }
            let value = Int(hi &- 0x30) * 10 + Int(lo &- 0x30)
            switch position {
            case 0: digits.0 = value
            case 1: digits.1 = value
            case 2: digits.2 = value
            case 3: digits.3 = value
            case 4: digits.4 = value
            default: digits.5 = value
            }
        }
        var summer: Bool?
        if count == 13 {
            switch bytes[index] {
            case UInt8(ascii: "S"), UInt8(ascii: "s"): summer = true
            case UInt8(ascii: "W"), UInt8(ascii: "w"): summer = false
            default: return nil
            }
        }
        let (yy, month, day, hour, minute, second) = digits
        guard (1...12).contains(month), (1...daysIn(month: month, year: 2000 + yy)).contains(day), hour < 24,
            minute < 60, second < 60
        else { return .sentinel }
        // 700101… and 000101… are the defaults meters print when the value was never set.
        if (yy == 70 || yy == 0) && month == 1 && day == 1 { return .sentinel }
        let local = civilToSeconds(year: 2000 + yy, month: month, day: day, hour: hour, minute: minute, second: second)
        let utc: Int64
        if let summer {
            utc = local - (summer ? 7200 : 3600)
        } else {
            let asSummer = local - 7200
            utc = isEUSummerTime(utcSeconds: asSummer) ? asSummer : local - 3600
        }
        return .time(P1Timestamp(utcSeconds: utc, summerTime: summer))
    }

    /// Convenience for text.
    public static func parse(_ text: String) -> Parsed? { parse(Array(text.utf8)) }

    /// Whether EU summer time (CEST) is in force at `utcSeconds`: from the last Sunday of March 01:00 UTC until the
    /// last Sunday of October 01:00 UTC (Directive 2000/84/EC).
    public static func isEUSummerTime(utcSeconds: Int64) -> Bool {
        let year = civil(fromDays: floorDiv(utcSeconds, 86_400)).year
        let start = civilToSeconds(
            year: year, month: 3, day: lastSunday(year: year, month: 3), hour: 1, minute: 0, second: 0)
        let end = civilToSeconds(
            year: year, month: 10, day: lastSunday(year: year, month: 10), hour: 1, minute: 0, second: 0)
        return utcSeconds >= start && utcSeconds < end
    }

    /// ISO 8601 in UTC: `2025-03-30T01:59:59Z`.
    public var iso8601: String {
        let c = Self.civil(fromDays: Self.floorDiv(utcSeconds, 86_400))
        let secs = Int(utcSeconds - Self.floorDiv(utcSeconds, 86_400) * 86_400)
        return "\(Self.pad(c.year, 4))-\(Self.pad(c.month, 2))-\(Self.pad(c.day, 2))T"
            + "\(Self.pad(secs / 3600, 2)):\(Self.pad(secs / 60 % 60, 2)):\(Self.pad(secs % 60, 2))Z"
    }

    public var description: String { iso8601 }

    /// The meter's local form `YYMMDDhhmmssX` (CET/CEST from the EU rule), as a meter would print this instant.
    /// With `suffix: false` the DSMR 2.2/3 12-digit form.
    public func dsmrString(suffix: Bool = true) -> String {
        let summer = Self.isEUSummerTime(utcSeconds: utcSeconds)
        let local = utcSeconds + (summer ? 7200 : 3600)
        let c = Self.civil(fromDays: Self.floorDiv(local, 86_400))
        let secs = Int(local - Self.floorDiv(local, 86_400) * 86_400)
        var text =
            "\(Self.pad(c.year % 100, 2))\(Self.pad(c.month, 2))\(Self.pad(c.day, 2))"
            + "\(Self.pad(secs / 3600, 2))\(Self.pad(secs / 60 % 60, 2))\(Self.pad(secs % 60, 2))"
        if suffix { text += summer ? "S" : "W" }
        return text
    }

    /// Local (CET/CEST) calendar fields of this instant: year, month, day, hour, minute, second, weekday (0 = Sunday).
    public var localComponents: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, weekday: Int) {
        let summer = Self.isEUSummerTime(utcSeconds: utcSeconds)
        let local = utcSeconds + (summer ? 7200 : 3600)
        let days = Self.floorDiv(local, 86_400)
        let c = Self.civil(fromDays: days)
        let secs = Int(local - days * 86_400)
        let weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday (4)
        return (c.year, c.month, c.day, secs / 3600, secs / 60 % 60, secs % 60, weekday)
    }

    // MARK: calendar arithmetic (proleptic Gregorian, Howard Hinnant's days_from_civil)

    /// Seconds since the epoch of a civil date and time taken as UTC.
    public static func civilToSeconds(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int64 {
        daysFromCivil(year: year, month: month, day: day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    @usableFromInline
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The calendar date `unixSeconds` falls on in UTC (proleptic Gregorian).
    public static func civil(unixSeconds: Int64) -> (year: Int, month: Int, day: Int) {
        civil(fromDays: floorDiv(unixSeconds, 86_400))
    }

    /// The calendar date of a day count since 1970-01-01 (Howard Hinnant's civil-from-days).
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

    @usableFromInline
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func lastSunday(year: Int, month: Int) -> Int {
        let last = daysIn(month: month, year: year)
        let days = daysFromCivil(year: year, month: month, day: last)
        let weekday = Int(((days % 7) + 11) % 7)  // 0 = Sunday
        return last - weekday
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : (a - b + 1) / b }

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
