import Testing

@testable import Firmware

/// Issue 10, point 4: consumers are known by a stable name, not by their place in the configuration.
@Suite("Ring consumers by name")
struct RingConsumerNameTests {
    let stdout = ConsumerID("stdout")
    let mqtt = ConsumerID("mqtt:broker.local/emeter")
    let http = ConsumerID("http:example.org/api/readings/")

    /// A ring image where stdout acknowledged 1 record, MQTT 3 and HTTP none, of 5.
    func imageWithThreeConsumers() throws -> [UInt8] {
        var ring = try ReadingRing(storage: RAMRingStorage())
        try ring.setConsumers([stdout, mqtt, http])
        for record in typicalRingRecords(5) { try ring.append(record) }
        for (consumer, count) in [(stdout, 1), (mqtt, 3)] {
            for _ in 0..<count {
                let record = try #require(try ring.next(for: consumer))
                try ring.acknowledge(consumer, through: record.lastSequence)
            }
        }
        return ring.image
    }

    @Test func reorderingTheConfigurationKeepsEveryConsumersPosition() throws {
        var ring = try ReadingRing(storage: RAMRingStorage(image: try imageWithThreeConsumers()))
        let removed = try ring.setConsumers([http, stdout, mqtt])
        #expect(removed.isEmpty)
        #expect(ring.acknowledgedSequence(for: stdout) == 1)
        #expect(ring.acknowledgedSequence(for: mqtt) == 3)
        #expect(ring.acknowledgedSequence(for: http) == 0)
        #expect(ring.backlog(for: http) == 5)
        #expect(try ring.next(for: mqtt)?.firstSequence == 4)
        #expect(ring.backlogByConsumer == [stdout.name: 4, mqtt.name: 2, http.name: 5])
    }

    @Test func aConsumerNoLongerConfiguredIsUnregisteredAndNoLongerPinsRecords() throws {
        var ring = try ReadingRing(storage: RAMRingStorage(image: try imageWithThreeConsumers()))
        #expect(ring.count == 5)  // HTTP took none
        let removed = try ring.setConsumers([mqtt, stdout])
        #expect(removed == [RemovedConsumer(nameHash: http.nameHash, acknowledgedSequence: 0, backlog: 5)])
        #expect(ring.acknowledgedSequence(for: http) == nil)
        // Only stdout (1) and MQTT (3) are left: the record both took is gone, the rest stays for them.
        #expect(ring.records.map(\.firstSequence) == [2, 3, 4, 5])
        #expect(ring.acknowledgedSequence(for: stdout) == 1 && ring.acknowledgedSequence(for: mqtt) == 3)
        // The stored image agrees after a restart.
        let reopened = try ReadingRing(storage: RAMRingStorage(image: ring.image))
        #expect(reopened.acknowledgedSequence(for: http) == nil)
        #expect(reopened.count == 4)
    }

    @Test func aNewConsumerStartsAtTheOldestRecord() throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        try ring.setConsumers([mqtt])
        for record in typicalRingRecords(5) { try ring.append(record) }
        for _ in 0..<2 {
            let record = try #require(try ring.next(for: mqtt))
            try ring.acknowledge(mqtt, through: record.lastSequence)
        }
        #expect(ring.records.map(\.firstSequence) == [3, 4, 5])
        var reopened = try ReadingRing(storage: RAMRingStorage(image: ring.image))
        try reopened.setConsumers([http, mqtt])
        #expect(reopened.acknowledgedSequence(for: mqtt) == 2)
        #expect(reopened.acknowledgedSequence(for: http) == 2)  // just before the oldest record
        #expect(try reopened.next(for: http)?.firstSequence == 3)
        #expect(reopened.backlog(for: http) == 3)
    }

    @Test func theSameNameTwiceOrTooManyConsumersIsAClearErrorNotATrap() throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        #expect {
            try ring.setConsumers([mqtt, ConsumerID(mqtt.name)])
        } throws: { error in
            (error as? RingError)?.kind == .unknownConsumer
                && (error as? RingError)?.message.contains("two consumers are named `mqtt:broker.local/emeter`") == true
        }
        let five = (0..<5).map { ConsumerID("c\($0)") }
        #expect(throws: RingError.self) { try ring.setConsumers(five) }
        try ring.setConsumers(Array(five.prefix(4)))
        #expect(throws: RingError.self) { try ring.register(five[4]) }
        #expect(ring.commitCount == 1)
    }

    /// An image written by the previous firmware (version 1: positions by place in the configuration, no epoch).
    static func version1Image(_ ring: borrowing ReadingRing<RAMRingStorage>, cursors: [UInt32?]) -> [UInt8] {
        var image = ring.image
        let slot = RingImage.readHeader(image, slot: 0)?.generation == ring.generation ? 0 : 1
        let base = slot * RingImage.slotSize
        image[base + 2] = 1
        for (index, cursor) in cursors.enumerated() {
            let value = cursor ?? UInt32.max
            for byte in 0..<4 { image[base + 44 + 4 * index + byte] = UInt8(truncatingIfNeeded: value >> (8 * byte)) }
        }
        let header = RingImage.readHeader(image, slot: slot)  // nil: the CRC no longer matches
        #expect(header == nil)
        let runs = [(10, 12), (14, 16)].map { offsets in
            RingImage.Run(
                offset: Int(image[base + offsets.0]) | Int(image[base + offsets.0 + 1]) << 8,
                length: Int(image[base + offsets.1]) | Int(image[base + offsets.1 + 1]) << 8)
        }
        var crc = RingCRC32()
        crc.update(image[base..<(base + 60)])
        for run in runs { crc.update(RingImage.dataBytes(image, run)) }
        for byte in 0..<4 { image[base + 60 + byte] = UInt8(truncatingIfNeeded: crc.value >> (8 * byte)) }
        image[(1 - slot) * RingImage.slotSize] = 0  // the older slot: no magic
        return image
    }

    @Test func aVersion1ImageIsMigratedKeepingEveryRecord() throws {
        var old = try ReadingRing(storage: RAMRingStorage())
        try old.register(stdout)
        let records = typicalRingRecords(40)
        for record in records { try old.append(record) }
        let image = Self.version1Image(old, cursors: [3, nil, nil, nil])
        #expect(RingImage.readHeader(image, slot: old.generation % 2 == 1 ? 0 : 1)?.version == 1)

        var ring = try ReadingRing(storage: RAMRingStorage(image: image))
        #expect(ring.migratedFromVersion1 == true)
        #expect(ring.loadedExistingImage == true)
        #expect(ring.records.map(\.sequences) == old.records.map(\.sequences))
        #expect(RingTotals(ring.records) == RingTotals(records))
        #expect(ring.records.allSatisfy { $0.epoch == ring.epoch } && ring.epoch != 0)
        #expect(ring.acknowledgedSequence(for: stdout) == nil)  // version 1 did not say whose position it was
        try ring.setConsumers([stdout])
        #expect(ring.backlog(for: stdout) == ring.count)  // from the oldest record: nothing is lost
        #expect(ring.nextSequence == 41)

        let reopened = try ReadingRing(storage: RAMRingStorage(image: ring.image))
        #expect(reopened.migratedFromVersion1 == false)
        #expect(reopened.epoch == ring.epoch)
        #expect(reopened.records == ring.records)
        #expect(reopened.acknowledgedSequence(for: stdout) == ring.acknowledgedSequence(for: stdout))
    }
}

/// Issue 10, point 9: record ids are unique across restarts.
@Suite("Record ids")
struct RecordIDTests {
    @Test func twoRunsOfARAMRingGiveRecordsWithEqualSequencesDistinctIDs() throws {
        let record = typicalRingRecords(1)[0]
        var first = try ReadingRing(storage: RAMRingStorage())
        try first.append(record)
        // "Restart": a RAM ring starts empty again, and its sequences at 1 again.
        var second = try ReadingRing(storage: RAMRingStorage())
        try second.append(record)
        #expect(first.records[0].sequences == second.records[0].sequences)
        #expect(first.records[0].id != second.records[0].id)
        let json = String(decoding: Payloads.record(second.records[0], device: "d"), as: UTF8.self)
        #expect(json.contains(#""id":"\#(second.records[0].id)","sequence":[1,1]"#))
    }

    @Test func theIDIsTheEpochInHexAndTheSequenceRange() throws {
        var ring = try ReadingRing(storage: RAMRingStorage(), epoch: 0x2A)
        for record in typicalRingRecords(3) { try ring.append(record) }
        #expect(ring.records.map(\.id) == ["0000002a-1-1", "0000002a-2-2", "0000002a-3-3"])
        #expect(ring.records[0].merged(with: ring.records[1]).id == "0000002a-1-2")
    }

    @Test func aStoredRingKeepsItsEpochAndSequencesAcrossRestarts() throws {
        var ring = try ReadingRing(storage: RAMRingStorage())
        for record in typicalRingRecords(3) { try ring.append(record) }
        var reopened = try ReadingRing(storage: RAMRingStorage(image: ring.image))
        #expect(reopened.epoch == ring.epoch)
        #expect(reopened.records.map(\.id) == ring.records.map(\.id))
        try reopened.append(typicalRingRecords(1, start: ringNewYear2026 + 500_000)[0])
        #expect(reopened.records.last?.id == ring.records[0].id.split(separator: "-")[0] + "-4-4")
    }
}
