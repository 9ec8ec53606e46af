import Logging
import NIOCore
import Synchronization

/// What `MQTTConnection` asks the channel to do. Written into the channel (thread-safe), handled on its
/// event loop by `MQTTConnectionHandler`, answered through the promise.
enum MQTTRequest: Sendable {
    /// The handler assigns the packet identifier for QoS 1; the promise succeeds on PUBACK (QoS 1) or once
    /// written to the socket (QoS 0).
    case publish(MQTTPublish, EventLoopPromise<Void>)
    case subscribe([MQTTSubscription], EventLoopPromise<[MQTTSubackReturnCode]>)
    case unsubscribe([String], EventLoopPromise<Void>)
    /// Sends DISCONNECT (the broker then discards the will) and closes.
    case disconnect(EventLoopPromise<Void>)
}

/// Counters of one connection, readable from any thread (for logs, metrics and tests).
public struct MQTTConnectionStatistics: Sendable, Equatable {
    public var pingRequestsSent = 0
    public var pingResponsesReceived = 0
    public var publishesSent = 0
    public var pubacksReceived = 0
    public var messagesReceived = 0

    public init() {}
}

/// Shared between the handler (writer, on the event loop) and `MQTTConnection` (reader, anywhere).
final class MQTTStatisticsBox: Sendable {
    private let counters = Mutex(MQTTConnectionStatistics())

    var value: MQTTConnectionStatistics { counters.withLock { $0 } }

    func update(_ body: (inout MQTTConnectionStatistics) -> Void) {
        counters.withLock { body(&$0) }
    }
}

/// The per-connection MQTT state machine, confined to the channel's event loop (no locks, no shared
/// dictionaries — the crash source of CocoaMQTT, §5.3):
/// `connecting → awaitingConnack → connected → closed`.
///
/// - Sends CONNECT when the channel becomes active; fails if no CONNACK arrives within the connect timeout.
/// - Decodes inbound bytes with the strict `MQTTPacketDecoder`; any decoding or protocol error closes the channel.
/// - Keeps QoS 1 publishes in an in-flight table keyed by packet id (bounded; extra publishes queue in order).
/// - Sends PINGREQ when nothing was sent or nothing was received for keep-alive seconds; no PINGRESP within the
///   ping timeout → close. (Judging by what was sent alone, 10 Hz QoS 0 publishes hid a hung broker forever.)
/// - A QoS 1 publish without PUBACK within the acknowledgement timeout → close (the caller reconnects and resends).
/// - On close, every pending request fails with the close reason and the message stream finishes.
final class MQTTConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = MQTTRequest
    typealias OutboundOut = ByteBuffer

    private enum State { case connecting, awaitingConnack, connected, closed }

    private struct PendingPublish {
        var publish: MQTTPublish
        var promise: EventLoopPromise<Void>
    }

    private let connect: MQTTConnect
    private let keepAlive: TimeAmount?
    private let pingTimeout: TimeAmount
    private let acknowledgementTimeout: TimeAmount
    private let connackTimeout: TimeAmount
    private let maximumInFlight: Int
    private let decoder: MQTTPacketDecoder
    private let connackPromise: EventLoopPromise<Bool>
    private let closedPromise: EventLoopPromise<MQTTError>
    private let messages: AsyncStream<MQTTMessage>.Continuation
    private let statistics: MQTTStatisticsBox
    private let logger: Logger

    private var state = State.connecting
    private var context: ChannelHandlerContext?
    private var inbound: ByteBuffer?
    private var closeReason: MQTTError?
    private var nextPacketID: UInt16 = 1
    private var inFlight: [UInt16: PendingPublish] = [:]
    private var waiting = CircularBuffer<PendingPublish>()
    private var pendingSubscribes: [UInt16: (count: Int, promise: EventLoopPromise<[MQTTSubackReturnCode]>)] = [:]
    private var pendingUnsubscribes: [UInt16: EventLoopPromise<Void>] = [:]
    private var disconnectPromises: [EventLoopPromise<Void>] = []
    private var lastOutbound = NIODeadline.uptimeNanoseconds(0)
    private var lastInbound = NIODeadline.uptimeNanoseconds(0)
    private var keepAliveTask: Scheduled<Void>?
    private var pingDeadlineTask: Scheduled<Void>?
    private var connackTimeoutTask: Scheduled<Void>?

    init(
        configuration: MQTTConfiguration, connackPromise: EventLoopPromise<Bool>,
        closedPromise: EventLoopPromise<MQTTError>, messages: AsyncStream<MQTTMessage>.Continuation,
        statistics: MQTTStatisticsBox, logger: Logger
    ) {
        self.connect = configuration.connectPacket
        let keepAlive = configuration.keepAlive > 0 ? TimeAmount.seconds(Int64(configuration.keepAlive)) : nil
        self.keepAlive = keepAlive
        self.pingTimeout =
            configuration.pingTimeout.map { TimeAmount($0) } ?? keepAlive.map { .nanoseconds($0.nanoseconds / 2) }
            ?? .seconds(30)
        self.acknowledgementTimeout =
            configuration.acknowledgementTimeout.map { TimeAmount($0) } ?? keepAlive ?? .seconds(30)
        self.connackTimeout = TimeAmount(configuration.connectTimeout)
        self.maximumInFlight = max(1, configuration.maximumInFlight)
        self.decoder = MQTTPacketDecoder(maximumPacketSize: configuration.maximumIncomingPacketSize)
        self.connackPromise = connackPromise
        self.closedPromise = closedPromise
        self.messages = messages
        self.statistics = statistics
        self.logger = logger
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        shutDown(reason: MQTTError(.connectionClosed, "MQTT handler removed from the pipeline"))
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let reason =
            state == .awaitingConnack || state == .connecting
            ? MQTTError(
                .connectionClosed,
                "broker closed the connection before CONNACK (it rejects malformed CONNECT packets silently, §1.10)")
            : MQTTError(.connectionClosed, "connection to the broker closed")
        shutDown(reason: reason)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let mqttError =
            error as? MQTTError
            ?? (MQTTTLS.isTLSError(error)
                ? MQTTError(.tls, "TLS error: \(error)") : MQTTError(.io, "connection error: \(error)"))
        fail(with: mqttError)
    }

    private func start(context: ChannelHandlerContext) {
        guard state == .connecting else { return }
        state = .awaitingConnack
        logger.debug("MQTT: sending CONNECT", metadata: ["clientID": "\(connect.clientID)"])
        send(.connect(connect), context: context, promise: nil)
        connackTimeoutTask = context.eventLoop.assumeIsolated().scheduleTask(in: connackTimeout) {
            self.fail(with: MQTTError(.connectTimeout, "no CONNACK within \(self.connackTimeout) after CONNECT"))
        }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastInbound = context.eventLoop.now
        var data = unwrapInboundIn(data)
        var buffer: ByteBuffer
        if var existing = inbound {
            inbound = nil
            existing.writeBuffer(&data)
            buffer = existing
        } else {
            buffer = data
        }
        do throws(MQTTError) {
            while state != .closed, let packet = try decoder.decode(&buffer) {
                try handle(packet, context: context)
            }
        } catch {
            logger.error("MQTT: closing connection: \(error.message)")
            fail(with: error)
            return
        }
        if buffer.readableBytes > 0 {
            buffer.discardReadBytes()
            inbound = buffer
        }
    }

    private func handle(_ packet: MQTTPacket, context: ChannelHandlerContext) throws(MQTTError) {
        if state == .awaitingConnack {
            guard case .connack(let sessionPresent, let returnCode) = packet else {
                throw MQTTError(.protocolViolation, "\(packet.name) received before CONNACK")
            }
            connackTimeoutTask?.cancel()
            connackTimeoutTask = nil
            if let refusal = returnCode.error { throw refusal }
            state = .connected
            logger.info(
                "MQTT: connected", metadata: ["clientID": "\(connect.clientID)", "sessionPresent": "\(sessionPresent)"])
            connackPromise.succeed(sessionPresent)
            scheduleKeepAlive(context: context)
            return
        }
        switch packet {
        case .connack:
            throw MQTTError(.protocolViolation, "second CONNACK on an established connection")
        case .publish(let publish):
            statistics.update { $0.messagesReceived += 1 }
            messages.yield(
                MQTTMessage(
                    topic: publish.topic, payload: publish.payload, qos: publish.qos, retain: publish.retain,
                    dup: publish.dup))
            if publish.qos == .atLeastOnce, let packetID = publish.packetID {
                send(.puback(packetID: packetID), context: context, promise: nil)
            }
        case .puback(let packetID):
            guard let pending = inFlight.removeValue(forKey: packetID) else {
                logger.warning("MQTT: ignoring PUBACK for packet id \(packetID), which is not in flight")
                return
            }
            statistics.update { $0.pubacksReceived += 1 }
            pending.promise.succeed()
            sendWaitingPublishes(context: context)
        case .suback(let packetID, let returnCodes):
            guard let pending = pendingSubscribes.removeValue(forKey: packetID) else {
                throw MQTTError(.protocolViolation, "SUBACK for packet id \(packetID), which has no SUBSCRIBE pending")
            }
            guard returnCodes.count == pending.count else {
                let error = MQTTError(
                    .protocolViolation,
                    "SUBACK for packet id \(packetID) has \(returnCodes.count) return codes for \(pending.count) filters"
                )
                pending.promise.fail(error)
                throw error
            }
            pending.promise.succeed(returnCodes)
        case .unsuback(let packetID):
            guard let promise = pendingUnsubscribes.removeValue(forKey: packetID) else {
                throw MQTTError(
                    .protocolViolation, "UNSUBACK for packet id \(packetID), which has no UNSUBSCRIBE pending")
            }
            promise.succeed()
        case .pingresp:
            statistics.update { $0.pingResponsesReceived += 1 }
            pingDeadlineTask?.cancel()
            pingDeadlineTask = nil
            scheduleKeepAlive(context: context)
        case .connect, .subscribe, .unsubscribe, .pingreq, .disconnect:
            throw MQTTError(.protocolViolation, "\(packet.name) from the broker")
        }
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        promise?.succeed()  // the request's own promise carries the outcome
        let request = unwrapOutboundIn(data)
        guard state == .connected else {
            let error = closeReason ?? MQTTError(.notConnected, "MQTT connection is not established")
            switch request {
            case .publish(_, let done): done.fail(error)
            case .subscribe(_, let done): done.fail(error)
            case .unsubscribe(_, let done): done.fail(error)
            case .disconnect(let done):
                if state == .closed { done.succeed() } else { disconnectPromises.append(done) }
            }
            return
        }
        switch request {
        case .publish(var publish, let done):
            publish.dup = false
            switch publish.qos {
            case .atMostOnce:
                publish.packetID = nil
                if send(.publish(publish), context: context, promise: done) {
                    statistics.update { $0.publishesSent += 1 }
                }
            case .atLeastOnce:
                waiting.append(PendingPublish(publish: publish, promise: done))
                sendWaitingPublishes(context: context)
            }
        case .subscribe(let subscriptions, let done):
            let packetID = allocatePacketID()
            pendingSubscribes[packetID] = (subscriptions.count, done)
            if !send(.subscribe(packetID: packetID, subscriptions: subscriptions), context: context, promise: nil) {
                pendingSubscribes[packetID] = nil
            }
        case .unsubscribe(let filters, let done):
            let packetID = allocatePacketID()
            pendingUnsubscribes[packetID] = done
            if !send(.unsubscribe(packetID: packetID, filters: filters), context: context, promise: nil) {
                pendingUnsubscribes[packetID] = nil
            }
        case .disconnect(let done):
            disconnectPromises.append(done)
            send(.disconnect, context: context, promise: nil)
            shutDown(reason: MQTTError(.connectionClosed, "connection closed by disconnect()"))
        }
    }

    /// Moves queued QoS 1 publishes into the in-flight window while it has room.
    private func sendWaitingPublishes(context: ChannelHandlerContext) {
        while state == .connected, inFlight.count < maximumInFlight, var next = waiting.popFirst() {
            let packetID = allocatePacketID()
            next.publish.packetID = packetID
            inFlight[packetID] = next
            if send(.publish(next.publish), context: context, promise: nil) {
                statistics.update { $0.publishesSent += 1 }
                let timeout = acknowledgementTimeout
                let deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
                    guard self.inFlight[packetID] != nil, self.state == .connected else { return }
                    self.logger.error(
                        "MQTT: no PUBACK for packet id \(packetID) within \(timeout); closing the connection")
                    self.fail(
                        with: MQTTError(
                            .acknowledgementTimeout, "no PUBACK within \(timeout) for packet id \(packetID)"))
                }
                next.promise.futureResult.assumeIsolated().whenComplete { _ in deadline.cancel() }
            } else {
                inFlight[packetID] = nil
            }
        }
    }

    /// Next non-zero packet id, wrapping 65,535 → 1 and skipping ids still awaiting an ack (§1.6).
    private func allocatePacketID() -> UInt16 {
        while true {
            let candidate = nextPacketID
            nextPacketID = nextPacketID == UInt16.max ? 1 : nextPacketID + 1
            if inFlight[candidate] == nil && pendingSubscribes[candidate] == nil
                && pendingUnsubscribes[candidate] == nil
            {
                return candidate
            }
        }
    }

    /// Encodes and writes `packet`. If encoding fails, `promise` (or the pending request) is failed.
    /// - Returns: Whether the packet was written.
    @discardableResult
    private func send(_ packet: MQTTPacket, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) -> Bool {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        do {
            try MQTTCodec.encode(packet, into: &buffer)
        } catch {
            logger.error("MQTT: cannot encode \(packet.name): \(error.message)")
            promise?.fail(error)
            failPendingRequest(for: packet, error: error)
            return false
        }
        lastOutbound = context.eventLoop.now
        context.writeAndFlush(wrapOutboundOut(buffer), promise: promise)
        return true
    }

    private func failPendingRequest(for packet: MQTTPacket, error: MQTTError) {
        switch packet {
        case .publish(let publish):
            if let packetID = publish.packetID { inFlight[packetID]?.promise.fail(error) }
        case .subscribe(let packetID, _): pendingSubscribes[packetID]?.promise.fail(error)
        case .unsubscribe(let packetID, _): pendingUnsubscribes[packetID]?.fail(error)
        default: break
        }
    }

    // MARK: Keep-alive (§1.7)

    private func scheduleKeepAlive(context: ChannelHandlerContext) {
        guard let keepAlive, state == .connected else { return }
        keepAliveTask?.cancel()
        let quiet = min(lastOutbound, lastInbound)  // whichever direction has been silent longer
        keepAliveTask = context.eventLoop.assumeIsolated().scheduleTask(deadline: quiet + keepAlive) {
            self.keepAliveFired()
        }
    }

    private func keepAliveFired() {
        // While a PINGREQ is outstanding its deadline decides; PINGRESP schedules the next check.
        guard let context, let keepAlive, state == .connected, pingDeadlineTask == nil else { return }
        if context.eventLoop.now >= min(lastOutbound, lastInbound) + keepAlive {
            statistics.update { $0.pingRequestsSent += 1 }
            send(.pingreq, context: context, promise: nil)
            let pingTimeout = self.pingTimeout
            pingDeadlineTask = context.eventLoop.assumeIsolated().scheduleTask(in: pingTimeout) {
                self.logger.error("MQTT: no PINGRESP within \(pingTimeout); closing the connection")
                self.fail(with: MQTTError(.keepAliveTimeout, "no PINGRESP within \(pingTimeout) after PINGREQ"))
            }
        }
        scheduleKeepAlive(context: context)
    }

    // MARK: Closing

    /// Records `error` as the close reason (first one wins) and closes the channel.
    private func fail(with error: MQTTError) {
        shutDown(reason: error)
    }

    private func shutDown(reason: MQTTError) {
        if closeReason == nil { closeReason = reason }
        guard state != .closed else { return }
        let reason = closeReason ?? reason
        state = .closed
        for task in [keepAliveTask, pingDeadlineTask, connackTimeoutTask] { task?.cancel() }
        keepAliveTask = nil
        pingDeadlineTask = nil
        connackTimeoutTask = nil

        connackPromise.fail(reason)
        let pending = inFlight.values.map(\.promise) + waiting.map(\.promise)
        inFlight.removeAll()
        waiting.removeAll()
        for promise in pending { promise.fail(reason) }
        for (_, entry) in pendingSubscribes { entry.promise.fail(reason) }
        pendingSubscribes.removeAll()
        for (_, promise) in pendingUnsubscribes { promise.fail(reason) }
        pendingUnsubscribes.removeAll()
        messages.finish()

        let closedPromise = self.closedPromise
        let disconnectPromises = self.disconnectPromises
        self.disconnectPromises.removeAll()
        if let context, context.channel.isActive {
            context.close(promise: nil)
            context.channel.closeFuture.whenComplete { _ in
                closedPromise.succeed(reason)
                for promise in disconnectPromises { promise.succeed() }
            }
        } else {
            closedPromise.succeed(reason)
            for promise in disconnectPromises { promise.succeed() }
        }
        logger.debug("MQTT: connection closed: \(reason.message)")
    }
}
