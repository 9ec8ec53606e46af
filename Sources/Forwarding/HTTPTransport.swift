import AsyncHTTPClient
import Firmware
import NIOCore
import NIOHTTP1

/// A received HTTP response: status, headers and the start of the body (at most
/// ``HTTPTransport/maximumBodyBytes``; the rest is read and discarded).
public struct HTTPExchangeResponse: Sendable, Equatable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body as text (lossy UTF-8).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// The HTTP client every HTTP forwarder sends through: one AsyncHTTPClient `HTTPClient` with the §4.4 time limits
/// (connect 10 s, total 30 s by default) and redirects **disabled** (a 301/302 would turn a POST into a body-less
/// GET; the forwarders report a 3xx as a configuration error instead).
///
/// Owned by one forwarder, whose `shutdown()` closes it gracefully; if a forwarder is released without that,
/// `deinit` starts the client's shutdown so that no connection or AsyncHTTPClient debug assertion is left behind.
final class HTTPTransport: Sendable {
    /// Bodies longer than this are truncated when read (responses of these APIs are tiny).
    static let maximumBodyBytes = 64 * 1024

    let client: HTTPClient
    let totalTimeout: TimeAmount

    init(timeouts: HTTPTimeouts) {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: HTTPClient.Configuration.Timeout(
                connect: .nanoseconds(Int64(timeouts.connect * 1e9)),
                read: .nanoseconds(Int64(timeouts.total * 1e9))),
            connectionPool: HTTPClient.Configuration.ConnectionPool())
        configuration.httpVersion = .http1Only
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        totalTimeout = .nanoseconds(Int64(timeouts.total * 1e9))
    }

    /// Sends one request and reads the response.
    /// - Parameters:
    ///   - method: `POST` for every forwarder.
    ///   - url: Used exactly as given.
    ///   - headers: Request headers (`Content-Type`, auth, …).
    ///   - body: Request body bytes.
    ///   - backend: For error messages: `http://host/api/` (already redacted).
    /// - Throws: `ForwardError` with `.retry(after: nil)` for every transport failure (DNS, refused, reset, TLS,
    ///   connect or total timeout, cancellation): §4.4 first row.
    func send(
        method: HTTPMethod = .POST, url: String, headers: HTTPHeaders, body: [UInt8], backend: String
    ) async throws(ForwardError) -> HTTPExchangeResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = headers
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: totalTimeout)
            var collected: [UInt8] = []
            for try await chunk in response.body where collected.count < Self.maximumBodyBytes {
                collected += chunk.readableBytesView.prefix(Self.maximumBodyBytes - collected.count)
            }
            return HTTPExchangeResponse(status: Int(response.status.code), headers: response.headers, body: collected)
        } catch let error as HTTPClientError {
            throw ForwardError(.retry(after: nil), "\(backend): \(Self.describe(error))")
        } catch is CancellationError {
            throw ForwardError(.retry(after: nil), "\(backend): request cancelled")
        } catch {
            throw ForwardError(.retry(after: nil), "\(backend): \(error)")
        }
    }

    deinit {
        // Non-blocking; answers `alreadyShutdown` (ignored) after a regular `shutdown()`.
        client.shutdown { _ in }
    }

    /// Releases the client's connections; safe to call more than once.
    func shutdown() async {
        try? await client.shutdown()
    }

    private static func describe(_ error: HTTPClientError) -> String {
        switch error {
        case .connectTimeout: "connect timed out"
        case .deadlineExceeded, .readTimeout: "no complete response within the time limit"
        case .remoteConnectionClosed: "connection closed by the server"
        default: error.description
        }
    }
}
