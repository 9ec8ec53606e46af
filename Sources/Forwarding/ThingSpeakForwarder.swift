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

/// Forwards interval records to a ThingSpeak channel: one `POST /update` per record, form-encoded, with
/// `api_key`, the mapped `field1`…`field8` (``ThingSpeakFields``) and `created_at` = the record's end (ISO 8601 UTC),
/// which ThingSpeak keeps unique per channel, so a re-sent record cannot be stored twice (`spec/forwarding.md` §4.2).
///
/// Rate limit: updates are spaced at least `min_interval` (default 15 s, the free-account limit); a record offered
/// earlier fails with `.retry(after:)` the remaining time, without a request. A `200` whose body is `0` means
/// ThingSpeak refused the update for rate limiting: `.retry(after: 15 s)`. Other statuses map by
/// ``HTTPStatusPolicy`` (401/402/403 pause, 429 retry after ≥ 15 s, 409 conflict drop).
///
/// Live readings and health are not sent (the channel's update budget is kept for records).
/// Call ``shutdown()`` before releasing the forwarder.
public actor ThingSpeakForwarder: Forwarder {
    public nonisolated let name: String

    private let url: String
    private let apiKey: String
    private let mapping: [(Int, String)]
    private let device: String
    private let minInterval: Duration
    private let pause: Duration
    private let transport: HTTPTransport
    private let logger: Logger
    private let now: @Sendable () -> UnixTime
    private let uptime: @Sendable () -> Duration
    /// Monotonic time of the last update ThingSpeak answered with 2xx (stored or `0`).
    private var lastUpdate: Duration?
    private var isShutDown = false

    /// Builds the forwarder.
    /// - Parameters:
    ///   - configuration: Channel key, field mapping, rate limit.
    ///   - device: Device id (only used to build the record JSON the field paths refer to).
    ///   - logger: Failures are logged here (never the API key).
    ///   - environment: For an `env:NAME` API key.
    ///   - now: Wall clock, to the second (HTTP-date `Retry-After`).
    ///   - uptime: Monotonic clock for the rate limit; default `ContinuousClock` since creation.
    /// - Throws: ``HTTPConfigurationError`` naming the bad field.
    public init(
        configuration: ThingSpeakConfiguration, device: String, logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        now: @escaping @Sendable () -> UnixTime = UnixTime.wallClockSeconds,
        uptime: (@Sendable () -> Duration)? = nil
    ) throws(HTTPConfigurationError) {
        try httpValidateURL(configuration.url, field: "url")
        try configuration.timeout.validate(field: "timeout")
        apiKey = try configuration.apiKey.resolve(field: "api_key", environment: environment)
        mapping = try ThingSpeakFields.validate(configuration.fields ?? ThingSpeakConfiguration.defaultFields)
        minInterval = try httpConfiguredDuration(
            configuration.minInterval, default: .seconds(15), field: "min_interval")
        pause = try httpConfiguredDuration(configuration.pause, default: .seconds(600), field: "pause")
        url = configuration.url
        self.device = device
        self.logger = logger
        self.now = now
        if let uptime {
            self.uptime = uptime
        } else {
            let reference = ContinuousClock.now
            self.uptime = { ContinuousClock.now - reference }
        }
        name = HTTPRedaction.url(configuration.url)
        transport = HTTPTransport(timeouts: configuration.timeout)
    }

    /// Request-based: nothing to keep up.
    public func run() async {}

    /// Sends `record` as one channel update; returns when ThingSpeak stored it (2xx with an entry id).
    /// A record with none of the mapped values succeeds without a request.
    public func send(_ record: IntervalRecord) async throws(ForwardError) {
        guard !isShutDown else { throw ForwardError(.retry(after: nil), "\(name): forwarder is shut down") }
        let what = "record \(record.firstSequence)...\(record.lastSequence)"
        if let last = lastUpdate {
            let elapsed = uptime() - last
            if elapsed < minInterval {
                throw ForwardError(
                    .retry(after: minInterval - elapsed),
                    "\(name): rate limit: next update allowed in \(minInterval - elapsed)")
            }
        }
        let fields = ThingSpeakFields.values(for: record, device: device, mapping: mapping)
        guard !fields.isEmpty else {
            logger.debug("\(what) has none of the mapped values; skipped", metadata: ["url": "\(name)"])
            return
        }
        let body = ThingSpeakFields.formBody(
            [("api_key", apiKey)] + fields + [("created_at", Payloads.iso8601(record.end.seconds))])
        var headers: HTTPHeaders = ["Content-Type": "application/x-www-form-urlencoded"]
        headers.add(name: "User-Agent", value: "emeter")
        do throws(ForwardError) {
            let response = try await transport.send(url: url, headers: headers, body: Array(body.utf8), backend: name)
            try check(response)
        } catch {
            HTTPForwarderLog.log(error, what: what, logger: logger)
            throw error
        }
    }

    /// Not sent: live data would eat the channel's one-update-per-15-s budget.
    public func publish(_ reading: LiveReading) async {}

    /// Not sent.
    public func publish(_ health: Health) async {}

    public func shutdown() async {
        guard !isShutDown else { return }
        isShutDown = true
        await transport.shutdown()
    }

    private func check(_ response: HTTPExchangeResponse) throws(ForwardError) {
        if (200..<300).contains(response.status) {
            lastUpdate = uptime()
            if response.text.trimmingWhitespace() == "0" {
                let wait = max(minInterval, HTTPStatusPolicy.thingSpeakMinimumWait)
                throw ForwardError(.retry(after: wait), "\(name): update refused (body `0`: rate limited)")
            }
            return
        }
        guard
            let action = HTTPStatusPolicy.action(
                status: response.status, retryAfter: response.headers.first(name: "Retry-After"), now: now(),
                backend: .thingSpeak, pause: pause)
        else { return }
        throw ForwardError(action, "\(name): \(HTTPResponseText.problem(url: url, response, slashHint: false))")
    }
}
