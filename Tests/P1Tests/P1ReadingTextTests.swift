import Foundation
import P1
import TestSupport
import Testing

@Test func textSummaryNamesTariffsPerCountry() throws {
    let be = try P1Telegram.parse(try Fixtures.bytes("be_fluvius_emucs171_gas_water.txt")).reading.textSummary
    #expect(be.contains("import 15.792 kWh (day 0.034 kWh, night 15.758 kWh)"))
    #expect(be.contains("M-Bus 2 water 872.234 m3"))
    let nl = try P1Telegram.parse(try Fixtures.bytes("nl_dsmr50_iskra_mt382_v5.txt")).reading.textSummary
    #expect(nl.contains("import 6.825 kWh (low 4.426 kWh, normal 2.399 kWh)"))
    #expect(nl.contains("tariff 2 (normal)"))
}

@Test func readingIsCodable() throws {
    let reading = try P1Telegram.parse(try Fixtures.bytes("nl_dsmr42_kaifa_v4_2.txt")).reading
    let data = try JSONEncoder().encode(reading)
    let decoded = try JSONDecoder().decode(P1Reading.self, from: data)
    #expect(decoded == reading)
    #expect(String(decoding: data, as: UTF8.self).contains(#""1581123""#), "decimals encode as exact strings")
}
