import Simulator
import TestSupport
import Testing

@testable import P1

private func v42() throws -> [UInt8] { try Fixtures.bytes("nl_dsmr42_kaifa_v4_2.txt") }
private func v22() throws -> [UInt8] { try Fixtures.bytes("nl_dsmr22_iskra_mt382_v2_2.txt") }

@Test func streamFixturesYieldTheDocumentedTelegramCount() throws {
    let cases: [(String, Int)] = [
        ("stream/v22_v42_v22_concat.bin", 3), ("stream/v42_truncated_end_then_full.bin", 1),
        ("stream/v42_missing_start_then_full.bin", 1), ("stream/v42_full_then_truncated_end.bin", 1),
        ("stream/v42_full_then_missing_start.bin", 1),
    ]
    for (name, count) in cases {
        let bytes = try Fixtures.bytes(name)
        for chunking in Chunking.allCases {
            let result = frame(bytes, chunking)
            #expect(result.telegrams.count == count, "\(name) \(chunking)")
            for telegram in result.telegrams { #expect(telegram.lines.count >= 15) }
        }
    }
    let concat = frame(try Fixtures.bytes("stream/v22_v42_v22_concat.bin"), .byteByByte)
    #expect(concat.telegrams.map(\.header) == ["ISk5\\2MT382-1004", "KFM5KAIFA-METER", "ISk5\\2MT382-1004"])
    let truncated = frame(try Fixtures.bytes("stream/v42_truncated_end_then_full.bin"), .whole)
    #expect(truncated.rejections.map(\.reason) == [.truncated])
    let tail = frame(try Fixtures.bytes("stream/v42_full_then_truncated_end.bin"), .whole)
    #expect(tail.framer.isInsideTelegram, "the unterminated second telegram stays pending")
}

@Test func crcMismatchIsRejectedAndCounted() throws {
    let bytes = try Fixtures.bytes("derived/nl_dsmr50_crc_mismatch.txt")
    for chunking in Chunking.allCases {
        let result = frame(bytes, chunking)
        #expect(result.telegrams.isEmpty)
        #expect(result.rejections.count == 1)
        #expect(result.rejections.first?.reason == .crcMismatch)
        #expect(result.rejections.first?.transmittedCRC == 0x6EEE)
        #expect(result.rejections.first?.computedCRC == 0xA309)
        #expect(result.framer.statistics[.crcMismatch] == 1)
    }
    #expect(throws: P1Error.self) { try P1Telegram.parse(bytes) }
}

@Test func telegramWithoutItsCRCLineIsIncomplete() throws {
    let bytes = try Fixtures.bytes("derived/nl_dsmr50_crc_line_missing.txt")
    let result = frame(bytes, .whole)
    #expect(result.telegrams.isEmpty)
    #expect(result.framer.isInsideTelegram)
    do throws(P1Error) {
        _ = try P1Telegram.parse(bytes)
        Issue.record("expected an error")
    } catch {
        guard case .noTelegram = error else {
            Issue.record("unexpected \(error)")
            return
        }
    }
    // Followed by a complete telegram, it is counted as truncated.
    let next = frame(bytes + (try Fixtures.bytes("nl_dsmr50_iskra_mt382_v5.txt")), .whole)
    #expect(next.telegrams.count == 1)
    #expect(next.rejections.map(\.reason) == [.truncated])
}

@Test func dsmr4TelegramWithBangButNoCRCIsRejected() throws {
    var bytes = try v42()
    let bang = try #require(bytes.firstIndex(of: UInt8(ascii: "!")))
    bytes.removeSubrange((bang + 1)..<(bang + 5))  // "!6796\r\n" → "!\r\n"
    let result = frame(bytes, .whole)
    #expect(result.telegrams.isEmpty)
    #expect(result.rejections.map(\.reason) == [.missingCRC])
    // DSMR 2.2 without CRC is fine unless the caller insists on one.
    #expect(frame(try v22(), .whole).telegrams.count == 1)
    #expect(frame(try v22(), .whole, options: .init(requireCRC: true)).rejections.map(\.reason) == [.missingCRC])
}

@Test func lowerCaseCRCAndNulBeforeLineEndAreAccepted() throws {
    var bytes = try v42()
    let bang = try #require(bytes.firstIndex(of: UInt8(ascii: "!")))
    bytes.replaceSubrange((bang + 1)..<(bang + 5), with: Array("6796".lowercased().utf8))
    bytes.insert(0, at: bang + 5)
    let result = frame(bytes, .byteByByte)
    #expect(result.telegrams.count == 1)
    #expect(result.telegrams.first?.transmittedCRC == 0x6796)
}

@Test func garbageAndFFRunsBetweenTelegramsAreSkipped() throws {
    let telegram = try v42()
    var random = P1SeededRandom(seed: 7)
    var stream: [UInt8] = []
    for _ in 0..<5 {
        stream += (0..<200).map { _ in UInt8.random(in: 0...255, using: &random) }.filter { $0 != UInt8(ascii: "/") }
        stream += [UInt8](repeating: 0xFF, count: 300)
        stream += telegram
    }
    for chunking in Chunking.allCases {
        let result = frame(stream, chunking)
        #expect(result.telegrams.count == 5, "\(chunking)")
        #expect(result.rejections.isEmpty)
        #expect(result.framer.statistics.skippedBytes >= 5 * 300)
    }
}

@Test func strayStartCharacterStartsANewTelegram() throws {
    let telegram = try v42()
    // A "/" in the middle of a telegram: the first one is truncated, the rest is a broken telegram
    // (CRC mismatch), and the following full copy is accepted.
    var broken = telegram
    broken.insert(UInt8(ascii: "/"), at: 300)
    let result = frame(broken + telegram, .randomSplits)
    #expect(result.telegrams.count == 1)
    #expect(result.rejections.map(\.reason) == [.truncated, .crcMismatch])
    #expect(result.framer.statistics[.truncated] == 1)
    #expect(result.framer.statistics[.crcMismatch] == 1)
}

@Test func gluedTelegramsWithoutLineEnd() throws {
    let telegram = try v42()
    let glued = Array(telegram.dropLast(2)) + telegram  // "!6796" directly followed by "/"
    let result = frame(glued, .byteByByte)
    #expect(result.telegrams.count == 1)
    #expect(result.rejections.map(\.reason) == [.truncated])
}

@Test func overLongLineIsRejectedAndTheFramerResynchronises() throws {
    var long = Array("/XXX5 long\r\n\r\n1-3:0.2.8(50)\r\n0-0:96.13.0(".utf8)
    long += [UInt8](repeating: UInt8(ascii: "4"), count: 5000)
    long += Array(")\r\n!0000\r\n".utf8)
    let telegram = try v42()
    let result = frame(long + telegram, .randomSplits)
    #expect(result.telegrams.count == 1)
    #expect(result.rejections.map(\.reason) == [.lineTooLong])
    #expect(result.rejections.first?.header == "XXX5 long")
    // A maximal DSMR 5 text message (1024 characters → 2048 hex digits) still fits.
    var text = Array("/XXX5 text\r\n\r\n0-0:96.13.0(".utf8)
    text += [UInt8](repeating: UInt8(ascii: "4"), count: 2048) + Array(")\r\n!".utf8)
    text += Array(P1Framer.hex4(CRC16.checksum(text)).utf8) + [13, 10]
    let ok = frame(text, .whole)
    #expect(ok.telegrams.count == 1)
    #expect(ok.telegrams.first?.value(.textMessage)?.decodedText == String(repeating: "D", count: 1024))
}

@Test func tooManyLinesAndTooLongTelegramsAreBounded() throws {
    var many = Array("/XXX5 many\r\n\r\n".utf8)
    for _ in 0..<300 { many += Array("1-0:1.8.1(000001.000*kWh)\r\n".utf8) }
    many += Array("!\r\n".utf8)
    let result = frame(many, .whole)
    #expect(result.rejections.map(\.reason) == [.tooManyLines])
    let small = frame(many, .whole, options: .init(maximumTelegramLength: 1000, maximumLines: 1000))
    #expect(small.rejections.map(\.reason) == [.telegramTooLong])
}

@Test func malformedCRCLineIsRejected() throws {
    var bytes = try v42()
    let bang = try #require(bytes.firstIndex(of: UInt8(ascii: "!")))
    bytes.insert(UInt8(ascii: "x"), at: bang + 3)
    let result = frame(bytes, .whole)
    #expect(result.rejections.map(\.reason) == [.malformedCRC])
}

@Test func parityBitStrippingReads7E1DataOn8N1() throws {
    let telegram = try v42()
    let withParity = telegram.map { byte -> UInt8 in byte.nonzeroBitCount % 2 == 1 ? byte | 0x80 : byte }
    #expect(frame(withParity, .whole).telegrams.isEmpty)
    #expect(frame(withParity, .whole, options: .init(stripParityBit: true)).telegrams.count == 1)
}

@Test func unitMismatchIsADiagnosticNotARejection() throws {
    var text = Array("/XXX5 unit\r\n\r\n1-0:1.8.1(000001.000*m3)\r\n1-0:32.7.0(abc*V)\r\nfoo bar\r\n!".utf8)
    text += Array(P1Framer.hex4(CRC16.checksum(text)).utf8) + [13, 10]
    let result = frame(text, .whole)
    let telegram = try #require(result.telegrams.first)
    #expect(
        telegram.diagnostics.map(\.problem) == [
            .unexpectedUnit(expected: .kWh, got: .m3), .malformedValue(expected: .number), .notAnObisLine,
        ])
    #expect(telegram.unparsedLines == ["foo bar"])
    #expect(telegram["1-0:32.7.0"] == "abc*V")
}

@Test func framerMemoryStaysBoundedOverManyTelegrams() throws {
    // The framer owns one line buffer; feeding thousands of telegrams and garbage keeps its statistics exact and
    // never accumulates telegram bytes.
    let telegram = try Fixtures.bytes("be_fluvius_emucs171_gas_water.txt")
    var framer = P1Framer()
    var count = 0
    for _ in 0..<2000 {
        framer.feed(telegram) { if case .telegram = $0 { count += 1 } }
        framer.feed([0xFF, 0x00, 0x41]) { _ in }
    }
    #expect(count == 2000)
    #expect(framer.statistics.telegrams == 2000)
    #expect(framer.statistics.rejected == 0)
    #expect(framer.statistics.skippedBytes == 6000)
}

@Test func valueWrappedOverLinesIsJoinedAndOpenValueDoesNotSwallowTheEnd() throws {
    var text = Array("/XXX5 wrap\r\n\r\n0-0:96.13.0(3031\r\n3233)\r\n1-0:1.8.1(000001.000*kWh\r\n!".utf8)
    text += Array(P1Framer.hex4(CRC16.checksum(text)).utf8) + [13, 10]
    for chunking in Chunking.allCases {
        let result = frame(text, chunking)
        let telegram = try #require(result.telegrams.first, "\(chunking)")
        #expect(telegram.value(.textMessage)?.decodedText == "0123")
        #expect(telegram["1-0:1.8.1"] == "1.000 kWh")
    }
}

@Test func crcsArePrintedAsFourUpperCaseHexDigits() {
    #expect(P1Framer.hex4(0x6796) == "6796")
    #expect(P1Framer.hex4(0x0A0F) == "0A0F")
    #expect(P1Framer.hex4(0) == "0000")
    #expect(P1Framer.hex4(0xFFFF) == "FFFF")
    #expect(P1Framer.hex4(0xBEEF).utf8.count == 4)
}
