import Firmware
import Logging

/// Counters of one forwarder's drain loop.
public struct DrainStatistics: Sendable, Equatable {
    public var delivered = 0
    public var dropped = 0
    public var failedAttempts = 0
    public var pauses = 0
    /// Records the backend took (or refused for good) whose acknowledgement the ring could not store (its medium
    /// failed). Not delivered: the record stays and is sent again after a backoff, like a retry.
    public var storageErrors = 0

    public init() {}
}

/// Moves records from the offline ring to one forwarder, oldest first: a record is acknowledged in the ring only
/// after the forwarder's `send` returned (PUBACK or 2xx), so nothing acknowledged by the backend is ever kept
/// back and nothing unacknowledged is ever lost.
///
/// One record is in flight per forwarder (or one batch of consecutive records, for a forwarder whose
/// ``Forwarder/maximumBatch`` is above 1, such as InfluxDB), so a backlog drains at the backend's acknowledgement
/// rate and never floods it. A record that failed stays pinned in the ring (it is not merged) until it is
/// delivered, so a backend never receives two records that overlap. Failures follow `ForwardError.Action`: `.retry` backs off
/// (exponential with full jitter, base 1 s, cap 60 s, at least `Retry-After`), `.pause` waits long and logs
/// critically, `.drop` counts the record as dead-lettered and acknowledges it so the queue moves on.
///
/// When the ring cannot store an acknowledgement (its EEPROM or file failed), the record is *not* delivered as far
/// as the ring knows: it is counted in ``DrainStatistics/storageErrors`` and the forwarder backs off exactly as for
/// a `.retry` before it is sent again (at least once: the backend de-duplicates it by its `id`), instead of fetching
/// the same record again at once in a resend storm.
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
        /// The backend took (or refused) the record, but the ring could not store the acknowledgement.
        case storageFailed(RingError)
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
                metadata: ["start": "\(record.start.seconds)", "end": "\(record.end.seconds)"])
            if let failure = await acknowledge(record, statistics: &statistics) { return .storageFailed(failure) }
            return .dropped
        }
        if let failure = await acknowledge(record, statistics: &statistics) { return .storageFailed(failure) }
        statistics.delivered += 1
        return .delivered
    }

    /// Sends `records` (consecutive, handed out together by the ring for this consumer, all pinned) in one request
    /// and settles them: all acknowledged through the last when the backend took them. When the backend refuses
    /// the batch for good (`.drop`), one of them is bad: they are sent again one at a time, so only the bad one is
    /// dropped (at least once: InfluxDB overwrites a point written twice, other backends de-duplicate by `id`).
    /// Any other failure keeps them all pinned.
    public func deliver(batch records: [IntervalRecord], statistics: inout DrainStatistics) async -> Outcome {
        guard records.count > 1, let last = records.last else {
            guard let record = records.first else { return .delivered }
            return await deliver(record, statistics: &statistics)
        }
        do {
            try await forwarder.send(batch: records)
        } catch {
            statistics.failedAttempts += 1
            guard error.action == .drop else { return .failed(error) }
            logger.warning(
                "\(forwarder.name): a batch of \(records.count) records was refused (\(error.message)); sending them one at a time"
            )
            for record in records {
                switch await deliver(record, statistics: &statistics) {
                case .delivered, .dropped: continue
                case let other: return other
                }
            }
            return .delivered
        }
        if let failure = await acknowledge(last, statistics: &statistics) { return .storageFailed(failure) }
        statistics.delivered += records.count
        return .delivered
    }

    /// Acknowledges `record` in the ring; the error when the ring could not store that (counted, logged).
    private func acknowledge(_ record: IntervalRecord, statistics: inout DrainStatistics) async -> RingError? {
        do {
            try await store.acknowledge(consumer, through: record.lastSequence)
            return nil
        } catch {
            statistics.storageErrors += 1
            logger.error(
                "\(forwarder.name): the ring could not store the acknowledgement; the record stays and is sent again: \(error)",
                metadata: ["start": "\(record.start.seconds)", "end": "\(record.end.seconds)"])
            return error
        }
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
        let batchLimit = max(1, forwarder.maximumBatch)
        while !Task.isCancelled {
            let outcome: Outcome
            if batchLimit > 1 {
                let records = await store.next(for: consumer, limit: batchLimit)
                guard !records.isEmpty else { break }
                outcome = await deliver(batch: records, statistics: &statistics)
            } else {
                guard let record = await store.next(for: consumer) else { break }
                outcome = await deliver(record, statistics: &statistics)
            }
            switch outcome {
            case .delivered, .dropped:
                attempt = 0
            case .storageFailed:
                // The record stays pinned (it reached the backend); the same backoff as a retry keeps a failing
                // medium from turning into a resend storm.
                let wait = Self.backoff(attempt: attempt, base: base, cap: cap, using: &random)
                attempt += 1
                logger.warning(
                    "\(forwarder.name): sending the record again in \(wait)", metadata: ["attempt": "\(attempt)"])
                do { try await clock.sleep(for: wait) } catch { break }
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
