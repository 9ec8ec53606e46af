import Foundation
import NIOCore
import NIOPosix

/// A real mosquitto 2.x broker for integration tests (a test utility shipped in the Simulator library, like
/// NIOTestUtils), on a random loopback port outside the kernel's ephemeral range (``ServerProcess/loopbackPort()``), with its own generated
/// config in a temporary directory (never `/etc/mosquitto`).
///
/// Every wait is bounded: readiness is polled by TCP connect (50 ms steps, ``ServerProcess/startLimit`` at most); `stop()` sends SIGTERM and
/// waits at most 5 s before SIGKILL. Use `MosquittoBroker.with { … }` so the broker stops on every path.
public actor MosquittoBroker {
    public struct BrokerError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Path of the `mosquitto` executable, or nil (tests are then disabled with a message).
    public static let executablePath = ServerProcess.executable(
        "mosquitto", candidates: ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"])
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
        guard Self.executablePath != nil else { throw BrokerError(description: Self.missingMessage) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mosquitto-test-\(UUID().uuidString)")
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // mosquitto started as root drops to user `mosquitto`: it must be able to write the persistence file.
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path)

        var settings = [
            "log_dest stderr",
            "log_type all",
            "persistence \(persistence)",
        ]
        var files: TLSFiles?
        if tls {
            let made = try await Self.makeCertificates(in: directory)
            files = made
            settings += [
                "cafile \(made.caFile)", "certfile \(made.serverCertificate)", "keyfile \(made.serverKey)",
                "require_certificate true",
            ]
        }
        if persistence {
            settings.append("persistence_location \(directory.path)/")
            settings.append("autosave_interval 0")
        }
        if let users {
            let passwordFile = directory.appendingPathComponent("passwords").path
            _ = FileManager.default.createFile(atPath: passwordFile, contents: Data())
            for (user, password) in users.sorted(by: { $0.key < $1.key }) {
                try await Self.runTool("mosquitto_passwd", ["-b", passwordFile, user, password])
            }
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: passwordFile)
            settings.append("allow_anonymous false")
            settings.append("password_file \(passwordFile)")
        } else {
            settings.append("allow_anonymous true")
        }
        let (port, process) = try await ServerProcess.launch { port in
            let config = ["listener \(port) 127.0.0.1"] + settings
            try (config.joined(separator: "\n") + "\n").write(
                to: directory.appendingPathComponent("mosquitto.conf"), atomically: true, encoding: .utf8)
            return (port, try await Self.launch(directory: directory, port: port))
        }
        self.port = port
        self.tlsFiles = files
        self.process = process
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

    /// Starts mosquitto again on `port` (after ``stop()``) and waits until it accepts TCP connections.
    public func start() async throws {
        guard process == nil else { return }
        process = try await Self.launch(directory: directory, port: port)
    }

    /// Starts mosquitto with the config in `directory` and waits (bounded: ``ServerProcess/startLimit``) until it
    /// accepts TCP connections on `port`.
    private static func launch(directory: URL, port: Int) async throws -> ChildProcess {
        guard let executable = executablePath else { throw BrokerError(description: missingMessage) }
        let logURL = directory.appendingPathComponent("broker.log")
        if !FileManager.default.fileExists(atPath: logURL.path) {
            _ = FileManager.default.createFile(atPath: logURL.path, contents: Data())
        }
        let process = try ChildProcess(
            executable, ["-c", directory.appendingPathComponent("mosquitto.conf").path], stderrPath: logURL.path)
        try await process.waitUntilReady(
            name: "mosquitto", port: port, every: .milliseconds(50),
            log: { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
        ) { await acceptsConnections(port: port) }
        return process
    }

    /// SIGTERM, then wait (bounded) for the exit; mosquitto saves its persistence file while terminating.
    public func stop() async {
        guard let process else { return }
        self.process = nil
        await process.terminate()
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
