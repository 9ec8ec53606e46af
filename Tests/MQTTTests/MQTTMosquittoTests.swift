import Foundation
import Logging
import NIOCore
import TestSupport
import Testing

@testable import MQTT

/// Integration tests against a real mosquitto 2.x on a random loopback port (`MosquittoBroker`).
/// Waits are bounded; the only deliberate real-time wait is the keep-alive test (3.5 s at keep-alive 1 s).
@Suite(
    .enabled(if: MosquittoBroker.isAvailable, Comment(rawValue: MosquittoBroker.missingMessage)),
    .timeLimit(.minutes(3))
)
struct MQTTMosquittoTests {
    static func configuration(
        _ broker: MosquittoBroker, _ clientID: String, keepAlive: UInt16 = 30
    ) -> MQTTConfiguration {
        MQTTConfiguration(
            host: "127.0.0.1", port: broker.port, clientID: clientID, keepAlive: keepAlive, connectTimeout: .seconds(5))
    }

    @Test func publishSubscribeRoundTripQoS0AndQoS1() async throws {
        try await MosquittoBroker.with { broker in
            let subscriber = try await MQTTConnection.connect(configuration: Self.configuration(broker, "sub"))
            let codes = try await subscriber.subscribe([MQTTSubscription("meter/#", qos: .atLeastOnce)])
            #expect(codes == [.granted(.atLeastOnce)])
            let publisher = try await MQTTConnection.connect(configuration: Self.configuration(broker, "pub"))
            try await publisher.publish(topic: "meter/power", payload: Array(#"{"w":1234}"#.utf8), qos: .atMostOnce)
            try await publisher.publish(topic: "meter/energy", payload: Array("42.5".utf8), qos: .atLeastOnce)
            #expect(publisher.statistics.pubacksReceived == 1)

            let received = await mqttCollect(2, from: subscriber.messages)
            #expect(
                received == [
                    MQTTMessage(topic: "meter/power", payload: Array(#"{"w":1234}"#.utf8), qos: .atMostOnce),
                    MQTTMessage(topic: "meter/energy", payload: Array("42.5".utf8), qos: .atLeastOnce),
                ])
            await publisher.disconnect()
            await subscriber.disconnect()
            #expect(!subscriber.isActive)
        }
    }

    @Test func manyQoS1PublishesThroughASmallWindowAllGetAcknowledged() async throws {
        try await MosquittoBroker.with { broker in
            var configuration = Self.configuration(broker, "burst")
            configuration.maximumInFlight = 4
            let publisher = try await MQTTConnection.connect(configuration: configuration)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<100 {
                    group.addTask {
                        try await publisher.publish(topic: "burst/\(index)", payload: [UInt8(index)], qos: .atLeastOnce)
                    }
                }
                try await group.waitForAll()
            }
            #expect(publisher.statistics.pubacksReceived == 100)
            #expect(publisher.statistics.publishesSent == 100)
            await publisher.disconnect()
        }
    }

    @Test func retainedMessageReachesALaterSubscriber() async throws {
        try await MosquittoBroker.with { broker in
            let publisher = try await MQTTConnection.connect(configuration: Self.configuration(broker, "pub"))
            try await publisher.publish(
                topic: "emeter/0a1b2c/status", payload: Array("online".utf8), qos: .atLeastOnce, retain: true)
            await publisher.disconnect()

            let subscriber = try await MQTTConnection.connect(configuration: Self.configuration(broker, "late"))
            try await subscriber.subscribe([MQTTSubscription("emeter/+/status", qos: .atLeastOnce)])
            let received = await mqttCollect(1, from: subscriber.messages)
            #expect(
                received == [
                    MQTTMessage(
                        topic: "emeter/0a1b2c/status", payload: Array("online".utf8), qos: .atLeastOnce, retain: true)
                ])
            await subscriber.disconnect()
        }
    }

    @Test func lastWillIsPublishedOnAbruptCloseButNotAfterDisconnect() async throws {
        try await MosquittoBroker.with { broker in
            let watcher = try await MQTTConnection.connect(configuration: Self.configuration(broker, "watcher"))
            try await watcher.subscribe([MQTTSubscription("dev/+/status", qos: .atLeastOnce)])

            var graceful = Self.configuration(broker, "graceful")
            graceful.will = MQTTWill(topic: "dev/graceful/status", payload: Array("offline".utf8), qos: .atLeastOnce)
            let politeClient = try await MQTTConnection.connect(configuration: graceful)
            await politeClient.disconnect()  // DISCONNECT: the broker discards this will

            var abrupt = Self.configuration(broker, "abrupt")
            abrupt.will = MQTTWill(topic: "dev/abrupt/status", payload: Array("offline".utf8), qos: .atLeastOnce)
            let crashingClient = try await MQTTConnection.connect(configuration: abrupt)
            await crashingClient.close()  // socket closed without DISCONNECT

            // The broker handles the two closes in order, so a will from the polite client would arrive first.
            let received = await mqttCollect(1, from: watcher.messages)
            #expect(
                received == [MQTTMessage(topic: "dev/abrupt/status", payload: Array("offline".utf8), qos: .atLeastOnce)]
            )
            await watcher.disconnect()
        }
    }

    @Test func keepAliveHoldsTheConnectionPastThreeIntervals() async throws {
        try await MosquittoBroker.with { broker in
            // mosquitto drops a silent client after 1.5 × keep-alive (checked every ~5 s, §1.7).
            let connection = try await MQTTConnection.connect(
                configuration: Self.configuration(broker, "pinger", keepAlive: 1))
            try await Task.sleep(for: .milliseconds(3_500))
            #expect(connection.isActive)
            let statistics = connection.statistics
            #expect(statistics.pingRequestsSent >= 2)
            #expect(statistics.pingResponsesReceived >= 2)
            try await connection.publish(topic: "still/alive", payload: [1], qos: .atLeastOnce)
            await connection.disconnect()
            #expect(!(await broker.log).contains("exceeded timeout"))
        }
    }

    /// Issue "Hostile input" item 7: PINGREQ went out only when nothing was sent, so 10 Hz QoS 0 publishes hid a
    /// hung broker forever. Keep-alive now judges inbound traffic: the broker is declared dead within 1.5 ×
    /// keep-alive although the client never stops sending.
    @Test func aFrozenBrokerIsNoticedWithinOneAndAHalfKeepAlivesWhilePublishingQoS0() async throws {
        try await MosquittoBroker.with { broker in
            let connection = try await MQTTConnection.connect(
                configuration: Self.configuration(broker, "busy", keepAlive: 2))
            await broker.freeze()
            let frozenAt = ContinuousClock.now
            let publisher = Task {
                while connection.isActive && ContinuousClock.now < frozenAt + .seconds(10) {
                    try? await connection.publish(topic: "live/p1", payload: Array("{}".utf8), qos: .atMostOnce)
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            let reason = await connection.waitUntilClosed()
            let noticedAfter = ContinuousClock.now - frozenAt
            await broker.thaw()
            publisher.cancel()
            #expect(reason.kind == .keepAliveTimeout)
            // By design 1.5 × 2 s (exact timings: MQTTConnectionHandlerTests); 4 s leaves room for a loaded machine,
            // and the old client noticed only 4 s after it stopped publishing, i.e. never while publishing.
            #expect(noticedAfter <= .seconds(4), "noticed after \(noticedAfter)")
        }
    }

    /// A QoS 1 publish whose PUBACK never comes (broker frozen) fails the connection after the acknowledgement
    /// timeout instead of waiting forever; after the broker thaws, a new connection delivers it.
    @Test func aMissingPubackClosesTheConnectionAndTheResendArrives() async throws {
        try await MosquittoBroker.with { broker in
            var configuration = Self.configuration(broker, "acker", keepAlive: 30)
            configuration.acknowledgementTimeout = .seconds(1)
            let subscriber = try await MQTTConnection.connect(configuration: Self.configuration(broker, "watcher"))
            _ = try await subscriber.subscribe([MQTTSubscription("records/#", qos: .atLeastOnce)])
            let connection = try await MQTTConnection.connect(configuration: configuration)
            await broker.freeze()
            let started = ContinuousClock.now
            await #expect(throws: MQTTError.self) {
                try await connection.publish(topic: "records/1", payload: [1], qos: .atLeastOnce)
            }
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(await connection.waitUntilClosed().kind == .acknowledgementTimeout)
            await broker.thaw()
            let again = try await MQTTConnection.connect(configuration: configuration)
            try await again.publish(topic: "records/1", payload: [1], qos: .atLeastOnce)
            let received = await mqttCollect(1, from: subscriber.messages)
            #expect(received.last?.topic == "records/1")
            await again.disconnect()
            await subscriber.disconnect()
        }
    }

    @Test func wrongPasswordIsRefusedAsNotAuthorizedWithoutReconnectStorm() async throws {
        try await MosquittoBroker.with(users: ["meter": "s3cret"]) { broker in
            // Direct connection: mosquitto 2.0.11 answers a 3.1.1 client with a wrong password with CONNACK 5.
            var wrong = Self.configuration(broker, "meter-1")
            wrong.username = "meter"
            wrong.password = Array("wrong".utf8)
            do throws(MQTTError) {
                _ = try await MQTTConnection.connect(configuration: wrong)
                Issue.record("connect with a wrong password succeeded")
            } catch {
                #expect(error.kind == .notAuthorized)
                #expect(error.isPermanentRefusal)
            }
            var right = wrong
            right.password = Array("s3cret".utf8)
            let accepted = try await MQTTConnection.connect(configuration: right)
            await accepted.disconnect()

            // Reconnecting client: one attempt, then it waits the long refusal delay on the (manual) clock.
            let clock = ManualClock()
            let client = MQTTClient(
                configuration: wrong, policy: MQTTReconnectPolicy(refusedDelay: .seconds(300)), clock: clock,
                random: MQTTSeededRandom(seed: 1))
            let runner = Task { await client.run() }
            try await mqttWaitUntil("the client to sleep after the refusal") {
                clock.pendingDeadlines == [.seconds(300)]
            }
            #expect(await client.connectionAttempts == 1)
            #expect(await client.state == .refused(MQTTConnackReturnCode.notAuthorized.error!))
            do throws(MQTTError) {
                _ = try await client.waitForConnection()
                Issue.record("waitForConnection returned while refused")
            } catch {
                #expect(error.kind == .notAuthorized)
            }
            do throws(MQTTError) {
                try await client.publish(topic: "meter/power", payload: [1], qos: .atLeastOnce)
                Issue.record("publish succeeded while refused")
            } catch {
                #expect(error.kind == .notAuthorized)
            }
            clock.advance(by: .seconds(299))
            #expect(await client.connectionAttempts == 1)
            clock.advance(by: .seconds(1))
            try await mqttWaitUntil("the second attempt") { clock.pendingDeadlines == [.seconds(600)] }
            #expect(await client.connectionAttempts == 2)
            await client.shutdown()
            try await mqttWithTimeout(.seconds(5), "run() to return") { await runner.value }
            #expect(await client.state == .stopped)
            #expect((await broker.log).components(separatedBy: "not authorised").count - 1 == 3)
        }
    }

    /// QoS 1 across a broker restart. An offline persistent subscriber (clean session 0) makes the broker queue
    /// every message it acknowledged, and broker persistence keeps that queue across the restart. The publisher
    /// behaves like a forwarder draining its ring: a record counts as sent only when `publish` returned; on any
    /// error it retries the same record after reconnecting. Check: every acknowledged message reaches the
    /// subscriber (duplicates allowed), the session survived, and the restart happened mid-stream.
    @Test func acknowledgedQoS1MessagesSurviveABrokerRestart() async throws {
        try await MosquittoBroker.with(persistence: true) { broker in
            var archive = Self.configuration(broker, "archive")
            archive.cleanSession = false
            let offline = try await MQTTConnection.connect(configuration: archive)
            try await offline.subscribe([MQTTSubscription("meter/seq", qos: .atLeastOnce)])
            await offline.disconnect()

            let total = 60
            let client = MQTTClient(
                configuration: Self.configuration(broker, "forwarder"),
                policy: MQTTReconnectPolicy(base: .milliseconds(50), cap: .milliseconds(200)))
            let supervisor = Task { await client.run() }
            let acknowledged = MQTTLocked<[Int]>([])
            let failures = MQTTLocked(0)
            let forwarder = Task {
                for index in 0..<total {
                    while true {
                        do throws(MQTTError) {
                            _ = try await client.waitForConnection()
                            try await client.publish(
                                topic: "meter/seq", payload: Array("\(index)".utf8), qos: .atLeastOnce)
                            acknowledged.withLock { $0.append(index) }
                            break
                        } catch {
                            failures.withLock { $0 += 1 }
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            try await mqttWaitUntil("a third of the messages") { acknowledged.value.count >= total / 3 }
            try await broker.restart()
            let acknowledgedBeforeRestart = acknowledged.value.count
            try await mqttWithTimeout(.seconds(20), "the forwarder to finish") { try await forwarder.value }
            await client.shutdown()
            await supervisor.value

            #expect(acknowledged.value == Array(0..<total))
            #expect(acknowledgedBeforeRestart < total, "the restart must happen while publishing")
            #expect(await client.connectionAttempts >= 2)
            print("broker restart: \(acknowledgedBeforeRestart) acknowledged before, \(failures.value) failed attempts")

            let online = try await MQTTConnection.connect(configuration: archive)
            #expect(online.sessionPresent)
            let seen = MQTTLocked(Set<Int>())
            let stream = online.messages
            _ = try? await mqttWithTimeout(.seconds(10), "all queued messages") {
                for await message in stream {
                    guard let index = Int(String(decoding: message.payload, as: UTF8.self)) else { continue }
                    if seen.withLock({
                        $0.insert(index)
                        return $0.count == total
                    }) {
                        break
                    }
                }
            }
            #expect(
                seen.value == Set(0..<total),
                "acknowledged but never delivered: \(Set(0..<total).subtracting(seen.value).sorted())")
            await online.disconnect()
        }
    }
}

/// The launcher behind every real-peer test: ports outside the kernel's ephemeral range, another port when the
/// chosen one was taken (a CI run once lost two brokers and an influxd to ports a parallel test held).
@Suite struct ServerProcessTests {
    @Test func portsAreOutsideTheEphemeralRangeAndBindable() throws {
        let ephemeral = ServerProcess.ephemeralRangeForTests
        for _ in 0..<50 {
            let port = try ServerProcess.loopbackPort()
            #expect(!ephemeral.contains(port))
            #expect((1024..<65_536).contains(port))
        }
    }

    @Test func aTakenPortIsRetriedWithAnotherAndOtherErrorsAreNot() async throws {
        var tried: [Int] = []
        let port = try await ServerProcess.launch { port in
            tried.append(port)
            if tried.count < 3 { throw ServerProcess.PortTaken("taken") }
            return port
        }
        #expect(tried.count == 3)
        #expect(port == tried.last)
        #expect(Set(tried).count == 3)

        var calls = 0
        await #expect(throws: ServerProcess.LaunchError.self) {
            try await ServerProcess.launch { (_: Int) -> Int in
                calls += 1
                throw ServerProcess.LaunchError("exited at start")
            }
        }
        #expect(calls == 1)
        await #expect(throws: ServerProcess.PortTaken.self) {
            try await ServerProcess.launch(attempts: 2) { (_: Int) -> Int in throw ServerProcess.PortTaken("taken") }
        }
    }

    /// The retry rests on mosquitto's own words when its listener port is in use: checked on the real binary.
    @Test(.enabled(if: MosquittoBroker.isAvailable, Comment(rawValue: MosquittoBroker.missingMessage)))
    func mosquittoSaysSoWhenItsPortIsTaken() async throws {
        try await MosquittoBroker.with { holder in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "port-taken-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let config = directory.appendingPathComponent("mosquitto.conf")
            try "listener \(holder.port) 127.0.0.1\nlog_dest stderr\nallow_anonymous true\n".write(
                to: config, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: MosquittoBroker.executablePath ?? "/usr/sbin/mosquitto")
            process.arguments = ["-c", config.path]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let deadline = ContinuousClock.now + .seconds(30)
            while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus != 0)
            #expect(ServerProcess.saysPortInUse(log), "mosquitto said: \(log)")
        }
    }
}
