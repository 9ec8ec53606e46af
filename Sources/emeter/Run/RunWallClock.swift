import CivilTime
import FoundationEssentials
import HAL
import Synchronization

/// The board's wall clock as `emeter run` reads it: the system clock.
///
/// **Test seam.** When the environment names a file in `EMETER_TEST_CLOCK_OFFSET_FILE`, the integer in it (seconds,
/// may be negative) is added to the system clock; the file is read again at most once a second, so a script can
/// step emeter's wall clock forward or back while it runs (`scripts/soak` does). It exists for tests only: a
/// deployed emeter has no reason to set it, and `emeter run` logs a warning when it is set.
enum RunWallClock {
    static let offsetVariable = "EMETER_TEST_CLOCK_OFFSET_FILE"

    /// The system clock, to the millisecond.
    @Sendable static func system() -> UnixTime { UnixTime(milliseconds: SystemClock.unixMilliseconds()) }

    /// The clock for `environment`.
    static func make(environment: [String: String]) -> @Sendable () -> UnixTime {
        guard let path = environment[offsetVariable], !path.isEmpty else { return system }
        let reader = OffsetFile(path: path)
        return { system() + reader.offset() }
    }

    /// Reads the offset file, at most once a second.
    private final class OffsetFile: Sendable {
        let path: String
        private let state = Mutex<(readAt: ContinuousClock.Instant?, offset: Duration)>((nil, .zero))

        init(path: String) { self.path = path }

        func offset() -> Duration {
            let now = ContinuousClock.now
            if let cached = state.withLock({ state -> Duration? in
                guard let readAt = state.readAt, readAt.duration(to: now) < .seconds(1) else { return nil }
                return state.offset
            }) {
                return cached
            }
            var offset = Duration.zero
            if let data = FileManager.default.contents(atPath: path),
                let seconds = Int64(String(decoding: data, as: UTF8.self).trimmed)
            {
                offset = .seconds(seconds)
            }
            state.withLock { $0 = (now, offset) }
            return offset
        }
    }
}
