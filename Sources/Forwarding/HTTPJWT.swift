import CivilTime
import Firmware
import Logging
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Reading JWT claims without verifying the signature (the client only needs `exp` to refresh in time;
/// `spec/forwarding.md` §4.1).
public enum HTTPJWT {
    /// The `exp` claim (Unix seconds) of a compact JWS `header.payload.signature`; `nil` when the token is not a
    /// JWT or has no numeric `exp`.
    public static func expiry(of token: String) -> Int64? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = base64URLDecode(parts[1]),
            let exp = HTTPJSON.parse(payload)?["exp"]?.numberValue, exp.isFinite,
            exp > 0, exp < 1e15
        else { return nil }
        return Int64(exp)
    }

    /// ``expiry(of:)`` as an instant.
    static func expiryTime(of token: String) -> UnixTime? { expiry(of: token).map(UnixTime.init(seconds:)) }

    /// Base64url without padding (RFC 7515 §2) → bytes.
    static func base64URLDecode(_ text: Substring) -> [UInt8]? {
        var base64 = String(text.map { $0 == "-" ? "+" : $0 == "_" ? "/" : $0 })
        switch base64.count % 4 {
        case 0: break
        case 2: base64 += "=="
        case 3: base64 += "="
        default: return nil
        }
        return Data(base64Encoded: base64).map { [UInt8]($0) }
    }
}

/// Access and refresh token kept in memory (never logged, never persisted).
struct HTTPJWTTokens: Sendable {
    var access: String
    var refresh: String?
    /// `exp` of the access token; `nil` when unreadable (then only a 401 triggers a refresh), ``UnixTime/distantPast``
    /// after the server rejected the token.
    var expiry: UnixTime?
}

/// One djangorestframework-simplejwt login: obtains tokens with username/password, refreshes them before they
/// expire (``HTTPJWTConfiguration/refreshMargin``, default 30 s) or after a 401, and re-logs in when the refresh
/// token is rejected. Concurrent callers share a single in-flight renewal. `spec/forwarding.md` §4.1.
actor HTTPJWTSession {
    let configuration: HTTPJWTConfiguration
    private let password: String
    private let transport: HTTPTransport
    private let now: @Sendable () -> UnixTime
    private let logger: Logger
    private let pause: Duration
    private let margin: Duration
    private var tokens: HTTPJWTTokens?
    private var renewal: Task<Result<HTTPJWTTokens, ForwardError>, Never>?
    /// After the token endpoint rejected the credentials: no new login before `until`; the same
    /// error is reported without a request, so live posts cannot hammer the endpoint (§4.1).
    private var loginBlocked: (until: UnixTime, error: ForwardError)?

    init(
        configuration: HTTPJWTConfiguration, password: String, transport: HTTPTransport,
        now: @escaping @Sendable () -> UnixTime,
        logger: Logger, pause: Duration
    ) {
        self.configuration = configuration
        self.password = password
        self.transport = transport
        self.now = now
        self.logger = logger
        self.pause = pause
        self.margin = .seconds(Int64((configuration.refreshMargin ?? 30).rounded()))
    }

    /// The `Authorization` header value for the next request, obtaining or refreshing tokens as needed.
    /// - Throws: `ForwardError`: `.retry` when the token endpoint is unreachable or failing (5xx), `.pause` when
    ///   the credentials or URLs are wrong.
    func authorization() async throws(ForwardError) -> String {
        if let tokens, !needsRenewal(tokens) { return header(tokens.access) }
        if let blocked = loginBlocked {
            guard now() >= blocked.until else { throw blocked.error }
            loginBlocked = nil
        }
        return header(try await renew().access)
    }

    /// Marks the access token in `authorization` as rejected (the server said 401) so the next
    /// ``authorization()`` refreshes it. A token already replaced by a concurrent renewal is left alone.
    func rejected(_ authorization: String) {
        if let current = tokens, header(current.access) == authorization { tokens?.expiry = .distantPast }
    }

    private func header(_ access: String) -> String { "\(configuration.headerType ?? "Bearer") \(access)" }

    private func needsRenewal(_ tokens: HTTPJWTTokens) -> Bool {
        guard let expiry = tokens.expiry else { return false }
        return expiry == .distantPast || now() >= expiry - margin
    }

    private func renew() async throws(ForwardError) -> HTTPJWTTokens {
        let task: Task<Result<HTTPJWTTokens, ForwardError>, Never>
        if let renewal {
            task = renewal
        } else {
            task = Task { await self.performRenewal() }
            renewal = task
        }
        let result = await task.value
        if renewal == task { renewal = nil }
        switch result {
        case .success(let fresh):
            tokens = fresh
            return fresh
        case .failure(let error):
            throw error
        }
    }

    private func performRenewal() async -> Result<HTTPJWTTokens, ForwardError> {
        do throws(ForwardError) {
            if let refresh = tokens?.refresh, let renewed = try await refreshTokens(refresh) {
                return .success(renewed)
            }
            return .success(try await obtainTokens())
        } catch {
            return .failure(error)
        }
    }

    /// `POST refresh_url {"refresh"}`; `nil` when the refresh token was rejected (log in again).
    private func refreshTokens(_ refresh: String) async throws(ForwardError) -> HTTPJWTTokens? {
        let url = configuration.effectiveRefreshURL
        let response = try await post(url, .object(["refresh": .string(refresh)]))
        switch response.status {
        case 200..<300:
            guard let access = HTTPJSON.parse(response.body)?["access"]?.stringValue else {
                throw ForwardError(.pause(for: pause), "\(HTTPRedaction.url(url)): refresh response has no `access`")
            }
            let rotated = HTTPJSON.parse(response.body)?["refresh"]?.stringValue
            logger.debug("JWT access token refreshed", metadata: ["url": "\(HTTPRedaction.url(url))"])
            return HTTPJWTTokens(access: access, refresh: rotated ?? refresh, expiry: HTTPJWT.expiryTime(of: access))
        case 400, 401, 403:
            logger.info(
                "JWT refresh token rejected; logging in again",
                metadata: ["url": "\(HTTPRedaction.url(url))", "status": "\(response.status)"])
            tokens = nil
            return nil
        default:
            throw endpointError(url, response)
        }
    }

    /// `POST token_url {"username","password"}`.
    private func obtainTokens() async throws(ForwardError) -> HTTPJWTTokens {
        let url = configuration.tokenURL
        let body = HTTPJSON.object(["username": .string(configuration.username), "password": .string(password)])
        let response = try await post(url, body)
        switch response.status {
        case 200..<300:
            let json = HTTPJSON.parse(response.body)
            guard let access = json?["access"]?.stringValue else {
                throw ForwardError(.pause(for: pause), "\(HTTPRedaction.url(url)): token response has no `access`")
            }
            logger.debug("JWT tokens obtained", metadata: ["url": "\(HTTPRedaction.url(url))"])
            return HTTPJWTTokens(
                access: access, refresh: json?["refresh"]?.stringValue, expiry: HTTPJWT.expiryTime(of: access))
        case 400, 401, 403:
            // Wrong or missing credentials: do not hammer the endpoint (§4.1).
            let error = ForwardError(
                .pause(for: pause),
                "\(HTTPRedaction.url(url)): login as `\(configuration.username)` rejected with HTTP \(response.status): "
                    + HTTPRedaction.excerpt(response.body))
            loginBlocked = (now() + .seconds(pause.components.seconds), error)  // whole seconds, as the clock
            throw error
        default:
            throw endpointError(url, response)
        }
    }

    private func post(_ url: String, _ body: HTTPJSON) async throws(ForwardError) -> HTTPExchangeResponse {
        let headers: HTTPHeaders = [
            "Content-Type": "application/json", "Accept": "application/json", "User-Agent": "emeter",
        ]
        return try await transport.send(
            url: url, headers: headers, body: body.encoded(), backend: HTTPRedaction.url(url))
    }

    private func endpointError(_ url: String, _ response: HTTPExchangeResponse) -> ForwardError {
        let action =
            HTTPStatusPolicy.action(
                status: response.status, retryAfter: response.headers.first(name: "Retry-After"), now: now(),
                backend: .jwt, pause: pause) ?? .retry(after: nil)
        return ForwardError(
            action,
            "\(HTTPRedaction.url(url)): token endpoint: "
                + HTTPResponseText.problem(url: url, response))
    }
}

/// Human text for a failed response, with hints for the usual URL mistakes.
enum HTTPResponseText {
    static func problem(url: String, _ response: HTTPExchangeResponse, slashHint: Bool = true) -> String {
        var text = "HTTP \(response.status)"
        if (300..<400).contains(response.status) {
            let location = response.headers.first(name: "Location").map(HTTPRedaction.url) ?? "?"
            text +=
                " redirect to \(location): redirects are not followed (a redirected POST loses its body); "
                + "configure the URL exactly, e.g. with its trailing `/`"
        } else if slashHint && response.status == 404 && !(url.split(separator: "?").first ?? "").hasSuffix("/") {
            text += " (the URL has no trailing `/`; Django/DRF routes such as `…/api/token/` need it)"
        }
        let excerpt = HTTPRedaction.excerpt(response.body, limit: 160)
        return excerpt.isEmpty ? text : text + ": " + excerpt
    }
}
