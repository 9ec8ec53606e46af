import CivilTime
import Testing

@testable import Firmware

@Suite("Ring buffer: capacity and overflow merging")
struct RingBufferTests {
    @Test func imageIsExactly512BytesWithHeader() throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        try ring.append(typicalRingRecords(1)[0])
        #expect(ring.image.count == 512)
        #expect(ring.storage.image?.count == 512)
        #expect(ReadingRing<RAMRingStorage>.dataCapacity == 384)
        // Header slot 0 got the first commit: "ER", version 2, slot 0, generation 1 little-endian, count 1.
        #expect(Array(ring.image[0..<10]) == [0x45, 0x52, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00])
        // No consumer: four free positions; the storage epoch at byte 56 is the ring's (random, not 0).
        #expect(Array(ring.image[44..<48]) == [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(ring.epoch != 0)
        #expect(ring.image[56..<60].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } == ring.epoch.byteSwapped)
    }

    /// The requirement: at least 32 typical one-minute records fit at full resolution (measured: 35).
    @Test func holdsAtLeast32TypicalRecordsUnmerged() throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        var fitted = 0
        for record in typicalRingRecords(60) {
            try ring.append(record)
            if ring.mergeCount > 0 { break }
            fitted = ring.count
        }
        #expect(fitted >= 32)
        #expect(ring.mergeCount > 0)
        #expect(ring.usedBytes <= 384)
    }

    /// 48 h of one-minute records with no consumer acknowledging: the ring stays within 512 bytes, merges, and
    /// after every append the stored totals equal what was appended, with contiguous time and sequences.
    /// (Measured: 33 records at the end — one 22-byte record for the first 2848 minutes, then 32 at full
    /// resolution.)
    @Test func twoDaysWithoutAckKeepEnergyExact() throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        try ring.register(ConsumerID("c0"))
        var appended = RingTotals()
        let records = typicalRingRecords(2880)
        for (index, record) in records.enumerated() {
            try ring.append(record)
            appended.add(record)
            #expect(ring.usedBytes <= ReadingRing<RAMRingStorage>.dataCapacity)
            let stored = ring.records
            #expect(RingTotals(stored) == appended)
            #expect(stored.first?.start == records[0].start)
            #expect(stored.last?.end == record.end)
            #expect(stored.first?.firstSequence == 1)
            #expect(stored.last?.lastSequence == UInt32(index + 1))
            for (earlier, later) in zip(stored, stored.dropFirst()) {
                #expect(earlier.end == later.start)
                #expect(earlier.lastSequence + 1 == later.firstSequence)
            }
        }
        #expect(ring.mergeCount == 2880 - ring.count)
        // Merges stay on quarter-hour, hour and day boundaries (RingMergeAlignmentTests), whose records store their
        // duration: fewer fit than the 25 of merging the oldest pair every time.
        #expect(ring.count >= 20)
        // The newest records are still at full resolution, the oldest carries the merged history.
        #expect(
            ring.records.last
                == {
                    var r = records[2879]
                    r.firstSequence = 2880
                    r.lastSequence = 2880
                    r.epoch = ring.epoch
                    return r
                }())
        #expect(ring.records[0].flags.contains(.merged))
        // And the image reloads to the same records.
        let reloaded = try ReadingRing(storage: RAMRingStorage(image: ring.image))
        #expect(reloaded.records == ring.records)
        #expect(reloaded.loadedExistingImage == true)
    }

    @Test func mixedRecordsWithADE9000AndGapsStayExact() throws {
        var ring = try ReadingRing(storage: RAMRingStorage(), nominalInterval: 900)
        var appended = RingTotals()
        var start = ringNewYear2026
        for index in 0..<600 {
            var record = fullRingRecord(start: start, seed: UInt64(index))
            if index % 7 == 3 { record.p1 = nil }
            if index % 5 == 1 { record.ade9000 = nil }
            if index % 11 == 0 { record.start += .seconds(30) }  // a gap before this record
            start = record.end.seconds
            try ring.append(record)
            appended.add(record)
            #expect(RingTotals(ring.records) == appended)
            #expect(ring.usedBytes <= 384)
            #expect(ring.records.last?.end == record.end)
        }
        #expect(ring.mergeCount > 400)
    }

    @Test func rejectsInvalidRecordsWithoutChangingTheRing() throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        try ring.append(typicalRingRecords(1)[0])
        let before = ring.image
        var bad = typicalRingRecords(2)[1]
        bad.p1?.importTariff1Wh = -5
        #expect(throws: RingError.self) { try ring.append(bad) }
        #expect(ring.image == before)
        #expect(ring.count == 1)
    }

    /// A failing storage leaves the ring at its last committed state.
    @Test func storageFailureRollsBack() throws {
        struct Failing: RingStorage {
            var inner = RAMRingStorage()
            var failNext = false
            mutating func load() throws(RingError) -> [UInt8]? { try inner.load() }
            mutating func store(_ image: [UInt8], changed: [Range<Int>]) throws(RingError) {
                if failNext { throw RingError(.storage, "test: disk full") }
                try inner.store(image, changed: changed)
            }
        }
        var ring = try ReadingRing(storage: Failing())
        let records = typicalRingRecords(3)
        try ring.append(records[0])
        try ring.append(records[1])
        ring.storage.failNext = true
        #expect(throws: RingError(.storage, "test: disk full")) { try ring.append(records[2]) }
        #expect(ring.count == 2)
        #expect(ring.nextSequence == 3)
        ring.storage.failNext = false
        #expect(try ring.append(records[2]) == 3)
        #expect(decodedRingRecords(ring.storage.inner.image!) == ring.records)
    }
}
