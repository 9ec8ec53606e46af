#if canImport(CLinuxHAL)
    import CLinuxHAL
#endif

/// Whether the board's wall clock has been set from a source that can be trusted.
///
/// The loop asks through this protocol only (``KernelClockSynchronization`` on the board), so tests pass a fake.
public protocol ClockSynchronization: Sendable {
    /// `true` when the wall clock is synchronised.
    func isSynchronized() -> Bool
}

/// The kernel's view, from `adjtimex(2)` (read only, `modes` = 0): synchronised when the clock state is not
/// `TIME_ERROR` and the status lacks `STA_UNSYNC`. The kernel sets `STA_UNSYNC` at boot; an NTP client (chrony,
/// ntpd, systemd-timesyncd, which also touches `/run/systemd/timesync/synchronized`) clears it once it has set the
/// clock, and the kernel sets it again when the client stops disciplining the clock for too long.
public struct KernelClockSynchronization: ClockSynchronization {
    public init() {}

    /// `false` also when `adjtimex` fails (it cannot, when reading only).
    public func isSynchronized() -> Bool {
        #if canImport(CLinuxHAL)
            CLinuxHAL_clock_synchronized() == 1
        #else
            false
        #endif
    }
}
