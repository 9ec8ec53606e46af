import NIOCore

/// Strict decoder for the packets a 3.1.1 broker may send to this client: CONNACK, PUBLISH (QoS 0/1),
/// PUBACK, SUBACK, UNSUBACK, PINGRESP. Anything else is an error, because 3.1.1 has no error packet and the
/// only safe reaction to a desynchronised stream is to close the connection (§1.10, §5.4).
///
/// It is incremental: `decode(_:)` returns `nil` ("need more bytes") at any split point, including inside
/// the Remaining Length, and consumes bytes only when a whole packet is decoded.
public struct MQTTPacketDecoder: Sendable {
    /// Cap on the Remaining Length accepted from the broker; a hostile peer could announce 256 MB (§1.2).
    public var maximumPacketSize: Int

    public init(maximumPacketSize: Int = 256 * 1024) {
        self.maximumPacketSize = maximumPacketSize
    }

    /// Decodes one packet from the reader index of `buffer`.
    /// - Returns: The packet, or `nil` when `buffer` does not yet hold a whole packet (nothing is consumed then).
    /// - Throws: `MQTTError` with kind `.malformedPacket`, `.protocolViolation` or `.packetTooLarge`.
    public func decode(_ buffer: inout ByteBuffer) throws(MQTTError) -> MQTTPacket? {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self) else { return nil }
        let type = try Self.checkFixedHeader(first)

        // Remaining Length: 1…4 bytes, may be split across reads.
        var value = 0
        var multiplier = 1
        var lengthBytes = 0
        while true {
            guard let byte = buffer.getInteger(at: start + 1 + lengthBytes, as: UInt8.self) else { return nil }
            lengthBytes += 1
            value += Int(byte & 0x7F) * multiplier
            if byte & 0x80 == 0 { break }
            if lengthBytes == 4 {
                throw MQTTError(
                    .malformedPacket,
                    "\(type.name): remaining length has the continuation bit set in byte 4 (at most 4 bytes allowed)")
            }
            multiplier *= 128
        }
        if value > maximumPacketSize {
            throw MQTTError(
                .packetTooLarge,
                "\(type.name): remaining length \(value) exceeds the accepted maximum of \(maximumPacketSize) bytes")
        }
        let headerLength = 1 + lengthBytes
        guard buffer.readableBytes >= headerLength + value else { return nil }
        buffer.moveReaderIndex(forwardBy: headerLength)
        guard var body = buffer.readSlice(length: value) else { return nil }  // cannot fail: length checked above
        return try Self.decodeBody(type: type, flags: first & 0x0F, body: &body)
    }

    /// Convenience for tests and tools: decodes exactly one packet that must fill `bytes` completely.
    /// - Throws: `.malformedPacket` if `bytes` is incomplete or has bytes after the packet.
    public func decode(bytes: [UInt8]) throws(MQTTError) -> MQTTPacket {
        var buffer = ByteBuffer(bytes: bytes)
        guard let packet = try decode(&buffer) else {
            throw MQTTError(.malformedPacket, "incomplete packet: \(bytes.count) bytes are fewer than announced")
        }
        guard buffer.readableBytes == 0 else {
            throw MQTTError(.malformedPacket, "\(packet.name): \(buffer.readableBytes) bytes after the packet")
        }
        return packet
    }

    /// Checks type and reserved flags of the first byte (§1.1) before waiting for the rest of the packet.
    private static func checkFixedHeader(_ first: UInt8) throws(MQTTError) -> MQTTPacketType {
        let typeValue = first >> 4
        let flags = first & 0x0F
        guard let type = MQTTPacketType(rawValue: typeValue) else {
            throw MQTTError(
                .malformedPacket, "first byte 0x\(hex(first)): packet type \(typeValue) is reserved/forbidden")
        }
        let expectedFlags: UInt8
        switch type {
        case .publish: expectedFlags = flags  // DUP/QoS/RETAIN checked with the body
        case .pubrel, .subscribe, .unsubscribe: expectedFlags = 0x02
        default: expectedFlags = 0x00
        }
        guard flags == expectedFlags else {
            throw MQTTError(
                .malformedPacket,
                "\(type.name): reserved flags 0x\(hex(flags)) in first byte 0x\(hex(first)), expected 0x\(hex(expectedFlags))"
            )
        }
        switch type {
        case .connack, .publish, .puback, .suback, .unsuback, .pingresp:
            return type
        case .pubrec, .pubrel, .pubcomp:
            throw MQTTError(
                .protocolViolation, "\(type.name) from the broker: QoS 2 is not used by this client")
        case .connect, .subscribe, .unsubscribe, .pingreq, .disconnect:
            throw MQTTError(.protocolViolation, "\(type.name) from the broker: only clients send this packet")
        }
    }

    private static func decodeBody(
        type: MQTTPacketType, flags: UInt8, body: inout ByteBuffer
    ) throws(MQTTError)
        -> MQTTPacket
    {
        switch type {
        case .connack:
            try expectLength(body, 2, type)
            let ackFlags = body.readInteger(as: UInt8.self) ?? 0
            let code = body.readInteger(as: UInt8.self) ?? 0
            guard ackFlags & 0xFE == 0 else {
                throw MQTTError(.malformedPacket, "CONNACK: acknowledge flags 0x\(hex(ackFlags)), bits 7–1 must be 0")
            }
            guard let returnCode = MQTTConnackReturnCode(rawValue: code) else {
                throw MQTTError(.malformedPacket, "CONNACK: return code 0x\(hex(code)) is reserved (expected 0–5)")
            }
            let sessionPresent = ackFlags == 1
            if sessionPresent && returnCode != .accepted {
                throw MQTTError(
                    .malformedPacket, "CONNACK: session present set with non-zero return code 0x\(hex(code))")
            }
            return .connack(sessionPresent: sessionPresent, returnCode: returnCode)

        case .publish:
            let qosBits = (flags >> 1) & 0x03
            let dup = flags & 0x08 != 0
            let retain = flags & 0x01 != 0
            let qos: MQTTQoS
            switch qosBits {
            case 0: qos = .atMostOnce
            case 1: qos = .atLeastOnce
            case 2:
                throw MQTTError(.protocolViolation, "PUBLISH with QoS 2: this client never subscribes with QoS 2")
            default: throw MQTTError(.malformedPacket, "PUBLISH: QoS bits 11 (QoS 3) are forbidden")
            }
            if dup && qos == .atMostOnce {
                throw MQTTError(.malformedPacket, "PUBLISH: DUP set on a QoS 0 message")
            }
            let topic = try readString(&body, field: "PUBLISH topic")
            do {
                try MQTTCodec.validateTopicName(topic, field: "PUBLISH topic")
            } catch {
                throw MQTTError(.malformedPacket, error.message)
            }
            var packetID: UInt16? = nil
            if qos == .atLeastOnce {
                packetID = try readPacketID(&body, type)
            }
            let payload = body.readBytes(length: body.readableBytes) ?? []
            return .publish(
                MQTTPublish(topic: topic, payload: payload, qos: qos, retain: retain, dup: dup, packetID: packetID))

        case .puback:
            try expectLength(body, 2, type)
            return .puback(packetID: try readPacketID(&body, type))

        case .unsuback:
            try expectLength(body, 2, type)
            return .unsuback(packetID: try readPacketID(&body, type))

        case .suback:
            guard body.readableBytes >= 3 else {
                throw MQTTError(
                    .malformedPacket,
                    "SUBACK: remaining length \(body.readableBytes), expected packet identifier and at least one return code"
                )
            }
            let packetID = try readPacketID(&body, type)
            var codes: [MQTTSubackReturnCode] = []
            while let code = body.readInteger(as: UInt8.self) {
                switch code {
                case 0x00: codes.append(.granted(.atMostOnce))
                case 0x01: codes.append(.granted(.atLeastOnce))
                case 0x02:
                    throw MQTTError(.protocolViolation, "SUBACK granted QoS 2, but this client never requests QoS 2")
                case 0x80: codes.append(.failure)
                default:
                    throw MQTTError(
                        .malformedPacket, "SUBACK: return code 0x\(hex(code)) is not one of 0x00, 0x01, 0x02, 0x80")
                }
            }
            return .suback(packetID: packetID, returnCodes: codes)

        case .pingresp:
            try expectLength(body, 0, type)
            return .pingresp

        case .connect, .pubrec, .pubrel, .pubcomp, .subscribe, .unsubscribe, .pingreq, .disconnect:
            // Unreachable: checkFixedHeader rejects these before the body is read.
            throw MQTTError(.protocolViolation, "\(type.name) from the broker is not accepted by this client")
        }
    }

    private static func expectLength(_ body: ByteBuffer, _ expected: Int, _ type: MQTTPacketType) throws(MQTTError) {
        guard body.readableBytes == expected else {
            throw MQTTError(
                .malformedPacket, "\(type.name): remaining length \(body.readableBytes), expected \(expected)")
        }
    }

    private static func readPacketID(_ body: inout ByteBuffer, _ type: MQTTPacketType) throws(MQTTError) -> UInt16 {
        guard let packetID = body.readInteger(endianness: .big, as: UInt16.self) else {
            throw MQTTError(.malformedPacket, "\(type.name): packet too short for its packet identifier")
        }
        guard packetID != 0 else {
            throw MQTTError(.malformedPacket, "\(type.name): packet identifier 0 is not allowed")
        }
        return packetID
    }

    /// Reads a length-prefixed string and checks it is well-formed UTF-8 without U+0000 (§1.3).
    private static func readString(_ body: inout ByteBuffer, field: String) throws(MQTTError) -> String {
        guard let length = body.readInteger(endianness: .big, as: UInt16.self) else {
            throw MQTTError(.malformedPacket, "\(field): packet too short for the 2-byte string length")
        }
        guard let bytes = body.readBytes(length: Int(length)) else {
            throw MQTTError(
                .malformedPacket,
                "\(field): string length \(length) exceeds the \(body.readableBytes) bytes left in the packet")
        }
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw MQTTError(.malformedPacket, "\(field): not well-formed UTF-8")
        }
        return string
    }
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789ABCDEF")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
}
