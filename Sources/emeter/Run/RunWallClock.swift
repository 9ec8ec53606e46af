import FoundationEssentials
import HAL
import Synchronization

/// The board's wall clock as `emeter run` reads it (Unix milliseconds): the system clock.
///
/// **Test seam.** When the environment names a file in `EMETER_TEST_CLOCK_OFFSET_FILE`, the integer in it (seconds,
/// may be negative) is added to the system clock; the file is read again at most once a second, so a script can
/// step emeter's wall clock forward or back while it runs (`scripts/soak` does). It exists for tests only: a
/// deployed emeter has no reason to set it, and `emeter run` logs a warning when it is set.
enum RunWallClock {
    static let offsetVariable = "EMETER_TEST_CLOCK_OFFSET_FILE"

    /// The clock for `environment`.
    static func make(environment: [String: String]) -> @Sendable () -> Int64 {
        guard let path = environment[offsetVariable], !path.isEmpty else { return SystemClock.unixMilliseconds }
        let reader = OffsetFile(path: path)
        return { SystemClock.unixMilliseconds() + reader.offsetMilliseconds() }
    }

    /// Reads the offset file, at most once a second.
    private final class OffsetFile: Sendable {
        let path: String
        private let state = Mutex<(readAt: ContinuousClock.Instant?, offset: Int64)>((nil, 0))

        init(path: String) { self.path = path }

        func offsetMilliseconds() -> Int64 {
            let now = ContinuousClock.now
            if let cached = state.withLock({ state -> Int64? in
                guard let readAt = state.readAt, readAt.duration(to: now) < .seconds(1) else { return nil }
                return state.offset
            }) {
                return cached
            }
            var offset: Int64 = 0
            if let data = FileManager.default.contents(atPath: path),
                let seconds = Int64(String(decoding: data, as: UTF8.self).trimmed)
            {
                offset = seconds * 1000
            }
            state.withLock { $0 = (now, offset) }
            return offset
        }
    }
}
