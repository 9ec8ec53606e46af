/// Quality of service levels this client supports. QoS 2 is not implemented: the client never
/// publishes or subscribes with it, and the decoder rejects QoS 2 packets from the broker.
///
/// Spec: OASIS MQTT 3.1.1 §2.2.2 and §3.3.1 (PUBLISH flags bits 2–1).
public enum MQTTQoS: UInt8, Sendable, Equatable, Comparable, CaseIterable {
    /// QoS 0: fire and forget; "success" only means written to the socket.
    case atMostOnce = 0
    /// QoS 1: kept until the broker's PUBACK.
    case atLeastOnce = 1

    public static func < (lhs: MQTTQoS, rhs: MQTTQoS) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The last will: published by the broker when the connection ends without DISCONNECT (§1.8).
public struct MQTTWill: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: MQTTQoS
    public var retain: Bool

    public init(topic: String, payload: [UInt8], qos: MQTTQoS = .atMostOnce, retain: Bool = false) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
    }
}

/// CONNECT (type 1, first byte `0x10`). Protocol name `MQTT`, level 4 (§1.4).
public struct MQTTConnect: Sendable, Equatable {
    public var clientID: String
    public var cleanSession: Bool
    /// Keep-alive in seconds; 0 disables keep-alive.
    public var keepAlive: UInt16
    public var username: String?
    /// Binary password; 3.1.1 forbids a password without a user name.
    public var password: [UInt8]?
    public var will: MQTTWill?

    public init(
        clientID: String, cleanSession: Bool = true, keepAlive: UInt16 = 60,
        username: String? = nil, password: [UInt8]? = nil, will: MQTTWill? = nil
    ) {
        self.clientID = clientID
        self.cleanSession = cleanSession
        self.keepAlive = keepAlive
        self.username = username
        self.password = password
        self.will = will
    }
}

/// CONNACK return code (§1.5). Codes 6–255 are reserved and rejected by the decoder.
public enum MQTTConnackReturnCode: UInt8, Sendable, Equatable {
    case accepted = 0
    case unacceptableProtocolVersion = 1
    case identifierRejected = 2
    case serverUnavailable = 3
    case badUsernameOrPassword = 4
    case notAuthorized = 5

    /// The error a refusal maps to; `nil` for `.accepted`.
    public var error: MQTTError? {
        switch self {
        case .accepted: nil
        case .unacceptableProtocolVersion:
            MQTTError(
                .unacceptableProtocolVersion,
                "broker refused the connection: CONNACK 0x01 unacceptable protocol version (we speak MQTT 3.1.1, level 4)"
            )
        case .identifierRejected:
            MQTTError(
                .identifierRejected,
                "broker refused the connection: CONNACK 0x02 identifier rejected (check the client id; an empty id needs clean session)"
            )
        case .serverUnavailable:
            MQTTError(.serverUnavailable, "broker refused the connection: CONNACK 0x03 server unavailable")
        case .badUsernameOrPassword:
            MQTTError(.badCredentials, "broker refused the connection: CONNACK 0x04 bad user name or password")
        case .notAuthorized:
            MQTTError(
                .notAuthorized,
                "broker refused the connection: CONNACK 0x05 not authorized (wrong credentials or anonymous access disabled)"
            )
        }
    }
}

/// A PUBLISH packet (type 3) in either direction.
public struct MQTTPublish: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: MQTTQoS
    public var retain: Bool
    /// DUP: set only when re-sending a QoS 1 PUBLISH after reconnecting with a present session. Must be 0 for QoS 0.
    public var dup: Bool
    /// Non-zero packet identifier, present exactly when `qos > .atMostOnce`.
    public var packetID: UInt16?

    public init(
        topic: String, payload: [UInt8], qos: MQTTQoS = .atMostOnce, retain: Bool = false, dup: Bool = false,
        packetID: UInt16? = nil
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.dup = dup
        self.packetID = packetID
    }
}

/// One topic filter of a SUBSCRIBE packet with its requested QoS (§1.11).
public struct MQTTSubscription: Sendable, Equatable, Hashable {
    public var filter: String
    public var qos: MQTTQoS

    public init(_ filter: String, qos: MQTTQoS = .atMostOnce) {
        self.filter = filter
        self.qos = qos
    }
}

/// One SUBACK return code: the granted QoS, or failure (`0x80`).
public enum MQTTSubackReturnCode: Sendable, Equatable {
    case granted(MQTTQoS)
    case failure
}

/// Every MQTT 3.1.1 control packet this client sends or receives. QoS 2 packets (PUBREC, PUBREL,
/// PUBCOMP) are deliberately absent.
public enum MQTTPacket: Sendable, Equatable {
    case connect(MQTTConnect)
    case connack(sessionPresent: Bool, returnCode: MQTTConnackReturnCode)
    case publish(MQTTPublish)
    case puback(packetID: UInt16)
    case subscribe(packetID: UInt16, subscriptions: [MQTTSubscription])
    case suback(packetID: UInt16, returnCodes: [MQTTSubackReturnCode])
    case unsubscribe(packetID: UInt16, filters: [String])
    case unsuback(packetID: UInt16)
    case pingreq
    case pingresp
    case disconnect
}

/// Fixed-header packet type values (§1.1, high nibble of the first byte).
enum MQTTPacketType: UInt8 {
    case connect = 1
    case connack, publish, puback, pubrec, pubrel, pubcomp, subscribe, suback, unsubscribe, unsuback,
        pingreq, pingresp, disconnect

    var name: String {
        switch self {
        case .connect: "CONNECT"
        case .connack: "CONNACK"
        case .publish: "PUBLISH"
        case .puback: "PUBACK"
        case .pubrec: "PUBREC"
        case .pubrel: "PUBREL"
        case .pubcomp: "PUBCOMP"
        case .subscribe: "SUBSCRIBE"
        case .suback: "SUBACK"
        case .unsubscribe: "UNSUBSCRIBE"
        case .unsuback: "UNSUBACK"
        case .pingreq: "PINGREQ"
        case .pingresp: "PINGRESP"
        case .disconnect: "DISCONNECT"
        }
    }
}

extension MQTTPacket {
    /// Packet name as in the spec tables, for logs and errors.
    public var name: String {
        switch self {
        case .connect: "CONNECT"
        case .connack: "CONNACK"
        case .publish: "PUBLISH"
        case .puback: "PUBACK"
        case .subscribe: "SUBSCRIBE"
        case .suback: "SUBACK"
        case .unsubscribe: "UNSUBSCRIBE"
        case .unsuback: "UNSUBACK"
        case .pingreq: "PINGREQ"
        case .pingresp: "PINGRESP"
        case .disconnect: "DISCONNECT"
        }
    }
}
