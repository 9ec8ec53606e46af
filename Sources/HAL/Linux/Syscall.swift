#if canImport(CLinuxHAL)
    import CLinuxHAL
    import Glibc
    import SystemPackage

    /// Runs a system call, retrying it while it fails with EINTR; the one place the HAL handles EINTR.
    ///
    /// - Returns: The call's result when it is not -1, or the `Errno` captured straight after the failing call.
    @inline(__always)
    func retryingOnInterrupt<Value: FixedWidthInteger & SignedInteger>(_ call: () -> Value) -> Result<Value, Errno> {
        while true {
            let result = call()
            if result != -1 { return .success(result) }
            let error = Errno(rawValue: Glibc.errno)
            if error != .interrupted { return .failure(error) }
        }
    }

    /// Closes `fd`, ignoring EINTR (Linux closes the descriptor even then; retrying could close a reused one).
    @inline(__always)
    func closeDescriptor(_ fd: CInt) {
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    /// Opens `path`, mapping failure to a `HALError` of `subsystem`.
    func openDevice(_ path: String, flags: CInt, subsystem: String) throws(HALError) -> CInt {
        do {
            return try retryingOnInterrupt { Glibc.open(path, flags | O_CLOEXEC) }.get()
        } catch {
            throw HALError(subsystem: subsystem, device: path, operation: "open", errno: error)
        }
    }

    /// Milliseconds for `poll`, rounded up, clamped to `Int32`; negative durations are 0.
    func pollMilliseconds(_ timeout: Duration) -> CInt {
        let (seconds, attoseconds) = timeout.components
        if seconds < 0 { return 0 }
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return CInt(clamping: ms)
    }
#endif
