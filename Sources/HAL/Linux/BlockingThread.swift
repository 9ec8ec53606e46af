import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

#if os(Linux)
    import CLinuxHAL
#endif

/// A detached POSIX thread for blocking work (a tty read loop, a simulated meter's writer): such calls must not
/// hold one of Swift concurrency's few cooperative threads. The corresponding C functions are `pthread_create`,
/// `pthread_detach` and `pthread_setname_np`.
public enum BlockingThread {
    /// Runs `body` on a new detached thread named `name` (the kernel keeps its first 15 bytes).
    /// - Throws: `HALError` (subsystem `thread`) when the system cannot start another thread (`EAGAIN`).
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(HALError) {
        let context = Unmanaged.passRetained(Body(name: name, body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(
            &thread, nil,
            { context in
                guard let context else { return nil }
                let body = Unmanaged<Body>.fromOpaque(context).takeRetainedValue()
                #if os(Linux)
                    _ = CLinuxHAL_set_thread_name(body.name)
                    // The process's priority, not the starting thread's (best effort: see setCurrentThreadPriority).
                    _ = CLinuxHAL_set_thread_nice_from_process(0)
                #endif
                body.run()
                return nil
            }, context)
        guard status == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw HALError(
                subsystem: "thread", device: name, operation: "pthread_create", errno: Errno(rawValue: status))
        }
        pthread_detach(thread)
    }

    /// Sets the calling thread's nice value to the process's minus `steps` (`setpriority(2)` on the thread id; on
    /// Linux the nice value is per thread). The process's is its main thread's, which `nice` and systemd's `Nice=`
    /// set; libdispatch resets its worker threads' to their QoS (nice 0), so a thread started from async code would
    /// otherwise run at 0 whatever the unit says. Raising a thread above 0 needs root, `CAP_SYS_NICE`, or room under
    /// `RLIMIT_NICE` (systemd: `LimitNICE=`). ``start(name:_:)`` does this with 0 steps for every thread it starts.
    /// - Returns: The thread's new nice value.
    /// - Throws: `HALError` (subsystem `thread`, operation `setpriority`), e.g. `EACCES` when not allowed.
    @discardableResult
    public static func setCurrentThreadPriority(aboveProcessBy steps: Int32, name: String) throws(HALError) -> Int32 {
        #if os(Linux)
            let result = CLinuxHAL_set_thread_nice_from_process(steps)
            if result > -1000 { return result }
            throw HALError(
                subsystem: "thread", device: name, operation: "setpriority", errno: Errno(rawValue: -1000 - result))
        #else
            throw HALError(subsystem: "thread", device: name, operation: "setpriority", errno: .notSupported)
        #endif
    }

    /// Sleeps the calling thread for `duration` (`nanosleep`, resumed after a signal).
    public static func sleep(_ duration: Duration) {
        var delay = ThreadDelay()
        delay.delay(duration)
    }

    private final class Body: Sendable {
        let name: String
        let run: @Sendable () -> Void
        init(name: String, _ run: @escaping @Sendable () -> Void) {
            self.name = name
            self.run = run
        }
    }
}
