import CivilTime
import Logging
import Synchronization

/// What consumers (stdout, forwarders) and the loop need from the offline store, whatever medium holds it.
public protocol RecordStoring: Actor {
    /// Stores a closed record; returns its sequence number.
    func append(_ record: IntervalRecord) throws(RingError) -> UInt32
    /// Registers a consumer (idempotent; a registered consumer keeps its position across restarts).
    func register(_ consumer: ConsumerID) throws(RingError)
    /// Makes `consumers` exactly the registered ones (at start, from the configuration): a consumer in the stored
    /// image that is not among them is unregistered and logged, a new one starts at the oldest record, the others
    /// keep their positions whatever their order.
    func setConsumers(_ consumers: [ConsumerID]) throws(RingError)
    /// The oldest record `consumer` has not acknowledged, waiting until one is stored; `nil` when cancelled.
    func next(for consumer: ConsumerID) async -> IntervalRecord?
    /// Up to `limit` of the oldest records `consumer` has not acknowledged, oldest first and all pinned, waiting
    /// until one is stored; empty when cancelled. Default: the one record of ``next(for:)``.
    func next(for consumer: ConsumerID, limit: Int) async -> [IntervalRecord]
    /// The oldest unacknowledged record right now, without waiting.
    func peek(for consumer: ConsumerID) -> IntervalRecord?
    /// The backend accepted everything through `lastSequence`.
    func acknowledge(_ consumer: ConsumerID, through lastSequence: UInt32) throws(RingError)
    /// A record handed out will not be acknowledged soon (the send failed): it may be merged again.
    func release(_ consumer: ConsumerID)
    /// Commits acknowledgements the ring deferred to its next commit (``ReadingRing/commitDeferredAcknowledgements()``),
    /// at a clean stop, so no record is sent again after the restart. Default: nothing to do.
    func commitDeferredAcknowledgements() throws(RingError)
    /// Fill and wear counters for the health report.
    var statistics: RecordStoreStatistics { get }
    /// The end of the last record appended to a ring that outlives the process (file, EEPROM); `nil` for a RAM
    /// ring or when no record was ever appended. See ``LoopCheckpoint/resume(ringLastEnd:)``.
    var lastRecordEnd: UnixTime? { get }
}

extension RecordStoring {
    public var lastRecordEnd: UnixTime? { nil }

    public func commitDeferredAcknowledgements() throws(RingError) {}

    public func next(for consumer: ConsumerID, limit: Int) async -> [IntervalRecord] {
        guard let record = await next(for: consumer) else { return [] }
        return [record]
    }
}

public struct RecordStoreStatistics: Sendable, Equatable {
    public var records: Int
    public var usedBytes: Int
    public var merges: Int
    public var commits: Int
    /// Bytes written to the storage medium since start.
    public var bytesWritten: Int
    /// Records each registered consumer has not acknowledged, by consumer name (`#` and the name hash in hex for a
    /// consumer registered only in the stored image).
    public var backlog: [String: Int]

    public init(records: Int, usedBytes: Int, merges: Int, commits: Int, bytesWritten: Int, backlog: [String: Int]) {
        self.records = records
        self.usedBytes = usedBytes
        self.merges = merges
        self.commits = commits
        self.bytesWritten = bytesWritten
        self.backlog = backlog
    }
}

/// The 512-byte ring behind an actor, so the loop appends and forwarders drain concurrently.
/// Consumers waiting in `next(for:)` are woken by every append.
public actor RecordStore<Storage: RingStorage>: RecordStoring {
    private var ring: ReadingRing<Storage>
    private let waiters = Waiters()
    private let logger: Logger

    /// Opens the ring in `storage` (an existing image is loaded, so nothing stored before a restart is lost).
    public init(storage: consuming sending Storage, nominalInterval: Int64, logger: Logger) throws(RingError) {
        let opened = try ReadingRing(storage: storage, nominalInterval: nominalInterval)
        for problem in opened.loadProblems {
            logger.error("offline ring image damaged; ignoring that copy", metadata: ["problem": "\(problem)"])
        }
        if opened.migratedFromVersion1 {
            logger.notice(
                """
                offline ring image is version 1: migrated to version 2 at the first commit; its records are kept, \
                but version 1 did not name its consumers, so each starts at the oldest record (some may be sent again)
                """,
                metadata: ["records": "\(opened.count)"])
        }
        if opened.loadedExistingImage {
            logger.info(
                "offline ring loaded", metadata: ["records": "\(opened.count)", "bytes": "\(opened.usedBytes)"])
        }
        ring = opened
        self.logger = logger
    }

    /// Header slots of the stored image that were ignored as damaged (``ReadingRing/loadProblems``).
    public var loadProblems: [String] { ring.loadProblems }
    /// Whether an image from an earlier run was found.
    public var loadedExistingImage: Bool { ring.loadedExistingImage }
    /// Every stored record, oldest first.
    public var records: [IntervalRecord] { ring.records }

    public var lastRecordEnd: UnixTime? {
        guard !(ring.storage is RAMRingStorage) else { return nil }
        return ring.lastRecordEnd
    }

    public func append(_ record: IntervalRecord) throws(RingError) -> UInt32 {
        let mergesBefore = ring.mergeCount
        let sequence = try ring.append(record)
        if ring.mergeCount > mergesBefore {
            logger.notice(
                "offline ring full: merged records (where it costs the least detail)",
                metadata: ["merges": "\(ring.mergeCount - mergesBefore)", "records": "\(ring.count)"])
        }
        waiters.resumeAll()
        return sequence
    }

    public func register(_ consumer: ConsumerID) throws(RingError) {
        try ring.register(consumer)
    }

    public func setConsumers(_ consumers: [ConsumerID]) throws(RingError) {
        for removed in try ring.setConsumers(consumers) {
            logger.notice(
                """
                offline ring: a \(removed) is no longer configured: unregistered; the \(removed.backlog) records it \
                had not taken stay only while another consumer needs them
                """)
        }
    }

    public func peek(for consumer: ConsumerID) -> IntervalRecord? {
        try? ring.next(for: consumer)
    }

    public func next(for consumer: ConsumerID) async -> IntervalRecord? {
        while !Task.isCancelled {
            do {
                if let record = try ring.next(for: consumer) { return record }
            } catch {
                logger.error("offline ring: \(error)")
                return nil
            }
            let waiters = self.waiters
            let id = waiters.makeID()
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    waiters.add(id, continuation)
                }
            } onCancel: {
                waiters.cancel(id)
            }
        }
        return nil
    }

    public func next(for consumer: ConsumerID, limit: Int) async -> [IntervalRecord] {
        guard let first = await next(for: consumer) else { return [] }
        do {
            let records = try ring.next(for: consumer, limit: limit)
            return records.isEmpty ? [first] : records
        } catch {
            return [first]
        }
    }

    public func acknowledge(_ consumer: ConsumerID, through lastSequence: UInt32) throws(RingError) {
        try ring.acknowledge(consumer, through: lastSequence)
    }

    public func release(_ consumer: ConsumerID) {
        ring.cancelInFlight(consumer)
    }

    public func commitDeferredAcknowledgements() throws(RingError) {
        try ring.commitDeferredAcknowledgements()
    }

    public var statistics: RecordStoreStatistics {
        RecordStoreStatistics(
            records: ring.count, usedBytes: ring.usedBytes, merges: ring.mergeCount,
            commits: ring.commitCount, bytesWritten: ring.bytesWritten, backlog: ring.backlogByConsumer)
    }
}

/// Continuations of consumers waiting for a record; cancellation may arrive before or after the wait starts.
private final class Waiters: Sendable {
    private struct State {
        var next: UInt64 = 0
        var waiting: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var cancelled: Set<UInt64> = []
    }
    private let state = Mutex(State())

    func makeID() -> UInt64 {
        state.withLock { state in
            state.next += 1
            return state.next
        }
    }

    func add(_ id: UInt64, _ continuation: CheckedContinuation<Void, Never>) {
        let resumeNow = state.withLock { state -> Bool in
            if state.cancelled.remove(id) != nil { return true }
            state.waiting[id] = continuation
            return false
        }
        if resumeNow { continuation.resume() }
    }

    func cancel(_ id: UInt64) {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let continuation = state.waiting.removeValue(forKey: id) { return continuation }
            state.cancelled.insert(id)
            return nil
        }
        continuation?.resume()
    }

    func resumeAll() {
        let all = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            defer { state.waiting.removeAll() }
            return Array(state.waiting.values)
        }
        for continuation in all { continuation.resume() }
    }
}
