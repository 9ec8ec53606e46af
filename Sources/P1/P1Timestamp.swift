import CivilTime

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
        guard (1...12).contains(month), (1...CivilTime.daysIn(month: month, year: 2000 + yy)).contains(day), hour < 24,
            minute < 60, second < 60
        else { return .sentinel }
        // 700101… and 000101… are the defaults meters print when the value was never set.
        if (yy == 70 || yy == 0) && month == 1 && day == 1 { return .sentinel }
        let local = CivilTime.seconds(
            year: 2000 + yy, month: month, day: day, hour: hour, minute: minute, second: second)
        let utc: Int64
        if let summer {
            utc = local - (summer ? 7200 : 3600)
        } else {
            let asSummer = local - 7200
            utc = CivilTime.isEUSummerTime(utcSeconds: asSummer) ? asSummer : local - 3600
        }
        return .time(P1Timestamp(utcSeconds: utc, summerTime: summer))
    }

    /// Convenience for text.
    public static func parse(_ text: String) -> Parsed? { parse(Array(text.utf8)) }

    /// ISO 8601 in UTC: `2025-03-30T01:59:59Z`.
    public var iso8601: String { CivilTime.iso8601(unixSeconds: utcSeconds) }

    public var description: String { iso8601 }

    /// The meter's local form `YYMMDDhhmmssX` (CET/CEST from the EU rule), as a meter would print this instant.
    /// With `suffix: false` the DSMR 2.2/3 12-digit form.
    public func dsmrString(suffix: Bool = true) -> String {
        let summer = CivilTime.isEUSummerTime(utcSeconds: utcSeconds)
        let f = CivilTime.fields(unixSeconds: utcSeconds + (summer ? 7200 : 3600))
        var text = [f.year % 100, f.month, f.day, f.hour, f.minute, f.second].map { CivilTime.pad($0, 2) }.joined()
        if suffix { text += summer ? "S" : "W" }
        return text
    }

    /// Local (CET/CEST) calendar fields of this instant.
    public var localComponents: CivilTime.Fields { LocalTime.centralEurope.fields(at: utcSeconds) }
}
