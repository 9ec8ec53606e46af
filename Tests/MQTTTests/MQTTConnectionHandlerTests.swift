import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import MQTT

/// The connection state machine on an `EmbeddedChannel`: virtual time (`advanceTime`), exact bytes in both
/// directions, no sockets and no sleeps. The test plays the broker.
@Suite struct MQTTConnectionHandlerTests {
    /// A handler on an embedded channel, with the promises and stream it reports through.
    struct Harness {
        let loop: EmbeddedEventLoop
        let channel: EmbeddedChannel
        let connack: EventLoopPromise<Bool>
        let closed: EventLoopPromise<MQTTError>
        let messages: AsyncStream<MQTTMessage>
        let statistics: MQTTStatisticsBox

        init(keepAlive: UInt16 = 10, pingTimeout: Duration? = nil, maximumInFlight: Int = 16) throws {
            loop = EmbeddedEventLoop()
            connack = loop.makePromise()
            closed = loop.makePromise()
            let (stream, continuation) = AsyncStream.makeStream(of: MQTTMessage.self)
            messages = stream
            statistics = MQTTStatisticsBox()
            let configuration = MQTTConfiguration(
                host: "broker", clientID: "a", keepAlive: keepAlive, pingTimeout: pingTimeout,
                connectTimeout: .seconds(5), maximumInFlight: maximumInFlight)
            let handler = MQTTConnectionHandler(
                configuration: configuration, connackPromise: connack, closedPromise: closed,
                messages: continuation, statistics: statistics, logger: Logger(label: "test"))
            channel = EmbeddedChannel(handler: handler, loop: loop)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1883)).wait()
        }

        /// Next packet the client wrote, as raw bytes (nil if none).
        func sent() throws -> [UInt8]? {
            guard var buffer = try channel.readOutbound(as: ByteBuffer.self) else { return nil }
            return buffer.readBytes(length: buffer.readableBytes)
        }

        func receive(_ bytes: [UInt8]) throws {
            try channel.writeInbound(ByteBuffer(bytes: bytes))
        }

        /// Reads CONNECT, answers CONNACK accepted.
        func establish() throws {
            let connect = try #require(try sent())
            #expect(connect.first == 0x10)
            try receive([0x20, 0x02, 0x00, 0x00])
            #expect(try connack.futureResult.wait() == false)
        }

        func publish(_ topic: String, qos: MQTTQoS) throws -> EventLoopFuture<Void> {
            let promise = loop.makePromise(of: Void.self)
            try channel.writeOutbound(
                MQTTRequest.publish(MQTTPublish(topic: topic, payload: [0x31], qos: qos), promise))
            return promise.futureResult
        }

        func closeReason() throws -> MQTTError {
            loop.run()  // close completes through tasks queued on the embedded loop
            return try closed.futureResult.wait()
        }
    }

    @Test func sendsConnectOnActivationAndReportsAcceptedConnack() throws {
        let harness = try Harness(keepAlive: 10)
        #expect(
            try harness.sent() == [
                0x10, 0x0D, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x0A, 0x00, 0x01, 0x61,
            ])
        try harness.receive([0x20, 0x02, 0x00, 0x00])
        #expect(try harness.connack.futureResult.wait() == false)
        #expect(harness.channel.isActive)
        _ = try harness.channel.finish()
    }

    @Test(arguments: [(UInt8(0x04), MQTTError.Kind.badCredentials), (0x05, .notAuthorized), (0x03, .serverUnavailable)])
    func refusedConnackFailsAndCloses(code: UInt8, kind: MQTTError.Kind) throws {
        let harness = try Harness()
        _ = try harness.sent()
        try harness.receive([0x20, 0x02, 0x00, code])
        #expect(throws: MQTTError.self) { try harness.connack.futureResult.wait() }
        #expect(try harness.closeReason().kind == kind)
        #expect(!harness.channel.isActive)
    }

    @Test func missingConnackTimesOut() throws {
        let harness = try Harness()
        _ = try harness.sent()
        harness.loop.advanceTime(by: .milliseconds(4_999))
        #expect(harness.channel.isActive)
        harness.loop.advanceTime(by: .milliseconds(1))
        #expect(try harness.closeReason().kind == .connectTimeout)
        #expect(!harness.channel.isActive)
    }

    @Test func sendsPingreqWhenIdleAndClosesWithoutPingresp() throws {
        let harness = try Harness(keepAlive: 2)
        try harness.establish()
        harness.loop.advanceTime(by: .milliseconds(1_999))
        #expect(try harness.sent() == nil)
        harness.loop.advanceTime(by: .milliseconds(1))
        #expect(try harness.sent() == [0xC0, 0x00])
        try harness.receive([0xD0, 0x00])  // broker alive
        harness.loop.advanceTime(by: .seconds(2))
        #expect(try harness.sent() == [0xC0, 0x00])
        #expect(harness.statistics.value.pingRequestsSent == 2)
        #expect(harness.statistics.value.pingResponsesReceived == 1)
        // No PINGRESP this time: dead broker detected after the ping timeout (= half the keep-alive).
        harness.loop.advanceTime(by: .milliseconds(999))
        #expect(harness.channel.isActive)
        harness.loop.advanceTime(by: .milliseconds(1))
        #expect(try harness.closeReason().kind == .keepAliveTimeout)
        #expect(!harness.channel.isActive)
    }

    /// Outbound traffic alone no longer postpones the PINGREQ: 10 Hz QoS 0 publishes used to hide a hung broker.
    @Test func silenceFromTheBrokerSendsPingreqDespiteOutboundTraffic() throws {
        let harness = try Harness(keepAlive: 4)
        try harness.establish()
        harness.loop.advanceTime(by: .seconds(3))
        _ = try harness.publish("t", qos: .atMostOnce)
        #expect(try harness.sent()?.first == 0x30)
        harness.loop.advanceTime(by: .seconds(1))  // 4 s since the broker last said anything (its CONNACK)
        #expect(try harness.sent() == [0xC0, 0x00])
        try harness.receive([0xD0, 0x00])  // PINGRESP: both directions fresh again
        harness.loop.advanceTime(by: .milliseconds(3_999))
        #expect(try harness.sent() == nil)
        harness.loop.advanceTime(by: .milliseconds(1))
        #expect(try harness.sent() == [0xC0, 0x00])
        _ = try harness.channel.finish()
    }

    @Test func qos1PublishCompletesOnItsPubackAndWindowIsBounded() throws {
        let harness = try Harness(maximumInFlight: 2)
        try harness.establish()
        let first = try harness.publish("t", qos: .atLeastOnce)
        let second = try harness.publish("t", qos: .atLeastOnce)
        let third = try harness.publish("t", qos: .atLeastOnce)
        #expect(try harness.sent() == [0x32, 0x06, 0x00, 0x01, 0x74, 0x00, 0x01, 0x31])
        #expect(try harness.sent() == [0x32, 0x06, 0x00, 0x01, 0x74, 0x00, 0x02, 0x31])
        #expect(try harness.sent() == nil)  // window of 2 is full
        var completed: [Int] = []
        first.assumeIsolated().whenSuccess { completed.append(1) }
        second.assumeIsolated().whenSuccess { completed.append(2) }
        third.assumeIsolated().whenSuccess { completed.append(3) }
        try harness.receive([0x40, 0x02, 0x00, 0x02])
        #expect(completed == [2])
        #expect(try harness.sent() == [0x32, 0x06, 0x00, 0x01, 0x74, 0x00, 0x03, 0x31])  // third goes out, id 3
        try harness.receive([0x40, 0x02, 0x00, 0x01, 0x40, 0x02, 0x00, 0x03])
        #expect(completed == [2, 1, 3])
        _ = try harness.channel.finish()
    }

    @Test func closeFailsUnacknowledgedPublishes() throws {
        let harness = try Harness(maximumInFlight: 1)
        try harness.establish()
        let inFlight = try harness.publish("t", qos: .atLeastOnce)
        let queued = try harness.publish("t", qos: .atLeastOnce)
        var errors: [MQTTError.Kind] = []
        inFlight.assumeIsolated().whenFailure { errors.append(($0 as? MQTTError)?.kind ?? .io) }
        queued.assumeIsolated().whenFailure { errors.append(($0 as? MQTTError)?.kind ?? .io) }
        try harness.channel.close().wait()  // broker gone
        #expect(errors == [.connectionClosed, .connectionClosed])
        #expect(try harness.closeReason().kind == .connectionClosed)
    }

    @Test func malformedInboundPacketClosesTheConnection() throws {
        let harness = try Harness()
        try harness.establish()
        try harness.receive([0x40, 0x03, 0x00, 0x01, 0x00])  // PUBACK with remaining length 3
        let reason = try harness.closeReason()
        #expect(reason.kind == .malformedPacket)
        #expect(reason.message.contains("PUBACK"))
        #expect(!harness.channel.isActive)
    }

    @Test func packetBeforeConnackIsAProtocolViolation() throws {
        let harness = try Harness()
        _ = try harness.sent()
        try harness.receive([0x40, 0x02, 0x00, 0x01])
        #expect(throws: MQTTError.self) { try harness.connack.futureResult.wait() }
        #expect(try harness.closeReason().kind == .protocolViolation)
    }

    @Test func incomingQoS1PublishIsDeliveredAndAcknowledged() async throws {
        let harness = try Harness()
        try harness.establish()
        // Split across two reads, in the middle of the topic.
        try harness.receive([0x33, 0x09, 0x00, 0x03, 0x61])
        try harness.receive([0x2F, 0x62, 0x00, 0x2A, 0x68, 0x69])
        #expect(try harness.sent() == [0x40, 0x02, 0x00, 0x2A])
        harness.channel.close(promise: nil)
        harness.loop.run()
        var received: [MQTTMessage] = []
        for await message in harness.messages { received.append(message) }
        #expect(received == [MQTTMessage(topic: "a/b", payload: Array("hi".utf8), qos: .atLeastOnce, retain: true)])
    }

    @Test func subscribeWaitsForMatchingSuback() throws {
        let harness = try Harness()
        try harness.establish()
        let promise = harness.loop.makePromise(of: [MQTTSubackReturnCode].self)
        try harness.channel.writeOutbound(
            MQTTRequest.subscribe([MQTTSubscription("a/#", qos: .atLeastOnce), MQTTSubscription("b")], promise))
        #expect(
            try harness.sent() == [0x82, 0x0C, 0x00, 0x01, 0x00, 0x03, 0x61, 0x2F, 0x23, 0x01, 0x00, 0x01, 0x62, 0x00])
        try harness.receive([0x90, 0x04, 0x00, 0x01, 0x01, 0x80])
        #expect(try promise.futureResult.wait() == [.granted(.atLeastOnce), .failure])
        _ = try harness.channel.finish()
    }

    @Test func disconnectSendsDisconnectAndCloses() throws {
        let harness = try Harness()
        try harness.establish()
        let promise = harness.loop.makePromise(of: Void.self)
        try harness.channel.writeOutbound(MQTTRequest.disconnect(promise))
        #expect(try harness.sent() == [0xE0, 0x00])
        #expect(try harness.closeReason().message.contains("disconnect()"))
        try promise.futureResult.wait()
        #expect(!harness.channel.isActive)
    }
}
