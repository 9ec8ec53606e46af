import CivilTime
import HAL

extension UnixTime {
    /// The board's wall clock to the whole second: what the forwarders compare HTTP dates (`Retry-After`) and JWT
    /// expiries (`exp`) with, both of which are whole seconds.
    @Sendable public static func wallClockSeconds() -> UnixTime { UnixTime(seconds: SystemClock.unixSeconds()) }
}
