import CivilTime
import Testing

@testable import Firmware

@Suite("Ring record encoding")
struct RingCodingTests {
    @Test func varintsAreLEB128AndZigzag() throws {
        var bytes: [UInt8] = []
        bytes.appendRingVarint(UInt64(300))
        #expect(bytes == [0xAC, 0x02])
        bytes = []
        bytes.appendRingZigzag(-1)
        bytes.appendRingZigzag(1)
        bytes.appendRingZigzag(-64)
        bytes.appendRingZigzag(64)
        #expect(bytes == [0x01, 0x02, 0x7F, 0x80, 0x01])
        bytes = []
        bytes.appendRingZigzag(Int64.min)
        var reader = RingByteReader(bytes)
        #expect(try reader.zigzag() == Int64.min)
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(RingCRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }

    static let context = RecordCoding.Context(end: ringNewYear2026, peakW: 0, peakTime: 0, lastSequence: 99)

    static func roundTrip(_ record: IntervalRecord, after context: RecordCoding.Context = context) throws
        -> (IntervalRecord, Int)
    {
        let bytes = RecordCoding.encode(record, after: context, nominalInterval: 60)
        var reader = RingByteReader(bytes)
        let decoded = try RecordCoding.decode(&reader, after: context, nominalInterval: 60)
        #expect(reader.isAtEnd)
        return (decoded, bytes.count)
    }

    @Test func fullRecordRoundTripsExactly() throws {
        var record = fullRingRecord()
        record.firstSequence = 100
        record.lastSequence = 163
        record.flags.insert(.merged)
        let (decoded, size) = try Self.roundTrip(record)
        #expect(decoded == record)
        #expect(size < 80)
    }

    @Test(arguments: 0..<40)
    func typicalRecordsRoundTripExactly(index: Int) throws {
        var context = Self.context
        let records = typicalRingRecords(40)
        for record in records[..<index] {
            var stored = record
            stored.firstSequence = context.lastSequence + 1
            stored.lastSequence = stored.firstSequence
            context = context.advanced(by: stored)
        }
        var record = records[index]
        record.firstSequence = context.lastSequence + 1
        record.lastSequence = record.firstSequence
        #expect(try Self.roundTrip(record, after: context).0 == record)
    }

    @Test func edgeValuesRoundTrip() throws {
        let cases: [IntervalRecord] = [
            IntervalRecord(
                start: UnixTime(seconds: ringNewYear2026), end: UnixTime(seconds: ringNewYear2026), firstSequence: 100,
                lastSequence: 100),
            IntervalRecord(
                start: UnixTime(seconds: 0), end: UnixTime(seconds: Int64(UInt32.max)), flags: [.gap],
                p1: P1Interval(), firstSequence: 100, lastSequence: 100),
            IntervalRecord(
                start: UnixTime(seconds: ringNewYear2026 + 5), end: UnixTime(seconds: ringNewYear2026 + 65),
                p1: P1Interval(
                    importTariff1Wh: IntervalRecord.maxQuantity, averagePowerW: -IntervalRecord.maxQuantity,
                    voltageMaxDecivolts: 65535, monthPeakDemandW: 0, monthPeakTime: nil),
                firstSequence: 100, lastSequence: UInt32.max),
            IntervalRecord(
                start: UnixTime(seconds: ringNewYear2026 - 3600), end: UnixTime(seconds: ringNewYear2026 + 60),
                p1: P1Interval(
                    voltageMinDecivolts: 0, voltageMaxDecivolts: 65535, monthPeakDemandW: 1,
                    monthPeakTime: UnixTime(seconds: Int64(UInt32.max))),
                ade9000: ADE9000Interval(), firstSequence: 100, lastSequence: 100),
            IntervalRecord(
                start: UnixTime(seconds: ringNewYear2026), end: UnixTime(seconds: ringNewYear2026 + 60),
                ade9000: ADE9000Interval(averagePowerW: -1, voltageMaxDecivolts: 2100),
                firstSequence: 100, lastSequence: 100),
        ]
        for record in cases {
            #expect(try Self.roundTrip(record).0 == record)
        }
    }

    /// The measurement behind the capacity: a typical one-minute record is 10 bytes.
    @Test func typicalRecordCostsTenBytes() throws {
        var context = RecordCoding.Context(
            end: ringNewYear2026 + 86_400, peakW: 5000, peakTime: ringNewYear2026 + 7 * 3600 + 900, lastSequence: 0)
        var sizes: [Int] = []
        for var record in typicalRingRecords(200) {
            record.firstSequence = context.lastSequence + 1
            record.lastSequence = record.firstSequence
            sizes.append(RecordCoding.encode(record, after: context, nominalInterval: 60).count)
            context = context.advanced(by: record)
        }
        #expect(sizes.max() == 10)
        #expect(Double(sizes.reduce(0, +)) / Double(sizes.count) <= 10)
    }

    @Test func mergeFollowsTheRules() {
        let a = IntervalRecord(
            start: UnixTime(seconds: 1000), end: UnixTime(seconds: 1060), flags: [.sourceError],
            p1: P1Interval(
                importTariff1Wh: 20, exportTariff2Wh: 3, averagePowerW: 1000, maxImportPowerW: 3000,
                maxExportPowerW: 200, voltageMinDecivolts: 2290, voltageMaxDecivolts: 2330, gasLitres: 5,
                waterLitres: 1, quarterHourDemandW: 1200, monthPeakDemandW: 5000, monthPeakTime: UnixTime(seconds: 500)),
            ade9000: ADE9000Interval(
                phaseA: PhaseEnergy(importWh: 7, exportWh: 1), averagePowerW: 900, maxPowerW: 2000,
                voltageMinDecivolts: 2300, voltageMaxDecivolts: 2310),
            firstSequence: 5, lastSequence: 5)
        let b = IntervalRecord(
            start: UnixTime(seconds: 1060), end: UnixTime(seconds: 1240),
            p1: P1Interval(
                importTariff1Wh: 30, importTariff2Wh: 4, averagePowerW: 2000, maxImportPowerW: 2500,
                maxExportPowerW: 900, voltageMinDecivolts: 2280, voltageMaxDecivolts: 2320, gasLitres: 7,
                quarterHourDemandW: 1800, monthPeakDemandW: 5100, monthPeakTime: UnixTime(seconds: 1100)),
            firstSequence: 6, lastSequence: 8)
        let m = a.merged(with: b)
        #expect(m.start == UnixTime(seconds: 1000) && m.end == UnixTime(seconds: 1240))
        #expect(m.sequences == 5...8)
        #expect(m.flags == [.sourceError, .merged])
        let p1 = m.p1!
        #expect(p1.importTariff1Wh == 50 && p1.importTariff2Wh == 4 && p1.exportTariff2Wh == 3)
        #expect(p1.gasLitres == 12 && p1.waterLitres == 1)
        #expect(p1.averagePowerW == 1750)  // (1000·60 + 2000·180) / 240
        #expect(p1.maxImportPowerW == 3000 && p1.maxExportPowerW == 900)
        #expect(p1.voltageMinDecivolts == 2280 && p1.voltageMaxDecivolts == 2330)
        #expect(
            p1.quarterHourDemandW == 1800 && p1.monthPeakDemandW == 5100 && p1.monthPeakTime == UnixTime(seconds: 1100))
        #expect(m.ade9000 == a.ade9000)  // only one side has an ADE9000 part
        let gapped = a.merged(with: IntervalRecord(start: UnixTime(seconds: 1100), end: UnixTime(seconds: 1160)))
        #expect(gapped.flags.contains(.gap))
    }

    @Test func invalidRecordsAreRejectedByName() {
        let negative = IntervalRecord(
            start: UnixTime(seconds: 0), end: UnixTime(seconds: 60), p1: P1Interval(gasLitres: -1))
        #expect(throws: RingError.self) { try negative.validate() }
        do {
            try IntervalRecord(start: UnixTime(seconds: 100), end: UnixTime(seconds: 50)).validate()
            Issue.record("end before start accepted")
        } catch {
            #expect(error.kind == .invalidRecord)
            #expect(error.message.contains("IntervalRecord.end"))
        }
        let inverted = IntervalRecord(
            start: UnixTime(seconds: 0), end: UnixTime(seconds: 60),
            p1: P1Interval(voltageMinDecivolts: 2300, voltageMaxDecivolts: 2290))
        #expect(throws: RingError.self) { try inverted.validate() }
    }
}
