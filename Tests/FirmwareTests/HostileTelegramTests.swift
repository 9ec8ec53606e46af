import CivilTime
import Firmware
import P1
import Testing

/// A telegram with a valid CRC whose values no meter can show (a faulty meter, or a hostile network P1 dongle):
/// the sample is refused as `out_of_range`, counted by that name, and nothing downstream does arithmetic on it.
private func telegram(_ lines: [String]) throws -> P1Telegram {
    let body = Array(("/ISK5\\2M550T-1012\r\n\r\n" + lines.map { $0 + "\r\n" }.joined() + "!").utf8)
    let crc = CRC16.checksum(body)
    let hex = String(crc, radix: 16, uppercase: true)
    let bytes = body + Array((String(repeating: "0", count: 4 - hex.count) + hex + "\r\n").utf8)
    return try P1Telegram.parse(bytes)
}

@Test(arguments: [
    // The registers from the field report: 9·10¹⁵ kWh in both tariffs (the sum would overflow Int64 Wh).
    ["1-0:1.8.1(9000000000000000.000*kWh)", "1-0:1.8.2(9000000000000000.000*kWh)", "1-0:1.7.0(00.500*kW)"],
    // 18 digits without decimals: kWh → Wh would wrap into a plausible-looking number.
    ["1-0:1.8.1(900000000000000000*kWh)", "1-0:1.7.0(00.500*kW)"],
    // A negative register.
    ["1-0:1.8.1(-000123.456*kWh)", "1-0:1.7.0(00.500*kW)"],
    // A power beyond ±2³¹ W.
    ["1-0:1.8.1(000123.456*kWh)", "1-0:1.7.0(9999999999.999*kW)"],
])
func absurdValuesAreRefusedAsOutOfRange(lines: [String]) throws {
    let parsed = try telegram(["1-3:0.2.8(50)", "0-0:1.0.0(250101120000W)"] + lines)
    #expect(throws: P1SampleRejection.outOfRange) {
        try P1Sample.metered(reading: parsed.reading, receivedAt: UnixTime(milliseconds: 1_735_732_800_000))
    }
    #expect(P1Event(.telegram(parsed), receivedAt: UnixTime(milliseconds: 1_735_732_800_000)) == .rejected(.outOfRange))
    // `emeter p1 parse` still prints the telegram's lines, with the reason instead of a reading.
    let json = String(decoding: Payloads.telegram(parsed), as: UTF8.self)
    #expect(json.contains(#""reading":null,"reading_error":"out_of_range""#))
}

@Test func plausibleValuesAtTheEdgeOfTheRangeAreKept() throws {
    let parsed = try telegram(["1-3:0.2.8(50)", "1-0:1.8.1(999999999.999*kWh)", "1-0:1.7.0(99999.999*kW)"])
    let sample = try P1Sample.metered(reading: parsed.reading, receivedAt: .epoch)
    #expect(sample.importWh.tariff1 == 999_999_999_999)
    #expect(sample.powerImportW == 99_999_999)
}

@Test func aHeatOnlyTelegramIsReadButNotMetered() throws {
    let parsed = try telegram(["1-3:0.2.8(50)", "0-1:24.1.0(004)", "0-1:24.2.1(250101120000W)(00012.345*GJ)"])
    let sample = try P1Sample(reading: parsed.reading, receivedAt: .epoch)
    #expect(!sample.metersEnergy)
    #expect(throws: P1SampleRejection.noImportRegister) {
        try P1Sample.metered(reading: parsed.reading, receivedAt: .epoch)
    }
}

/// Issue "Hostile input" item 2: one impossible level field made `validate()` refuse the whole record, so the ring
/// never held it and no forwarder got its energy. Levels are now clamped (flag `level_clamped`); energy is kept.
@Test(arguments: [
    "1-0:32.7.0(7000.0*V)",  // 70 000 dV: above what a record stores (65 535)
    "1-0:1.4.0(-00.100*kW)",  // a negative quarter-hour demand
])
func anImpossibleLevelIsClampedAndTheIntervalKeepsItsEnergy(level: String) throws {
    func sample(_ importKWh: String, at seconds: Int64) throws -> P1Sample {
        let parsed = try telegram(["1-3:0.2.8(50)", "1-0:1.8.1(\(importKWh)*kWh)", "1-0:1.7.0(00.500*kW)", level])
        return try P1Sample.metered(reading: parsed.reading, receivedAt: UnixTime(seconds: seconds))
    }
    var aggregator = IntervalAggregator(length: 60, localTime: .utc)
    let start: Int64 = 1_767_225_600  // 2026-01-01T00:00:00Z
    var closed: [IntervalRecord] = []
    for (index, kWh) in ["001000.000", "001000.250", "001000.500"].enumerated() {
        let (records, accepted) = aggregator.add(try sample(kWh, at: start + 10 + 40 * Int64(index)))
        #expect(accepted)
        closed += records
    }
    closed += aggregator.advance(to: UnixTime(seconds: start + 240))
    let first = try #require(closed.first)
    #expect(first.flags.contains(.levelClamped))
    #expect(throws: Never.self) { try first.validate() }
    var ring = try ReadingRing(storage: RAMRingStorage())
    for record in closed { try ring.append(record) }
    #expect(ring.records.reduce(0) { $0 + ($1.p1?.importTariff1Wh ?? 0) } == 500)
}
