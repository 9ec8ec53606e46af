/// TLS settings: PEM files for the CA that signed the broker certificate and, for mutual TLS, our own
/// certificate and key (TLS by swift-nio-ssl). A file that cannot be read or parsed fails the connection with
/// `MQTTError.Kind.tls`.
public struct MQTTTLSConfiguration: Sendable, Equatable {
    /// PEM file with the trusted CA certificate(s).
    public var caFile: String
    /// PEM client certificate (mutual TLS); set together with `privateKeyFile`.
    public var certificateFile: String?
    /// PEM private key of `certificateFile`.
    public var privateKeyFile: String?
    /// Name checked against the broker certificate's SAN and sent as SNI; defaults to `MQTTConfiguration.host`.
    public var serverHostname: String?

    public init(
        caFile: String, certificateFile: String? = nil, privateKeyFile: String? = nil, serverHostname: String? = nil
    ) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
        self.serverHostname = serverHostname
    }
}

/// Everything needed to open one MQTT 3.1.1 connection.
public struct MQTTConfiguration: Sendable {
    public var host: String
    /// 1883 for plain TCP, 8883 for TLS.
    public var port: Int
    /// Client identifier; derive it from something unique (meter serial + host): two clients with the same id
    /// knock each other off in a loop (§1.4). Empty is allowed only with `cleanSession`.
    public var clientID: String
    /// Clean session = 1 (default): the broker keeps no state for us; our own ring buffer gives durability.
    public var cleanSession: Bool
    /// Keep-alive in seconds (0 disables). A PINGREQ is sent when nothing was sent, or nothing was received, for
    /// this long (§1.7): frequent QoS 0 publishes must not hide a broker that stopped answering.
    public var keepAlive: UInt16
    /// How long to wait for PINGRESP before declaring the broker dead and closing; `nil` = half the keep-alive, so
    /// a hung broker or a half-open link is noticed within 1.5 × keep-alive.
    public var pingTimeout: Duration?
    /// How long a QoS 1 publish may wait for its PUBACK before the connection is declared dead and closed (the
    /// caller then reconnects and sends it again); `nil` = the keep-alive interval (30 s without keep-alive).
    public var acknowledgementTimeout: Duration?
    public var username: String?
    public var password: [UInt8]?
    public var will: MQTTWill?
    /// Bound for TCP connect (+ TLS handshake) and for the CONNACK (§1.5 recommends ~10 s).
    public var connectTimeout: Duration
    /// Bound on un-acknowledged QoS 1 publishes; further `publish` calls wait their turn in order.
    public var maximumInFlight: Int
    /// Cap on packets accepted from the broker (§1.2).
    public var maximumIncomingPacketSize: Int
    /// Incoming PUBLISH messages buffered for `MQTTConnection.messages`; the oldest are dropped beyond this.
    public var incomingMessageBuffer: Int
    public var tls: MQTTTLSConfiguration?

    public init(
        host: String, port: Int = 1883, clientID: String, cleanSession: Bool = true, keepAlive: UInt16 = 60,
        pingTimeout: Duration? = nil, username: String? = nil, password: [UInt8]? = nil, will: MQTTWill? = nil,
        connectTimeout: Duration = .seconds(10), maximumInFlight: Int = 16, maximumIncomingPacketSize: Int = 256 * 1024,
        incomingMessageBuffer: Int = 256, tls: MQTTTLSConfiguration? = nil, acknowledgementTimeout: Duration? = nil
    ) {
        self.acknowledgementTimeout = acknowledgementTimeout
        self.host = host
        self.port = port
        self.clientID = clientID
        self.cleanSession = cleanSession
        self.keepAlive = keepAlive
        self.pingTimeout = pingTimeout
        self.username = username
        self.password = password
        self.will = will
        self.connectTimeout = connectTimeout
        self.maximumInFlight = maximumInFlight
        self.maximumIncomingPacketSize = maximumIncomingPacketSize
        self.incomingMessageBuffer = incomingMessageBuffer
        self.tls = tls
    }

    /// The CONNECT packet this configuration sends.
    public var connectPacket: MQTTConnect {
        MQTTConnect(
            clientID: clientID, cleanSession: cleanSession, keepAlive: keepAlive, username: username,
            password: password, will: will)
    }
}

/// A PUBLISH received from the broker on a subscription.
public struct MQTTMessage: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: MQTTQoS
    /// Set when the broker delivers a stored retained message to a new subscriber (0 for live forwarding, §1.9).
    public var retain: Bool
    public var dup: Bool

    public init(topic: String, payload: [UInt8], qos: MQTTQoS = .atMostOnce, retain: Bool = false, dup: Bool = false) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.dup = dup
    }
}
