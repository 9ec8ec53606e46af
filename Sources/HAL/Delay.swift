#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A blocking wait, injected into drivers (embedded-hal's `DelayNs`).
///
/// Drivers wait through this protocol only, so tests pass a virtual delay that advances simulated time
/// instead of sleeping.
public protocol Delay {
    mutating func delay(_ duration: Duration)
}

/// Sleeps the calling thread. The corresponding C function is `nanosleep`; an interrupted sleep resumes
/// for the remaining time.
public struct ThreadDelay: Delay, Sendable {
    public init() {}
    public mutating func delay(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        guard seconds > 0 || attoseconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }
}

/// The board's real-time clock (`CLOCK_REALTIME`), read in one place. Code that dates something takes a
/// `@Sendable () -> Int64` parameter defaulting to these, so tests inject a fixed or virtual clock.
public enum SystemClock {
    /// Unix time in milliseconds.
    @Sendable public static func unixMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// Unix time in whole seconds.
    @Sendable public static func unixSeconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec)
    }
}
