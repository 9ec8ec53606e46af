import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The systemd service-manager protocol (`sd_notify(3)`) without libsystemd: one datagram per state change to the
/// `AF_UNIX` socket named by `$NOTIFY_SOCKET` (a path, or an abstract name when it starts with `@`).
///
/// With `Type=notify` and `WatchdogSec=` in the unit, systemd sets `$WATCHDOG_USEC` (and `$WATCHDOG_PID`); emeter
/// then sends `WATCHDOG=1` from the measurement loop, at most every half watchdog interval, so a loop that stalls
/// (a blocked bus, a deadlock) stops the pings and systemd restarts the service. Outside systemd there is no
/// socket and ``init(environment:)`` returns `nil`.
final class SystemdNotifier: Sendable {
    let socketPath: String
    /// Half the watchdog interval systemd asked for; `nil` when it asked for none.
    let pingInterval: Duration?
    private let descriptor: Int32
    private let lastPing = Mutex<ContinuousClock.Instant?>(nil)

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from `environment` (default: this process's).
    init?(environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }) {
        guard let path = environment("NOTIFY_SOCKET"), path.hasPrefix("/") || path.hasPrefix("@"),
            path.utf8.count < 108
        else { return nil }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
        socketPath = path
        let forUs = environment("WATCHDOG_PID").map { Int32($0) == getpid() } ?? true
        if forUs, let text = environment("WATCHDOG_USEC"), let microseconds = Int64(text), microseconds > 0 {
            pingInterval = .microseconds(microseconds) / 2
        } else {
            pingInterval = nil
        }
    }

    deinit { close(descriptor) }

    /// Start-up is complete: the loop runs (`READY=1`).
    func ready() { send("READY=1\nSTATUS=measuring") }

    /// Shutdown has begun (`STOPPING=1`).
    func stopping() { send("STOPPING=1") }

    /// `WATCHDOG=1` when half the watchdog interval has passed since the last one; called by the loop every tick.
    func loopAlive(now: ContinuousClock.Instant = .now) {
        guard let pingInterval else { return }
        let due = lastPing.withLock { last in
            guard last.map({ now - $0 >= pingInterval }) ?? true else { return false }
            last = now
            return true
        }
        if due { send("WATCHDOG=1") }
    }

    /// Sends one datagram; a failure is ignored (systemd then times out and says so in its log).
    func send(_ message: String) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var path = Array(socketPath.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }  // abstract namespace
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.enumerated() where index < raw.count { raw[index] = byte }
        }
        let length = socklen_t((MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? 2) + path.count)
        var bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                sendto(descriptor, &bytes, bytes.count, Int32(MSG_NOSIGNAL), socketAddress, length)
            }
        }
    }
}
