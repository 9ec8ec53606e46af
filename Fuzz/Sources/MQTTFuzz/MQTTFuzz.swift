import FuzzSupport
import MQTT
import NIOCore

/// libFuzzer entry point (built with `-sanitize=fuzzer,address`, run by `scripts/fuzz`).
///
/// One input is the byte stream a broker sends. `MQTTPacketDecoder` must decode it or throw `MQTTError`, never
/// trap, and:
/// - `decode(_:)` fed in input-derived chunks (1…64 bytes) gives the same packets, then the same error or the same
///   "need more bytes", as the whole stream in one buffer (the decoder promises any split point);
/// - a decoder never consumes bytes when it returns `nil` ("need more bytes");
/// - `decode(bytes:)` of the input agrees with the first packet of the stream when it is the whole input;
/// - every decoded packet re-encoded with `MQTTCodec.encode` decodes to the same packet.
/// The first byte picks the accepted maximum packet size, so the `.packetTooLarge` path is reached too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    MQTTFuzz.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

enum MQTTFuzz {
    /// What a decoder made of a stream: its packets, then how it stopped.
    struct Outcome: Equatable {
        var packets: [MQTTPacket] = []
        /// `nil`: stopped waiting for more bytes; else the error that ended the stream.
        var error: MQTTError?
        var leftover = 0
    }

    static func run(_ input: [UInt8]) {
        let decoder = MQTTPacketDecoder(maximumPacketSize: maximumPacketSize(input[0]))
        let stream = Array(input.dropFirst())

        var whole = ByteBuffer(bytes: stream)
        let wholeOutcome = drain(&whole, decoder)

        var chunked = ByteBuffer()
        var chunkedOutcome = Outcome()
        for chunk in fuzzChunks(stream, seed: Int(input[0])) where chunkedOutcome.error == nil {
            chunked.writeBytes(chunk)
            let step = drain(&chunked, decoder)
            chunkedOutcome.packets += step.packets
            chunkedOutcome.error = step.error
            chunkedOutcome.leftover = step.leftover
        }
        check(wholeOutcome == chunkedOutcome, "whole \(wholeOutcome) vs chunked \(chunkedOutcome)")

        do {
            let packet = try decoder.decode(bytes: stream)
            check(
                wholeOutcome.packets == [packet] && wholeOutcome.leftover == 0,
                "decode(bytes:) gave \(packet), the stream \(wholeOutcome)")
        } catch {
            _ = error.description
        }

        for packet in wholeOutcome.packets { roundTrip(packet, decoder) }
    }

    /// Decodes packets until the decoder wants more bytes or throws; checks nothing is consumed then.
    static func drain(_ buffer: inout ByteBuffer, _ decoder: MQTTPacketDecoder) -> Outcome {
        var outcome = Outcome()
        while true {
            let before = buffer.readerIndex
            do {
                guard let packet = try decoder.decode(&buffer) else {
                    check(buffer.readerIndex == before, "nil after consuming bytes")
                    break
                }
                check(buffer.readerIndex > before, "a packet decoded from no bytes")
                _ = packet.name
                outcome.packets.append(packet)
            } catch {
                // After an error the connection is closed: what was consumed does not matter.
                _ = error.description
                outcome.error = error
                break
            }
        }
        // After an error the chunked decoder was fed no further: only the bytes up to the error compare.
        outcome.leftover = outcome.error == nil ? buffer.readableBytes : 0
        return outcome
    }

    /// A packet the decoder accepted encodes, and its encoding decodes to the same packet.
    static func roundTrip(_ packet: MQTTPacket, _ decoder: MQTTPacketDecoder) {
        do {
            let bytes = try MQTTCodec.encode(packet)
            let again = try MQTTPacketDecoder(maximumPacketSize: max(bytes.count, decoder.maximumPacketSize))
                .decode(bytes: bytes)
            check(again == packet, "re-encoded \(packet) decodes to \(again)")
        } catch {
            check(false, "decoded \(packet) does not re-encode and decode: \(error)")
        }
    }

    /// 2 B … 256 KiB: small limits for most selectors, so `.packetTooLarge` is reached with short inputs.
    static func maximumPacketSize(_ selector: UInt8) -> Int {
        selector & 0x80 == 0 ? 256 * 1024 : 2 + Int(selector & 0x7F) * 4
    }

    /// Traps on a broken invariant: libFuzzer records the input as a crash.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("MQTT fuzz invariant broken: \(message())") }
    }
}
