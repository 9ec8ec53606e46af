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

/// Forwards interval records to InfluxDB as line protocol (``InfluxLineProtocol``): one `POST` per record, to
/// `/write?db=…&precision=s` (v1) or `/api/v2/write?org=…&bucket=…&precision=s` with `Authorization: Token …` (v2).
///
/// A backlog drains in batches of up to `batch_size` records per request (``maximumBatch``; one point per record
/// part), acknowledged in the ring only after InfluxDB's `204`. A re-sent point has the same series and timestamp,
/// so InfluxDB overwrites it (at least once, never counted twice).
///
/// Statuses map by ``HTTPStatusPolicy`` (generic backend): 2xx acknowledged; 400 (unparsable or partial write,
/// e.g. a field type conflict), 413 and 422 (outside the retention period) drop the record; 401/403 (credentials)
/// and 404 (database or bucket not found) pause; 429, 5xx and network failures retry, after `Retry-After` if given.
///
/// Live readings and health are not sent. Call ``shutdown()`` before releasing the forwarder.
public actor InfluxDBForwarder: Forwarder {
    public nonisolated let name: String
    /// `batch_size` (default 100).
    public nonisolated let maximumBatch: Int

    private let endpoint: InfluxDBEndpoint
    private let device: String
    private let pause: Duration
    private let transport: HTTPTransport
    private let logger: Logger
    private let now: @Sendable () -> UnixTime
    private var isShutDown = false

    /// Builds the forwarder.
    /// - Parameters:
    ///   - configuration: Server URL, version, database or org/bucket, credentials.
    ///   - device: The `device` tag.
    ///   - logger: Failures are logged here (never a password or token).
    ///   - environment: For `env:NAME` secrets.
    ///   - now: Wall clock, to the second (HTTP-date `Retry-After`).
    /// - Throws: ``HTTPConfigurationError`` naming the bad or missing field.
    public init(
        configuration: InfluxDBConfiguration, device: String, logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        now: @escaping @Sendable () -> UnixTime = UnixTime.wallClockSeconds
    ) throws(HTTPConfigurationError) {
        endpoint = try InfluxDBEndpoint(configuration, environment: environment)
        try configuration.timeout.validate(field: "timeout")
        pause = try httpConfiguredDuration(configuration.pause, default: .seconds(600), field: "pause")
        self.device = device
        self.logger = logger
        self.now = now
        name = endpoint.displayName
        maximumBatch = endpoint.batchSize
        transport = HTTPTransport(timeouts: configuration.timeout)
    }

    /// Request-based: nothing to keep up.
    public func run() async {}

    /// Writes `record`'s points; returns when InfluxDB answered 2xx. A record with no part succeeds without a
    /// request.
    public func send(_ record: IntervalRecord) async throws(ForwardError) {
        try await send(batch: [record])
    }

    /// Writes the points of `records` in one request; returns when InfluxDB answered 2xx. Records with no part
    /// are skipped (no request when none has one).
    public func send(batch records: [IntervalRecord]) async throws(ForwardError) {
        guard !isShutDown else { throw ForwardError(.retry(after: nil), "\(name): forwarder is shut down") }
        let lines = records.flatMap {
            InfluxLineProtocol.lines(for: $0, device: device, measurement: endpoint.measurement)
        }
        guard !lines.isEmpty, let first = records.first, let last = records.last else { return }
        var headers: HTTPHeaders = ["Content-Type": "text/plain; charset=utf-8"]
        headers.add(name: "User-Agent", value: "emeter")
        if let authorization = endpoint.authorization { headers.add(name: "Authorization", value: authorization) }
        let body = lines.joined(separator: "\n") + "\n"
        do throws(ForwardError) {
            let response = try await transport.send(
                url: endpoint.writeURL, headers: headers, body: Array(body.utf8), backend: name)
            guard
                let action = HTTPStatusPolicy.action(
                    status: response.status, retryAfter: response.headers.first(name: "Retry-After"), now: now(),
                    backend: .generic, pause: pause)
            else { return }
            throw ForwardError(
                action, "\(name): \(HTTPResponseText.problem(url: endpoint.writeURL, response, slashHint: false))")
        } catch {
            let what = records.count == 1 ? "record \(first.id)" : "\(records.count) records \(first.id)...\(last.id)"
            HTTPForwarderLog.log(error, what: what, logger: logger)
            throw error
        }
    }

    /// Not sent: only closed interval records go to InfluxDB.
    public func publish(_ reading: LiveReading) async {}

    /// Not sent.
    public func publish(_ health: Health) async {}

    public func shutdown() async {
        guard !isShutDown else { return }
        isShutDown = true
        await transport.shutdown()
    }
}
