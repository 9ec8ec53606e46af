import P1

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

    /// Offset from UTC at the UTC instant `time` (Unix seconds). The summer-time rule is the one the P1 timestamps
    /// use (`P1Timestamp.isEUSummerTime`).
    public func offset(at time: Int64) -> Int64 {
        guard europeanSummerTime else { return standardOffset }
        return P1Timestamp.isEUSummerTime(utcSeconds: time) ? standardOffset + 3600 : standardOffset
    }

    /// The UTC instant (Unix seconds) at which the local month containing `time` began (1st, 00:00 local).
    public func monthStart(containing time: Int64) -> Int64 {
        let local = P1Timestamp.civil(unixSeconds: time + offset(at: time))
        let localMidnight = P1Timestamp.civilToSeconds(year: local.year, month: local.month, day: 1, hour: 0, minute: 0,
            second: 0)
        // The offset at the boundary itself (months never start inside a DST transition hour).
        let guess = localMidnight - standardOffset
        return localMidnight - offset(at: guess)
    }
}
