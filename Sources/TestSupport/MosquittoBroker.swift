import Foundation
import NIOCore
import NIOPosix

/// A real mosquitto 2.x broker for integration tests (a test utility shipped in the Simulator library, like
/// NIOTestUtils), on a random free loopback port, with its own generated
/// config in a temporary directory (never `/etc/mosquitto`).
///
/// Every wait is bounded: readiness is polled by TCP connect (50 ms steps, 5 s at most); `stop()` sends SIGTERM and
/// waits at most 5 s before SIGKILL. Use `MosquittoBroker.with { … }` so the broker stops on every path.
public actor MosquittoBroker {
    public struct BrokerError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Path of the `mosquitto` executable, or nil (tests are then disabled with a message).
    public static let executablePath: String? = {
        let candidates = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"]
        let fromPath = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map {
            "\($0)/mosquitto"
        }
        return (candidates + fromPath).first { FileManager.default.isExecutableFile(atPath: $0) }
    }()
    public static let isAvailable = executablePath != nil
    public static let missingMessage = "mosquitto is not installed: apt-get install -y mosquitto mosquitto-clients"

    public nonisolated let port: Int
    public nonisolated let directory: URL
    /// PEM files of the TLS setup (nil without `tls`); `otherCAFile` is a CA that signed nothing here.
    public private(set) var tlsFiles: TLSFiles?

    public struct TLSFiles: Sendable {
        public var caFile, serverCertificate, serverKey, clientCertificate, clientKey, otherCAFile: String
    }
    private var process: ChildProcess?

    /// Writes the config and password file and starts the broker.
    /// - Parameters:
    ///   - users: If set, anonymous access is off and these user → password pairs are accepted
    ///     (password file made with `mosquitto_passwd -b`).
    ///   - persistence: Keep sessions, queued QoS 1 messages and retained messages across `restart()`.
    ///   - tls: Serve MQTT over TLS with a throwaway CA (openssl, EC P-256), server certificate for
    ///     `DNS:localhost,IP:127.0.0.1`, and require a client certificate signed by the same CA (`tlsFiles`).
    public init(users: [String: String]? = nil, persistence: Bool = false, tls: Bool = false) async throws {
        guard let executable = Self.executablePath else { throw BrokerError(description: Self.missingMessage) }
        port = try await Self.freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mosquitto-test-\(port)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // mosquitto started as root drops to user `mosquitto`: it must be able to write the persistence file.
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path)

        var config = [
            "listener \(port) 127.0.0.1",
            "log_dest stderr",
            "log_type all",
            "persistence \(persistence)",
        ]
        if tls {
            let files = try await Self.makeCertificates(in: directory)
            tlsFiles = files
            config += [
                "cafile \(files.caFile)", "certfile \(files.serverCertificate)", "keyfile \(files.serverKey)",
                "require_certificate true",
            ]
        }
        if persistence {
            config.append("persistence_location \(directory.path)/")
            config.append("autosave_interval 0")
        }
        if let users {
            let passwordFile = directory.appendingPathComponent("passwords").path
            _ = FileManager.default.createFile(atPath: passwordFile, contents: Data())
            for (user, password) in users.sorted(by: { $0.key < $1.key }) {
                try await Self.runTool("mosquitto_passwd", ["-b", passwordFile, user, password])
            }
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: passwordFile)
            config.append("allow_anonymous false")
            config.append("password_file \(passwordFile)")
        } else {
            config.append("allow_anonymous true")
        }
        try (config.joined(separator: "\n") + "\n").write(
            to: directory.appendingPathComponent("mosquitto.conf"), atomically: true, encoding: .utf8)
        _ = executable
        try await start()
    }

    /// Runs `body` with a fresh broker and stops it afterwards, also when `body` throws.
    public static func with<T: Sendable>(
        users: [String: String]? = nil, persistence: Bool = false, tls: Bool = false,
        _ body: (MosquittoBroker) async throws -> T
    ) async throws -> T {
        let broker = try await MosquittoBroker(users: users, persistence: persistence, tls: tls)
        do {
            let result = try await body(broker)
            await broker.stop()
            await broker.removeDirectory()
            return result
        } catch {
            await broker.stop()
            print("mosquitto log (port \(broker.port)):\n\(await broker.log)")
            await broker.removeDirectory()
            throw error
        }
    }

    /// Starts mosquitto (again) on `port` and waits (up to 20 s: the full suite runs many tests at once on two
    /// cores) until it accepts TCP connections.
    public func start() async throws {
        guard process == nil, let executable = Self.executablePath else { return }
        let logURL = directory.appendingPathComponent("broker.log")
        if !FileManager.default.fileExists(atPath: logURL.path) {
            _ = FileManager.default.createFile(atPath: logURL.path, contents: Data())
        }
        let process = try ChildProcess(
            executable, ["-c", directory.appendingPathComponent("mosquitto.conf").path], stderrPath: logURL.path)
        self.process = process

        let deadline = ContinuousClock.now + .seconds(20)
        while !(await Self.acceptsConnections(port: port)) {
            guard process.isRunning else {
                throw BrokerError(description: "mosquitto exited at start:\n\(self.log)")
            }
            guard ContinuousClock.now < deadline else {
                throw BrokerError(description: "mosquitto did not accept connections on port \(port) within 20 s")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// SIGTERM, then wait (bounded) for the exit; mosquitto saves its persistence file while terminating.
    public func stop() async {
        guard let process else { return }
        self.process = nil
        guard process.isRunning else { return }
        process.signal(SIGTERM)
        if !(await process.waitForExit(timeout: .seconds(5))) {
            process.signal(SIGKILL)
            _ = await process.waitForExit(timeout: .seconds(5))
        }
    }

    /// Freezes the broker (`SIGSTOP`): its socket stays open but nothing is answered, like a hung broker or a
    /// half-open link.
    public func freeze() { process?.signal(SIGSTOP) }

    /// Lets a frozen broker run again (`SIGCONT`).
    public func thaw() { process?.signal(SIGCONT) }

    /// Stops and starts the broker on the same port.
    public func restart() async throws {
        await stop()
        try await start()
    }

    /// The broker's log so far (stderr, unbuffered).
    public var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("broker.log"), encoding: .utf8)) ?? ""
    }

    private func removeDirectory() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Binds 127.0.0.1:0, reads the port the kernel chose, closes.
    private static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port
        try await channel.close()
        guard let port else { throw BrokerError(description: "could not read the port of a bound socket") }
        return port
    }

    private static func acceptsConnections(port: Int) async -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(200))
                .connect(host: "127.0.0.1", port: port).get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }

    /// Throwaway PKI with openssl: CA, server certificate (SAN localhost/127.0.0.1), client certificate, other CA.
    private static func makeCertificates(in directory: URL) async throws -> TLSFiles {
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for (name, subject) in [("ca", "/CN=emeter-test-ca"), ("other-ca", "/CN=emeter-other-ca")] {
            try await runTool(
                "openssl",
                ["req", "-x509"] + ec + [
                    "-keyout", path("\(name).key"), "-out", path("\(name).crt"), "-days", "2",
                    "-subj", subject,
                ])
        }
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(
            toFile: path("san.cnf"), atomically: true, encoding: .utf8)
        for (name, subject) in [("server", "/CN=localhost"), ("client", "/CN=emeter-test-client")] {
            try await runTool(
                "openssl",
                ["req"] + ec + ["-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject])
            try await runTool(
                "openssl",
                [
                    "x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"),
                    "-CAcreateserial", "-out", path("\(name).crt"), "-days", "2",
                ]
                    + (name == "server" ? ["-extfile", path("san.cnf")] : []))
        }
        for name in ["ca.crt", "other-ca.crt", "server.crt", "server.key", "client.crt", "client.key"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path(name))
        }
        return TLSFiles(
            caFile: path("ca.crt"), serverCertificate: path("server.crt"), serverKey: path("server.key"),
            clientCertificate: path("client.crt"), clientKey: path("client.key"), otherCAFile: path("other-ca.crt"))
    }

    private static func runTool(_ name: String, _ arguments: [String]) async throws {
        let process = try ChildProcess("/usr/bin/env", [name] + arguments, stderrPath: nil)
        guard await process.waitForExit(timeout: .seconds(10)) else {
            process.signal(SIGKILL)
            throw BrokerError(description: "\(name) did not finish within 10 s")
        }
        guard process.exitStatus == 0 else {
            throw BrokerError(
                description: "\(name) \(arguments.joined(separator: " ")) exited with \(process.exitStatus ?? -1)")
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
            throw MosquittoBroker.BrokerError(description: "glibc lacks posix_spawn_file_actions_addclosefrom_np")
        }
        _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, 3)

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else {
            throw MosquittoBroker.BrokerError(description: "posix_spawn \(executable) failed: errno \(result)")
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

    deinit {
        // Safety net for a test that crashed out without stop(): never leave a broker behind.
        if exitStatus == nil, waitpid(pid, nil, WNOHANG) == 0 {
            kill(pid, SIGKILL)
            _ = waitpid(pid, nil, 0)
        }
    }
}
