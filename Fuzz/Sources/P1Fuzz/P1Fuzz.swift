import Firmware
import Foundation
import P1

/// libFuzzer entry point (built with `-sanitize=fuzzer,address`, run by `scripts/fuzz-p1`).
///
/// One input is one serial stream. It goes through every P1 path that takes untrusted bytes:
/// - `P1Framer` fed in one piece, in chunks whose sizes are derived from the input, and byte by byte; the three
///   must report the same events and statistics (the framer promises "any chunking");
/// - every telegram: `P1Telegram.reading`, the sample made from it (range checks) and `Payloads.telegram(_:)`,
///   whose output must be valid JSON;
/// - `P1Telegram.parse` (whole input in memory) must agree with the first event of the framer;
/// - `P1EncryptedStreamDecoder` (EK = `AA…AA`, the key of the fixtures) with the Smarty AK, and without AK when
///   the input holds a frame tag `0xDB` (then mutated ciphertext reaches the framer as plaintext);
/// - `P1DLMSFrame.parse` on the input, `bytes` round trip, `P1Decryptor.decrypt` with and without AK;
/// - `P1Decryptor.encrypt` then `decrypt` of the input when it starts with `/` must give the input back.
///
/// Any mismatch is a bug in P1 and traps, so libFuzzer saves the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    P1Fuzz.run(input)
    return 0
}

enum P1Fuzz {
    static let encryptionKey = [UInt8](repeating: 0xAA, count: 16)
    static let decryptor = makeDecryptor(authenticationKey: P1Decryptor.smartyAuthenticationKey)
    static let unauthenticatedDecryptor = makeDecryptor(authenticationKey: nil)

    static func makeDecryptor(authenticationKey: [UInt8]?) -> P1Decryptor {
        do {
            return try P1Decryptor(encryptionKey: encryptionKey, authenticationKey: authenticationKey)
        } catch {
            fatalError("fixed 16-byte keys rejected: \(error)")  // programmer error in the harness
        }
    }

    static func run(_ input: [UInt8]) {
        let options = framerOptions(input.last ?? 0)
        let chunkSeed = Int(input[0])

        // 1. Framer: one piece, derived chunks, byte by byte.
        var whole = P1Framer(options: options)
        let wholeEvents = whole.feed(input)
        var chunked = P1Framer(options: options)
        var chunkedEvents: [P1FramerEvent] = []
        for chunk in chunks(input, seed: chunkSeed) {
            chunked.feed(chunk) { chunkedEvents.append($0) }
        }
        var single = P1Framer(options: options)
        var singleEvents: [P1FramerEvent] = []
        for byte in input { single.feed(byte) { singleEvents.append($0) } }
        check(wholeEvents == chunkedEvents, "framer events differ: one piece vs chunks (seed \(chunkSeed))")
        check(wholeEvents == singleEvents, "framer events differ: one piece vs byte by byte")
        check(whole.statistics == chunked.statistics, "framer statistics differ: one piece vs chunks")
        check(whole.statistics == single.statistics, "framer statistics differ: one piece vs byte by byte")
        check(whole.statistics.bytes == input.count, "framer counted \(whole.statistics.bytes) of \(input.count) bytes")
        let wasInside = whole.isInsideTelegram
        var resetEvents: [P1FramerEvent] = []
        whole.reset { resetEvents.append($0) }
        check(resetEvents.count == (wasInside ? 1 : 0), "reset reported \(resetEvents.count) events")
        check(!whole.isInsideTelegram, "framer still inside a telegram after reset")

        // 2. Every telegram: reading and JSON.
        for event in wholeEvents {
            guard case .telegram(let telegram) = event else { continue }
            exercise(telegram)
        }

        // 3. One-shot parse agrees with the framer's first event.
        do {
            let telegram = try P1Telegram.parse(input, options: options)
            check(wholeEvents.first { if case .telegram = $0 { true } else { false } } == .telegram(telegram),
                "P1Telegram.parse returned a telegram the framer did not report first")
        } catch {
            _ = "\(error)"
        }

        // 4. Encrypted stream decoder (plaintext framer, splitter, decryption).
        decode(input, decryptor: decryptor, seed: chunkSeed)
        if input.contains(P1DLMSFrame.tag) {
            decode(input, decryptor: unauthenticatedDecryptor, seed: chunkSeed &+ 1)
        }

        // 5. A frame given whole.
        if let frame = try? P1DLMSFrame.parse(input) {
            _ = frame.systemTitleText
            let reparsed = try? P1DLMSFrame.parse(frame.bytes)
            check(reparsed == frame, "P1DLMSFrame.parse(frame.bytes) != frame")
            for candidate in [decryptor, unauthenticatedDecryptor] {
                do {
                    let plaintext = try candidate.decrypt(frame)
                    _ = try? P1Telegram.parse(plaintext, options: options)
                } catch {
                    _ = "\(error)"
                }
            }
        }

        // 6. Encryption round trip.
        if input.first == UInt8(ascii: "/"), input.count <= 4096 {
            do {
                let title = Array((input + [UInt8](repeating: 0, count: 8)).prefix(8))
                let frame = try decryptor.encrypt(input, systemTitle: title, frameCounter: UInt32(input.count))
                check(try decryptor.decrypt(frameBytes: frame.bytes) == input, "encrypt/decrypt round trip differs")
            } catch {
                check(false, "encrypt/decrypt round trip threw: \(error)")
            }
        }

        // 7. Key parsing from text.
        _ = try? P1Decryptor(encryptionKeyHex: String(decoding: input.prefix(64), as: UTF8.self))
    }

    /// Small limits half of the time, so the limit paths (line, telegram, line count) are reached with short inputs.
    static func framerOptions(_ selector: UInt8) -> P1Framer.Options {
        if selector & 0x01 == 0 { return P1Framer.Options() }
        return P1Framer.Options(
            maximumLineLength: 16 + Int(selector >> 2) * 4, maximumTelegramLength: 64 + Int(selector) * 8,
            maximumLines: 1 + Int(selector >> 3), requireCRC: selector & 0x02 != 0,
            stripParityBit: selector & 0x04 != 0)
    }

    /// Chunk sizes 1…64 that vary along the input (a pseudo-random walk from `seed`).
    static func chunks(_ input: [UInt8], seed: Int) -> [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        var state = UInt32(truncatingIfNeeded: seed) &* 2_654_435_761 &+ 1
        var index = 0
        while index < input.count {
            state = state &* 1_103_515_245 &+ 12345
            let size = 1 + Int((state >> 16) % 64)
            let end = min(input.count, index + size)
            result.append(input[index..<end])
            index = end
        }
        return result
    }

    static func exercise(_ telegram: P1Telegram) {
        checkJSON(String(decoding: Payloads.telegram(telegram), as: UTF8.self), "Payloads.telegram")
        if let sample = try? P1Sample(reading: telegram.reading, receivedAt: 0) {
            let live = Payloads.live(.p1(sample, demand: DemandView(meterOf: sample)), device: "fuzz")
            checkJSON(String(decoding: live, as: UTF8.self), "Payloads.live")
        }
        for line in telegram.lines {
            _ = line.value.decodedText
            _ = line.value.decimal?.description
        }
        for diagnostic in telegram.diagnostics { _ = diagnostic.description }
    }

    static func decode(_ input: [UInt8], decryptor: P1Decryptor, seed: Int) {
        var decoder = P1EncryptedStreamDecoder(decryptor: decryptor)
        var events: [P1StreamEvent] = []
        for chunk in chunks(input, seed: seed) {
            decoder.feed(chunk) { events.append($0) }
        }
        decoder.reset { events.append($0) }
        for event in events {
            switch event {
            case .telegram(let telegram): exercise(telegram)
            case .rejected(let rejection): _ = rejection.description
            case .frameFailed(let error): _ = error.description
            }
        }
    }

    static func checkJSON(_ json: String, _ what: String) {
        do {
            _ = try JSONSerialization.jsonObject(with: Data(json.utf8))
        } catch {
            check(false, "\(what) wrote invalid JSON (\(error)): \(json)")
        }
    }

    /// Traps on a broken invariant: libFuzzer records the input as a crash.
    static func check(_ condition: @autoclosure () throws -> Bool, _ message: @autoclosure () -> String) {
        let holds = (try? condition()) ?? false
        if !holds { fatalError("P1 fuzz invariant broken: \(message())") }
    }
}
