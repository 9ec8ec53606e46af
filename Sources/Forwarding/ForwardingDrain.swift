import Firmware
import Logging

/// Counters of one forwarder's drain loop.
public struct DrainStatistics: Sendable, Equatable {
    public var delivered = 0
    public var dropped = 0
    public var failedAttempts = 0
    public var pauses = 0

    public init() {}
}

/// Moves records from the offline ring to one forwarder, oldest first: a record is acknowledged in the ring only
/// after the forwarder's `send` returned (PUBACK or 2xx), so nothing acknowledged by the backend is ever kept
/// back and nothing unacknowledged is ever lost.
///
/// One record is in flight per forwarder, so a backlog drains at the backend's acknowledgement rate and never
/// floods it. A record that failed stays pinned in the ring (it is not merged) until it is delivered, so a
/// backend never receives two records that overlap. Failures follow `ForwardError.Action`: `.retry` backs off
/// (exponential with full jitter, base 1 s, cap 60 s, at least `Retry-After`), `.pause` waits long and logs
/// critically, `.drop` counts the record as dead-lettered and acknowledges it so the queue moves on.
public struct ForwardingDrain<C: Clock>: Sendable where C.Duration == Duration {
    public let store: any RecordStoring
    public let consumer: ConsumerID
    public let forwarder: any Forwarder
    public let clock: C
    public let logger: Logger
    public var base: Duration = .seconds(1)
    public var cap: Duration = .seconds(60)

    public init(store: any RecordStoring, consumer: ConsumerID, forwarder: any Forwarder, clock: C, logger: Logger) {
        self.store = store
        self.consumer = consumer
        self.forwarder = forwarder
        self.clock = clock
        self.logger = logger
    }

    /// Full-jitter backoff: random(0, min(cap, base·2^attempt)).
    public static func backoff(
        attempt: Int, base: Duration, cap: Duration, using random: inout some RandomNumberGenerator
    )
        -> Duration
    {
        let ceiling = min(cap, base * (1 << min(attempt, 20)))
        let milliseconds = ceiling.components.seconds * 1000 + ceiling.components.attoseconds / 1_000_000_000_000_000
        guard milliseconds > 0 else { return .zero }
        return .milliseconds(Int64.random(in: 0...milliseconds, using: &random))
    }

    /// What one delivery attempt did.
    public enum Outcome: Sendable, Equatable {
        case delivered
        case dropped
        case failed(ForwardError)
    }

    /// Sends `record` (handed out by the ring for this consumer) and settles it in the ring: acknowledged when the
    /// backend took it or refused it for good (dropped), kept pinned when the attempt failed.
    public func deliver(_ record: IntervalRecord, statistics: inout DrainStatistics) async -> Outcome {
        do {
            try await forwarder.send(record)
        } catch {
            statistics.failedAttempts += 1
            guard error.action == .drop else { return .failed(error) }
            statistics.dropped += 1
            logger.error(
                "\(forwarder.name): dropped a record the backend refuses: \(error.message)",
                metadata: ["start": "\(record.start)", "end": "\(record.end)"])
            try? await store.acknowledge(consumer, through: record.lastSequence)
            return .dropped
        }
        do {
            try await store.acknowledge(consumer, through: record.lastSequence)
        } catch {
            logger.error("\(forwarder.name): acknowledging in the ring failed: \(error)")
        }
        statistics.delivered += 1
        return .delivered
    }

    /// Runs until cancelled; returns the counters.
    @discardableResult
    public func run(
        random: some RandomNumberGenerator = SystemRandomNumberGenerator(),
        onChange: @Sendable (DrainStatistics) -> Void = { _ in }
    ) async -> DrainStatistics {
        var random = random
        var statistics = DrainStatistics()
        var attempt = 0
        while !Task.isCancelled {
            guard let record = await store.next(for: consumer) else { break }
            switch await deliver(record, statistics: &statistics) {
            case .delivered, .dropped:
                attempt = 0
            case .failed(let error):
                switch error.action {
                case .drop:
                    break
                case .retry(let after):
                    // The record stays pinned: the backend may have taken it without our seeing the ack, so it
                    // must not be merged with its neighbour before it is sent again (no overlap at the backend).
                    var wait = Self.backoff(attempt: attempt, base: base, cap: cap, using: &random)
                    if let after, after > wait { wait = after }
                    attempt += 1
                    logger.warning(
                        "\(forwarder.name): \(error.message); retrying in \(wait)",
                        metadata: ["attempt": "\(attempt)"])
                    do { try await clock.sleep(for: wait) } catch { break }
                case .pause(let duration):
                    statistics.pauses += 1
                    logger.critical(
                        "\(forwarder.name): \(error.message); pausing this forwarder for \(duration), records stay in the ring"
                    )
                    do { try await clock.sleep(for: duration) } catch { break }
                }
            }
            onChange(statistics)
        }
        return statistics
    }
}
