import Logging
import NIOCore
import NIOPosix

/// One established MQTT 3.1.1 connection (after a successful CONNACK). It does not reconnect: when it closes,
/// it is finished — use `MQTTClient` for a connection that comes back.
///
/// All state lives in `MQTTConnectionHandler` on the channel's event loop; this type only holds the
/// `Channel` and immutable values, so it is `Sendable` without locks.
///
/// Delivery contract for QoS 1: `publish` returns only after the broker's PUBACK. If the connection closes
/// first, it throws `.connectionClosed` and the message counts as **not delivered** (the broker may or may not
/// have it). Nothing is re-sent automatically — the caller keeps the record (ring buffer) and publishes it
/// again as a new message after reconnecting (clean session, new packet id, DUP = 0, §1.6). Duplicates at
/// the subscriber are therefore possible; losses of acknowledged messages are not.
public final class MQTTConnection: Sendable {
    /// Incoming PUBLISH messages for this connection's subscriptions; finishes when the connection closes.
    public let messages: AsyncStream<MQTTMessage>
    /// CONNACK "session present" flag (always false with clean session).
    public let sessionPresent: Bool
    public let configuration: MQTTConfiguration

    private let channel: any Channel
    private let closed: EventLoopFuture<MQTTError>
    private let statisticsBox: MQTTStatisticsBox

    private init(
        channel: any Channel, configuration: MQTTConfiguration, sessionPresent: Bool,
        messages: AsyncStream<MQTTMessage>, closed: EventLoopFuture<MQTTError>, statistics: MQTTStatisticsBox
    ) {
        self.channel = channel
        self.configuration = configuration
        self.sessionPresent = sessionPresent
        self.messages = messages
        self.closed = closed
        self.statisticsBox = statistics
    }

    /// Dropping the last reference without `disconnect()` closes the socket (no DISCONNECT: the will is published),
    /// so a forgotten connection never lingers, kept alive by its own PINGREQs.
    deinit {
        channel.close(promise: nil)
    }

    /// Opens TCP (and TLS when `configuration.tls` is set), sends CONNECT and waits for CONNACK.
    /// - Parameters:
    ///   - configuration: Broker address, client id, credentials, will, timeouts.
    ///   - eventLoopGroup: The NIO group to run on (default: the shared singleton).
    ///   - logger: swift-log logger; the library never bootstraps logging.
    /// - Returns: The connection, ready to publish.
    /// - Throws: `MQTTError`: a CONNACK refusal (`.badCredentials`, `.notAuthorized`, …), `.connectTimeout`,
    ///   `.io` (refused, unreachable), `.tls`, `.connectionClosed` (broker closed without CONNACK).
    public static func connect(
        configuration: MQTTConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "emeter.mqtt")
    ) async throws(MQTTError) -> MQTTConnection {
        let tlsHandlerFactory = try MQTTTLS.handlerFactory(for: configuration)  // before any promise exists
        let eventLoop = eventLoopGroup.next()
        let connackPromise = eventLoop.makePromise(of: Bool.self)
        let closedPromise = eventLoop.makePromise(of: MQTTError.self)
        let (messages, continuation) = AsyncStream.makeStream(
            of: MQTTMessage.self, bufferingPolicy: .bufferingNewest(max(1, configuration.incomingMessageBuffer)))
        let statistics = MQTTStatisticsBox()

        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tlsHandlerFactory { try sync.addHandler(try tlsHandlerFactory()) }
                    try sync.addHandler(
                        MQTTConnectionHandler(
                            configuration: configuration, connackPromise: connackPromise,
                            closedPromise: closedPromise, messages: continuation, statistics: statistics,
                            logger: logger))
                }
            }

        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            connackPromise.fail(MQTTError(.io, "connect failed"))
            closedPromise.succeed(MQTTError(.io, "connect failed"))
            continuation.finish()
            throw mapConnectError(error, configuration: configuration)
        }
        let sessionPresent: Bool
        do {
            sessionPresent = try await connackPromise.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error as? MQTTError ?? MQTTError(.io, "waiting for CONNACK: \(error)")
        }
        return MQTTConnection(
            channel: channel, configuration: configuration, sessionPresent: sessionPresent, messages: messages,
            closed: closedPromise.futureResult, statistics: statistics)
    }

    private static func mapConnectError(_ error: any Error, configuration: MQTTConfiguration) -> MQTTError {
        if let error = error as? MQTTError { return error }
        let address = "\(configuration.host):\(configuration.port)"
        if error is ChannelError, case .connectTimeout = error as? ChannelError {
            return MQTTError(
                .connectTimeout, "TCP connect to \(address) timed out after \(configuration.connectTimeout)")
        }
        return MQTTError(.io, "cannot connect to \(address): \(error)")
    }

    /// Publishes one message.
    /// - QoS 0: returns once the packet is written to the socket.
    /// - QoS 1: returns once the broker's PUBACK arrives. At most `maximumInFlight` wait for their PUBACK; more
    ///   callers queue in call order.
    /// - Throws: `.invalidTopic` (wildcards, empty, too long), `.connectionClosed` if the connection closes before
    ///   the PUBACK (not delivered — re-publish it later), `.notConnected`.
    public func publish(
        topic: String, payload: [UInt8], qos: MQTTQoS = .atMostOnce, retain: Bool = false
    ) async throws(MQTTError) {
        try MQTTCodec.validateTopicName(topic, field: "PUBLISH topic")
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let publish = MQTTPublish(topic: topic, payload: payload, qos: qos, retain: retain)
        try await perform(.publish(publish, promise), promise.futureResult)
    }

    /// Subscribes to `subscriptions` and waits for the SUBACK. Messages arrive on `messages`.
    /// - Returns: One return code per filter, in order.
    /// - Throws: `.subscriptionRejected` if any filter got `0x80`; `.invalidTopic` for a malformed filter.
    @discardableResult
    public func subscribe(_ subscriptions: [MQTTSubscription]) async throws(MQTTError) -> [MQTTSubackReturnCode] {
        for subscription in subscriptions { try MQTTCodec.validateTopicFilter(subscription.filter) }
        guard !subscriptions.isEmpty else {
            throw MQTTError(.invalidArgument, "SUBSCRIBE: at least one topic filter is required")
        }
        let promise = channel.eventLoop.makePromise(of: [MQTTSubackReturnCode].self)
        let codes = try await perform(.subscribe(subscriptions, promise), promise.futureResult)
        let rejected = zip(subscriptions, codes).filter { $0.1 == .failure }.map(\.0.filter)
        if !rejected.isEmpty {
            throw MQTTError(.subscriptionRejected, "broker refused subscription (SUBACK 0x80) for \(rejected)")
        }
        return codes
    }

    /// Unsubscribes from `filters` and waits for the UNSUBACK.
    public func unsubscribe(_ filters: [String]) async throws(MQTTError) {
        for filter in filters { try MQTTCodec.validateTopicFilter(filter) }
        let promise = channel.eventLoop.makePromise(of: Void.self)
        try await perform(.unsubscribe(filters, promise), promise.futureResult)
    }

    /// Graceful end: sends DISCONNECT (the broker discards the will), closes, and waits until closed.
    public func disconnect() async {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(MQTTRequest.disconnect(promise)).whenFailure { _ in promise.succeed() }
        try? await promise.futureResult.get()
        _ = try? await channel.closeFuture.get()
    }

    /// Starts a graceful disconnect without waiting (usable from synchronous contexts such as cancellation handlers).
    public func startDisconnect() {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(MQTTRequest.disconnect(promise)).whenFailure { _ in promise.succeed() }
    }

    /// Closes the socket **without** DISCONNECT, as a crash or a cut link would: the broker publishes the will.
    public func close() async {
        try? await channel.close()
    }

    /// Waits until the connection is closed.
    /// - Returns: Why it closed (`.connectionClosed`, `.keepAliveTimeout`, `.malformedPacket`, …).
    public func waitUntilClosed() async -> MQTTError {
        do {
            return try await closed.get()
        } catch {
            return MQTTError(.connectionClosed, "connection closed: \(error)")
        }
    }

    /// Whether the underlying channel is still open.
    public var isActive: Bool { channel.isActive }

    /// Counters of this connection (PINGREQs sent, PUBACKs received, …).
    public var statistics: MQTTConnectionStatistics { statisticsBox.value }

    private func perform<Value: Sendable>(
        _ request: MQTTRequest, _ result: EventLoopFuture<Value>
    )
        async throws(MQTTError) -> Value
    {
        let channel = self.channel
        channel.writeAndFlush(request).whenFailure { error in
            let closed = MQTTError(.notConnected, "MQTT connection is closed: \(error)")
            switch request {
            case .publish(_, let promise): promise.fail(closed)
            case .subscribe(_, let promise): promise.fail(closed)
            case .unsubscribe(_, let promise): promise.fail(closed)
            case .disconnect(let promise): promise.succeed()
            }
        }
        do {
            return try await result.get()
        } catch {
            throw error as? MQTTError ?? MQTTError(.io, "\(error)")
        }
    }
}
