import CivilTime
import Firmware
import HAL
import Logging
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The generic HTTP JSON backend: each interval record is `POST`ed as ``Payloads/record(_:device:)`` JSON to
/// ``HTTPForwarderConfiguration/url``; live readings (``Payloads/live(_:device:)``) and health counters optionally
/// to their own URLs, best effort.
///
/// Authentication: none, a static bearer token, or djangorestframework-simplejwt (`spec/forwarding.md` §4.1): the
/// access token is obtained with username/password, refreshed 30 s before its `exp` and after a 401; a record that
/// gets a 401 is re-sent once with the new token, and a second 401 pauses the backend. Responses map to
/// `ForwardError` actions by ``HTTPStatusPolicy`` (§4.4). URLs are used exactly as configured and redirects are
/// never followed. Secrets (tokens, passwords, configured headers, URL userinfo and query values) are never logged.
///
/// Call ``shutdown()`` before releasing the forwarder.
public actor HTTPJSONForwarder: Forwarder {
    public nonisolated let name: String

    private enum Auth {
        case none
        case bearer(String)
        case jwt(HTTPJWTSession)
    }

    private let url: String
    private let liveURL: String?
    private let healthURL: String?
    private let device: String
    private let transport: HTTPTransport
    private let auth: Auth
    private let baseHeaders: HTTPHeaders
    private let logger: Logger
    private let now: @Sendable () -> UnixTime
    private let pause: Duration
    /// Minimum spacing of live posts in reading time, milliseconds.
    private let liveMinIntervalMillis: Int64
    /// The reading time of the last live reading posted.
    private var lastLiveTime: UnixTime?
    private var liveTask: Task<Void, Never>?
    private var liveInFlight = false
    private var healthTask: Task<Void, Never>?
    private var healthInFlight = false
    /// Best-effort channels whose last post failed (a failure is logged as a warning once, then at debug level).
    private var failingBestEffort: Set<String> = []
    private var isShutDown = false

    /// Builds the forwarder and resolves its secrets.
    /// - Parameters:
    ///   - configuration: URLs, auth, timeouts.
    ///   - device: Device id put in every payload (`device` of every ``Payloads`` payload).
    ///   - logger: Drops, pauses and retries are logged here (never secrets).
    ///   - environment: For `env:NAME` secrets.
    ///   - now: Wall clock, to the second: JWT expiry and HTTP-date `Retry-After`.
    /// - Throws: ``HTTPConfigurationError`` for a bad URL, an unresolvable secret or a bad duration.
    public init(
        configuration: HTTPForwarderConfiguration, device: String, logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        now: @escaping @Sendable () -> UnixTime = UnixTime.wallClockSeconds
    ) throws(HTTPConfigurationError) {
        try httpValidateURL(configuration.url, field: "url")
        if let liveURL = configuration.liveURL { try httpValidateURL(liveURL, field: "live_url") }
        if let healthURL = configuration.healthURL { try httpValidateURL(healthURL, field: "health_url") }
        try configuration.timeout.validate(field: "timeout")
        let pause = try httpConfiguredDuration(configuration.pause, default: .seconds(600), field: "pause")
        self.pause = pause
        let liveInterval = try httpConfiguredDuration(
            configuration.liveMinInterval, default: .seconds(10), field: "live_min_interval")
        liveMinIntervalMillis =
            liveInterval.components.seconds * 1000
            + liveInterval.components.attoseconds / 1_000_000_000_000_000

        var headers: HTTPHeaders = ["Content-Type": "application/json", "Accept": "application/json"]
        headers.add(name: "User-Agent", value: "emeter")
        for (name, value) in (configuration.headers ?? [:]).sorted(by: { $0.key < $1.key }) {
            headers.replaceOrAdd(name: name, value: value)
        }
        baseHeaders = headers

        // Resolve every secret before anything is built, so a configuration error leaves nothing to shut down.
        enum ResolvedAuth {
            case none
            case bearer(String)
            case jwt(HTTPJWTConfiguration, password: String)
        }
        let resolved: ResolvedAuth
        switch configuration.auth {
        case .none:
            resolved = .none
        case .bearer(let secret):
            resolved = .bearer(try secret.resolve(field: "auth.bearer_token", environment: environment))
        case .jwt(let jwt):
            try httpValidateURL(jwt.tokenURL, field: "auth.token_url")
            try httpValidateURL(jwt.effectiveRefreshURL, field: "auth.refresh_url")
            guard !jwt.username.isEmpty else {
                throw HTTPConfigurationError(field: "auth.username", "expected a non-empty user name")
            }
            _ = try httpConfiguredDuration(jwt.refreshMargin, default: .seconds(30), field: "auth.refresh_margin")
            resolved = .jwt(jwt, password: try jwt.password.resolve(field: "auth.password", environment: environment))
        }

        let transport = HTTPTransport(timeouts: configuration.timeout)
        self.transport = transport
        switch resolved {
        case .none:
            auth = .none
        case .bearer(let token):
            auth = .bearer(token)
        case .jwt(let jwt, let password):
            auth = .jwt(
                HTTPJWTSession(
                    configuration: jwt, password: password, transport: transport, now: now, logger: logger, pause: pause
                ))
        }
        self.url = configuration.url
        self.liveURL = configuration.liveURL
        self.healthURL = configuration.healthURL
        self.device = device
        self.logger = logger
        self.now = now
        self.name = HTTPRedaction.url(configuration.url)
    }

    /// Request-based: nothing to keep up.
    public func run() async {}

    /// Posts `record` as ``Payloads/record(_:device:)`` JSON and returns on a 2xx.
    /// - Throws: `ForwardError` per ``HTTPStatusPolicy``; after a 401 with JWT the token is refreshed and the record
    ///   re-sent once, and a second 401 pauses.
    public func send(_ record: IntervalRecord) async throws(ForwardError) {
        guard !isShutDown else { throw ForwardError(.retry(after: nil), "\(name): forwarder is shut down") }
        let body = Payloads.record(record, device: device)
        let what = "record \(record.firstSequence)...\(record.lastSequence)"
        let response: HTTPExchangeResponse
        do throws(ForwardError) {
            response = try await post(body, to: url)
        } catch {
            HTTPForwarderLog.log(error, what: what, logger: logger)
            throw error
        }
        if let error = classify(response, url: url) {
            HTTPForwarderLog.log(error, what: what, logger: logger)
            throw error
        }
    }

    /// Posts a live reading to `live_url`, best effort: at most one per `live_min_interval` of reading time, never
    /// more than one in flight, and never waits for the network (the post runs in its own task).
    public func publish(_ reading: LiveReading) async {
        guard let liveURL, !isShutDown, !liveInFlight else { return }
        let time = reading.time
        if let last = lastLiveTime, time >= last, time - last < .milliseconds(liveMinIntervalMillis) { return }
        let body = Payloads.live(reading, device: device)
        lastLiveTime = time
        liveInFlight = true
        liveTask = Task { await self.postBestEffort(body, to: liveURL, kind: .live) }
    }

    /// Posts the health counters to `health_url`, best effort, in its own task.
    public func publish(_ health: Health) async {
        guard let healthURL, !isShutDown, !healthInFlight else { return }
        let body = Payloads.health(health, device: device)
        healthInFlight = true
        healthTask = Task { await self.postBestEffort(body, to: healthURL, kind: .health) }
    }

    /// Cancels best-effort posts and closes connections.
    public func shutdown() async {
        guard !isShutDown else { return }
        isShutDown = true
        liveTask?.cancel()
        healthTask?.cancel()
        await waitForBackgroundPosts()
        await transport.shutdown()
    }

    /// Waits until the live and health posts started so far have finished (used by shutdown and tests).
    func waitForBackgroundPosts() async {
        await liveTask?.value
        await healthTask?.value
    }

    private enum BestEffort: String {
        case live = "live reading"
        case health
    }

    private func postBestEffort(_ body: [UInt8], to url: String, kind: BestEffort) async {
        let what = kind.rawValue
        defer {
            switch kind {
            case .live: liveInFlight = false
            case .health: healthInFlight = false
            }
        }
        let failure: ForwardError?
        do throws(ForwardError) {
            failure = classify(try await post(body, to: url), url: url)
        } catch {
            failure = error
        }
        if let failure {
            let level: Logger.Level = failingBestEffort.insert(what).inserted ? .warning : .debug
            logger.log(
                level: level, "\(what) not delivered (best effort, not retried)",
                metadata: ["error": "\(failure.message)"])
        } else if failingBestEffort.remove(what) != nil {
            logger.info("\(what) delivered again", metadata: ["url": "\(HTTPRedaction.url(url))"])
        }
    }

    /// One POST with authentication; with JWT, a 401 refreshes the token and re-sends once.
    private func post(_ body: [UInt8], to url: String) async throws(ForwardError) -> HTTPExchangeResponse {
        let backend = HTTPRedaction.url(url)
        var headers = baseHeaders
        switch auth {
        case .none:
            return try await transport.send(url: url, headers: headers, body: body, backend: backend)
        case .bearer(let token):
            headers.replaceOrAdd(name: "Authorization", value: "Bearer \(token)")
            return try await transport.send(url: url, headers: headers, body: body, backend: backend)
        case .jwt(let session):
            let authorization = try await session.authorization()
            headers.replaceOrAdd(name: "Authorization", value: authorization)
            let first = try await transport.send(url: url, headers: headers, body: body, backend: backend)
            guard first.status == 401 else { return first }
            logger.info(
                "access token rejected (HTTP 401); refreshing and re-sending once",
                metadata: ["url": "\(backend)"])
            await session.rejected(authorization)
            headers.replaceOrAdd(name: "Authorization", value: try await session.authorization())
            return try await transport.send(url: url, headers: headers, body: body, backend: backend)
        }
    }

    /// `nil` for a 2xx, else the §4.4 action with a message naming the URL and status.
    private func classify(_ response: HTTPExchangeResponse, url: String) -> ForwardError? {
        let kind: HTTPBackendKind
        if case .jwt = auth { kind = .jwt } else { kind = .generic }
        guard
            let action = HTTPStatusPolicy.action(
                status: response.status, retryAfter: response.headers.first(name: "Retry-After"), now: now(),
                backend: kind, pause: pause)
        else { return nil }
        var text = HTTPResponseText.problem(url: url, response)
        if response.status == 401, kind == .jwt { text += " (still rejected after a token refresh)" }
        return ForwardError(action, "\(HTTPRedaction.url(url)): \(text)")
    }
}

/// The one place forwarders log a failed record: drops and pauses as errors (with the backend's answer), retries
/// at debug level (transient, and the drain loop reports them with their backoff).
enum HTTPForwarderLog {
    static func log(_ error: ForwardError, what: String, logger: Logger) {
        switch error.action {
        case .drop:
            logger.error("\(what) dropped: the backend will never accept it", metadata: ["error": "\(error.message)"])
        case .pause(let duration):
            logger.error(
                "backend paused for \(duration): configuration or credentials problem",
                metadata: ["error": "\(error.message)"])
        case .retry:
            // Debug only: `ForwardingDrain` logs every retry with its backoff as a warning.
            logger.debug("\(what) not delivered; will retry", metadata: ["error": "\(error.message)"])
        }
    }
}
