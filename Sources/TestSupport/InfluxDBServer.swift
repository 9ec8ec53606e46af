import Foundation
import NIOCore
import NIOPosix

/// A real InfluxDB 1.x server (`influxd`, Debian package `influxdb`) for integration tests, on random free loopback
/// ports outside the kernel's ephemeral range (HTTP API and the RPC bind address, ``ServerProcess/loopbackPort()``), with its own generated config and data directories in a temporary
/// directory (never `/etc/influxdb` or `/var/lib/influxdb`), usage reporting disabled.
///
/// Every wait is bounded: readiness is polled with `GET /ping` (100 ms steps, ``ServerProcess/startLimit`` at most: the full suite runs
/// many tests at once on two cores); every query has a 10 s limit; `stop()` sends SIGTERM and waits at most 5 s before
/// SIGKILL. Use `InfluxDBServer.with { … }` so the server stops on every path.
public actor InfluxDBServer {
    public struct ServerError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Path of the `influxd` executable, or nil (tests are then disabled with a message).
    public static let executablePath = ServerProcess.executable(
        "influxd", candidates: ["/usr/bin/influxd", "/usr/sbin/influxd", "/usr/local/bin/influxd"])
    public static let isAvailable = executablePath != nil
    public static let missingMessage = "influxd is not installed: apt-get install -y influxdb (InfluxDB 1.x)"

    /// The HTTP API port on 127.0.0.1.
    public nonisolated let port: Int
    public nonisolated let directory: URL
    /// `http://127.0.0.1:<port>`.
    public nonisolated var baseURL: String { "http://127.0.0.1:\(port)" }
    private var process: ChildProcess?

    /// Writes the config and starts the server.
    public init() async throws {
        guard let executable = Self.executablePath else { throw ServerError(description: Self.missingMessage) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "influxd-test-\(UUID().uuidString)")
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let logURL = directory.appendingPathComponent("influxd.log")
        (port, process) = try await ServerProcess.launch { port in
            // The RPC bind address is a second port; a clash there is retried like one on the HTTP port.
            let rpcPort = try ServerProcess.loopbackPort()
            try Self.config(directory: directory, port: port, rpcPort: rpcPort).write(
                to: directory.appendingPathComponent("influxdb.conf"), atomically: true, encoding: .utf8)
            _ = FileManager.default.createFile(atPath: logURL.path, contents: Data())
            let process = try ChildProcess(
                executable, ["-config", directory.appendingPathComponent("influxdb.conf").path],
                stderrPath: logURL.path)
            try await process.waitUntilReady(
                name: "influxd", port: port, every: .milliseconds(100),
                log: { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
            ) {
                // influxd answers `/ping` with 204 and its version header: nothing else on the port passes.
                let response = try? await Self.request("GET", "/ping", port: port, timeout: .seconds(1))
                return response?.status == 204 && response?.isInfluxDB == true
            }
            return (port, process)
        }
    }

    private static func config(directory: URL, port: Int, rpcPort: Int) -> String {
        """
        reporting-disabled = true
        bind-address = "127.0.0.1:\(rpcPort)"

        [meta]
          dir = "\(directory.path)/meta"

        [data]
          dir = "\(directory.path)/data"
          wal-dir = "\(directory.path)/wal"
          query-log-enabled = false

        [http]
          enabled = true
          bind-address = "127.0.0.1:\(port)"
          auth-enabled = false
          log-enabled = true

        [monitor]
          store-enabled = false

        [subscriber]
          enabled = false

        [continuous_queries]
          enabled = false

        """
    }

    /// Runs `body` with a fresh server and stops it afterwards, also when `body` throws.
    public static func with<T: Sendable>(_ body: (InfluxDBServer) async throws -> T) async throws -> T {
        let server = try await InfluxDBServer()
        do {
            let result = try await body(server)
            await server.stop()
            await server.removeDirectory()
            return result
        } catch {
            await server.stop()
            print("influxd log (port \(server.port)):\n\(await server.log)")
            await server.removeDirectory()
            throw error
        }
    }

    /// Runs InfluxQL `statement` (`POST /query`, `epoch=s` timestamps) and returns the JSON response body.
    /// - Parameters:
    ///   - statement: e.g. `CREATE DATABASE "emeter"` or `SELECT * FROM "emeter_interval"`.
    ///   - database: The `db` parameter, if any.
    /// - Throws: ``ServerError`` when the server does not answer 200 within 10 s.
    public func query(_ statement: String, database: String? = nil) async throws -> [UInt8] {
        var parameters = [("q", statement), ("epoch", "s")]
        if let database { parameters.insert(("db", database), at: 0) }
        let query = parameters.map { "\($0.0)=\(Self.percentEncode($0.1))" }.joined(separator: "&")
        let response = try await Self.request("POST", "/query?" + query, port: port, timeout: .seconds(10))
        guard response.status == 200 else {
            throw ServerError(
                description: "influxd answered \(response.status) to \(statement): "
                    + String(decoding: response.body, as: UTF8.self))
        }
        return response.body
    }

    /// SIGTERM, then wait (bounded) for the exit.
    public func stop() async {
        guard let process else { return }
        self.process = nil
        await process.terminate()
    }

    /// The server's log so far (stderr).
    public var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("influxd.log"), encoding: .utf8)) ?? ""
    }

    private func removeDirectory() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Unreserved characters (RFC 3986) kept, everything else percent-encoded (UTF-8).
    static func percentEncode(_ text: String) -> String {
        let unreserved = CharacterSet(
            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// One HTTP/1.0 exchange (the server closes the connection after the response, which delimits the body):
    /// status and body. Bounded by `timeout`.
    static func request(_ method: String, _ target: String, port: Int, timeout: Duration) async throws -> (
        status: Int, body: [UInt8], isInfluxDB: Bool
    ) {
        try await withThrowingTaskGroup(of: (status: Int, body: [UInt8], isInfluxDB: Bool).self) { group in
            group.addTask {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connectTimeout(.seconds(2))
                    .connect(host: "127.0.0.1", port: port) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                        }
                    }
                return try await channel.executeThenClose { inbound, outbound in
                    let head =
                        "\(method) \(target) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\nContent-Length: 0\r\n"
                        + "Connection: close\r\n\r\n"
                    try await outbound.write(ByteBuffer(string: head))
                    var bytes: [UInt8] = []
                    for try await chunk in inbound where bytes.count < 16 * 1024 * 1024 {
                        bytes += chunk.readableBytesView
                    }
                    return try parse(bytes)
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw ServerError(description: "no answer to \(method) \(target) within \(timeout)")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else {
                throw ServerError(description: "no answer to \(method) \(target)")
            }
            return first
        }
    }

    private static func parse(_ bytes: [UInt8]) throws -> (status: Int, body: [UInt8], isInfluxDB: Bool) {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = bytes.firstRange(of: separator) else {
            throw ServerError(description: "incomplete HTTP response")
        }
        let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
        let statusLine = head.split(separator: "\r\n").first ?? ""
        let words = statusLine.split(separator: " ")
        guard words.count >= 2, let status = Int(words[1]) else {
            throw ServerError(description: "bad status line `\(statusLine)`")
        }
        let isInfluxDB = head.lowercased().contains("\r\nx-influxdb-version:")
        return (status, Array(bytes[end.upperBound...]), isInfluxDB)
    }
}
