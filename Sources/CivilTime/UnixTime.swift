/// A wall-clock instant: whole milliseconds since 1970-01-01 00:00:00 UTC (Unix time, leap seconds not counted).
///
/// The one type for "when" across the firmware: samples and ticks are dated to the millisecond, records and meter
/// timestamps to the second, and both are this type, so a millisecond value can no longer be read as seconds. Raw
/// integers appear only where the outside world fixes them: payload fields, the ring's binary encoding, P1 timestamp
/// text, configuration.
///
/// Arithmetic never traps: an instant moved by a ``Duration`` past what `Int64` milliseconds hold stops at
/// ``distantPast`` / ``distantFuture`` (a hostile meter timestamp must not stop the loop).
public struct UnixTime: Sendable, Hashable, Comparable {
    /// Milliseconds since 1970-01-01 00:00:00 UTC; negative before it.
    public var milliseconds: Int64

    /// The instant `milliseconds` after 1970-01-01 00:00:00 UTC.
    @inlinable
    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// The instant `seconds` after 1970-01-01 00:00:00 UTC; a value beyond what `Int64` milliseconds hold is
    /// clamped to ``distantPast`` / ``distantFuture``.
    @inlinable
    public init(seconds: Int64) {
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        milliseconds = overflow ? (seconds < 0 ? .min : .max) : product
    }

    /// Whole seconds since 1970-01-01 00:00:00 UTC, rounded towards −∞ (−1 ms is second −1, not 0).
    @inlinable
    public var seconds: Int64 { CivilTime.floorDiv(milliseconds, 1000) }

    /// 1970-01-01 00:00:00 UTC.
    public static let epoch = UnixTime(milliseconds: 0)
    /// The earliest and latest instants the type holds (where saturating arithmetic stops).
    public static let distantPast = UnixTime(milliseconds: .min)
    public static let distantFuture = UnixTime(milliseconds: .max)

    @inlinable
    public static func < (a: UnixTime, b: UnixTime) -> Bool { a.milliseconds < b.milliseconds }

    /// `self` moved by `duration`, saturating at ``distantPast`` / ``distantFuture``; sub-millisecond parts of
    /// `duration` are rounded towards −∞.
    public func advanced(by duration: Duration) -> UnixTime {
        let sum = Int128(milliseconds) + Self.flooredMilliseconds(duration)
        return UnixTime(milliseconds: Int64(clamping: sum))
    }

    /// The span from `self` to `other` (negative when `other` is earlier). Exact: any two instants are less than
    /// 2⁶⁴ ms apart, which a ``Duration`` holds.
    public func duration(to other: UnixTime) -> Duration {
        Self.duration(milliseconds: Int128(other.milliseconds) - Int128(milliseconds))
    }

    @inlinable
    public static func + (time: UnixTime, duration: Duration) -> UnixTime { time.advanced(by: duration) }

    @inlinable
    public static func - (time: UnixTime, duration: Duration) -> UnixTime { time.advanced(by: .zero - duration) }

    @inlinable
    public static func += (time: inout UnixTime, duration: Duration) { time = time.advanced(by: duration) }

    /// The span from `b` to `a`: `a - b`.
    @inlinable
    public static func - (a: UnixTime, b: UnixTime) -> Duration { b.duration(to: a) }

    /// The latest instant at or before `self` that is a whole multiple of `period` since 1970-01-01 00:00:00 UTC
    /// (`period` of 60 s: the start of the minute); `self` when `period` is not positive. Saturates at
    /// ``distantPast``.
    public func floored(toMultipleOf period: Duration) -> UnixTime {
        let step = Self.flooredMilliseconds(period)
        guard step > 0 else { return self }
        var remainder = Int128(milliseconds) % step
        if remainder < 0 { remainder += step }
        return UnixTime(milliseconds: Int64(clamping: Int128(milliseconds) - remainder))
    }

    /// Whole milliseconds of `duration`, rounded towards −∞.
    static func flooredMilliseconds(_ duration: Duration) -> Int128 {
        // `components` splits exactly: total attoseconds = seconds × 10¹⁸ + attoseconds, whatever the signs.
        let (seconds, attoseconds) = duration.components
        let milliseconds = Int128(attoseconds)
        let quotient = milliseconds / 1_000_000_000_000_000
        let floored = milliseconds % 1_000_000_000_000_000 < 0 ? quotient - 1 : quotient
        return Int128(seconds) * 1000 + floored
    }

    /// A span of `milliseconds` (at most ±2⁶⁴ ms, so the seconds fit an `Int64`).
    static func duration(milliseconds: Int128) -> Duration {
        let seconds = milliseconds / 1000
        let rest = milliseconds - seconds * 1000
        return .seconds(Int64(seconds)) + .milliseconds(Int64(rest))
    }
}

extension UnixTime: CustomStringConvertible {
    /// ISO 8601 in UTC with milliseconds: `2025-03-30T01:59:59.250Z` (for logs and test failures; payloads write
    /// their integers themselves).
    public var description: String {
        let text = CivilTime.iso8601(unixSeconds: seconds)
        let millisecond = Int((milliseconds % 1000 + 1000) % 1000)
        return String(text.dropLast()) + "." + CivilTime.pad(millisecond, 3) + "Z"
    }
}

extension LocalTime {
    /// Offset from UTC at the instant `time`.
    public func offset(at time: UnixTime) -> Duration { .seconds(offset(at: time.seconds)) }

    /// Local calendar fields of the instant `time` (to the second).
    public func fields(at time: UnixTime) -> CivilTime.Fields { fields(at: time.seconds) }

    /// The instant at which the local month containing `time` began (1st, 00:00 local).
    public func monthStart(containing time: UnixTime) -> UnixTime {
        UnixTime(seconds: monthStart(containing: time.seconds))
    }
}
