import NIOCore
import Testing

@testable import MQTT

/// Byte vectors: OASIS MQTT 3.1.1 §2–§3 and packets captured from mosquitto_pub 2.0.11
/// (`-V mqttv311`) against a raw socket — the bytes are repeated here, not computed from the codec.
@Suite struct MQTTCodecTests {
    let decoder = MQTTPacketDecoder()

    // MARK: Encoding

    @Test func connectWithCredentialsAndWillMatchesMosquittoPub() throws {
        // mosquitto_pub -i meter1 -k 60 -u user -P pass --will-topic meter/status --will-payload offline
        //               --will-qos 1 --will-retain
        let connect = MQTTConnect(
            clientID: "meter1", cleanSession: true, keepAlive: 60, username: "user", password: Array("pass".utf8),
            will: MQTTWill(topic: "meter/status", payload: Array("offline".utf8), qos: .atLeastOnce, retain: true))
        let expected: [UInt8] = [
            0x10, 0x35, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0xEE, 0x00, 0x3C,
            0x00, 0x06, 0x6D, 0x65, 0x74, 0x65, 0x72, 0x31,
            0x00, 0x0C, 0x6D, 0x65, 0x74, 0x65, 0x72, 0x2F, 0x73, 0x74, 0x61, 0x74, 0x75, 0x73,
            0x00, 0x07, 0x6F, 0x66, 0x66, 0x6C, 0x69, 0x6E, 0x65,
            0x00, 0x04, 0x75, 0x73, 0x65, 0x72,
            0x00, 0x04, 0x70, 0x61, 0x73, 0x73,
        ]
        #expect(try MQTTCodec.encode(.connect(connect)) == expected)
    }

    @Test func minimalConnectMatchesMosquittoPub() throws {
        // mosquitto_pub -i a -k 30: clean session only, keep-alive 0x001E.
        let expected: [UInt8] = [
            0x10, 0x0D, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x1E, 0x00, 0x01, 0x61,
        ]
        #expect(try MQTTCodec.encode(.connect(MQTTConnect(clientID: "a", keepAlive: 30))) == expected)
    }

    @Test func connectWithoutCleanSessionHasFlagsZero() throws {
        let bytes = try MQTTCodec.encode(.connect(MQTTConnect(clientID: "a", cleanSession: false, keepAlive: 0)))
        #expect(bytes == [0x10, 0x0D, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x61])
    }

    @Test func connectRejectsPasswordWithoutUsername() {
        #expect(throws: MQTTError.self) {
            try MQTTCodec.encode(.connect(MQTTConnect(clientID: "a", password: [1, 2])))
        }
        do {
            _ = try MQTTCodec.encode(.connect(MQTTConnect(clientID: "a", password: [1, 2])))
        } catch {
            #expect(error.kind == .invalidArgument)
            #expect(error.message.contains("password without a user name"))
        }
    }

    @Test func connectRejectsEmptyClientIDWithoutCleanSession() {
        do {
            _ = try MQTTCodec.encode(.connect(MQTTConnect(clientID: "", cleanSession: false)))
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .invalidArgument)
        }
        // With clean session the broker assigns an id (§1.4): allowed.
        #expect(throws: Never.self) { try MQTTCodec.encode(.connect(MQTTConnect(clientID: "", cleanSession: true))) }
    }

    @Test func publishQoS1RetainedMatchesMosquittoPub() throws {
        // mosquitto_pub -q 1 -r -t meter/power -m '{"w":1234}' (first packet id is 1)
        let publish = MQTTPublish(
            topic: "meter/power", payload: Array(#"{"w":1234}"#.utf8), qos: .atLeastOnce, retain: true, packetID: 1)
        let expected: [UInt8] = [
            0x33, 0x19, 0x00, 0x0B, 0x6D, 0x65, 0x74, 0x65, 0x72, 0x2F, 0x70, 0x6F, 0x77, 0x65, 0x72, 0x00, 0x01,
            0x7B, 0x22, 0x77, 0x22, 0x3A, 0x31, 0x32, 0x33, 0x34, 0x7D,
        ]
        #expect(try MQTTCodec.encode(.publish(publish)) == expected)
    }

    @Test func publishQoS0HasNoPacketIDAndDupSetsBit3() throws {
        #expect(
            try MQTTCodec.encode(.publish(MQTTPublish(topic: "a/b", payload: [0x31])))
                == [0x30, 0x06, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x31])
        // Empty payload is legal: remaining length = 2 + topic.
        #expect(try MQTTCodec.encode(.publish(MQTTPublish(topic: "a", payload: []))) == [0x30, 0x03, 0x00, 0x01, 0x61])
        let dup = MQTTPublish(topic: "a", payload: [], qos: .atLeastOnce, dup: true, packetID: 0x1234)
        #expect(try MQTTCodec.encode(.publish(dup)) == [0x3A, 0x05, 0x00, 0x01, 0x61, 0x12, 0x34])
    }

    @Test func publishRejectsInconsistentQoSFields() {
        let cases: [MQTTPublish] = [
            MQTTPublish(topic: "a", payload: [], qos: .atMostOnce, dup: true),
            MQTTPublish(topic: "a", payload: [], qos: .atMostOnce, packetID: 1),
            MQTTPublish(topic: "a", payload: [], qos: .atLeastOnce, packetID: nil),
            MQTTPublish(topic: "a", payload: [], qos: .atLeastOnce, packetID: 0),
        ]
        for publish in cases {
            do {
                _ = try MQTTCodec.encode(.publish(publish))
                Issue.record("expected \(publish) to be rejected")
            } catch {
                #expect(error.kind == .invalidArgument)
            }
        }
    }

    @Test func smallPacketsHaveExactBytes() throws {
        #expect(try MQTTCodec.encode(.puback(packetID: 7)) == [0x40, 0x02, 0x00, 0x07])
        #expect(try MQTTCodec.encode(.pingreq) == [0xC0, 0x00])
        #expect(try MQTTCodec.encode(.disconnect) == [0xE0, 0x00])
        #expect(
            try MQTTCodec.encode(
                .subscribe(packetID: 10, subscriptions: [MQTTSubscription("homeassistant/status", qos: .atLeastOnce)]))
                == [0x82, 0x19, 0x00, 0x0A, 0x00, 0x14] + Array("homeassistant/status".utf8) + [0x01])
        #expect(
            try MQTTCodec.encode(.unsubscribe(packetID: 0x0102, filters: ["a/#"]))
                == [0xA2, 0x07, 0x01, 0x02, 0x00, 0x03, 0x61, 0x2F, 0x23])
    }

    // MARK: Topic validation

    @Test(arguments: ["meter/+", "meter/#", "#", "", "a\u{0}b", "65536 bytes"])
    func publishRejectsInvalidTopicNames(label: String) {
        let topic = label == "65536 bytes" ? String(repeating: "x", count: 65_536) : label
        do {
            _ = try MQTTCodec.encode(.publish(MQTTPublish(topic: topic, payload: [])))
            Issue.record("topic of \(topic.utf8.count) bytes should be rejected")
        } catch {
            #expect(error.kind == .invalidTopic)
        }
    }

    @Test func acceptsLegalTopicNames() throws {
        for topic in ["/leading/slash", "$SYS/x", "caf\u{E9}/\u{1F50C}", String(repeating: "x", count: 65_535)] {
            try MQTTCodec.validateTopicName(topic)
        }
    }

    @Test func validatesTopicFilters() throws {
        for filter in ["a/+/b", "a/#", "#", "+", "+/+", "/#"] { try MQTTCodec.validateTopicFilter(filter) }
        for filter in ["a/b#", "a/#/b", "a+", "a/+b", "", "##"] {
            do {
                try MQTTCodec.validateTopicFilter(filter)
                Issue.record("filter '\(filter)' should be rejected")
            } catch {
                #expect(error.kind == .invalidTopic)
            }
        }
    }

    // MARK: Remaining Length (§1.2)

    static let remainingLengthVectors: [(Int, [UInt8])] = [
        (0, [0x00]), (127, [0x7F]), (128, [0x80, 0x01]), (321, [0xC1, 0x02]), (16_383, [0xFF, 0x7F]),
        (16_384, [0x80, 0x80, 0x01]), (2_097_151, [0xFF, 0xFF, 0x7F]), (2_097_152, [0x80, 0x80, 0x80, 0x01]),
        (268_435_455, [0xFF, 0xFF, 0xFF, 0x7F]),
    ]

    @Test(arguments: remainingLengthVectors)
    func remainingLengthEncodesAndDecodes(value: Int, bytes: [UInt8]) throws {
        #expect(try MQTTCodec.remainingLengthBytes(value) == bytes)
        let decoded = try MQTTCodec.decodeRemainingLength(bytes)
        #expect(decoded?.value == value)
        #expect(decoded?.byteCount == bytes.count)
        // Every proper prefix means "need more bytes", never an error.
        for cut in 0..<bytes.count { #expect(try MQTTCodec.decodeRemainingLength(bytes.prefix(cut)) == nil) }
    }

    @Test func remainingLengthRejectsValuesAndEncodingsBeyondFourBytes() {
        #expect(throws: MQTTError.self) { try MQTTCodec.remainingLengthBytes(268_435_456) }
        #expect(throws: MQTTError.self) { try MQTTCodec.remainingLengthBytes(-1) }
        do {
            _ = try MQTTCodec.decodeRemainingLength([0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
            Issue.record("5-byte remaining length accepted")
        } catch {
            #expect(error.kind == .malformedPacket)
        }
    }

    @Test func packetWithTwoByteRemainingLengthRoundTrips() throws {
        // 200-byte payload: remaining length 2 + 1 + 200 = 203 = 0xCB 0x01.
        let publish = MQTTPublish(topic: "t", payload: Array(repeating: 0xAB, count: 200))
        let bytes = try MQTTCodec.encode(.publish(publish))
        #expect(Array(bytes.prefix(3)) == [0x30, 0xCB, 0x01])
        #expect(bytes.count == 3 + 203)
        #expect(try decoder.decode(bytes: bytes) == .publish(publish))
    }

    // MARK: Decoding broker packets

    @Test func decodesConnack() throws {
        #expect(
            try decoder.decode(bytes: [0x20, 0x02, 0x00, 0x00])
                == .connack(sessionPresent: false, returnCode: .accepted))
        #expect(
            try decoder.decode(bytes: [0x20, 0x02, 0x01, 0x00]) == .connack(sessionPresent: true, returnCode: .accepted)
        )
        #expect(
            try decoder.decode(bytes: [0x20, 0x02, 0x00, 0x05])
                == .connack(sessionPresent: false, returnCode: .notAuthorized))
    }

    @Test(arguments: [
        (UInt8(1), MQTTError.Kind.unacceptableProtocolVersion), (2, .identifierRejected), (3, .serverUnavailable),
        (4, .badCredentials), (5, .notAuthorized),
    ])
    func connackCodesMapToErrorKinds(code: UInt8, kind: MQTTError.Kind) throws {
        let returnCode = try #require(MQTTConnackReturnCode(rawValue: code))
        #expect(returnCode.error?.kind == kind)
        #expect(returnCode.error?.isPermanentRefusal == (code != 3))
    }

    @Test func decodesPublishPubackSubackUnsubackPingresp() throws {
        #expect(
            try decoder.decode(bytes: [0x31, 0x06, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x78])
                == .publish(MQTTPublish(topic: "a/b", payload: [0x78], retain: true)))
        #expect(
            try decoder.decode(bytes: [0x3A, 0x06, 0x00, 0x01, 0x61, 0x00, 0x09, 0x7A])
                == .publish(MQTTPublish(topic: "a", payload: [0x7A], qos: .atLeastOnce, dup: true, packetID: 9)))
        #expect(try decoder.decode(bytes: [0x40, 0x02, 0x00, 0x07]) == .puback(packetID: 7))
        #expect(
            try decoder.decode(bytes: [0x90, 0x05, 0x00, 0x0A, 0x00, 0x01, 0x80])
                == .suback(packetID: 10, returnCodes: [.granted(.atMostOnce), .granted(.atLeastOnce), .failure]))
        #expect(try decoder.decode(bytes: [0xB0, 0x02, 0xFF, 0xFF]) == .unsuback(packetID: 0xFFFF))
        #expect(try decoder.decode(bytes: [0xD0, 0x00]) == .pingresp)
    }

    static let malformedPackets: [(String, [UInt8], MQTTError.Kind)] = [
        ("reserved type 0", [0x00, 0x00], .malformedPacket),
        ("reserved type 15", [0xF0, 0x00], .malformedPacket),
        ("5-byte remaining length", [0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], .malformedPacket),
        ("CONNACK flags 0001", [0x21, 0x02, 0x00, 0x00], .malformedPacket),
        ("CONNACK length 3", [0x20, 0x03, 0x00, 0x00, 0x00], .malformedPacket),
        ("CONNACK length 1", [0x20, 0x01, 0x00], .malformedPacket),
        ("CONNACK reserved ack flag bits", [0x20, 0x02, 0x02, 0x00], .malformedPacket),
        ("CONNACK reserved return code 6", [0x20, 0x02, 0x00, 0x06], .malformedPacket),
        ("CONNACK session present with refusal", [0x20, 0x02, 0x01, 0x05], .malformedPacket),
        ("PUBLISH QoS 3", [0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01], .malformedPacket),
        ("PUBLISH QoS 2 (never requested)", [0x34, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01], .protocolViolation),
        ("PUBLISH DUP with QoS 0", [0x38, 0x03, 0x00, 0x01, 0x61], .malformedPacket),
        ("PUBLISH topic length beyond packet", [0x30, 0x03, 0x00, 0x05, 0x61], .malformedPacket),
        ("PUBLISH no room for topic length", [0x30, 0x01, 0x00], .malformedPacket),
        ("PUBLISH topic invalid UTF-8", [0x30, 0x03, 0x00, 0x01, 0xFF], .malformedPacket),
        ("PUBLISH topic with wildcard", [0x30, 0x03, 0x00, 0x01, 0x2B], .malformedPacket),
        ("PUBLISH empty topic", [0x30, 0x02, 0x00, 0x00], .malformedPacket),
        ("PUBLISH QoS 1 packet id 0", [0x32, 0x05, 0x00, 0x01, 0x61, 0x00, 0x00], .malformedPacket),
        ("PUBLISH QoS 1 without packet id", [0x32, 0x03, 0x00, 0x01, 0x61], .malformedPacket),
        ("PUBACK length 3", [0x40, 0x03, 0x00, 0x01, 0x00], .malformedPacket),
        ("PUBACK packet id 0", [0x40, 0x02, 0x00, 0x00], .malformedPacket),
        ("PUBACK flags", [0x41, 0x02, 0x00, 0x01], .malformedPacket),
        ("SUBACK without return code", [0x90, 0x02, 0x00, 0x01], .malformedPacket),
        ("SUBACK return code 0x03", [0x90, 0x03, 0x00, 0x01, 0x03], .malformedPacket),
        ("SUBACK granted QoS 2", [0x90, 0x03, 0x00, 0x01, 0x02], .protocolViolation),
        ("UNSUBACK length 0", [0xB0, 0x00], .malformedPacket),
        ("PINGRESP with body", [0xD0, 0x01, 0x00], .malformedPacket),
        ("PINGRESP flags", [0xD1, 0x00], .malformedPacket),
        ("CONNECT from broker", [0x10, 0x00], .protocolViolation),
        ("SUBSCRIBE from broker", [0x82, 0x00], .protocolViolation),
        ("SUBSCRIBE wrong flags", [0x80, 0x00], .malformedPacket),
        ("PINGREQ from broker", [0xC0, 0x00], .protocolViolation),
        ("DISCONNECT from broker", [0xE0, 0x00], .protocolViolation),
        ("PUBREC (QoS 2)", [0x50, 0x02, 0x00, 0x01], .protocolViolation),
        ("PUBREL wrong flags", [0x60, 0x02, 0x00, 0x01], .malformedPacket),
    ]

    @Test(arguments: malformedPackets)
    func rejectsMalformedPackets(name: String, bytes: [UInt8], kind: MQTTError.Kind) {
        do {
            let packet = try decoder.decode(bytes: bytes)
            Issue.record("\(name): decoded as \(packet)")
        } catch {
            #expect(error.kind == kind, "\(name): \(error)")
            #expect(!error.message.isEmpty)
        }
    }

    @Test func rejectsPacketsAboveTheSizeCapBeforeBuffering() {
        let small = MQTTPacketDecoder(maximumPacketSize: 100)
        var buffer = ByteBuffer(bytes: [0x30, 0xE5, 0x00])  // announces 101 bytes, none present yet
        do {
            _ = try small.decode(&buffer)
            Issue.record("oversized packet accepted")
        } catch {
            #expect(error.kind == .packetTooLarge)
        }
    }

    @Test func decodesIncrementallyAtEverySplitPoint() throws {
        let stream: [UInt8] =
            [0x20, 0x02, 0x00, 0x00] + [0x40, 0x02, 0x00, 0x01] + [0xD0, 0x00]
            + (try MQTTCodec.encode(.publish(MQTTPublish(topic: "t", payload: Array(repeating: 7, count: 300)))))
            + [0x90, 0x03, 0x00, 0x02, 0x01]
        let expected: [MQTTPacket] = [
            .connack(sessionPresent: false, returnCode: .accepted), .puback(packetID: 1), .pingresp,
            .publish(MQTTPublish(topic: "t", payload: Array(repeating: 7, count: 300))),
            .suback(packetID: 2, returnCodes: [.granted(.atLeastOnce)]),
        ]
        // Drip-feed one byte at a time.
        var buffer = ByteBuffer()
        var decoded: [MQTTPacket] = []
        for byte in stream {
            buffer.writeInteger(byte)
            while let packet = try decoder.decode(&buffer) { decoded.append(packet) }
        }
        #expect(decoded == expected)
        #expect(buffer.readableBytes == 0)
        // Two chunks split at every position.
        for split in 0...stream.count {
            var buffer = ByteBuffer(bytes: stream[..<split])
            var decoded: [MQTTPacket] = []
            while let packet = try decoder.decode(&buffer) { decoded.append(packet) }
            buffer.writeBytes(stream[split...])
            while let packet = try decoder.decode(&buffer) { decoded.append(packet) }
            #expect(decoded == expected, "split at \(split)")
        }
    }
}
