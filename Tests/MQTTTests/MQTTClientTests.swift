import Logging
import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import MQTT

/// Backoff policy (pure) and the reconnecting client's supervisor loop.
@Suite struct MQTTReconnectPolicyTests {
    let policy = MQTTReconnectPolicy(base: .seconds(1), cap: .seconds(60), refusedDelay: .seconds(300))

    @Test func ceilingDoublesFromBaseUpToCap() {
        // §4.4: min(cap, base · 2^attempt), base 1 s, cap 60 s.
        let expected: [(Int, Duration)] = [
            (1, .seconds(1)), (2, .seconds(2)), (3, .seconds(4)), (4, .seconds(8)), (5, .seconds(16)),
            (6, .seconds(32)), (7, .seconds(60)), (8, .seconds(60)), (1_000, .seconds(60)),
        ]
        for (failures, ceiling) in expected {
            #expect(policy.ceiling(failures: failures) == ceiling, "after \(failures) failures")
        }
    }

    @Test func fullJitterSpansZeroToCeiling() {
        var low = MQTTConstantRandom(value: 1)
        var high = MQTTConstantRandom(value: .max)
        for failures in 1...10 {
            #expect(policy.delay(failures: failures, using: &low) == .zero)
            #expect(policy.delay(failures: failures, using: &high) == policy.ceiling(failures: failures))
        }
        var seeded = MQTTSeededRandom(seed: 42)
        let draws = (0..<1_000).map { _ in policy.delay(failures: 3, using: &seeded) }
        #expect(draws.allSatisfy { $0 >= .zero && $0 <= .seconds(4) })
        #expect(Set(draws).count > 500, "jitter must spread the delays")
    }

    @Test func permanentRefusalsWaitTheLongDelayTransientOnesBackOff() {
        var random = MQTTConstantRandom(value: .max)
        for code in [
            MQTTConnackReturnCode.unacceptableProtocolVersion, .identifierRejected, .badUsernameOrPassword,
            .notAuthorized,
        ] {
            let error = code.error!
            #expect(policy.delay(after: error, failures: 1, using: &random) == .seconds(300), "\(code)")
        }
        let unavailable = MQTTConnackReturnCode.serverUnavailable.error!
        #expect(policy.delay(after: unavailable, failures: 2, using: &random) == .seconds(2))
        #expect(policy.delay(after: MQTTError(.io, "refused"), failures: 3, using: &random) == .seconds(4))
    }
}

@Suite(.timeLimit(.minutes(3))) struct MQTTClientTests {
    /// A port with nothing listening: connect fails at once with "connection refused".
    static func closedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        try await channel.close()
        return port
    }

    @Test func unreachableBrokerIsRetriedWithTheSeededBackoffOnTheInjectedClock() async throws {
        let port = try await Self.closedPort()
        let policy = MQTTReconnectPolicy(base: .seconds(1), cap: .seconds(60))
        var expected = MQTTSeededRandom(seed: 7)
        let first = policy.delay(failures: 1, using: &expected)
        let second = policy.delay(failures: 2, using: &expected)
        let third = policy.delay(failures: 3, using: &expected)
        #expect(first > .zero && second > .zero && third > .zero)

        let clock = ManualClock()
        let client = MQTTClient(
            configuration: MQTTConfiguration(host: "127.0.0.1", port: port, clientID: "c", connectTimeout: .seconds(2)),
            policy: policy, clock: clock, random: MQTTSeededRandom(seed: 7))
        let runner = Task { await client.run() }

        try await mqttWaitUntil("first backoff sleep") { clock.pendingDeadlines == [first] }
        #expect(await client.connectionAttempts == 1)
        guard case .waiting(let retryIn, let lastError) = await client.state else {
            Issue.record("expected .waiting, got \(await client.state)")
            return
        }
        #expect(retryIn == first)
        #expect(lastError.kind == .io)
        do throws(MQTTError) {
            try await client.publish(topic: "t", payload: [1])
            Issue.record("publish without a connection succeeded")
        } catch {
            #expect(error.kind == .notConnected)
        }

        clock.advance(by: first)
        try await mqttWaitUntil("second backoff sleep") { clock.pendingDeadlines == [first + second] }
        #expect(await client.connectionAttempts == 2)
        clock.advance(by: second)
        try await mqttWaitUntil("third backoff sleep") { clock.pendingDeadlines == [first + second + third] }
        #expect(await client.connectionAttempts == 3)

        await client.shutdown()
        try await mqttWithTimeout(.seconds(5), "run() to return") { await runner.value }
        #expect(await client.state == .stopped)
        do throws(MQTTError) {
            _ = try await client.waitForConnection()
            Issue.record("waitForConnection after shutdown returned")
        } catch {
            #expect(error.kind == .shutdown)
        }
    }

    @Test(.enabled(if: MosquittoBroker.isAvailable, Comment(rawValue: MosquittoBroker.missingMessage)))
    func reconnectRunsOnConnectAgainAndRestoresSubscriptions() async throws {
        try await MosquittoBroker.with { broker in
            let births = MQTTLocked(0)
            let client = MQTTClient(
                configuration: MQTTConfiguration(
                    host: "127.0.0.1", port: broker.port, clientID: "emeter-test", connectTimeout: .seconds(5)),
                policy: MQTTReconnectPolicy(base: .milliseconds(50), cap: .milliseconds(200))
            ) { connection in
                births.withLock { $0 += 1 }
                try await connection.publish(
                    topic: "emeter/test/status", payload: Array("online".utf8), qos: .atLeastOnce, retain: true)
            }
            try await client.subscribe([MQTTSubscription("emeter/test/cmd/#", qos: .atLeastOnce)])
            let runner = Task { await client.run() }
            _ = try await mqttWithTimeout(.seconds(5), "first connection") { try await client.waitForConnection() }
            #expect(births.value == 1)

            try await broker.restart()  // no persistence: subscriptions and retained messages are gone
            try await mqttWaitUntil("reconnect", timeout: .seconds(10)) { births.value == 2 }
            _ = try await mqttWithTimeout(.seconds(5), "second connection") { try await client.waitForConnection() }

            let other = try await MQTTConnection.connect(
                configuration: MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: "ha"))
            try await other.publish(topic: "emeter/test/cmd/reset", payload: Array("1".utf8), qos: .atLeastOnce)
            let received = await mqttCollect(1, from: client.messages)
            #expect(
                received == [MQTTMessage(topic: "emeter/test/cmd/reset", payload: Array("1".utf8), qos: .atLeastOnce)])

            // The birth message was re-published after the restart (the broker had lost the retained one).
            try await other.subscribe([MQTTSubscription("emeter/test/status")])
            let status = await mqttCollect(1, from: other.messages)
            #expect(status.first?.payload == Array("online".utf8))
            #expect(status.first?.retain == true)
            await other.disconnect()

            await client.shutdown()
            try await mqttWithTimeout(.seconds(5), "run() to return") { await runner.value }
        }
    }

    @Test(.enabled(if: MosquittoBroker.isAvailable, Comment(rawValue: MosquittoBroker.missingMessage)))
    func publishOnAClosedConnectionFails() async throws {
        try await MosquittoBroker.with { broker in
            let connection = try await MQTTConnection.connect(
                configuration: MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: "closing"))
            await connection.close()
            #expect(await connection.waitUntilClosed().kind == .connectionClosed)
            do throws(MQTTError) {
                try await connection.publish(topic: "t", payload: [1], qos: .atLeastOnce)
                Issue.record("publish on a closed connection succeeded")
            } catch {
                #expect(error.kind == .notConnected || error.kind == .connectionClosed)
            }
        }
    }
}
