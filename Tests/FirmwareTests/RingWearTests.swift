import CivilTime
import Simulator
import Testing

@testable import Firmware

/// The AT24C04 is specified for 1 000 000 write cycles per byte. The budget here is a tenth of that per year, so the
/// chip lasts at least ten years.
private let yearlyWriteBudget = 100_000

@Suite("Ring wear on the 24C04")
struct RingWearTests {
    /// One simulated year of 60 s records with the network up: each record is appended, then handed to stdout and to
    /// one forwarder, which both acknowledge it, the daemon's pattern. The count is the chip model's own
    /// (`EEPROM24C04.writesPerCell`), through the real ring and the real AT24C04 backend.
    @Test func aYearOfMinuteRecordsWearsNoByteBeyondATenthOfItsEndurance() throws {
        let eeprom = EEPROM24C04(busyAddressPhases: 0)
        var ring = try ReadingRing(
            storage: AT24C04RingStorage(bus: eeprom, delay: RingVirtualDelay()), nominalInterval: 60, epoch: 7)
        let stdout = ConsumerID("stdout")
        let forwarder = ConsumerID("mqtt:broker/emeter")
        try ring.setConsumers([stdout, forwarder])
        let day = typicalRingRecords(1440, start: 0)
        let start = ringNewYear2026
        let minutes = 365 * 1440
        for minute in 0..<minutes {
            var record = day[minute % day.count]
            record.start = UnixTime(seconds: start + 60 * Int64(minute))
            record.end = record.start + .seconds(60)
            try ring.append(record)
            for consumer in [stdout, forwarder] {
                guard let handed = try ring.next(for: consumer) else {
                    Issue.record("minute \(minute): nothing handed to \(consumer)")
                    return
                }
                try ring.acknowledge(consumer, through: handed.lastSequence)
            }
        }
        let chip = ring.storage.bus
        let hottest = chip.writesPerCell.indices.max { chip.writesPerCell[$0] < chip.writesPerCell[$1] } ?? 0
        #expect(
            chip.maxWritesPerCell <= yearlyWriteBudget,
            "byte 0x\(String(hottest, radix: 16)) written \(chip.maxWritesPerCell) times in a year")
        #expect(ring.mergeCount == 0)
        // What the ring holds at the end still loads, with the last record.
        let reopened = try ReadingRing(storage: AT24C04RingStorage(bus: chip, delay: RingVirtualDelay()))
        #expect(reopened.lastRecordEnd == UnixTime(seconds: start + 60 * Int64(minutes)))
    }

    /// The acknowledgement that catches a consumer up is committed with the next commit. If the power fails first, the
    /// image still has that record unacknowledged: it is sent again, and since the backend may hold it already, it is
    /// never merged with a later record before it is acknowledged again.
    @Test func aDeferredAcknowledgementLostWithThePowerResendsTheRecordUnmerged() throws {
        let consumer = ConsumerID("mqtt:broker/emeter")
        var ring = try ReadingRing(storage: RAMRingStorage(), nominalInterval: 60, epoch: 5)
        try ring.register(consumer)
        let records = typicalRingRecords(200)
        try ring.append(records[0])
        let commits = ring.commitCount
        let sent = try #require(try ring.next(for: consumer))
        try ring.acknowledge(consumer, through: sent.lastSequence)
        #expect(ring.commitCount == commits && ring.isEmpty)

        var reopened = try ReadingRing(storage: RAMRingStorage(image: ring.image))
        #expect(try reopened.peek(for: consumer)?.sequences == 1...1)
        for record in records.dropFirst() { try reopened.append(record) }
        #expect(reopened.mergeCount > 0)
        #expect(reopened.records.first?.sequences == 1...1)
        let again = try #require(try reopened.next(for: consumer))
        #expect(again == sent)
        try reopened.acknowledge(consumer, through: again.lastSequence)
        #expect(reopened.records.first?.firstSequence == 2)
    }

    /// At a clean stop the deferred acknowledgements are committed: nothing is sent twice after the restart.
    @Test func deferredAcknowledgementsAreCommittedOnRequest() throws {
        let consumer = ConsumerID("stdout")
        var ring = try ReadingRing(storage: RAMRingStorage(), nominalInterval: 60, epoch: 5)
        try ring.register(consumer)
        try ring.append(typicalRingRecords(1)[0])
        try ring.acknowledge(consumer, through: try #require(try ring.next(for: consumer)).lastSequence)
        try ring.commitDeferredAcknowledgements()
        let reopened = try ReadingRing(storage: RAMRingStorage(image: ring.image))
        #expect(reopened.isEmpty && reopened.backlog(for: consumer) == 0)
    }
}
