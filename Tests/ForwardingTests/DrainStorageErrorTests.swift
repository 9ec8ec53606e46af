import CivilTime
import Logging
import TestSupport
import Testing

@testable import Firmware
@testable import Forwarding

/// A store whose medium fails every write: records can be read, never acknowledged.
actor AcknowledgeFailingStore: RecordStoring {
    let record: IntervalRecord
    private(set) var acknowledgeCalls = 0

    init(record: IntervalRecord) { self.record = record }

    func append(_ record: IntervalRecord) throws(RingError) -> UInt32 { record.lastSequence }
    func register(_ consumer: ConsumerID) throws(RingError) {}
    func setConsumers(_ consumers: [ConsumerID]) throws(RingError) {}
    func next(for consumer: ConsumerID) async -> IntervalRecord? { Task.isCancelled ? nil : record }
    func peek(for consumer: ConsumerID) -> IntervalRecord? { record }
    func acknowledge(_ consumer: ConsumerID, through lastSequence: UInt32) throws(RingError) {
        acknowledgeCalls += 1
        throw RingError(.storage, "24C04 EEPROM at 0x50: page write of 12 bytes at 0x1a0 failed")
    }
    func release(_ consumer: ConsumerID) {}
    var statistics: RecordStoreStatistics {
        RecordStoreStatistics(records: 1, usedBytes: 10, merges: 0, commits: 0, bytesWritten: 0, backlog: [:])
    }
}

/// A backend that takes everything and notes the virtual time of each send.
actor ClockedForwarder: Forwarder {
    nonisolated let name = "clocked"
    let clock: ManualClock
    private(set) var sendTimes: [Duration] = []

    init(clock: ManualClock) { self.clock = clock }

    func run() async {}
    func send(_ record: IntervalRecord) async throws(ForwardError) { sendTimes.append(clock.now.offset) }
    func publish(_ reading: LiveReading) async {}
    func publish(_ health: Health) async {}
    func shutdown() async {}
}

/// Always the largest value: full jitter then waits its whole ceiling, so the backoff is deterministic.
struct LargestRandom: RandomNumberGenerator {
    mutating func next() -> UInt64 { .max }
}

/// Issue 10, point 5: the backend took the record but the ring could not store the acknowledgement (EEPROM write
/// failed). That is no delivery: it is counted as a storage error, and the forwarder backs off like a retry
/// instead of fetching the same record again at once (a resend storm).
@Test func aFailedAcknowledgementBacksOffInsteadOfResendingAtOnce() async throws {
    let store = AcknowledgeFailingStore(
        record: IntervalRecord(
            start: UnixTime(seconds: 1_700_000_000), end: UnixTime(seconds: 1_700_000_060),
            p1: P1Interval(importTariff1Wh: 5), firstSequence: 7,
            lastSequence: 7))
    let clock = ManualClock()
    let forwarder = ClockedForwarder(clock: clock)
    var drain = ForwardingDrain(
        store: store, consumer: ConsumerID("c1"), forwarder: forwarder, clock: clock,
        logger: Logger(label: "test"))
    drain.base = .seconds(1)
    drain.cap = .seconds(60)
    let finalDrain = drain
    let task = Task { await finalDrain.run(random: LargestRandom()) }
    // Six times: wait (bounded) until the drain sleeps, then move virtual time to its deadline.
    var sleeps: [Duration] = []
    for _ in 0..<6 {
        for _ in 0..<20_000 where clock.sleeperCount == 0 { await Task.yield() }
        guard let deadline = clock.pendingDeadlines.first else { break }
        sleeps.append(deadline - clock.now.offset)
        clock.advance(by: deadline - clock.now.offset)
    }
    for _ in 0..<20_000 where clock.sleeperCount == 0 { await Task.yield() }
    let sends = await forwarder.sendTimes
    task.cancel()
    let statistics = await task.value
    // One send per backoff step, and the steps double: 1, 2, 4, 8, 16, 32 s.
    #expect(sleeps == [1, 2, 4, 8, 16, 32].map { Duration.seconds($0) })
    #expect(sends == [0, 1, 3, 7, 15, 31, 63].map { Duration.seconds($0) })
    #expect(statistics.delivered == 0)
    #expect(statistics.storageErrors == 7)
    #expect(await store.acknowledgeCalls == 7)
}
