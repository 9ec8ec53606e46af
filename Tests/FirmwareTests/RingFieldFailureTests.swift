import HAL
import Simulator
import Testing

@testable import Firmware

/// Issue 10 ("never lose a Wh in the field"): I2C adapters that report a NACK differently, and stores that fail
/// half-way on the chip.
@Suite("Ring on a real-world I2C bus")
struct RingFieldFailureTests {
    /// The simulated chip reports its busy NACK as the adapter's errno, through the i2c-dev mapping.
    @Test(arguments: EEPROM24C04.NACKErrno.allCases)
    func theSimulatedChipNACKsWithTheAdapterErrno(nack: EEPROM24C04.NACKErrno) throws {
        var eeprom = EEPROM24C04(busyAddressPhases: 1, nackErrno: nack)
        try eeprom.write(address: 0x50, [0x00, 0x42])
        do {
            try eeprom.probe(address: 0x50)
            Issue.record("a busy chip acknowledged")
        } catch {
            #expect(error.errno == nack.errno)
            #expect(error.kind == HALError.kind(for: nack.errno))
            #expect(
                error.description.hasSuffix(
                    nack == .enxio ? "(ENXIO); write cycle in progress" : "(EREMOTEIO); write cycle in progress"))
        }
        try eeprom.probe(address: 0x50)
    }

    /// i2c-bcm2835 (every Raspberry Pi) NACKs with EREMOTEIO: ACK polling must still see "busy", so commits succeed
    /// and the chip reloads exactly, whichever errno the adapter uses.
    @Test(arguments: EEPROM24C04.NACKErrno.allCases)
    func aRingCommitsOnAChipWhoseAdapterReportsNACKsAs(nack: EEPROM24C04.NACKErrno) throws {
        var ring = try openEEPROMRing(EEPROM24C04(busyAddressPhases: 3, nackErrno: nack))
        let records = typicalRingRecords(60)
        for record in records { try ring.append(record) }
        #expect(ring.mergeCount > 0)
        #expect(ring.storage.busyPolls == 3 * ring.storage.pageWrites)
        let reloaded = try openEEPROMRing(ring.storage.bus)
        #expect(reloaded.records == ring.records)
        #expect(RingTotals(reloaded.records) == RingTotals(records))
    }

    struct Snapshot: Equatable, CustomStringConvertible {
        var records: [IntervalRecord]
        var cursors: [UInt32?]
        var description: String { "\(records.count) records \(records.map(\.sequences)), cursors \(cursors)" }
    }

    static let consumers = [ConsumerID("c0"), ConsumerID("c1")]

    static func snapshot(_ ring: borrowing EEPROMRing) -> Snapshot {
        Snapshot(records: ring.records, cursors: consumers.map { ring.acknowledgedSequence(for: $0) })
    }

    /// What a restart would load from the chip now.
    static func reloadedSnapshot(_ eeprom: EEPROM24C04) throws -> Snapshot {
        snapshot(try openEEPROMRing(eeprom))
    }

    /// A ring with two consumers where `a` acknowledged its first records and `b` none, so acknowledgements
    /// change only the header; the last two commits (`a` acknowledging) had the same record count and layout.
    static func prepared() throws -> EEPROMRing {
        var ring = try openEEPROMRing(EEPROM24C04(busyAddressPhases: 1))
        for consumer in consumers { try ring.register(consumer) }
        for record in typicalRingRecords(12) { try ring.append(record) }
        for _ in 0..<2 { try acknowledgeOne(&ring) }
        return ring
    }

    static func acknowledgeOne(_ ring: inout EEPROMRing) throws {
        let record = try #require(try ring.next(for: consumers[0]))
        try ring.acknowledge(consumers[0], through: record.lastSequence)
    }

    /// Point 7: a store that fails in the middle (here the chip loses its supply after `cut` bytes and gets it
    /// back) leaves part of a record and part of a header on the chip. The ring must not diff its next writes
    /// against the image it *meant* to write before: after every later successful commit, what a restart loads
    /// from the chip is exactly the ring's state, and it holds every record appended.
    @Test func aStoreThatFailsHalfWayIsFollowedByExactCommits() throws {
        var clean = try Self.prepared()
        let before = clean.storage.bus.writesPerCell.reduce(0, +)
        let failing = typicalRingRecords(1, start: ringNewYear2026 + 300_000, seed: 9)[0]
        try clean.append(failing)
        let programmed = clean.storage.bus.writesPerCell.reduce(0, +) - before
        #expect(programmed > 10)
        var mismatches: [String] = []
        for cut in 0..<programmed {
            var ring = try Self.prepared()
            ring.storage.bus.cutPower(afterBytes: cut)
            #expect(throws: RingError.self) { try ring.append(failing) }
            ring.storage.bus.restorePower()
            var appended = ring.records
            // Header-only commits first (the same record count and layout as the stale slot), then records.
            let later = typicalRingRecords(4, start: ringNewYear2026 + 400_000, seed: 11)
            for step in 0..<6 {
                if step < 2 {
                    try Self.acknowledgeOne(&ring)
                } else {
                    try ring.append(later[step - 2])
                    appended.append(ring.records[ring.records.count - 1])
                }
                let loaded = try Self.reloadedSnapshot(ring.storage.bus)
                if loaded != Self.snapshot(ring) {
                    mismatches.append(
                        "cut \(cut), step \(step): the chip loads \(loaded), the ring is \(Self.snapshot(ring))")
                    break
                }
            }
            let reloaded = try openEEPROMRing(ring.storage.bus)
            #expect(RingTotals(reloaded.records) == RingTotals(appended), "cut \(cut)")
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
    }
}
