import Firmware

/// What went wrong sending to a backend, and what the drain loop should do about it
/// (`spec/forwarding.md` §4.4, the retry table).
public struct ForwardError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Action: Sendable, Equatable {
        /// Transient (connection refused, timeout, 5xx, 429): keep the record, retry with backoff; wait at least
        /// `after` when the backend said so (`Retry-After`).
        case retry(after: Duration?)
        /// The backend will never accept this payload (400, 405, 415, 422, …): drop the record, count it, go on.
        case drop
        /// Configuration or credentials are wrong (static-token 401/403, ThingSpeak 402, MQTT bad credentials):
        /// keep everything and pause the backend for long (`for`), alerting in the log.
        case pause(for: Duration)
    }

    public var action: Action
    /// Names the backend and what happened: `mqtt://127.0.0.1:1883: connection refused`.
    public var message: String

    public init(_ action: Action, _ message: String) {
        self.action = action
        self.message = message
    }

    public var description: String { message }
}

/// A backend that interval records are forwarded to: MQTT broker, HTTP endpoint, FIWARE Orion, ThingSpeak.
///
/// `send(_:)` returns only once the backend acknowledged the record (PUBACK for QoS 1, a 2xx for HTTP): only then
/// is it removed from the offline ring. Implementations are actors or otherwise `Sendable`; each forwarder has
/// its own position in the ring, so a dead backend never blocks another.
public protocol Forwarder: Sendable {
    /// For logs: `mqtt://broker:1883/emeter`, `http://host/api/`.
    var name: String { get }
    /// Keeps connections up (MQTT) until cancelled; returns at once for request-based backends.
    func run() async
    /// Delivers one closed interval record; returns when the backend acknowledged it.
    func send(_ record: IntervalRecord) async throws(ForwardError)
    /// How many records ``send(batch:)`` takes at most. Default 1: the drain calls ``send(_:)`` only.
    var maximumBatch: Int { get }
    /// Delivers consecutive records (oldest first) in one request; returns when the backend acknowledged all of
    /// them. A `.drop` means at least one of them is refused for good (the drain then sends them one at a time to
    /// find it). Default: ``send(_:)`` for each.
    func send(batch records: [IntervalRecord]) async throws(ForwardError)
    /// Publishes a live reading, best effort (a backend may drop or rate-limit live data).
    func publish(_ reading: LiveReading) async
    /// Publishes the health counters, best effort.
    func publish(_ health: Health) async
    /// Closes connections gracefully (MQTT: availability `offline`, DISCONNECT).
    func shutdown() async
    /// Publishes an output's switch (or a refused one), best effort. Default: nothing.
    func publish(_ event: ControlEvent) async
    /// Publishes an alert raised or cleared. Default: nothing.
    func publish(_ alert: AlertMonitor.Event) async
}

extension Forwarder {
    public var maximumBatch: Int { 1 }

    public func send(batch records: [IntervalRecord]) async throws(ForwardError) {
        for record in records { try await send(record) }
    }

    public func publish(_ event: ControlEvent) async {}
    public func publish(_ alert: AlertMonitor.Event) async {}
}
