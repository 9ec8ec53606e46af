import Foundation

/// What the real-peer launchers (``MosquittoBroker``, ``InfluxDBServer``) share: finding the executable, choosing a
/// loopback port that nothing else in the test process can take, starting the server with a bounded wait until it
/// answers, and trying another port when the one chosen was taken in the meantime.
public enum ServerProcess {
    public struct LaunchError: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// The first executable named `name` in `candidates` or on `PATH`.
    public static func executable(_ name: String, candidates: [String]) -> String? {
        let fromPath = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map {
            "\($0)/\(name)"
        }
        return (candidates + fromPath).first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// How long a server may take to answer at start. Generous on purpose: it is paid only when a server never
    /// comes up, and the full suite runs hundreds of tests at once on two cores, so a waiting task can be off the
    /// CPU for many seconds (a CI run saw 27 s before the first test finished).
    public static let startLimit: Duration = .seconds(90)

    /// A loopback port for a server in another process, outside the kernel's ephemeral range.
    ///
    /// Binding port 0, reading the port and closing (the usual trick) races: until the server binds it, the port is
    /// free again, and the kernel hands ports of that same range to every `bind(port: 0)` of a parallel test (our
    /// in-process HTTP servers) and to the source port of every outgoing connection. A CI run saw influxd fail with
    /// "address already in use" while its `/ping` probe reached a test HTTP server on the same port. Ports below
    /// `ip_local_port_range` are never chosen by the kernel, so only another launcher could take one, and
    /// ``launch(attempts:_:)`` then tries another.
    public static func loopbackPort() throws -> Int {
        let range = ephemeralRange()
        let candidates = range.lowerBound > 12_000 ? 10_000..<range.lowerBound : (range.upperBound + 1)..<65_536
        for _ in 0..<64 {
            let port = Int.random(in: candidates)
            if canBind(port) { return port }
        }
        throw LaunchError("no free loopback port in \(candidates) after 64 tries")
    }

    /// Runs `start` with a new port up to `attempts` times while it fails because the port was taken
    /// (``PortTaken``); any other error is thrown at once.
    public static func launch<T>(
        attempts: Int = 5, isolation: isolated (any Actor)? = #isolation, _ start: (Int) async throws -> T
    ) async throws -> T {
        var last: (any Error)?
        for _ in 0..<attempts {
            let port = try loopbackPort()
            do {
                return try await start(port)
            } catch let error as PortTaken {
                last = error
            }
        }
        throw last ?? LaunchError("no attempt made")
    }

    /// Thrown by a `start` closure when the server exited at start because its port was in use.
    public struct PortTaken: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Whether a server log says its listening port was taken (mosquitto: "Address already in use", Go servers:
    /// "bind: address already in use").
    public static func saysPortInUse(_ log: String) -> Bool {
        log.lowercased().contains("address already in use")
    }

    /// The range ``loopbackPort()`` stays out of (for the launcher's own tests).
    public static var ephemeralRangeForTests: ClosedRange<Int> { ephemeralRange() }

    /// `/proc/sys/net/ipv4/ip_local_port_range`, or Linux's default 32768…60999.
    static func ephemeralRange() -> ClosedRange<Int> {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let bounds = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] <= bounds[1] else { return 32_768...60_999 }
        return bounds[0]...bounds[1]
    }

    /// Binds 127.0.0.1:`port` (no `SO_REUSEADDR`: a port in TIME_WAIT counts as taken) and closes at once.
    static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

/// A child process started with `posix_spawn` and reaped with `waitpid(WNOHANG)` polling.
///
/// Not Foundation's `Process`: the child must start with an empty signal mask (Swift concurrency and Dispatch
/// threads block SIGTERM, and mosquitto keeps an inherited blocked SIGTERM blocked, so it would ignore `stop()` —
/// observed: SIGTERM stayed pending), and exit detection must not depend on SIGCHLD delivery to some thread.
final class ChildProcess {
    let pid: pid_t
    private(set) var exitStatus: Int32?

    init(_ executable: String, _ arguments: [String], stderrPath: String?) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        // Close every other descriptor in the child: a socket of a parallel test inherited by a broker stays open
        // there (a listening port "already in use", a client close the broker never sees). glibc ≥ 2.34 has
        // posix_spawn_file_actions_addclosefrom_np, but Swift's Glibc module does not export it.
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            throw ServerProcess.LaunchError("glibc lacks posix_spawn_file_actions_addclosefrom_np")
        }
        _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, 3)

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw ServerProcess.LaunchError("posix_spawn \(executable) failed: errno \(result)")
        }
        self.pid = pid
    }

    /// Reaps the child if it exited (non-blocking).
    var isRunning: Bool {
        guard exitStatus == nil else { return false }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == pid {
            exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
            return false
        }
        if result < 0 {
            exitStatus = -1
            return false
        }
        return true
    }

    func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Polls every 20 ms; returns whether the child exited within `timeout`.
    func waitForExit(timeout: Duration, isolation: isolated (any Actor)? = #isolation) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while isRunning {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// SIGTERM, then a bounded wait (5 s) for the exit, then SIGKILL.
    func terminate(isolation: isolated (any Actor)? = #isolation) async {
        guard isRunning else { return }
        signal(SIGTERM)
        if !(await waitForExit(timeout: .seconds(5))) {
            signal(SIGKILL)
            _ = await waitForExit(timeout: .seconds(5))
        }
    }

    /// Polls `ready` until it holds; throws when the child exits first (``ServerProcess/PortTaken`` when `log()`
    /// says the port was in use) or after ``ServerProcess/startLimit`` (the child is then killed).
    func waitUntilReady(
        name: String, port: Int, every interval: Duration, log: () -> String,
        isolation: isolated (any Actor)? = #isolation, _ ready: () async -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + ServerProcess.startLimit
        while !(await ready()) {
            guard isRunning else {
                let text = log()
                if ServerProcess.saysPortInUse(text) {
                    throw ServerProcess.PortTaken("\(name): port \(port) was taken:\n\(text)")
                }
                throw ServerProcess.LaunchError("\(name) exited at start:\n\(text)")
            }
            guard ContinuousClock.now < deadline else {
                await terminate()
                throw ServerProcess.LaunchError(
                    "\(name) did not answer on port \(port) within \(ServerProcess.startLimit)")
            }
            try await Task.sleep(for: interval)
        }
    }

    deinit {
        // Safety net for a test that crashed out without stop(): never leave a server behind.
        if exitStatus == nil, waitpid(pid, nil, WNOHANG) == 0 {
            kill(pid, SIGKILL)
            _ = waitpid(pid, nil, 0)
        }
    }
}
