import TestSupport
import Testing

@testable import P1

@Test func crc16ArcCheckValue() {
    #expect(CRC16.checksum(Array("123456789".utf8)) == 0xBB3D)
    #expect(CRC16.checksum([]) == 0)
}

@Test func crcOverFixtureMatchesReadme() throws {
    // README "CRC column": computed over "/" … "!" inclusive, including for telegrams that carry no CRC.
    for (name, crc) in [
        ("nl_dsmr42_kaifa_v4_2.txt", 0x6796), ("nl_dsmr22_iskra_mt382_v2_2.txt", 0x99E3),
        ("de_easymeter_q3d_b1024_com1_gateway.txt", 0x9134), ("nl_dsmr30_iskra_mt382_v3.txt", 0xCA2F),
    ] {
        let bytes = try Fixtures.bytes(name)
        let bang = try #require(bytes.firstIndex(of: UInt8(ascii: "!")))
        #expect(CRC16.checksum(bytes[...bang]) == UInt16(crc), "\(name)")
    }
}

@Test(arguments: [
    ("000004.426", 4426, 3, "4.426"), ("0230.0", 2300, 1, "230.0"), ("-0.926", -926, 3, "-0.926"),
    ("00000000", 0, 0, "0"), ("00052185.7825309", 521_857_825_309, 7, "52185.7825309"), ("0.000", 0, 3, "0.000"),
    ("2317482647", 2_317_482_647, 0, "2317482647"),
])
func decimalParsesExactly(text: String, mantissa: Int64, scale: Int, printed: String) throws {
    let value = try #require(P1Decimal(parsing: text))
    #expect(value.mantissa == mantissa)
    #expect(value.scale == scale)
    #expect(value.description == printed)
}

@Test func decimalRejectsNonNumbers() {
    for text in ["", ".", "1.2.3", "12a", "0999.00*kW", "1234567890123456789012", "--1"] {
        #expect(P1Decimal(parsing: text) == nil, "\(text)")
    }
}

@Test func decimalArithmeticIsExact() throws {
    let a = dec("1581.123")
    let b = dec("1435.706")
    #expect(P1Decimal.sum(a, b)?.description == "3016.829")
    #expect(a.shifted(by: 3).description == "1581123")
    #expect(dec("4.4").shifted(by: 3).description == "4400")
    #expect(dec("52185.7825309").shifted(by: 3).description == "52185782.5309")
    #expect(dec("2.5").roundedInteger == 3)
    #expect(dec("-2.5").roundedInteger == -3)
    #expect(dec("1.10") == dec("1.1"))
    #expect(dec("0.1") < dec("0.25"))
}

@Test func obisCodesParse() throws {
    let code = try #require(ObisCode(parsing: "1-0:1.8.1"))
    #expect(code == ObisCode(1, 0, 1, 8, 1))
    #expect(ObisCode(parsing: "1-0:1.8.0*255") == ObisCode(parsing: "1-0:1.8.0"))
    #expect(ObisCode(parsing: "0-0:96.1.255*255")?.description == "0-0:96.1.255")
    #expect(ObisCode(parsing: "0-2:24.2.1")?.b == 2)
    for bad in ["", "1-0:1.8", "1-0:1.8.1.2", "1-0:256.8.0", "a-0:1.8.0", "1-0:1..0", "(00001.001)"] {
        #expect(ObisCode(parsing: bad) == nil, "\(bad)")
    }
}

@Test func fieldTableIsUniqueAndComplete() {
    #expect(Set(P1Field.allCases.map(\.obis)).count == P1Field.allCases.count)
    #expect(Set(P1Field.allCases.map(\.name)).count == P1Field.allCases.count)
    for field in P1Field.allCases { #expect(P1Field.lookup(field.obis)?.field == field) }
    // M-Bus fields match any channel; the meter's own 0-0 codes stay distinct.
    #expect(P1Field.lookup("0-3:24.2.1")?.field == .mbusReading)
    #expect(P1Field.lookup("0-3:24.2.1")?.channel == 3)
    #expect(P1Field.lookup("0-0:96.1.1")?.field == .equipmentIdentifier)
    #expect(P1Field.lookup("0-2:96.1.1")?.field == .mbusIdentifierBelgium)
    #expect(P1Field.lookup("0-0:96.3.10")?.field == .breakerState)
    #expect(P1Field.lookup("1-0:15.8.0") == nil)
}

@Test func timestampsConvertToUTC() {
    func iso(_ text: String) -> String? {
        if case .time(let t) = P1Timestamp.parse(text) { return t.iso8601 }
        return nil
    }
    #expect(iso("161113205757W") == "2016-11-13T19:57:57Z")
    #expect(iso("200426223001S") == "2020-04-26T20:30:01Z")
    // The last second of winter time on 2025-03-30 (01:59:59 W → 00:59:59Z; 02:xx local does not exist) and
    // the first second of summer time (03:00:00 S → 01:00:00Z).
    #expect(iso("250330015959W") == "2025-03-30T00:59:59Z")
    #expect(iso("250330030000S") == "2025-03-30T01:00:00Z")
    #expect(iso("250330035959S") == "2025-03-30T01:59:59Z")
    // The repeated October hour, resolved by the suffix.
    #expect(iso("251026023000S") == "2025-10-26T00:30:00Z")
    #expect(iso("251026023000W") == "2025-10-26T01:30:00Z")
    // DSMR 2.2/3: 12 digits, offset from the EU rule.
    #expect(iso("161107190000") == "2016-11-07T18:00:00Z")
    #expect(iso("160707190000") == "2016-07-07T17:00:00Z")
    #expect(iso("090212160000") == "2009-02-12T15:00:00Z")
    #expect(iso("2503300159") == nil)
}

@Test(arguments: ["632525252525S", "632525252525W", "700101010000W", "000101000001W", "000101010000W", "000101000000S"])
func sentinelTimestampsAreNoValue(text: String) {
    #expect(P1Timestamp.parse(text) == .sentinel)
}

@Test func timestampRoundTripsThroughDSMRText() {
    for seconds: Int64 in [1_736_148_600, 1_743_296_399, 1_743_296_400, 1_761_440_400, 1_900_000_000] {
        let time = P1Timestamp(utcSeconds: seconds)
        guard case .time(let parsed) = P1Timestamp.parse(time.dsmrString()) else {
            Issue.record("no parse of \(time.dsmrString())")
            continue
        }
        #expect(parsed.utcSeconds == seconds)
    }
    #expect(P1Timestamp(utcSeconds: 1_743_296_399).dsmrString() == "250330015959W")
    #expect(P1Timestamp(utcSeconds: 1_743_296_400).dsmrString() == "250330030000S")
}

@Test func lineParserKeepsUnknownAndIrregularLines() throws {
    let unknown = try #require(P1LineParser.parse(line: "1-0:15.8.0(000800.817*kWh)"))
    #expect(unknown.field == nil)
    #expect(unknown.value == .number(dec("800.817"), unit: .kWh))
    let iskra = try #require(P1LineParser.parse(line: "1-0:1.6.0(08.796*kW)(260102010000)"))
    #expect(iskra.value.rendered == "8.796 kW @ 2026-01-02T00:00:00Z")
    let fluvius = try #require(P1LineParser.parse(line: "1-0:1.6.0(200509134558S)(02.589*kW)"))
    #expect(fluvius.value.rendered == "2.589 kW @ 2020-05-09T11:45:58Z")
    #expect(P1LineParser.parse(line: "1-0:99.97.0(0)()")?.value == .failureLog([]))
    #expect(P1LineParser.parse(line: "1-0:99.97.0()")?.value == .failureLog([]))
    #expect(
        P1LineParser.parse(line: "1-0:99.97.0(1)()()()")?.value
            == .failureLog([P1PowerFailure(end: nil, durationSeconds: nil)]))
    let smarty = try #require(P1LineParser.parse(line: "1-1:31.4.0(040*A)(-040*A)"))
    #expect(smarty.value.rendered == "[40 A, -40 A]")
    #expect(P1LineParser.parse(line: "0-1:24.2.1(0)")?.value.rendered == "0 @ nil")
    let hexVersion = try #require(P1LineParser.parse(line: "0-0:96.1.4(3231313130)"))
    var telegram = P1Telegram(header: "ISk5\\2MIE5T-200")
    telegram.lines = [hexVersion]
    #expect(telegram.reading.p1Version == "21110")
}

@Test func cubicMetreSignInLatin1OrUTF8IsReadAsM3() throws {
    for unit in [[0x6D, 0xB3], [0x6D, 0xC2, 0xB3]] as [[UInt8]] {
        var text = Array("/XXX5 m3\r\n\r\n0-1:24.1.0(003)\r\n0-1:24.2.1(200426223001S)(00246.138*".utf8)
        text += unit + Array(")\r\n!".utf8)
        text += Array(P1Framer.hex4(CRC16.checksum(text)).utf8) + [13, 10]
        let telegram = try P1Telegram.parse(text)
        #expect(telegram.value(.mbusReading, channel: 1)?.unit == .m3)
        #expect(telegram.reading.device(.gas)?.value == dec("246.138"))
    }
}
