import Firmware
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The HTTP API of `emeter run` (`api: {listen: …}` in the configuration), on Hummingbird 2's HTTP/1.1 server
/// (HummingbirdCore: its router module, with file serving, tracing and codable bodies we do not use, cost 1.9 MB of
/// the binary for a few fixed routes):
///
/// - `GET /api`, `GET /api/v1/data`, `GET /api/v1/telegram`: the HomeWizard P1 meter's local API v1
///   (``HomeWizardAPI``), so Home Assistant's HomeWizard integration, evcc and anything built on
///   python-homewizard-energy read emeter as a HomeWizard P1 meter;
/// - `GET /api/v1/live`: the same JSON as `/api/v1/data` as Server-Sent Events, one per telegram (ours);
/// - `PUT /api/v1/identify`: HomeWizard's "blink the LED": logged (emeter has no LED);
/// - `GET /metrics`: Prometheus text format (``APIMetrics``);
/// - `GET /`: the live page (``LivePage``), with `GET /api/v1/history` (today's 1-minute power) and
///   `GET /api/v1/status` (the last reading in our payload schema, the health report, the forwarders) for it.
///
/// Requests that change state (any method but GET and HEAD) need `Authorization: Bearer <api.token>` when a token
/// is configured; reading never does (HomeWizard's clients send no credentials).
final class APIServer: Sendable {
    /// Where it listens (the port the kernel chose when 0 was asked for).
    let address: String
    private let task: Task<Void, Never>
    /// Runs the server: a graceful shutdown closes the listener and lets requests in progress finish.
    private let group: ServiceGroup
    private let stopped = Mutex(false)
    /// Its live streams end at shutdown (they would hold the graceful shutdown for ``shutdownWait``).
    private let state: APIState
    private let logger: Logger

    /// How long ``shutdown()`` lets requests in progress finish.
    static let shutdownWait: Duration = .seconds(2)

    private init(address: String, task: Task<Void, Never>, group: ServiceGroup, state: APIState, logger: Logger) {
        self.address = address
        self.state = state
        self.task = task
        self.group = group
        self.logger = logger
    }

    /// Binds `host:port` and serves until ``shutdown()`` or ``stop()``.
    /// - Parameter device: The device id (HomeWizard's `serial`).
    /// - Throws: the bind error (address in use, not an address of this host).
    static func start(
        host: String, port: Int, token: String?, device: String, state: APIState, logger: Logger
    ) async throws -> APIServer {
        let routes = APIRoutes(token: token.map { Array($0.utf8) }, device: device, state: state, logger: logger)
        let (started, continuation) = AsyncStream<Result<String, any Error>>.makeStream(bufferingPolicy: .unbounded)
        let server = HummingbirdCore.Server(
            childChannelSetup: HTTP1Channel(responder: { request, writer, _ in
                try await routes.respond(to: request).write(to: writer)
            }),
            configuration: ServerConfiguration(address: .hostname(host, port: port), serverName: "emeter"),
            onServerRunning: { channel in
                continuation.yield(.success(P1ShareServer.text(channel.localAddress)))
            },
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [server], logger: logger))
        let task = Task {
            do {
                try await group.run()
            } catch {
                continuation.yield(.failure(error))
            }
            continuation.finish()
        }
        for await result in started {
            switch result {
            case .success(let address):
                logger.info("HTTP API: listening", metadata: ["address": "\(address)"])
                return APIServer(address: address, task: task, group: group, state: state, logger: logger)
            case .failure(let error):
                throw error
            }
        }
        throw CancellationError()
    }

    /// Stops listening and lets requests in progress finish, at most ``shutdownWait``.
    func shutdown() async {
        guard markStopped() else { return }
        state.closeLive()
        await group.triggerGracefulShutdown()
        let task = task
        await withTaskGroup(of: Void.self) { race in
            race.addTask { await task.value }
            race.addTask { try? await Task.sleep(for: Self.shutdownWait) }
            await race.next()
            task.cancel()  // cuts what is still running after the wait; the other child then returns
            race.cancelAll()
        }
        logger.info("HTTP API: stopped", metadata: ["address": "\(address)"])
    }

    /// Stops at once (a start that failed later on): requests in progress are cut.
    func stop() {
        guard markStopped() else { return }
        state.closeLive()
        task.cancel()
        logger.info("HTTP API: stopped", metadata: ["address": "\(address)"])
    }

    private func markStopped() -> Bool {
        stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
    }
}

/// One answer: status, content type and a body of bytes or of events.
struct APIResponse: Sendable {
    enum Body: Sendable {
        case bytes([UInt8])
        /// Server-Sent Event frames, written as they come until the stream ends or the client leaves.
        case events(AsyncStream<[UInt8]>)
    }

    var status: HTTPResponse.Status
    var contentType: String
    var body: Body
    var extraHeaders: HTTPFields = [:]

    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> APIResponse {
        APIResponse(status: status, contentType: "application/json", body: .bytes(bytes))
    }

    /// HomeWizard's error object: `{"error":{"id":…,"description":…}}`.
    static func error(_ status: HTTPResponse.Status, _ description: String) -> APIResponse {
        var json = JSONWriter(capacity: 128)
        json.objectStart()
        json.key("error")
        json.objectStart()
        json.field("id", status.code)
        json.field("description", description)
        json.objectEnd()
        json.objectEnd()
        return .json(json.bytes, status: status)
    }

    func write(to writer: consuming ResponseWriter) async throws {
        var fields = extraHeaders
        fields[.contentType] = contentType
        switch body {
        case .bytes(let bytes):
            fields[.contentLength] = "\(bytes.count)"
            var body = try await writer.writeHead(HTTPResponse(status: status, headerFields: fields))
            if !bytes.isEmpty { try await body.write(ByteBuffer(bytes: bytes)) }
            try await body.finish(nil)
        case .events(let events):
            fields[.cacheControl] = "no-cache"
            var body = try await writer.writeHead(HTTPResponse(status: status, headerFields: fields))
            for await event in events { try await body.write(ByteBuffer(bytes: event)) }
            try await body.finish(nil)
        }
    }
}

/// The routes: a fixed set, matched on method and path.
struct APIRoutes: Sendable {
    let token: [UInt8]?
    let device: String
    let state: APIState
    let logger: Logger

    func respond(to request: Request) async -> APIResponse {
        var path = request.uri.path
        if path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        let reading = request.method == .get || request.method == .head
        if !reading, let token, !Self.authorized(request.headers[.authorization], token: token) {
            var response = APIResponse.error(.unauthorized, "this request needs the api.token (Bearer)")
            response.extraHeaders[.wwwAuthenticate] = "Bearer"
            return response
        }
        switch (path, request.method) {
        case ("/api", .get):
            return .json(HomeWizardAPI.device(serial: device))
        case ("/api/v1/data", .get):
            let current = state.current
            guard let sample = current.sample else { return Self.noTelegramYet }
            return .json(HomeWizardAPI.data(sample, facts: current.facts, localTime: state.localTime))
        case ("/api/v1/telegram", .get):
            guard let telegram = state.current.telegram else { return Self.noTelegramYet }
            return APIResponse(status: .ok, contentType: "text/plain; charset=utf-8", body: .bytes(telegram))
        case ("/api/v1/live", .get):
            guard let events = state.subscribe() else {
                return .error(.serviceUnavailable, "too many live clients")
            }
            return APIResponse(status: .ok, contentType: "text/event-stream", body: .events(events))
        case ("/", .get):
            var response = APIResponse(
                status: .ok, contentType: "text/html; charset=utf-8", body: .bytes(LivePage.html))
            response.extraHeaders[.cacheControl] = "no-cache"
            return response
        case ("/api/v1/history", .get):
            return .json(LivePage.history(state))
        case ("/api/v1/status", .get):
            return .json(LivePage.status(state, device: device))
        case ("/api/v1/identify", .put):
            logger.notice("HTTP API: identify requested (emeter has no LED to blink)")
            return .json(Array(#"{"identify":"ok"}"#.utf8))
        case ("/metrics", .get):
            return APIResponse(
                status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8",
                body: .bytes(state.metrics.exposition()))
        case ("/api", _), ("/api/v1/data", _), ("/api/v1/telegram", _), ("/api/v1/live", _),
            ("/api/v1/identify", _), ("/metrics", _), ("/", _), ("/api/v1/history", _), ("/api/v1/status", _):
            return .error(.methodNotAllowed, "method not allowed")
        default:
            return .error(.notFound, "no such endpoint")
        }
    }

    private static let noTelegramYet = APIResponse.error(.serviceUnavailable, "no P1 telegram received yet")

    /// `Bearer <token>`, compared in a time that depends on the lengths only.
    static func authorized(_ header: String?, token: [UInt8]) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        return same(Array(header.utf8.dropFirst(7)), token)
    }

    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
