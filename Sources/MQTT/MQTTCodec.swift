import NIOCore

/// Pure MQTT 3.1.1 packet encoding: packets → bytes, with validation of everything the broker would
/// otherwise answer by silently closing the connection (§1.10). No channel or event loop involved.
///
/// Spec: OASIS MQTT 3.1.1 §2–§3.
public enum MQTTCodec {
    /// Largest Remaining Length a 4-byte variable byte integer can carry: `FF FF FF 7F` (§1.2).
    public static let maximumRemainingLength = 268_435_455
    /// Largest UTF-8 string or binary field: its length prefix is two bytes (§1.3).
    public static let maximumFieldLength = 65_535

    // MARK: Remaining Length

    /// Encodes `value` as a Remaining Length: 7 data bits per byte, least significant group first,
    /// `0x80` = another byte follows. Examples: 127 → `7F`, 128 → `80 01`, 16,384 → `80 80 01`.
    /// - Throws: `MQTTError.Kind.invalidArgument` when `value` is negative or above 268,435,455.
    public static func remainingLengthBytes(_ value: Int) throws(MQTTError) -> [UInt8] {
        guard value >= 0, value <= maximumRemainingLength else {
            throw MQTTError(
                .invalidArgument, "remaining length \(value) outside 0...\(maximumRemainingLength) (at most 4 bytes)")
        }
        var bytes: [UInt8] = []
        var rest = value
        repeat {
            var byte = UInt8(rest % 128)
            rest /= 128
            if rest > 0 { byte |= 0x80 }
            bytes.append(byte)
        } while rest > 0
        return bytes
    }

    /// Decodes a Remaining Length from the start of `bytes`.
    /// - Returns: The value and how many bytes it used, or `nil` when more bytes are needed.
    /// - Throws: `MQTTError.Kind.malformedPacket` when the 4th byte still has the continuation bit set.
    public static func decodeRemainingLength(
        _ bytes: some Collection<UInt8>
    ) throws(MQTTError) -> (
        value: Int, byteCount: Int
    )? {
        var value = 0
        var multiplier = 1
        var count = 0
        for byte in bytes {
            count += 1
            value += Int(byte & 0x7F) * multiplier
            if byte & 0x80 == 0 { return (value, count) }
            if count == 4 {
                throw MQTTError(
                    .malformedPacket, "remaining length: continuation bit set in byte 4 (at most 4 bytes allowed)")
            }
            multiplier *= 128
        }
        return nil
    }

    // MARK: Packets

    /// Encodes `packet` and returns its bytes (fixed header included).
    /// - Throws: `MQTTError` (`.invalidTopic`, `.invalidArgument`) naming the offending field.
    public static func encode(_ packet: MQTTPacket) throws(MQTTError) -> [UInt8] {
        let (firstByte, body) = try encodeBody(packet)
        return [firstByte] + (try remainingLengthBytes(body.count)) + body
    }

    /// Encodes `packet` at the writer index of `buffer`. Nothing is written when it throws.
    public static func encode(_ packet: MQTTPacket, into buffer: inout ByteBuffer) throws(MQTTError) {
        let (firstByte, body) = try encodeBody(packet)
        let length = try remainingLengthBytes(body.count)
        buffer.writeInteger(firstByte)
        buffer.writeBytes(length)
        buffer.writeBytes(body)
    }

    private static func encodeBody(_ packet: MQTTPacket) throws(MQTTError) -> (UInt8, [UInt8]) {
        var body: [UInt8] = []
        switch packet {
        case .connect(let connect):
            return (0x10, try encodeConnect(connect))
        case .connack(let sessionPresent, let returnCode):
            if sessionPresent && returnCode != .accepted {
                throw MQTTError(.invalidArgument, "CONNACK: session present must be 0 with a non-zero return code")
            }
            return (0x20, [sessionPresent ? 1 : 0, returnCode.rawValue])
        case .publish(let publish):
            return try encodePublish(publish)
        case .puback(let packetID):
            try checkPacketID(packetID, packet: "PUBACK")
            appendUInt16(packetID, to: &body)
            return (0x40, body)
        case .subscribe(let packetID, let subscriptions):
            try checkPacketID(packetID, packet: "SUBSCRIBE")
            guard !subscriptions.isEmpty else {
                throw MQTTError(.invalidArgument, "SUBSCRIBE: at least one topic filter is required")
            }
            appendUInt16(packetID, to: &body)
            for subscription in subscriptions {
                try validateTopicFilter(subscription.filter)
                try appendString(subscription.filter, field: "SUBSCRIBE topic filter", to: &body)
                body.append(subscription.qos.rawValue)
            }
            return (0x82, body)
        case .suback(let packetID, let returnCodes):
            try checkPacketID(packetID, packet: "SUBACK")
            appendUInt16(packetID, to: &body)
            for code in returnCodes {
                switch code {
                case .granted(let qos): body.append(qos.rawValue)
                case .failure: body.append(0x80)
                }
            }
            return (0x90, body)
        case .unsubscribe(let packetID, let filters):
            try checkPacketID(packetID, packet: "UNSUBSCRIBE")
            guard !filters.isEmpty else {
                throw MQTTError(.invalidArgument, "UNSUBSCRIBE: at least one topic filter is required")
            }
            appendUInt16(packetID, to: &body)
            for filter in filters {
                try validateTopicFilter(filter)
                try appendString(filter, field: "UNSUBSCRIBE topic filter", to: &body)
            }
            return (0xA2, body)
        case .unsuback(let packetID):
            try checkPacketID(packetID, packet: "UNSUBACK")
            appendUInt16(packetID, to: &body)
            return (0xB0, body)
        case .pingreq: return (0xC0, [])
        case .pingresp: return (0xD0, [])
        case .disconnect: return (0xE0, [])
        }
    }

    private static func encodeConnect(_ connect: MQTTConnect) throws(MQTTError) -> [UInt8] {
        if connect.clientID.isEmpty && !connect.cleanSession {
            throw MQTTError(
                .invalidArgument, "CONNECT: an empty client identifier requires clean session = 1 (broker answers 0x02)"
            )
        }
        if connect.password != nil && connect.username == nil {
            throw MQTTError(.invalidArgument, "CONNECT: MQTT 3.1.1 forbids a password without a user name")
        }
        var flags: UInt8 = 0
        if connect.username != nil { flags |= 0x80 }
        if connect.password != nil { flags |= 0x40 }
        if let will = connect.will {
            flags |= 0x04 | will.qos.rawValue << 3
            if will.retain { flags |= 0x20 }
        }
        if connect.cleanSession { flags |= 0x02 }

        var body: [UInt8] = [0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, flags]  // "MQTT", level 4
        appendUInt16(connect.keepAlive, to: &body)
        try appendString(connect.clientID, field: "CONNECT client identifier", to: &body)
        if let will = connect.will {
            try validateTopicName(will.topic, field: "CONNECT will topic")
            try appendString(will.topic, field: "CONNECT will topic", to: &body)
            try appendBinary(will.payload, field: "CONNECT will message", to: &body)
        }
        if let username = connect.username {
            try appendString(username, field: "CONNECT user name", to: &body)
        }
        if let password = connect.password {
            try appendBinary(password, field: "CONNECT password", to: &body)
        }
        return body
    }

    private static func encodePublish(_ publish: MQTTPublish) throws(MQTTError) -> (UInt8, [UInt8]) {
        try validateTopicName(publish.topic, field: "PUBLISH topic")
        var first: UInt8 = 0x30 | publish.qos.rawValue << 1
        if publish.retain { first |= 0x01 }
        if publish.dup {
            guard publish.qos != .atMostOnce else {
                throw MQTTError(.invalidArgument, "PUBLISH to '\(publish.topic)': DUP must be 0 for QoS 0")
            }
            first |= 0x08
        }
        var body: [UInt8] = []
        body.reserveCapacity(publish.topic.utf8.count + 4 + publish.payload.count)
        try appendString(publish.topic, field: "PUBLISH topic", to: &body)
        switch (publish.qos, publish.packetID) {
        case (.atMostOnce, nil): break
        case (.atMostOnce, .some):
            throw MQTTError(.invalidArgument, "PUBLISH to '\(publish.topic)': QoS 0 carries no packet identifier")
        case (.atLeastOnce, nil):
            throw MQTTError(.invalidArgument, "PUBLISH to '\(publish.topic)': QoS 1 needs a packet identifier")
        case (.atLeastOnce, .some(let packetID)):
            try checkPacketID(packetID, packet: "PUBLISH")
            appendUInt16(packetID, to: &body)
        }
        body.append(contentsOf: publish.payload)
        return (first, body)
    }

    // MARK: Field helpers

    static func checkPacketID(_ packetID: UInt16, packet: String) throws(MQTTError) {
        if packetID == 0 {
            throw MQTTError(.invalidArgument, "\(packet): packet identifier must be non-zero")
        }
    }

    static func appendUInt16(_ value: UInt16, to body: inout [UInt8]) {
        body.append(UInt8(truncatingIfNeeded: value >> 8))
        body.append(UInt8(truncatingIfNeeded: value))
    }

    /// UTF-8 string: two-byte big-endian length + bytes; at most 65,535 bytes, no U+0000 (§1.3).
    static func appendString(_ string: String, field: String, to body: inout [UInt8]) throws(MQTTError) {
        let utf8 = Array(string.utf8)
        if utf8.contains(0) {
            throw MQTTError(.invalidArgument, "\(field) contains U+0000, which MQTT strings must not contain")
        }
        try appendBinary(utf8, field: field, to: &body)
    }

    static func appendBinary(_ bytes: [UInt8], field: String, to body: inout [UInt8]) throws(MQTTError) {
        guard bytes.count <= maximumFieldLength else {
            throw MQTTError(.invalidArgument, "\(field) is \(bytes.count) bytes; at most \(maximumFieldLength) allowed")
        }
        appendUInt16(UInt16(bytes.count), to: &body)
        body.append(contentsOf: bytes)
    }

    // MARK: Topic validation

    /// Checks a topic *name* (what PUBLISH and the will carry): 1…65,535 UTF-8 bytes, no `+`/`#` wildcards,
    /// no U+0000 (§1.6). Topics starting with `$` are allowed here (the broker decides).
    /// - Throws: `MQTTError.Kind.invalidTopic`.
    public static func validateTopicName(_ topic: String, field: String = "topic name") throws(MQTTError) {
        try validateTopicCommon(topic, field: field)
        if topic.utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "#") }) {
            throw MQTTError(.invalidTopic, "\(field) '\(topic)' contains a wildcard (+ or #); topic names must not")
        }
    }

    /// Checks a topic *filter* (SUBSCRIBE/UNSUBSCRIBE): `+` must fill a whole level, `#` must be the whole last level.
    /// - Throws: `MQTTError.Kind.invalidTopic`.
    public static func validateTopicFilter(_ filter: String) throws(MQTTError) {
        try validateTopicCommon(filter, field: "topic filter")
        let levels = filter.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        for (index, level) in levels.enumerated() {
            let hasPlus = level.contains(UInt8(ascii: "+"))
            let hasHash = level.contains(UInt8(ascii: "#"))
            if hasPlus && level.count != 1 {
                throw MQTTError(.invalidTopic, "topic filter '\(filter)': '+' must occupy a whole level")
            }
            if hasHash && (level.count != 1 || index != levels.count - 1) {
                throw MQTTError(.invalidTopic, "topic filter '\(filter)': '#' must be the whole last level")
            }
        }
    }

    private static func validateTopicCommon(_ topic: String, field: String) throws(MQTTError) {
        let count = topic.utf8.count
        if count == 0 { throw MQTTError(.invalidTopic, "\(field) is empty; at least one character is required") }
        if count > maximumFieldLength {
            throw MQTTError(.invalidTopic, "\(field) is \(count) bytes; at most \(maximumFieldLength) allowed")
        }
        if topic.utf8.contains(0) { throw MQTTError(.invalidTopic, "\(field) contains U+0000") }
    }
}
