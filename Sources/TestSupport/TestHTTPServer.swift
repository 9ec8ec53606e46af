import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One request as the test server received it.
public struct HTTPRecordedRequest: Sendable {
    public var method: String
    /// Path and query as sent (`/api/readings/?x=1`).
    public var uri: String
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public var path: String { String(uri.split(separator: "?", omittingEmptySubsequences: false)[0]) }
    public var text: String { String(decoding: body, as: UTF8.self) }
    public func header(_ name: String) -> String? { headers.first(name: name) }
}

/// What the server answers to one request.
public struct HTTPScriptedResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// Never answer (the client's timeout must fire).
    public var hang = false

    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func status(_ status: Int, _ body: String = "", headers: [(String, String)] = [])
        -> HTTPScriptedResponse
    {
        HTTPScriptedResponse(status: status, headers: HTTPHeaders(headers), body: Array(body.utf8))
    }

    public static func json(_ status: Int, _ json: String) -> HTTPScriptedResponse {
        HTTPScriptedResponse(status: status, headers: ["Content-Type": "application/json"], body: Array(json.utf8))
    }

    public static var hang: HTTPScriptedResponse {
        var response = HTTPScriptedResponse(status: 200)
        response.hang = true
        return response
    }
}

/// A real HTTP/1.1 server on 127.0.0.1 (port chosen by the kernel) for forwarder tests: answers each request with
/// the next scripted response for its path (or the default), and records every request.
public final class TestHTTPServer: Sendable {
    private struct State: Sendable {
        var scripts: [String: [HTTPScriptedResponse]] = [:]
        var fallback = HTTPScriptedResponse.status(404, "no script")
        var requests: [HTTPRecordedRequest] = []
        var children: [any Channel] = []
    }

    private let state = Mutex(State())
    private let channel: Mutex<(any Channel)?> = Mutex(nil)
    private let portNumber = Mutex(0)

    public var port: Int { portNumber.withLock { $0 } }
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private init() {}

    /// Starts a server bound to 127.0.0.1, port 0.
    public static func start() async throws -> TestHTTPServer {
        let server = TestHTTPServer()
        let bound = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                server.state.withLock { $0.children.append(child) }
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline()
                    try child.pipeline.syncOperations.addHandler(TestHTTPRequestHandler(server: server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        server.channel.withLock { $0 = bound }
        server.portNumber.withLock { $0 = bound.localAddress?.port ?? 0 }
        return server
    }

    /// Queues responses for requests to `path` (the URI without query), used in order.
    public func enqueue(_ path: String, _ responses: HTTPScriptedResponse...) {
        state.withLock { $0.scripts[path, default: []] += responses }
    }

    /// The answer when no script is left for a path (default: 404).
    public func setFallback(_ response: HTTPScriptedResponse) {
        state.withLock { $0.fallback = response }
    }

    /// Every request received so far, in arrival order.
    public var requests: [HTTPRecordedRequest] { state.withLock { $0.requests } }

    public func requests(to path: String) -> [HTTPRecordedRequest] { requests.filter { $0.path == path } }

    /// Closes the listening socket and every accepted connection.
    public func stop() async {
        let children = state.withLock { $0.children }
        for child in children { try? await child.close() }
        let listener = channel.withLock { $0 }
        try? await listener?.close()
    }

    fileprivate func respond(to request: HTTPRecordedRequest) -> HTTPScriptedResponse {
        state.withLock { state in
            state.requests.append(request)
            if var queue = state.scripts[request.path], !queue.isEmpty {
                let next = queue.removeFirst()
                state.scripts[request.path] = queue
                return next
            }
            return state.fallback
        }
    }
}

/// Collects one request (head, body, end) and writes the scripted response.
private final class TestHTTPRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: TestHTTPServer
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(server: TestHTTPServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = []
        case .body(var buffer):
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let head else { return }
            let request = HTTPRecordedRequest(
                method: head.method.rawValue, uri: head.uri, headers: head.headers, body: body)
            let response = server.respond(to: request)
            guard !response.hang else { return }
            var headers = response.headers
            if response.status != 204 && response.status != 304 {
                headers.replaceOrAdd(name: "Content-Length", value: "\(response.body.count)")
            }
            let responseHead = HTTPResponseHead(
                version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
            context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
            if !response.body.isEmpty {
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
