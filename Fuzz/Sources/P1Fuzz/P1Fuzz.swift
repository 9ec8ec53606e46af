import Firmware
import FuzzSupport
import P1

/// libFuzzer entry point (built with `-sanitize=fuzzer,address`, run by `scripts/fuzz p1`).
///
/// One input is one serial stream. It goes through every P1 path that takes untrusted bytes:
/// - `P1Framer` fed in one piece and (by input length, see `run`) in chunks whose sizes are derived from the input
///   or byte by byte; both must report the same events and statistics (the framer promises "any chunking");
/// - every telegram: `P1Telegram.reading`, the sample made from it (range checks) and `Payloads.telegram(_:)`,
///   whose output must be valid JSON (``JSONValidator``);
/// - `P1Telegram.parse` (whole input in memory) must agree with the framer's first telegram;
/// - `P1EncryptedStreamDecoder` (EK = `AA…AA`, the key of the fixtures) when the input holds a frame tag `0xDB`:
///   with the Smarty AK on half of those inputs, without it (mutated ciphertext then reaches the framer as
///   plaintext) on the other half (by length), with both when the input starts with a frame; on a quarter of
///   the inputs without a tag (by length), the decoder's plaintext framer must report the framer's telegrams;
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

        // The framer in one piece and every telegram it reports, always; one further check per input, picked by
        // its length (mutations change it all the time): a second framer fed byte by byte (0) or in derived
        // chunks (1), the one-shot parse, encryption round trip and key parsing (2), the stream decoder's
        // plaintext framer (3). Everything on every input ran at ~400 inputs/s; this keeps the rate up.
        let lane = input.count % 4
        let containsFrameTag = input.contains(P1DLMSFrame.tag)

        // 1. Framer: one piece; then (lanes 0, 1) byte by byte or in chunks: the same events and statistics.
        var whole = P1Framer(options: options)
        let wholeEvents = whole.feed(input)
        if lane < 2 {
            checkSplitFeeding(input, options: options, byteByByte: lane == 0, expected: whole, events: wholeEvents)
        }
        check(whole.statistics.bytes == input.count, "framer counted \(whole.statistics.bytes) of \(input.count) bytes")
        let wasInside = whole.isInsideTelegram
        var resetEvents: [P1FramerEvent] = []
        whole.reset { resetEvents.append($0) }
        check(resetEvents.count == (wasInside ? 1 : 0), "reset reported \(resetEvents.count) events")
        check(!whole.isInsideTelegram, "framer still inside a telegram after reset")

        // 2. Every telegram: reading and JSON.
        let telegrams = wholeEvents.compactMap { if case .telegram(let telegram) = $0 { telegram } else { nil } }
        for telegram in telegrams { exercise(telegram) }

        // 3. One-shot parse agrees with the framer's first event (lane 2).
        if lane == 2 {
            do {
                let telegram = try P1Telegram.parse(input, options: options)
                check(
                    telegrams.first == telegram, "P1Telegram.parse returned a telegram the framer did not report first")
            } catch {
                _ = "\(error)"
            }
        }

        // 4. Encrypted stream decoder (plaintext framer, splitter, decryption) when the input holds a frame tag:
        //    with AK (lanes 0, 1) or without it (lanes 2, 3), both when the input starts with a frame; else
        //    (lane 3) its plaintext framer must see what the framer saw. A byte 0xDB is in two thirds of the
        //    corpus, and each decoder frames the bytes around its frames again (19 % of the time in perf with the
        //    AK on all of those inputs and without it on half).
        if containsFrameTag {
            let startsWithFrame = input[0] == P1DLMSFrame.tag
            if lane < 2 || startsWithFrame {
                decode(input, decryptor: decryptor, seed: Int(input[0]), options: options, exercised: telegrams)
            }
            if lane >= 2 || startsWithFrame {
                decode(
                    input, decryptor: unauthenticatedDecryptor, seed: Int(input[0]) &+ 1, options: options,
                    exercised: telegrams)
            }
        } else if lane == 3 {
            decode(
                input, decryptor: decryptor, seed: Int(input[0]), options: options, exercised: telegrams,
                mustEqualExercised: true)
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

        // 6. Encryption round trip (lane 2).
        if lane == 2, input.first == UInt8(ascii: "/"), input.count <= 4096 {
            do {
                let title = Array((input + [UInt8](repeating: 0, count: 8)).prefix(8))
                let frame = try decryptor.encrypt(input, systemTitle: title, frameCounter: UInt32(input.count))
                check(try decryptor.decrypt(frameBytes: frame.bytes) == input, "encrypt/decrypt round trip differs")
            } catch {
                check(false, "encrypt/decrypt round trip threw: \(error)")
            }
        }

        // 7. Key parsing from text (lane 2).
        if lane == 2 { _ = try? P1Decryptor(encryptionKeyHex: String(decoding: input.prefix(64), as: UTF8.self)) }
    }

    /// A second framer fed byte by byte or in chunks derived from the input must report the events and statistics
    /// of `expected`, which was fed the input in one piece (the framer promises "any chunking").
    static func checkSplitFeeding(
        _ input: [UInt8], options: P1Framer.Options, byteByByte: Bool, expected: P1Framer,
        events expectedEvents: [P1FramerEvent]
    ) {
        var split = P1Framer(options: options)
        var events: [P1FramerEvent] = []
        if byteByByte {
            for byte in input { split.feed(byte) { events.append($0) } }
        } else {
            for chunk in fuzzChunks(input, seed: Int(input[0])) { split.feed(chunk) { events.append($0) } }
        }
        let how = byteByByte ? "byte by byte" : "chunks (seed \(input[0]))"
        check(expectedEvents == events, "framer events differ: one piece vs \(how)")
        check(expected.statistics == split.statistics, "framer statistics differ: one piece vs \(how)")
    }

    /// Small limits half of the time, so the limit paths (line, telegram, line count) are reached with short inputs.
    static func framerOptions(_ selector: UInt8) -> P1Framer.Options {
        if selector & 0x01 == 0 { return P1Framer.Options() }
        return P1Framer.Options(
            maximumLineLength: 16 + Int(selector >> 2) * 4, maximumTelegramLength: 64 + Int(selector) * 8,
            maximumLines: 1 + Int(selector >> 3), requireCRC: selector & 0x02 != 0,
            stripParityBit: selector & 0x04 != 0)
    }

    static func exercise(_ telegram: P1Telegram) {
        checkJSON(Payloads.telegram(telegram), "Payloads.telegram")
        if let sample = try? P1Sample(reading: telegram.reading, receivedAt: .epoch) {
            let live = Payloads.live(.p1(sample, demand: DemandView(meterOf: sample)), device: "fuzz")
            checkJSON(live, "Payloads.live")
        }
        for line in telegram.lines {
            _ = line.value.decodedText
            _ = line.value.decimal?.description
        }
        for diagnostic in telegram.diagnostics { _ = diagnostic.description }
    }

    /// Runs the encrypted stream decoder over `input` in chunks. Its telegrams are exercised, except those equal to
    /// one of `exercised` (the framer's, already exercised: most of the decoder's telegrams come from its plaintext
    /// framer, and `exercise` was 23 % of the run time in perf). `mustEqualExercised` (an input without a
    /// frame): they must be exactly the framer's.
    static func decode(
        _ input: [UInt8], decryptor: P1Decryptor, seed: Int, options: P1Framer.Options, exercised: [P1Telegram],
        mustEqualExercised: Bool = false
    ) {
        var decoder = P1EncryptedStreamDecoder(decryptor: decryptor, options: options)
        var events: [P1StreamEvent] = []
        for chunk in fuzzChunks(input, seed: seed) {
            decoder.feed(chunk) { events.append($0) }
        }
        decoder.reset { events.append($0) }
        var telegrams: [P1Telegram] = []
        for event in events {
            switch event {
            case .telegram(let telegram): telegrams.append(telegram)
            case .rejected(let rejection): _ = rejection.description
            case .frameFailed(let error): _ = error.description
            }
        }
        if mustEqualExercised {
            check(telegrams == exercised, "stream decoder and framer disagree on a frameless input")
            return
        }
        for telegram in telegrams where !exercised.contains(telegram) { exercise(telegram) }
    }

    static func checkJSON(_ json: [UInt8], _ what: String) {
        check(JSONValidator.isValid(json), "\(what) wrote invalid JSON: \(String(decoding: json, as: UTF8.self))")
    }

    /// Traps on a broken invariant: libFuzzer records the input as a crash.
    static func check(_ condition: @autoclosure () throws -> Bool, _ message: @autoclosure () -> String) {
        let holds = (try? condition()) ?? false
        if !holds { fatalError("P1 fuzz invariant broken: \(message())") }
    }
}
