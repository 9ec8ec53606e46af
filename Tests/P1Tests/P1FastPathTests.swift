import Simulator
import TestSupport
import Testing

@testable import P1

// Tests for the framer's fast paths: slicing-by-16/8 CRC, reused line storage, the string cache and the
// allocation-free hex decoding. Each is checked against the straightforward version it replaces.

@Test func crcSlicingBy8MatchesTheBytewiseLoopOverRandomData() {
    var random = P1SeededRandom(seed: 0xC0FFEE)
    for length in 0..<300 {
        let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
        let initial = UInt16.random(in: 0...UInt16.max, using: &random)
        var sliced = CRC16(value: initial)
        bytes.withUnsafeBufferPointer { sliced.update(buffer: $0) }
        var bytewise = CRC16(value: initial)
        bytewise.updateBytewise(bytes)
        #expect(sliced.value == bytewise.value, "length \(length), initial \(initial)")
        // Split at a random point: two runs give the same CRC as one (the framer feeds runs between line ends).
        let split = length == 0 ? 0 : Int.random(in: 0...length, using: &random)
        var twoRuns = CRC16(value: initial)
        bytes[..<split].withUnsafeBufferPointer { twoRuns.update(buffer: $0) }
        bytes[split...].withUnsafeBufferPointer { twoRuns.update(buffer: $0) }
        #expect(twoRuns.value == bytewise.value, "length \(length) split at \(split)")
    }
    // The CRC-16/ARC check value through the slicing path (9 bytes: one block of 8 and one single byte).
    var check = CRC16()
    Array("123456789".utf8).withUnsafeBufferPointer { check.update(buffer: $0) }
    #expect(check.value == 0xBB3D)
}

@Test func slicingTablesExtendTheByteTable() {
    // Table k is table 0 applied to table k-1 shifted by one zero byte; table 0 is the byte table itself.
    #expect(Array(CRC16.slicingTables[0..<256]) == CRC16.table)
    #expect(CRC16.slicingTables.count == 16 * 256)
    #expect(CRC16.table[1] == 0xC0C1)  // CRC-16/ARC table entry 1 (reflected 0x8005)
}

/// The hex decoding as it was written before: one Unicode scalar appended per pair of digits.
private func referenceDecodeHex(_ hex: String) -> String? {
    let bytes = Array(hex.utf8)
    guard bytes.count % 2 == 0 else { return nil }
    var scalars = String.UnicodeScalarView()
    var index = 0
    while index < bytes.count {
        guard let hi = P1Value.hexDigit(bytes[index]), let lo = P1Value.hexDigit(bytes[index + 1]) else { return nil }
        scalars.append(Unicode.Scalar(hi << 4 | lo))
        index += 2
    }
    return String(scalars)
}

@Test func hexDecodingMatchesTheScalarByScalarReference() {
    var random = P1SeededRandom(seed: 0x4EC5)
    let digits = Array("0123456789ABCDEFabcdef".utf8)
    for length in 0..<60 {
        // Mostly valid hex of random bytes (ASCII and ISO 8859-1 above 0x7F), sometimes an invalid digit.
        var hex = (0..<(2 * length)).map { _ in digits[Int.random(in: 0..<digits.count, using: &random)] }
        if length > 0 && length % 7 == 0 { hex[Int.random(in: 0..<hex.count, using: &random)] = UInt8(ascii: "G") }
        let text = String(decoding: hex, as: UTF8.self)
        #expect(P1Value.decodeHex(text) == referenceDecodeHex(text), "\(text)")
    }
    #expect(P1Value.decodeHex("4B38") == "K8")
    #expect(P1Value.decodeHex("6DB3") == "m\u{B3}")
    #expect(P1Value.decodeHex("00") == "\u{0}")
    #expect(P1Value.decodeHex("") == "")
    #expect(P1Value.decodeHex("ABC") == nil)
    #expect(P1Value.decodeHex("4X") == nil)
}

@Test func telegramsKeptByTheCallerAreNotChangedByLaterTelegrams() throws {
    // The framer reuses its line storage and recent strings for the next telegram; a telegram the caller still
    // holds must keep its own values (copy-on-write), whatever comes after it.
    let belgian = try Fixtures.bytes("be_fluvius_emucs171_gas_water.txt")
    let dutch = try Fixtures.bytes("nl_dsmr50_iskra_mt382_v5.txt")
    let freshBelgian = try P1Telegram.parse(belgian)
    let freshDutch = try P1Telegram.parse(dutch)
    var framer = P1Framer()
    var kept: [P1Telegram] = []
    for bytes in [belgian, dutch, belgian, belgian, dutch] {
        framer.feed(bytes) { if case .telegram(let telegram) = $0 { kept.append(telegram) } }
    }
    try #require(kept.count == 5)
    #expect(kept[0] == freshBelgian)
    #expect(kept[1] == freshDutch)
    #expect(kept[2] == freshBelgian)
    #expect(kept[3] == freshBelgian)
    #expect(kept[4] == freshDutch)
    #expect(kept[0].header == "FLU5\\253769484_A")
    #expect(kept[4].header == "ISk5\\2MT382-1000")
    #expect(kept[3].reading == freshBelgian.reading)
    #expect(kept[3].reading.equipmentId == "1SAG3101021605")
}

@Test func cachedStringsNeverStandInForDifferentBytes() throws {
    // Two headers of the same length, one all ASCII and one with an ISO 8859-1 byte at the same place, and two
    // identifiers differing in their last digit: each telegram gets exactly its own text.
    func telegram(header: [UInt8], identifier: String) -> [UInt8] {
        var text = [UInt8(ascii: "/")] + header + Array("\r\n\r\n0-0:96.1.1(\(identifier))\r\n!".utf8)
        text += Array(P1Framer.hex4(CRC16.checksum(text)).utf8) + [13, 10]
        return text
    }
    let ascii = Array("XYZ5 cache test header A".utf8)
    var latin = ascii
    latin[latin.count - 1] = 0xC1  // Á in ISO 8859-1
    let first = "3153414731313030303232353036"
    let second = "3153414731313030303232353037"
    var framer = P1Framer()
    var telegrams: [P1Telegram] = []
    for bytes in [
        telegram(header: ascii, identifier: first), telegram(header: latin, identifier: second),
        telegram(header: ascii, identifier: first), telegram(header: ascii, identifier: second),
    ] {
        framer.feed(bytes) { if case .telegram(let telegram) = $0 { telegrams.append(telegram) } }
    }
    try #require(telegrams.count == 4)
    #expect(
        telegrams.map(\.header) == [
            "XYZ5 cache test header A", "XYZ5 cache test header \u{C1}", "XYZ5 cache test header A",
            "XYZ5 cache test header A",
        ])
    #expect(telegrams.map { $0.value(.equipmentIdentifier)?.text } == [first, second, first, second])
    #expect(telegrams[1].reading.equipmentId == "1SAG1100022507")
}

@Test func parityStrippedStreamGivesTheSameTelegramAsCleanBytes() throws {
    // 7E1 bytes read at 8N1 (parity in bit 7) go through the masked copy of the run path; the telegram, its CRC
    // and the framer statistics must equal those of the clean bytes, in every chunking.
    let clean = try Fixtures.bytes("be_fluvius_emucs171_gas_water.txt")
    let withParity = clean.map { byte -> UInt8 in byte.nonzeroBitCount % 2 == 1 ? byte | 0x80 : byte }
    let expected = try P1Telegram.parse(clean)
    for chunking in Chunking.allCases {
        let result = frame(withParity, chunking, options: .init(stripParityBit: true))
        #expect(result.telegrams == [expected], "\(chunking)")
        #expect(result.framer.statistics.bytes == clean.count, "\(chunking)")
    }
}

@Test func obisBufferParserAgreesWithTheGenericParser() {
    // The line parser uses the buffer version; both must accept and reject exactly the same texts.
    var cases = [
        "1-0:1.8.1", "0-0:96.1.1", "1-0:1.8.0*255", "0-0:96.1.255*255", "01-00:001.008.001", "0-2:24.2.1",
        "255-255:255.255.255*255", "256-0:1.8.1", "1-0:1.8", "1-0:1.8.1*", "1-0:1.8.1*1*2", "1-0:1.8.1.2", "1:0-1.8.1",
        "1-0:1.8.1 ", " 1-0:1.8.1", "", "-", "1-0:1.8.x", "1-0::1.8", "0000000000001-0:1.8.1", "1-0:1.8.1*256",
    ]
    var random = P1SeededRandom(seed: 0x0B15)
    let alphabet = Array("0123456789-:.*2".utf8)
    for _ in 0..<2000 {
        let length = Int.random(in: 0...14, using: &random)
        cases.append(
            String(
                decoding: (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] },
                as: UTF8.self))
    }
    for text in cases {
        let bytes = Array(text.utf8)
        let generic = ObisCode.parse(bytes[...])
        let fast = bytes.withUnsafeBufferPointer { ObisCode.parse($0) }
        #expect(fast == generic, "\(text)")
    }
}

@Test func fieldLookupFindsEveryFieldAndItsChannels() throws {
    for field in P1Field.allCases {
        let match = try #require(P1Field.lookup(field.obis), "\(field)")
        #expect(match.field == field)
        if field.definition.perChannel {
            for channel in UInt8(1)...P1Field.maximumChannel {
                let onChannel = P1Field.lookup(field.obis.onChannel(channel))
                #expect(onChannel?.field == field && onChannel?.channel == channel, "\(field) channel \(channel)")
            }
        }
    }
    #expect(P1Field.lookup("1-0:1.8.9") == nil)
    #expect(P1Field.lookup("0-0:96.1.9") == nil)
    #expect(P1Field.lookup("1-0:1.8.1*1") == nil)  // F other than 255 is another code
}

@Test func countryDetectionFindsTheIrishHeaderAnywhere() {
    #expect(P1Country.detect(P1Telegram(header: "ISk5\\2MIE5T-200")) == .ireland)
    #expect(P1Country.detect(P1Telegram(header: "XYZ5MIE5T")) == .ireland)
    #expect(P1Country.detect(P1Telegram(header: "MIE5")) == .unknown)
    #expect(P1Country.detect(P1Telegram(header: "ISk5\\2MT382-1000")) == .netherlands)
    #expect(P1Country.detect(P1Telegram(header: "fLu5\\253769484_A")) == .belgium)
    #expect(P1Country.detect(P1Telegram(header: "")) == .unknown)
}

@Test func aLineNumberReusedWithAnotherCodeGetsThatCodesField() throws {
    // The builder remembers each line number's code from the telegram before: the same line carrying another
    // M-Bus channel, the same code written with a leading zero (same field, its own text) or no code at all must
    // each be parsed for what they are, as a fresh parser parses them.
    func telegram(_ line: String) -> [UInt8] {
        var text = Array("/XYZ5 code cache\r\n\r\n\(line)\r\n!".utf8)
        text += Array(P1Framer.hex4(CRC16.checksum(text)).utf8) + [13, 10]
        return text
    }
    let lines = [
        "0-1:24.2.1(200512134558S)(00112.384*m3)", "0-2:24.2.1(200512134558S)(00872.234*m3)",
        "00-2:24.2.1(200512134558S)(00872.234*m3)", "not a code(1)", "0-1:24.2.1(200512134558S)(00112.384*m3)",
    ]
    var framer = P1Framer()
    var telegrams: [P1Telegram] = []
    for line in lines {
        framer.feed(telegram(line)) { if case .telegram(let telegram) = $0 { telegrams.append(telegram) } }
    }
    try #require(telegrams.count == 5)
    #expect(telegrams[0].lines.map(\.channel) == [1])
    #expect(telegrams[1].lines.map(\.channel) == [2])
    #expect(telegrams[2].lines.map(\.obisText) == ["00-2:24.2.1"])
    #expect(telegrams[2].lines.map(\.field) == telegrams[1].lines.map(\.field))
    #expect(telegrams[3].lines.isEmpty && telegrams[3].unparsedLines == ["not a code(1)"])
    #expect(telegrams[4].lines.map(\.obisText) == ["0-1:24.2.1"] && telegrams[4].lines.map(\.channel) == [1])
    for (line, parsed) in zip(lines, telegrams) { #expect(try P1Telegram.parse(telegram(line)) == parsed) }
}
