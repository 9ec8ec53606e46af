import Firmware
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The HTTP API of `emeter run` (`api: {listen: …}` in the configuration), on Hummingbird:
///
/// - `GET /api`, `GET /api/v1/data`, `GET /api/v1/telegram`: the HomeWizard P1 meter's local API v1
///   (``HomeWizardAPI``), so Home Assistant's HomeWizard integration, evcc and anything built on
///   python-homewizard-energy read emeter as a HomeWizard P1 meter;
/// - `GET /api/v1/live`: the same JSON as `/api/v1/data` as Server-Sent Events, one per telegram (ours);
/// - `PUT /api/v1/identify`: HomeWizard's "blink the LED": logged (emeter has no LED);
/// - `GET /metrics`: Prometheus text format (``APIMetrics``).
///
/// Requests that change state (any method but GET and HEAD) need `Authorization: Bearer <api.token>` when a token
/// is configured; reading never does (HomeWizard's clients send no credentials).
final class APIServer: Sendable {
    /// Where it listens (the port the kernel chose when 0 was asked for).
    let address: String
    private let task: Task<Void, Never>
    /// Runs the application: a graceful shutdown closes the listener and lets requests in progress finish.
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

    /// Binds `host:port` and serves until ``stop()``.
    /// - Throws: the bind error (address in use, not an address of this host).
    /// - Parameter device: The device id (HomeWizard's `serial`).
    static func start(
        host: String, port: Int, token: String?, device: String, state: APIState, logger: Logger
    ) async throws -> APIServer {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: TokenMiddleware(token: token))
        addRoutes(to: router, device: device, state: state, logger: logger)
        let (started, continuation) = AsyncStream<Result<String, any Error>>.makeStream(bufferingPolicy: .unbounded)
        let application = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "emeter"),
            onServerRunning: { channel in
                continuation.yield(.success(P1ShareServer.text(channel.localAddress)))
            },
            logger: logger)
        let group = ServiceGroup(configuration: .init(services: [application], logger: logger))
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

    private static func addRoutes(
        to router: Router<BasicRequestContext>, device: String, state: APIState, logger: Logger
    ) {
        router.get("api") { _, _ in
            json(HomeWizardAPI.device(serial: device))
        }
        router.get("api/v1/data") { _, _ in
            let current = state.current
            guard let sample = current.sample else { return noTelegramYet() }
            return json(HomeWizardAPI.data(sample, facts: current.facts, localTime: state.localTime))
        }
        router.get("api/v1/telegram") { _, _ in
            guard let telegram = state.current.telegram else { return noTelegramYet() }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: telegram)))
        }
        router.get("api/v1/live") { _, _ in
            guard let events = state.subscribe() else {
                return error(.serviceUnavailable, id: 503, "too many live clients")
            }
            return Response(
                status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    for await event in events { try await writer.write(ByteBuffer(bytes: event)) }
                    try await writer.finish(nil)
                })
        }
        router.put("api/v1/identify") { _, _ in
            logger.notice("HTTP API: identify requested (emeter has no LED to blink)")
            return json(Array(#"{"identify":"ok"}"#.utf8))
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: state.metrics.exposition())))
        }
    }

    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// HomeWizard's error object: `{"error":{"id":…,"description":…}}`.
    static func error(_ status: HTTPResponse.Status, id: Int, _ description: String) -> Response {
        var json = JSONWriter(capacity: 128)
        json.objectStart()
        json.key("error")
        json.objectStart()
        json.field("id", id)
        json.field("description", description)
        json.objectEnd()
        json.objectEnd()
        return Self.json(json.bytes, status: status)
    }

    private static func noTelegramYet() -> Response {
        error(.serviceUnavailable, id: 503, "no P1 telegram received yet")
    }
}

/// Requests that change state (not GET or HEAD) need `Authorization: Bearer <token>` when a token is configured.
struct TokenMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: [UInt8]?

    init(token: String?) { self.token = token.map { Array($0.utf8) } }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let token, request.method != .get, request.method != .head else {
            return try await next(request, context)
        }
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "), Self.same(Array(header.utf8.dropFirst(7)), token) else {
            var response = APIServer.error(.unauthorized, id: 401, "this request needs the api.token (Bearer)")
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        return try await next(request, context)
    }

    /// Compares in a time that depends on the lengths only, not on where the bytes differ.
    static func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
