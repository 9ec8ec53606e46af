import CivilTime
import Testing

@testable import Firmware

/// Issue "Hostile input" item 4: a ring image whose checksum matches is still not trusted. A record holding
/// `Int64.max` Wh used to trap `emeter ring show` and `emeter run` at load (and `Restart=on-failure` looped).
@Suite("Forged ring images")
struct ForgedRingImageTests {
    static let context = RecordCoding.Context(
        end: ringNewYear2026, peakW: 0, peakTime: 0, lastSequence: 0, adePeakW: 0, adePeakTime: 0)

    /// A 512-byte image with `records` (encoded without validation, as a forger would) behind a header with a
    /// correct CRC-32 in `slot`.
    static func image(_ records: [IntervalRecord], slot: Int = 0, generation: UInt32 = 1, into base: [UInt8]? = nil)
        -> [UInt8]
    {
        var image = base ?? [UInt8](repeating: 0, count: RingImage.size)
        var bytes: [UInt8] = []
        var context = Self.context
        for record in records {
            bytes += RecordCoding.encode(record, after: context, nominalInterval: 60)
            context = context.advanced(by: record)
        }
        image.replaceSubrange(RingImage.dataStart..<(RingImage.dataStart + bytes.count), with: bytes)
        RingImage.write(
            RingImage.Header(
                slot: slot, generation: generation, count: records.count,
                runs: [RingImage.Run(offset: 0, length: bytes.count), RingImage.Run(offset: 0, length: 0)],
                nominalInterval: 60, context: Self.context, positions: [nil, nil, nil, nil]),
            into: &image)
        return image
    }

    static func record(_ p1: P1Interval, sequence: UInt32 = 1) -> IntervalRecord {
        let start = ringNewYear2026 + 60 * Int64(sequence - 1)
        return IntervalRecord(
            start: UnixTime(seconds: start), end: UnixTime(seconds: start + 60), p1: p1, firstSequence: sequence,
            lastSequence: sequence)
    }

    @Test func aRecordHoldingInt64MaxIsACorruptSlotNotATrap() throws {
        let forged = Self.image([Self.record(P1Interval(importTariff1Wh: .max))])
        #expect(RingImage.readHeader(forged, slot: 0) != nil)  // the CRC matches
        let ring = try ReadingRing(storage: RAMRingStorage(image: forged))
        #expect(ring.loadedExistingImage == false)
        #expect(ring.isEmpty == true)
        #expect(ring.loadProblems.count == 1)
        #expect(ring.loadProblems.first?.contains("header slot 0") == true)
        #expect(ring.loadProblems.first?.contains("above 2^40") == true)
    }

    @Test func aDecodableRecordOutOfRangeIsRefusedToo() throws {
        // Decodes (every quantity ≤ 2^40) but its maximum voltage is below its minimum: validate() refuses it.
        let forged = Self.image([
            Self.record(P1Interval(importTariff1Wh: 5, voltageMinDecivolts: 2400, voltageMaxDecivolts: 2300))
        ])
        let ring = try ReadingRing(storage: RAMRingStorage(image: forged))
        #expect(ring.isEmpty == true)
        #expect(ring.loadProblems.first?.contains("out of range") == true)
    }

    @Test func theOlderSlotIsUsedWhenTheNewerIsForged() throws {
        let good = [
            Self.record(P1Interval(importTariff1Wh: 12)), Self.record(P1Interval(importTariff1Wh: 7), sequence: 2),
        ]
        let older = Self.image(good, slot: 1, generation: 1)
        // Slot 0, one generation newer, claims the same data area with a forged count (the data holds 2 records).
        var forged = older
        RingImage.write(
            RingImage.Header(
                slot: 0, generation: 2, count: 3,
                runs: RingImage.readHeader(older, slot: 1)?.runs ?? [],
                nominalInterval: 60, context: Self.context, positions: [nil, nil, nil, nil]),
            into: &forged)
        let ring = try ReadingRing(storage: RAMRingStorage(image: forged))
        #expect(ring.loadedExistingImage == true)
        #expect(ring.records.map(\.p1?.importTariff1Wh) == [12, 7])
        #expect(ring.loadProblems == ["header slot 0 (generation 2): the header counts 3 records, the data holds 2"])
    }
}
