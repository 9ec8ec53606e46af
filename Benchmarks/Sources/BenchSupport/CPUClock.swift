#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Clocks for the timed executables: CPU time of the calling thread and a monotonic wall clock, in nanoseconds.
public enum BenchClock {
    /// CPU time consumed by the calling thread (`CLOCK_THREAD_CPUTIME_ID`): excludes time the shared machine gave to
    /// other processes, so it is the better "driver CPU time" on a loaded host.
    public static func threadCPUNanoseconds() -> UInt64 {
        read(CLOCK_THREAD_CPUTIME_ID)
    }

    /// `CLOCK_MONOTONIC`.
    public static func wallNanoseconds() -> UInt64 {
        read(CLOCK_MONOTONIC)
    }

    private static func read(_ clock: clockid_t) -> UInt64 {
        var spec = timespec()
        // clock_gettime cannot fail for these clock ids on Linux or macOS.
        _ = clock_gettime(clock, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }
}

/// Median of `values` (0 when empty).
public func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Keeps `value` observable to the optimiser (not inlinable across the module boundary).
@inline(never)
public func keepAlive<T>(_ value: T) {
    withExtendedLifetime(value) {}
}
