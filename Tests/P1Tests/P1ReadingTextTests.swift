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

/// Field report (issue 11.11): a telegram's text message can carry ANSI escape sequences, and `p1 parse --format
/// text` printed them raw to the terminal. Control characters are shown as `\xNN`.
@Test func textOutputShowsControlCharactersInsteadOfSendingThemToTheTerminal() throws {
    let message = "\u{1B}[2J\u{1B}]0;pwned\u{07}hello"
    let hex = message.utf8.map { String(format: "%02X", $0) }.joined()
    let body = Array(
        ("/ISK5\\2M550T-1012\r\n\r\n1-3:0.2.8(50)\r\n1-0:1.8.1(000001.000*kWh)\r\n0-0:96.13.0(\(hex))\r\n!").utf8)
    let crc = String(format: "%04X", CRC16.checksum(body))
    let telegram = try P1Telegram.parse(body + Array((crc + "\r\n").utf8))
    let text = telegram.reading.textSummary
    #expect(!text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 })
    #expect(text.contains(#"message: \x1b[2J\x1b]0;pwned\x07hello"#))
    #expect("a\u{9B}b".terminalSafe == #"a\x9bb"#)
}
