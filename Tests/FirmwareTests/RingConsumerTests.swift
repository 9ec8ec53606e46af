import Testing

@testable import Firmware

/// A backend that de-duplicates by sequence range (at-least-once delivery) and refuses overlaps.
struct RingBackend {
    var totals = RingTotals()
    var ranges: [ClosedRange<UInt32>] = []
    var duplicates = 0
    var overlaps = 0

    mutating func receive(_ record: IntervalRecord) {
        if let last = ranges.last {
            if last == record.sequences {
                duplicates += 1
                return
            }
            if record.firstSequence <= last.upperBound { overlaps += 1 }
        }
        ranges.append(record.sequences)
        totals.add(record)
    }
}

@Suite("Ring consumers: acknowledgement and merging")
struct RingConsumerTests {
    let a = ConsumerID("c0")
    let b = ConsumerID("c1")

    @Test func recordIsFreedOnlyAfterEveryConsumerAcknowledged() throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        try ring.register(a)
        try ring.register(b)
        for record in typicalRingRecords(3) { try ring.append(record) }
        let first = try #require(try ring.next(for: a))
        #expect(first.sequences == 1...1)
        try ring.acknowledge(a, through: 1)
        #expect(ring.count == 3)
        #expect(try ring.next(for: a)?.firstSequence == 2)
        #expect(try ring.next(for: b)?.firstSequence == 1)
        try ring.acknowledge(b, through: 1)
        #expect(ring.count == 2)
        #expect(ring.records.first?.firstSequence == 2)
        #expect(ring.backlog(for: a) == 2 && ring.backlog(for: b) == 2)
    }

    @Test func nextRepeatsUntilAcknowledged() throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        try ring.register(a)
        for record in typicalRingRecords(2) { try ring.append(record) }
        #expect(try ring.next(for: a)?.firstSequence == 1)
        #expect(try ring.next(for: a)?.firstSequence == 1)
        try ring.acknowledge(a, through: 1)
        try ring.acknowledge(a, through: 1)  // a duplicate ack is harmless
        #expect(try ring.next(for: a)?.firstSequence == 2)
        try ring.acknowledge(a, through: 2)
        #expect(try ring.next(for: a) == nil)
        #expect(ring.count == 0)
    }

    @Test func wrongAcknowledgementsAreRejected() throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        try ring.register(a)
        for record in typicalRingRecords(3) { try ring.append(record) }
        // Not handed out yet.
        #expect(throws: RingError.self) { try ring.acknowledge(a, through: 1) }
        _ = try ring.next(for: a)
        #expect(throws: RingError.self) { try ring.acknowledge(a, through: 2) }
        do {
            try ring.acknowledge(b, through: 1)
            Issue.record("unregistered consumer accepted")
        } catch {
            #expect(error.kind == .unknownConsumer)
        }
        #expect(throws: RingError.self) { _ = try ring.next(for: b) }
        #expect(ring.acknowledgedSequence(for: a) == 0)
    }

    /// A record a consumer has in flight is never merged; the rest of the ring merges around it.
    @Test func inFlightRecordIsNotMerged() throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        try ring.register(a)
        let records = typicalRingRecords(500)
        try ring.append(records[0])
        let sent = try #require(try ring.next(for: a))
        for record in records.dropFirst() { try ring.append(record) }
        #expect(ring.mergeCount > 400)
        #expect(ring.records[0].sequences == 1...1)
        #expect(ring.records[0] == sent)
        #expect(ring.records[1].flags.contains(.merged))
        try ring.acknowledge(a, through: sent.lastSequence)
        #expect(ring.records.first?.firstSequence == 2)
        #expect(RingTotals(ring.records.map { $0 }) == RingTotals(records.dropFirst()))
    }

    /// A batch handed out with `next(for:limit:)` (InfluxDB's batched drain) is pinned as a whole: none of its records
    /// merges while it is in flight, the same batch is handed out again until acknowledged, and one acknowledgement
    /// through its last record frees it all.
    @Test func inFlightBatchIsNotMerged() throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        try ring.register(a)
        let records = typicalRingRecords(500)
        for record in records.prefix(3) { try ring.append(record) }
        let batch = try ring.next(for: a, limit: 5)
        #expect(batch.map(\.sequences) == [1...1, 2...2, 3...3])
        for record in records.dropFirst(3) { try ring.append(record) }
        #expect(ring.mergeCount > 400)
        #expect(Array(ring.records.prefix(3)) == batch)
        #expect(ring.records[3].flags.contains(.merged))
        #expect(try ring.next(for: a, limit: 3) == batch)
        try ring.acknowledge(a, through: 3)
        #expect(ring.records.first?.firstSequence == 4)
        #expect(RingTotals(ring.records.map { $0 }) == RingTotals(records.dropFirst(3)))
        #expect(try ring.next(for: a, limit: 0).count == 1)
    }

    /// Records one consumer acknowledged may still merge for the other, never across either's position.
    @Test func mergesNeverStraddleAConsumerPosition() throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        try ring.register(a)
        try ring.register(b)
        let records = typicalRingRecords(400)
        for record in records[..<10] { try ring.append(record) }
        for _ in 0..<5 {
            let record = try #require(try ring.next(for: a))
            try ring.acknowledge(a, through: record.lastSequence)
        }
        for record in records[10...] { try ring.append(record) }
        // a acknowledged 1...5; no stored record may contain both 5 and 6.
        #expect(ring.records.allSatisfy { !($0.sequences.contains(5) && $0.sequences.contains(6)) })
        #expect(ring.records.contains { $0.lastSequence == 5 })
        #expect(try ring.next(for: a)?.firstSequence == 6)
    }

    /// Two forwarders, one flaky (offline for hours, acks lost): 3000 one-minute records. Each backend ends with
    /// exactly the appended energy, no overlapping sequence ranges, and only identical re-sends as duplicates.
    @Test func twoConsumersReceiveEveryWattHourExactlyOnce() throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        try ring.register(a)
        try ring.register(b)
        var backends = [RingBackend(), RingBackend()]
        var random = RingRandom(state: 99)
        let records = typicalRingRecords(3000)
        func online(_ consumer: Int, _ step: Int) -> Bool {
            consumer == 0 ? !(700..<1100).contains(step) : !(200..<1300).contains(step) && !(1800..<2900).contains(step)
        }
        for (step, record) in records.enumerated() {
            try ring.append(record)
            for (index, consumer) in [a, b].enumerated() {
                if online(index, step) {
                    for _ in 0..<3 {
                        guard let next = try ring.next(for: consumer) else { break }
                        backends[index].receive(next)
                        if random.next() % 10 == 0 { break }  // the ack got lost
                        try ring.acknowledge(consumer, through: next.lastSequence)
                    }
                } else if random.next() % 50 == 0, let next = try ring.next(for: consumer) {
                    // A send during the outage reached the backend, its ack did not: stays in flight.
                    backends[index].receive(next)
                }
            }
            #expect(ring.usedBytes <= 384)
        }
        for (index, consumer) in [a, b].enumerated() {
            while let next = try ring.next(for: consumer) {
                backends[index].receive(next)
                try ring.acknowledge(consumer, through: next.lastSequence)
            }
        }
        let appended = RingTotals(records)
        #expect(ring.count == 0)
        #expect(ring.mergeCount > 1000)
        for backend in backends {
            #expect(backend.totals == appended)
            #expect(backend.overlaps == 0)
            #expect(backend.ranges.first?.lowerBound == 1 && backend.ranges.last?.upperBound == 3000)
            #expect(zip(backend.ranges, backend.ranges.dropFirst()).allSatisfy { $0.upperBound + 1 == $1.lowerBound })
        }
        #expect(backends[0].duplicates > 0 && backends[1].duplicates > 0)
    }

    /// `cancelInFlight` (the send certainly failed) makes the record mergeable again, and an acknowledgement
    /// from before the cancel is refused rather than applied to the merged record.
    @Test func cancelledSendMayMergeAndItsLateAckIsRefused() throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        try ring.register(a)
        let records = typicalRingRecords(300)
        try ring.append(records[0])
        let sent = try #require(try ring.next(for: a))
        ring.cancelInFlight(a)
        for record in records.dropFirst() { try ring.append(record) }
        #expect(ring.records[0].sequences.count > 1)  // the cancelled record was merged
        do {
            try ring.acknowledge(a, through: sent.lastSequence)
            Issue.record("a stale acknowledgement was applied")
        } catch {
            #expect(error.kind == .invalidAcknowledgement)
        }
        #expect(try ring.peek(for: a) == ring.records[0])
        #expect(try ring.next(for: a) == ring.records[0])
        #expect(RingTotals(ring.records) == RingTotals(records))
    }

    /// Four forwarders acting at random (send, lose the ack, go offline holding a record, cancel a send that
    /// never left): 4000 appends never fail for lack of a mergeable pair, and every backend gets every Wh once.
    @Test(arguments: [1, 2])
    func fourRandomConsumersNeverBlockTheRing(seed: UInt64) throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        let consumers = (0..<4).map { ConsumerID("c\($0)") }
        for consumer in consumers { try ring.register(consumer) }
        var backends = Array(repeating: RingBackend(), count: 4)
        var delivered = Array(repeating: false, count: 4)  // the record in flight reached the backend
        var online = Array(repeating: true, count: 4)
        var random = RingRandom(state: seed)
        let records = typicalRingRecords(4000, seed: seed)
        for record in records {
            try ring.append(record)
            for (index, consumer) in consumers.enumerated() {
                if random.next() % 100 < 2 { online[index].toggle() }
                guard online[index] else { continue }
                switch random.next() % 10 {
                case 0:  // offline soon: a send is attempted and certainly fails (connection refused)
                    if try ring.next(for: consumer) != nil, !delivered[index] { ring.cancelInFlight(consumer) }
                case 1:  // the send reaches the backend, the ack is lost
                    if let next = try ring.next(for: consumer) {
                        backends[index].receive(next)
                        delivered[index] = true
                    }
                default:
                    for _ in 0..<Int(random.next() % 4) {
                        guard let next = try ring.next(for: consumer) else { break }
                        backends[index].receive(next)
                        try ring.acknowledge(consumer, through: next.lastSequence)
                        delivered[index] = false
                    }
                }
            }
            #expect(ring.usedBytes <= ReadingRing<RAMRingStorage>.dataCapacity)
        }
        for (index, consumer) in consumers.enumerated() {
            while let next = try ring.next(for: consumer) {
                backends[index].receive(next)
                try ring.acknowledge(consumer, through: next.lastSequence)
            }
        }
        #expect(ring.count == 0)
        for backend in backends {
            #expect(backend.totals == RingTotals(records))
            #expect(backend.overlaps == 0)
            #expect(backend.ranges.last?.upperBound == 4000)
        }
    }

    @Test func positionsSurviveARestart() throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        try ring.register(a)
        try ring.register(b)
        for record in typicalRingRecords(8) { try ring.append(record) }
        for _ in 0..<5 {
            let record = try #require(try ring.next(for: a))
            try ring.acknowledge(a, through: record.lastSequence)
        }
        _ = try ring.next(for: b)  // in flight; not stored
        var reopened = try ReadingRing(storage: RAMRingStorage(image: ring.image))
        #expect(reopened.acknowledgedSequence(for: a) == 5)
        #expect(reopened.acknowledgedSequence(for: b) == 0)
        #expect(reopened.acknowledgedSequence(for: ConsumerID("c2")) == nil)
        #expect(try reopened.next(for: a)?.firstSequence == 6)
        #expect(try reopened.next(for: b)?.firstSequence == 1)
        #expect(reopened.nextSequence == 9)
        try reopened.unregister(b)
        #expect(reopened.records.first?.firstSequence == 6)
    }
}
