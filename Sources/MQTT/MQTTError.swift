/// The one error type of the MQTT 3.1.1 client: a closed `kind` to react on, plus a message naming the
/// field, packet or peer and what was expected.
///
/// Spec: OASIS MQTT 3.1.1 §3.2.2.3 (CONNACK return codes).
public struct MQTTError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// Bytes from the broker that do not form a valid MQTT 3.1.1 packet (bad remaining length,
        /// wrong reserved flags, inconsistent lengths, invalid UTF-8, unknown packet type).
        case malformedPacket
        /// A well-formed packet that is not allowed at this point (e.g. CONNECT sent by a broker,
        /// a SUBACK with the wrong number of return codes, a PUBACK before CONNACK).
        case protocolViolation
        /// An inbound packet announced more bytes than `MQTTConfiguration.maximumIncomingPacketSize`.
        case packetTooLarge
        /// A topic name or filter that MQTT 3.1.1 forbids (empty, wildcard in a topic name, U+0000, > 65,535 bytes).
        case invalidTopic
        /// Any other caller-supplied value that cannot be encoded (client id, password without user name, …).
        case invalidArgument
        /// CONNACK return code 1: unacceptable protocol version. Permanent (configuration/broker mismatch).
        case unacceptableProtocolVersion
        /// CONNACK return code 2: identifier rejected. Permanent (client id).
        case identifierRejected
        /// CONNACK return code 3: server unavailable. Transient.
        case serverUnavailable
        /// CONNACK return code 4: bad user name or password. Permanent.
        case badCredentials
        /// CONNACK return code 5: not authorized. Permanent. mosquitto 2.0.11 answers this code (not 4)
        /// to a 3.1.1 client with a wrong password, and to anonymous clients when `allow_anonymous` is off.
        case notAuthorized
        /// The TCP/TLS connection or the CONNACK did not arrive within `MQTTConfiguration.connectTimeout`.
        case connectTimeout
        /// No PINGRESP within `MQTTConfiguration.pingTimeout` after a PINGREQ: the broker or the link is dead.
        case keepAliveTimeout
        /// A QoS 1 publish got no PUBACK within `MQTTConfiguration.acknowledgementTimeout`: the broker is hung.
        case acknowledgementTimeout
        /// The connection closed (broker closed it, network error, or `disconnect()`); pending QoS 1
        /// publishes fail with this kind and were *not* acknowledged.
        case connectionClosed
        /// No connection to the broker right now (reconnecting client between connections).
        case notConnected
        /// The broker answered a SUBSCRIBE filter with return code 0x80 (failure).
        case subscriptionRejected
        /// TLS configuration or handshake problem (CA file, certificate, key, verification).
        case tls
        /// A socket-level error (connection refused, reset, host not found).
        case io
        /// The client was shut down or the waiting task was cancelled.
        case shutdown
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "MQTTError.\(kind): \(message)" }

    /// True for CONNACK refusals that are configuration errors (codes 1, 2, 4, 5): reconnecting quickly cannot
    /// help, so the reconnecting client waits `MQTTReconnectPolicy.refusedDelay` and reports the error to callers.
    public var isPermanentRefusal: Bool {
        switch kind {
        case .unacceptableProtocolVersion, .identifierRejected, .badCredentials, .notAuthorized: true
        default: false
        }
    }
}
