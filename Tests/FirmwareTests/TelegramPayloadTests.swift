import CivilTime
import Firmware
import Foundation
import P1
import TestSupport
import Testing

/// The JSON `emeter p1 parse` prints (``Payloads/telegram(_:receivedAt:)``).
private func object(_ json: String) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(json.utf8))
    return try #require(value as? [String: Any])
}

extension P1Telegram {
    fileprivate var jsonText: String { String(decoding: Payloads.telegram(self), as: UTF8.self) }
}

@Test(arguments: Fixtures.validTelegrams)
func everyFixtureProducesOneValidJSONObject(name: String) throws {
    let telegram = try P1Telegram.parse(try Fixtures.bytes(name))
    let json = telegram.jsonText
    #expect(!json.contains("\n"))
    let root = try object(json)
    #expect(root["header"] as? String == telegram.header)
    let obis = try #require(root["obis"] as? [String: Any])
    #expect(Set(obis.keys) == Set(telegram.lines.map(\.obisText)))
    #expect(root["reading"] is [String: Any])
}

@Test func jsonValuesAreExactAndTyped() throws {
    let v42 = try P1Telegram.parse(try Fixtures.bytes("nl_dsmr42_kaifa_v4_2.txt")).jsonText
    // Exact decimals as sent (no binary float formatting), leading zeros dropped.
    #expect(v42.contains(#""1-0:1.8.1":{"value":1581.123,"unit":"kWh"}"#))
    #expect(v42.contains(#""1-0:2.8.1":{"value":0.000,"unit":"kWh"}"#))
    #expect(v42.contains(#""0-0:96.7.21":{"value":15}"#))
    #expect(v42.contains(#""0-0:1.0.0":"2016-11-13T19:57:57Z""#))
    #expect(v42.contains(#""0-0:96.14.0":"0002""#))
    #expect(v42.contains(#""0-0:96.13.0":null"#))
    #expect(
        v42.contains(
            #""1-0:99.97.0":[{"end_utc":"2000-01-04T17:03:20Z","duration_s":237126},"#
                + #"{"end_utc":null,"duration_s":2147583646},"#
                + #"{"end_utc":"2000-01-01T23:00:03Z","duration_s":2317482647}]"#
        ))
    #expect(v42.contains(#""0-1:24.2.1":{"timestamp":"2016-11-29T19:00:00Z","value":981.443,"unit":"m3"}"#))
    #expect(v42.contains(#""crc":"6796""#))

    let be = try P1Telegram.parse(try Fixtures.bytes("be_fluvius_emucs171_alt_invalid_peak_ts.txt")).jsonText
    #expect(be.contains(#""1-0:1.6.0":{"timestamp":"2023-11-02T10:45:00Z","value":3.064,"unit":"kW"}"#))
    #expect(be.contains(#"{"month_utc":"2023-07-31T22:00:00Z","peak_time_utc":null,"value_kw":0.000}"#))
    #expect(
        be.contains(#"{"month_utc":"2023-10-31T23:00:00Z","peak_time_utc":"2023-10-16T11:00:00Z","value_kw":4.927}"#))
    #expect(be.contains(#""header":"FLU5\\253769484_A""#))

    let v3 = try P1Telegram.parse(try Fixtures.bytes("nl_dsmr30_iskra_mt382_v3.txt")).jsonText
    #expect(v3.contains(#""0-0:96.13.0":"0123456789:;<=>?0123456789"#))
    #expect(v3.contains(#""0-1:24.3.0":{"timestamp":"2009-02-12T15:00:00Z","value":1.001,"unit":"m3"}"#))

    let ie = try P1Telegram.parse(try Fixtures.bytes("ie_iskra_ie5t_ctrl02_header.txt")).jsonText
    #expect(ie.contains(#""header":"ISk5\u0002MIE5T-200""#))
    #expect(ie.contains(#""0-1:96.1.1":null"#))

    let q3d = try P1Telegram.parse(try Fixtures.bytes("de_easymeter_q3d_b1024_com1_gateway.txt")).jsonText
    #expect(q3d.contains(#""1-0:1.8.0*255":{"value":52185.7825309,"unit":"kWh"}"#))
    #expect(q3d.contains(#""crc":null"#))
}

@Test func readingJSONCarriesNormalisedValues() throws {
    let telegram = try P1Telegram.parse(try Fixtures.bytes("be_fluvius_emucs171_gas_water.txt"))
    let root = try object(telegram.jsonText)
    let reading = try #require(root["reading"] as? [String: Any])
    #expect(root["reading_error"] is NSNull)
    #expect(reading["country"] as? String == "BE")
    #expect(reading["tariff_name"] as? String == "day")
    #expect((reading["import_wh"] as? NSNumber)?.int64Value == 15792)
    #expect((reading["import_t2_wh"] as? NSNumber)?.int64Value == 15758)
    #expect((reading["month_peak_demand_w"] as? NSNumber)?.int64Value == 2589)
    #expect(reading["month_peak_time_utc"] as? String == "2020-05-09T11:45:58Z")
    let mbus = try #require(reading["mbus"] as? [[String: Any]])
    #expect(mbus.map { $0["medium"] as? String } == ["gas", "water"])
    #expect(reading["voltage_v"] is [Any])
}

/// One schema: the `reading` of `emeter p1 parse` has exactly the members (keys and values) of the live P1 line
/// that `emeter run` prints and MQTT/HTTP send for the same telegram.
@Test(arguments: Fixtures.validTelegrams)
func parseReadingEqualsTheLiveReading(name: String) throws {
    let telegram = try P1Telegram.parse(try Fixtures.bytes(name))
    let root = try object(telegram.jsonText)
    guard let sample = try? P1Sample(reading: telegram.reading, receivedAt: UnixTime(milliseconds: 1_700_000_000_000))
    else {
        #expect(root["reading"] is NSNull)
        return
    }
    let reading = try #require(root["reading"] as? [String: Any])
    var live = try object(
        String(decoding: Payloads.live(.p1(sample, demand: DemandView(meterOf: sample)), device: "d"), as: UTF8.self))
    for envelope in ["type", "device", "time", "time_utc"] { live.removeValue(forKey: envelope) }
    #expect(NSDictionary(dictionary: reading) == NSDictionary(dictionary: live))
}

@Test func jsonStringsAreEscaped() {
    var json = JSONWriter()
    json.string("a\"b\\c\u{01}\u{7F}é\n")
    #expect(json.text == #""a\"b\\c\u0001\u007fé\n""#)
}

/// The writer scans 8 bytes at a time and copies clean text at once: every length around the word size, with one
/// byte that needs an escape at every position (or none), in a writer that must grow, against a byte-by-byte
/// reference.
@Test func jsonStringEscapingAgreesWithAByteByByteReference() {
    func reference(_ bytes: [UInt8]) -> String {
        var out = "\""
        for byte in bytes {
            switch byte {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0..<0x20, 0x7F: out += "\\u00" + String(byte, radix: 16).leftPadded(to: 2)
            default: out.unicodeScalars.append(Unicode.Scalar(byte))
            }
        }
        return out + "\""
    }
    // Every ASCII byte, alone and in the middle of a short and of a long text.
    for byte: UInt8 in 0..<0x80 {
        for (before, after) in [(0, 0), (5, 6), (11, 20)] {
            let bytes = [UInt8](repeating: 0x41, count: before) + [byte] + [UInt8](repeating: 0x42, count: after)
            var json = JSONWriter()
            json.string(String(decoding: bytes, as: UTF8.self))
            #expect(json.text == reference(bytes), "byte 0x\(String(byte, radix: 16)) after \(before) bytes")
        }
    }
    for length in 0...33 {
        for special: UInt8 in [0x22, 0x5C, 0x0A, 0x01, 0x1F, 0x7F] {
            for position in -1..<length {
                var bytes = (0..<length).map { UInt8(ascii: "a") + UInt8($0 % 26) }
                if position >= 0 { bytes[position] = special }
                var json = JSONWriter(capacity: 1)
                json.arrayStart()
                json.string(String(decoding: bytes, as: UTF8.self))
                json.string("x")
                json.arrayEnd()
                #expect(
                    json.text == "[" + reference(bytes) + ",\"x\"]", "length \(length), 0x\(special) at \(position)")
            }
        }
    }
}

@Test func jsonNumbersAndTimesAreExact() {
    var json = JSONWriter()
    json.arrayStart()
    json.fixed(2301, decimals: 1)
    json.fixed(-5, decimals: 3)
    json.fixed(0, decimals: 2)
    json.fixed(Int64.min, decimals: 0)
    json.int(Int64.max)
    json.double(498)
    json.double(0.1)
    json.double(.nan)
    json.double(-.infinity)
    json.time(0)
    json.time(1_743_296_399)
    json.time(nil)
    json.arrayEnd()
    #expect(
        json.text
            == #"[230.1,-0.005,0.00,-9223372036854775808,9223372036854775807,498,0.1,null,null,"#
            + #""1970-01-01T00:00:00Z","2025-03-30T00:59:59Z",null]"#)
}

/// Command output (calibration results, `ade9000 read --json`) goes through the same writer as the payloads.
@Test func encodableValuesGoThroughTheSameWriter() throws {
    struct Phase: Encodable {
        var name: String
        var gains: [Int32]
        var error: Double?
        var nested: [String: Int]
    }
    let bytes = try JSONWriter.encode([Phase(name: "a\"", gains: [-1, 2], error: nil, nested: ["k": 1])])
    #expect(String(decoding: bytes, as: UTF8.self) == #"[{"name":"a\"","gains":[-1,2],"nested":{"k":1}}]"#)
}

/// The writer's own time formatting (two digits at a time, floor division for times before 1970) agrees with the
/// calendar's ISO-8601 text everywhere, including leap days, the last second of a day and before the epoch.
@Test func jsonTimesAgreeWithTheCalendar() {
    var values: [Int64] = [
        0, -1, -86_400, -86_401, 951_782_399, 951_782_400, 951_868_799, 1_743_296_399, 4_102_444_799,
        253_402_300_799, -62_167_219_200, .min, .max, .min + 86_399, .max - 86_399,
    ]
    var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
    for _ in 0..<2000 {
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        values.append(Int64(bitPattern: seed >> 1) % 253_402_300_799)
    }
    for value in values {
        var json = JSONWriter()
        json.time(value)
        #expect(json.text == "\"\(Payloads.iso8601(value))\"", "\(value)")
    }
    // One writer for many times, as for a telegram: the day it converted last is remembered, so times of the same
    // day, the next, and back again must each still get their own date.
    let sequence: [Int64] = [
        1_743_296_399, 1_743_296_400, 1_743_292_800, 1_743_206_399, 1_743_296_399, -1, 0, -1, 951_782_399,
    ]
    var json = JSONWriter()
    json.arrayStart()
    for value in sequence + values { json.time(value) }
    json.arrayEnd()
    #expect(json.text == "[" + (sequence + values).map { "\"\(Payloads.iso8601($0))\"" }.joined(separator: ",") + "]")
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// The per-phase lists of a sample hold up to three values inline; a fourth is refused, never a trap.
@Test func phaseValuesHoldThreePhasesInline() {
    var values: PhaseValues = []
    #expect(values.isEmpty)
    for value: Int64 in [2301, 2295, 2312] {
        let appended = values.append(value)
        #expect(appended)
    }
    let fourth = values.append(2400)
    #expect(!fourth)
    #expect(Array(values) == [2301, 2295, 2312])
    #expect(values == [2301, 2295, 2312])
    #expect(values != [2301, 2295])
    #expect(values.map { $0 / 10 } == [230, 229, 231])
    #expect(Set<PhaseValues>([values, [2301, 2295, 2312], [2301, 2295]]).count == 2)
    #expect(Array(values.enumerated().map(\.offset)) == [0, 1, 2])
}
