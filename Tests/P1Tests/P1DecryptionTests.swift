import Foundation
import Simulator
import TestSupport
import Testing

@testable import P1

private let ek = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
private let akB = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
private let ak0102 = "0102030405060708090A0B0C0D0E0F10"

private func hexFile(_ name: String) throws -> [UInt8] {
    let text = String(decoding: try Fixtures.bytes(name), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(try #require(UInt8(text[index..<next], radix: 16)))
        index = next
    }
    return bytes
}

@Test(
    arguments: [
        ("encrypted/at_t210dr_gcm_ek-AAAA_ak-BBBB.bin", akB, "at_sagemcom_t210dr_plain.txt"),
        ("encrypted/at_t210dr_gcm_ek-AAAA_ak-lux.bin", nil, "at_sagemcom_t210dr_plain.txt"),
        ("encrypted/esphome_libs_encrypted_packet.bin", nil, "at_sagemcom_t210dr_plain.txt"),
        ("encrypted/lu_smarty_gcm_ek-AAAA_ak-lux.bin", nil, "lu_smarty_lux5_plain.txt"),
        ("encrypted/lu_smarty_gcm_ek-AAAA_ak-0102.bin", ak0102, "lu_smarty_lux5_plain.txt"),
    ] as [(String, String?, String)])
func encryptedFramesDecryptToTheirPlaintext(file: String, ak: String?, plain: String) throws {
    let frameBytes = try Fixtures.bytes(file)
    let decryptor =
        try ak.map { try P1Decryptor(encryptionKeyHex: ek, authenticationKeyHex: $0) }
        ?? P1Decryptor(encryptionKeyHex: ek)  // default AK = the fixed Smarty key
    let frame = try P1DLMSFrame.parse(frameBytes)
    #expect(frame.systemTitleText == "SYSTEMID")
    #expect(frame.frameCounter == 0x1000_0001)
    #expect(frame.securityControl == 0x30)
    #expect(frame.authenticationTag.count == 12)
    #expect(frame.bytes == frameBytes, "re-encoding the parsed frame gives the same bytes")
    let plaintext = try decryptor.decrypt(frame)
    #expect(plaintext == (try Fixtures.bytes(plain)))
    let telegram = try P1Telegram.parse(plaintext)
    fixtureExpectations[plain]?(telegram)
    // The .hex siblings hold the same bytes.
    let hexName = file.replacingOccurrences(of: ".bin", with: ".hex")
    if FileManager.default.fileExists(atPath: Fixtures.directory.appendingPathComponent(hexName).path) {
        #expect(try hexFile(hexName) == frameBytes)
    }
}

@Test func esphomePacketEqualsOurT210FrameWithTheSmartyKey() throws {
    #expect(
        try Fixtures.bytes("encrypted/esphome_libs_encrypted_packet.bin")
            == (try Fixtures.bytes("encrypted/at_t210dr_gcm_ek-AAAA_ak-lux.bin")))
}

@Test func damagedFrameFailsAuthentication() throws {
    let decryptor = try P1Decryptor(encryptionKeyHex: ek, authenticationKeyHex: akB)
    #expect(throws: P1Error.authenticationFailed(systemTitle: "SYSTEMID", frameCounter: 0x1000_0001)) {
        try decryptor.decrypt(frameBytes: try Fixtures.bytes("encrypted/at_t210dr_gcm_damaged_byte150.bin"))
    }
}

@Test func wrongAuthenticationKeyFails() throws {
    // The ak-0102 frame checked against the fixed Smarty AK, and the AT frame against the wrong AK.
    let smarty = try P1Decryptor(encryptionKeyHex: ek)
    #expect(throws: P1Error.authenticationFailed(systemTitle: "SYSTEMID", frameCounter: 0x1000_0001)) {
        try smarty.decrypt(frameBytes: try Fixtures.bytes("encrypted/lu_smarty_gcm_ek-AAAA_ak-0102.bin"))
    }
    #expect(throws: P1Error.self) {
        try smarty.decrypt(frameBytes: try Fixtures.bytes("encrypted/at_t210dr_gcm_ek-AAAA_ak-BBBB.bin"))
    }
}

@Test func withoutVerificationTheUnknownAKFrameDecrypts() throws {
    let noVerify = try P1Decryptor(encryptionKeyHex: ek, authenticationKeyHex: nil)
    let plaintext = try noVerify.decrypt(frameBytes: try Fixtures.bytes("encrypted/lu_smarty_gcm_ek-AAAA_ak-0102.bin"))
    #expect(plaintext == (try Fixtures.bytes("lu_smarty_lux5_plain.txt")))
}

@Test func wrongEncryptionKeyIsRejected() throws {
    let wrongKey = "00000000000000000000000000000001"
    let verified = try P1Decryptor(encryptionKeyHex: wrongKey)
    #expect(throws: P1Error.authenticationFailed(systemTitle: "SYSTEMID", frameCounter: 0x1000_0001)) {
        try verified.decrypt(frameBytes: try Fixtures.bytes("encrypted/lu_smarty_gcm_ek-AAAA_ak-lux.bin"))
    }
    let unverified = try P1Decryptor(encryptionKeyHex: wrongKey, authenticationKeyHex: nil)
    let frameBytes = try Fixtures.bytes("encrypted/lu_smarty_gcm_ek-AAAA_ak-lux.bin")
    do throws(P1Error) {
        _ = try unverified.decrypt(frameBytes: frameBytes)
        Issue.record("a wrong key must not yield a telegram")
    } catch {
        guard case .notATelegram = error else {
            Issue.record("unexpected \(error)")
            return
        }
        #expect(error.description.contains("wrong encryption key"))
    }
}

@Test func keysAreValidated() {
    #expect(throws: P1Error.invalidKey(name: "encryption key", reason: "30 hex digits")) {
        try P1Decryptor(encryptionKeyHex: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    }
    #expect(throws: P1Error.invalidKey(name: "authentication key", reason: "non-hex character")) {
        try P1Decryptor(encryptionKeyHex: ek, authenticationKeyHex: "ZZAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    }
}

@Test func malformedFramesAreRejectedWithAReason() throws {
    let good = try Fixtures.bytes("encrypted/lu_smarty_gcm_ek-AAAA_ak-lux.bin")
    #expect(throws: P1Error.self) { try P1DLMSFrame.parse(Array(good.dropLast())) }
    var wrongTag = good
    wrongTag[0] = 0x7E
    #expect(throws: P1Error.malformedFrame(reason: "first byte 0x7e, expected 0xdb")) {
        try P1DLMSFrame.parse(wrongTag)
    }
    var authOnly = good
    authOnly[13] = 0x10
    let decryptor = try P1Decryptor(encryptionKeyHex: ek)
    #expect(throws: P1Error.unsupportedSecurityControl(0x10)) { try decryptor.decrypt(frameBytes: authOnly) }
}

@Test func streamSplitterFindsFramesInAByteStream() throws {
    let lu = try Fixtures.bytes("encrypted/lu_smarty_gcm_ek-AAAA_ak-lux.bin")
    let damaged = try Fixtures.bytes("encrypted/at_t210dr_gcm_damaged_byte150.bin")
    var random = P1SeededRandom(seed: 99)
    var stream: [UInt8] = [0xDB, 0x01, 0xDB] + (0..<100).map { _ in UInt8.random(in: 0...0xDA, using: &random) }
    stream += lu + [0xFF, 0xFF] + damaged + lu.prefix(40) + lu
    for chunking in Chunking.allCases {
        var decoder = P1EncryptedStreamDecoder(
            decryptor: try P1Decryptor(encryptionKeyHex: ek), checksFrameCounter: false)
        var telegrams: [P1Telegram] = []
        var failures: [P1Error] = []
        for chunk in chunking.chunks(stream) {
            decoder.feed(chunk) { event in
                switch event {
                case .telegram(let telegram): telegrams.append(telegram)
                case .frameFailed(let error): failures.append(error)
                case .rejected(let rejection): Issue.record("\(rejection)")
                }
            }
        }
        // frames: lu, damaged (wrong AK for the Smarty default → fails), a cut-off lu swallowing the start of the
        // last lu (fails), then nothing more: the last frame's bytes were partly consumed.
        #expect(telegrams.count >= 1, "\(chunking)")
        #expect(telegrams.first?["1-0:1.8.0"] == "273.764 kWh")
        #expect(!failures.isEmpty)
        #expect(decoder.failedFrames == failures.count)
    }
    // Clean back-to-back frames all decode.
    // The same recorded frame three times: offline splitting, no replay check.
    var decoder = P1EncryptedStreamDecoder(decryptor: try P1Decryptor(encryptionKeyHex: ek), checksFrameCounter: false)
    var count = 0
    decoder.feed([0x00, 0x7E] + lu + lu + [0x42] + lu) { if case .telegram = $0 { count += 1 } }
    #expect(count == 3)
    #expect(decoder.splitter.statistics.frames == 3)
}

@Test func encryptRoundTripsAndMatchesTheFixture() throws {
    // Re-encrypting the plaintext with the fixture's title and counter reproduces the fixture byte for byte.
    let decryptor = try P1Decryptor(encryptionKeyHex: ek)
    let plaintext = try Fixtures.bytes("lu_smarty_lux5_plain.txt")
    let frame = try decryptor.encrypt(plaintext, systemTitle: Array("SYSTEMID".utf8), frameCounter: 0x1000_0001)
    #expect(frame.bytes == (try Fixtures.bytes("encrypted/lu_smarty_gcm_ek-AAAA_ak-lux.bin")))
}

@Test func encryptedStreamAlsoAcceptsPlaintextTelegrams() throws {
    let lu = try Fixtures.bytes("encrypted/lu_smarty_gcm_ek-AAAA_ak-lux.bin")
    let plain = try Fixtures.bytes("lu_smarty_lux5_plain.txt")
    for chunking in Chunking.allCases {
        var decoder = P1EncryptedStreamDecoder(
            decryptor: try P1Decryptor(encryptionKeyHex: ek), checksFrameCounter: false)
        var telegrams: [P1Telegram] = []
        for chunk in chunking.chunks(lu + plain + lu + plain) {
            decoder.feed(chunk) { event in
                if case .telegram(let telegram) = event { telegrams.append(telegram) }
                if case .rejected(let rejection) = event { Issue.record("\(rejection)") }
            }
        }
        #expect(telegrams.count == 4, "\(chunking)")
        #expect(Set(telegrams).count == 1, "encrypted and plaintext copies parse identically")
        #expect(decoder.plaintextFramer.statistics.telegrams == 2)
        #expect(decoder.framer.statistics.telegrams == 2)
    }
}

/// Issue "Hostile input" item 10: the frame counter was never checked, so a recording of authentic frames could be
/// played into the P1 line (or through a network dongle) again. A counter not above the last accepted is refused.
@Test func replayedFramesAreRefusedByTheirFrameCounter() throws {
    let decryptor = try P1Decryptor(encryptionKeyHex: "000102030405060708090A0B0C0D0E0F")
    let plaintext = try Fixtures.bytes("lu_smarty_lux5_plain.txt")
    var stream = P1EncryptedStreamDecoder(decryptor: decryptor)
    var events: [P1StreamEvent] = []
    for counter: UInt32 in [5, 6, 6, 4, 7] {
        let frame = try decryptor.encrypt(plaintext, systemTitle: Array("SYSTEMID".utf8), frameCounter: counter)
        for byte in frame.bytes { stream.feed([byte]) { events.append($0) } }  // byte by byte, as a tty delivers
    }
    let telegrams = events.filter { if case .telegram = $0 { true } else { false } }
    #expect(telegrams.count == 3)
    let refused = events.compactMap { event -> P1Error? in
        if case .frameFailed(let error) = event { error } else { nil }
    }
    let title = P1DLMSFrame(systemTitle: Array("SYSTEMID".utf8), frameCounter: 0, ciphertext: [], authenticationTag: [])
        .systemTitleText
    #expect(
        refused == [
            .replayedFrame(systemTitle: title, frameCounter: 6, lastAccepted: 6),
            .replayedFrame(systemTitle: title, frameCounter: 4, lastAccepted: 6),
        ])
    #expect(stream.lastFrameCounter == 7)
    // A reader reconnecting hands the counter on, so a replay right after a reconnect is refused too.
    // It is kept across restarts as text.
    let saved = try #require(stream.lastAccepted).text
    #expect(saved == "53595354454D4944 7\n")
    var reconnected = P1EncryptedStreamDecoder(decryptor: decryptor, lastAccepted: P1FrameCounter(text: saved))
    var after: [P1StreamEvent] = []
    let old = try decryptor.encrypt(plaintext, systemTitle: Array("SYSTEMID".utf8), frameCounter: 7)
    reconnected.feed(old.bytes) { after.append($0) }
    #expect(after == [.frameFailed(.replayedFrame(systemTitle: title, frameCounter: 7, lastAccepted: 7))])
    // A replaced meter (another system title) counts from its own start.
    after = []
    let replaced = try decryptor.encrypt(plaintext, systemTitle: Array("NEWMETER".utf8), frameCounter: 1)
    reconnected.feed(replaced.bytes) { after.append($0) }
    #expect(after.count == 1 && { if case .telegram = after[0] { true } else { false } }())
    for bad in ["", "53595354454D4944", "5359535445 7", "ZZ595354454D4944 7", "53595354454D4944 -1"] {
        #expect(P1FrameCounter(text: bad) == nil, "accepted \(bad)")
    }
}
