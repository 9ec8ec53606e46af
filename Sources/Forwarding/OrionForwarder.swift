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

/// Forwards interval records to a FIWARE Orion Context Broker: one `POST <url>/v2/op/update` with
/// `actionType: append` per record, which creates the device's entity on first use and updates it afterwards
/// (idempotent, survives Orion database resets; `spec/forwarding.md` §3.3). Orion answers `204 No Content`.
///
/// Entities follow the Smart Data Models `ThreePhaseAcMeasurement` / `ACMeasurement` (see ``OrionEntity``).
/// Headers: `Content-Type: application/json` (else Orion answers 415), `Fiware-Service` and `Fiware-ServicePath`
/// when configured, and the PEP-proxy token header when configured. Errors map by ``HTTPStatusPolicy`` with the
/// Orion rows: `422 PartialUpdate`/`Unprocessable` and `400`/`413` drop the record, `404`/`409`/`401`/`403` pause.
///
/// Call ``shutdown()`` before releasing the forwarder.
public actor OrionForwarder: Forwarder {
    public nonisolated let name: String

    private let settings: OrionSettings
    private let transport: HTTPTransport
    private let headers: HTTPHeaders
    private let logger: Logger
    private let now: @Sendable () -> UnixTime
    private let pause: Duration
    private let liveMinIntervalMillis: Int64?
    /// The reading time of the last live update sent.
    private var lastLiveTime: UnixTime?
    private var liveTask: Task<Void, Never>?
    private var liveInFlight = false
    private var isShutDown = false

    /// Builds the forwarder.
    /// - Parameters:
    ///   - configuration: Orion URL, tenancy headers, entity naming.
    ///   - device: Device id; the default entity id is `urn:ngsi-ld:<type>:<device>`.
    ///   - logger: Failures are logged here (never the token).
    ///   - environment: For an `env:NAME` token.
    ///   - now: Wall clock, to the second (HTTP-date `Retry-After`).
    /// - Throws: ``HTTPConfigurationError`` naming the bad field.
    public init(
        configuration: OrionConfiguration, device: String, logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        now: @escaping @Sendable () -> UnixTime = UnixTime.wallClockSeconds
    ) throws(HTTPConfigurationError) {
        let settings = try OrionSettings(configuration, device: device)
        try configuration.timeout.validate(field: "timeout")
        pause = try httpConfiguredDuration(configuration.pause, default: .seconds(600), field: "pause")
        if configuration.liveMinInterval != nil {
            let interval = try httpConfiguredDuration(
                configuration.liveMinInterval, default: .seconds(60), field: "live_min_interval")
            liveMinIntervalMillis =
                interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000
        } else {
            liveMinIntervalMillis = nil
        }
        var headers: HTTPHeaders = ["Content-Type": "application/json", "Accept": "application/json"]
        headers.add(name: "User-Agent", value: "emeter")
        if let service = settings.service { headers.add(name: "Fiware-Service", value: service) }
        if let path = settings.servicePath { headers.add(name: "Fiware-ServicePath", value: path) }
        if let token = configuration.token {
            let value = try token.resolve(field: "token", environment: environment)
            let header = configuration.tokenHeader ?? "X-Auth-Token"
            guard !header.isEmpty, header.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                throw HTTPConfigurationError(field: "token_header", "expected an HTTP header name, got `\(header)`")
            }
            headers.add(name: header, value: header.lowercased() == "authorization" ? "Bearer \(value)" : value)
        }
        self.headers = headers
        self.settings = settings
        self.logger = logger
        self.now = now
        self.name = HTTPRedaction.url(settings.updateURL)
        transport = HTTPTransport(timeouts: configuration.timeout)
    }

    /// Request-based: nothing to keep up.
    public func run() async {}

    /// Upserts the device entity with the record's interval values; returns on a 2xx (Orion: 204).
    /// A record without the configured source part has nothing for Orion and succeeds without a request.
    public func send(_ record: IntervalRecord) async throws(ForwardError) {
        guard !isShutDown else { throw ForwardError(.retry(after: nil), "\(name): forwarder is shut down") }
        let what = "record \(record.firstSequence)...\(record.lastSequence)"
        guard let entity = OrionEntity.entity(for: record, identity: settings.entity, source: settings.source) else {
            logger.debug("\(what) has no data for Orion; skipped", metadata: ["url": "\(name)"])
            return
        }
        do throws(ForwardError) {
            try await post(OrionEntity.appendBody([entity]))
        } catch {
            HTTPForwarderLog.log(error, what: what, logger: logger)
            throw error
        }
    }

    /// With `live_min_interval` set, upserts per-phase live values, best effort, never waiting for the network.
    public func publish(_ reading: LiveReading) async {
        guard let minimum = liveMinIntervalMillis, !isShutDown, !liveInFlight else { return }
        let time = reading.time
        if let last = lastLiveTime, time >= last, time - last < .milliseconds(minimum) { return }
        guard let entity = OrionEntity.entity(for: reading, identity: settings.entity) else { return }
        lastLiveTime = time
        liveInFlight = true
        let body = OrionEntity.appendBody([entity])
        liveTask = Task {
            do throws(ForwardError) {
                try await self.post(body)
            } catch {
                self.logger.debug("live reading not accepted", metadata: ["error": "\(error.message)"])
            }
            self.liveDone()
        }
    }

    /// Health counters are not part of the data model: not sent.
    public func publish(_ health: Health) async {}

    public func shutdown() async {
        guard !isShutDown else { return }
        isShutDown = true
        liveTask?.cancel()
        await waitForBackgroundPosts()
        await transport.shutdown()
    }

    /// Waits for a live post in flight (shutdown and tests).
    func waitForBackgroundPosts() async {
        await liveTask?.value
    }

    private func liveDone() { liveInFlight = false }

    private func post(_ body: HTTPJSON) async throws(ForwardError) {
        let response = try await transport.send(
            url: settings.updateURL, headers: headers, body: body.encoded(), backend: name)
        guard
            let action = HTTPStatusPolicy.action(
                status: response.status, retryAfter: response.headers.first(name: "Retry-After"), now: now(),
                backend: .orion, pause: pause)
        else { return }
        var text = "HTTP \(response.status)"
        if let error = HTTPJSON.parse(response.body), let kind = error["error"]?.stringValue {
            text += " \(kind)"
            if let description = error["description"]?.stringValue { text += ": \(description)" }
        } else {
            text = HTTPResponseText.problem(url: settings.updateURL, response, slashHint: false)
        }
        throw ForwardError(action, "\(name): \(text)")
    }
}
