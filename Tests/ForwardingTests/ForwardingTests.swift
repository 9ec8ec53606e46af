import CivilTime
import Foundation
import Logging
import MQTT
import Simulator
import Synchronization
import TestSupport
import Testing

@testable import Firmware
@testable import Forwarding

/// A backend whose answers the test scripts: each call to `send` takes the next outcome.
actor ScriptedForwarder: Forwarder {
    nonisolated let name = "scripted"
    var outcomes: [ForwardError?]
    private(set) var received: [IntervalRecord] = []
    private(set) var attempts = 0

    init(_ outcomes: [ForwardError?]) { self.outcomes = outcomes }

    func run() async {}
    func send(_ record: IntervalRecord) async throws(ForwardError) {
        attempts += 1
        let outcome = outcomes.isEmpty ? nil : outcomes.removeFirst()
        if let outcome { throw outcome }
        received.append(record)
    }
    func publish(_ reading: LiveReading) async {}
    func publish(_ health: Health) async {}
    func shutdown() async {}
}

func record(_ minute: Int64, importWh: Int64) -> IntervalRecord {
    IntervalRecord(
        start: UnixTime(seconds: 1_700_000_000 + minute * 60), end: UnixTime(seconds: 1_700_000_060 + minute * 60),
        p1: P1Interval(importTariff1Wh: importWh, averagePowerW: importWh * 60, maxImportPowerW: importWh * 70))
}

@Test func drainDeliversInOrderAndRetriesWithoutLosingOrDuplicatingEnergy() async throws {
    let store = try RecordStore(storage: RAMRingStorage(), nominalInterval: 60, logger: Logger(label: "test"))
    let consumer = ConsumerID("c1")
    try await store.register(consumer)
    for minute in 0..<5 { _ = try await store.append(record(Int64(minute), importWh: Int64(10 + minute))) }
    let forwarder = ScriptedForwarder([
        nil, ForwardError(.retry(after: nil), "down"), ForwardError(.retry(after: .milliseconds(1)), "429"), nil,
        ForwardError(.drop, "400 bad payload"), nil, nil,
    ])
    let clock = ManualClock()
    var drain = ForwardingDrain(
        store: store, consumer: consumer, forwarder: forwarder, clock: clock,
        logger: Logger(label: "test"))
    drain.base = .milliseconds(10)
    drain.cap = .milliseconds(40)
    let finalDrain = drain
    let task = Task { await finalDrain.run(random: P1SeededRandom(seed: 3)) }
    // Advance time until every record is acknowledged (bounded).
    for _ in 0..<2000 {
        if await store.statistics.backlog["c1"] == 0 { break }
        clock.advance(by: .milliseconds(5))
        await Task.yield()
    }
    task.cancel()
    let statistics = await task.value
    let received = await forwarder.received
    #expect(statistics.delivered == 4)
    #expect(statistics.dropped == 1)
    #expect(statistics.failedAttempts == 3)
    // Oldest first; the dropped one (the third record) is skipped, never re-sent.
    #expect(received.map(\.p1!.importTariff1Wh) == [10, 11, 13, 14])
    #expect(await store.statistics.backlog["c1"] == 0)
}

@Test func pausedForwarderKeepsItsRecordsInTheRing() async throws {
    let store = try RecordStore(storage: RAMRingStorage(), nominalInterval: 60, logger: Logger(label: "test"))
    try await store.register(ConsumerID("c1"))
    _ = try await store.append(record(0, importWh: 5))
    let forwarder = ScriptedForwarder([ForwardError(.pause(for: .seconds(300)), "bad credentials")])
    let clock = ManualClock()
    let drain = ForwardingDrain(
        store: store, consumer: ConsumerID("c1"), forwarder: forwarder, clock: clock,
        logger: Logger(label: "test"))
    let task = Task { await drain.run() }
    for _ in 0..<1000 where await forwarder.attempts == 0 { await Task.yield() }
    clock.advance(by: .seconds(299))
    for _ in 0..<100 { await Task.yield() }
    #expect(await forwarder.attempts == 1)  // no retry storm while paused
    #expect(await store.statistics.records == 1)
    clock.advance(by: .seconds(1))
    for _ in 0..<1000 where await store.statistics.backlog["c1"] != 0 { await Task.yield() }
    #expect(await forwarder.received.count == 1)
    task.cancel()
    _ = await task.value
}

@Test func backoffUsesFullJitterBelowTheCap() {
    var random = P1SeededRandom(seed: 1)
    for attempt in 0..<12 {
        let wait = ForwardingDrain<ManualClock>.backoff(
            attempt: attempt, base: .seconds(1), cap: .seconds(60),
            using: &random)
        #expect(wait >= .zero)
        #expect(wait <= min(.seconds(60), .seconds(1) * (1 << attempt)))
    }
}

@Test func mqttURLsParseWithCredentialsPortAndPrefix() throws {
    let parsed = try MQTTForwarderConfiguration.parse(
        url: "mqtt://user:p%40ss@broker.local:1884/home/meter",
        device: "house"
    ).get()
    #expect(parsed.host == "broker.local")
    #expect(parsed.port == 1884)
    #expect(parsed.username == "user")
    #expect(parsed.password == "p@ss")
    // `user` and `password` are decoded once: `%2540` is the password `%40`, not `@`.
    let literal = try MQTTForwarderConfiguration.parse(url: "mqtt://u:100%2540@h", device: "d").get()
    #expect(literal.password == "100%40")
    #expect(parsed.prefix == "home/meter")
    #expect(parsed.name == "mqtt://broker.local:1884/home/meter")  // no secret in the name
    let tls = try MQTTForwarderConfiguration.parse(url: "mqtts://broker", device: "d").get()
    #expect(tls.port == 8883 && tls.tls != nil && tls.prefix == "emeter")
    #expect(MQTTForwarderConfiguration.redacted("mqtt://u:secret@h/x") == "mqtt://u:***@h/x")
    for bad in ["http://broker", "mqtt://", "mqtt://h/a+b", "mqtt://h:70000"] {
        #expect(throws: ForwardError.self) { try MQTTForwarderConfiguration.parse(url: bad, device: "d").get() }
    }
}

/// Issue "Hostile input" item 7: the shutdown "offline" publish waited forever for a PUBACK from a hung broker, so
/// SIGTERM never finished (systemd then SIGKILLs). It is bounded now.
@Test(.enabled(if: MosquittoBroker.isAvailable), .timeLimit(.minutes(3)))
func shutdownIsBoundedWhenTheBrokerHangs() async throws {
    try await MosquittoBroker.with { broker in
        let configuration = try MQTTForwarderConfiguration.parse(
            url: "mqtt://127.0.0.1:\(broker.port)/bounded", device: "hang"
        ).get()
        let forwarder = MQTTForwarder(configuration: configuration, logger: Logger(label: "test"))
        let running = Task { await forwarder.run() }
        _ = try await forwarder.client.waitForConnection()
        await broker.freeze()
        let started = ContinuousClock.now
        await forwarder.shutdown(waitingAtMost: .milliseconds(500))
        let took = ContinuousClock.now - started
        await broker.thaw()
        _ = await running.value
        #expect(took < .seconds(2), "shutdown took \(took)")
    }
}

/// Issue "Hostile input" item 7: once the socket buffer to a hung broker filled, a QoS 0 live publish blocked the
/// measurement loop itself. `publish` now only queues (newest kept): every call returns at once and the values the
/// link cannot take are dropped and counted.
@Test(.enabled(if: MosquittoBroker.isAvailable), .timeLimit(.minutes(3)))
func liveValuesNeverWaitOnAHungBroker() async throws {
    try await MosquittoBroker.with { broker in
        let configuration = try MQTTForwarderConfiguration.parse(
            url: "mqtt://127.0.0.1:\(broker.port)/hung", device: "slow"
        ).get()
        let forwarder = MQTTForwarder(configuration: configuration, logger: Logger(label: "test"))
        let running = Task { await forwarder.run() }
        _ = try await forwarder.client.waitForConnection()
        await broker.freeze()
        var slowest = Duration.zero
        // ~20 000 × 400 bytes: far more than the loopback socket buffers hold.
        for index in 0..<20_000 {
            let started = ContinuousClock.now
            await forwarder.publish(HTTPTestData.p1Live(atMillis: 1_794_000_000_000 + Int64(index)))
            slowest = max(slowest, ContinuousClock.now - started)
            if index % 500 == 0 { await Task.yield() }
        }
        // Before, a call blocked until the broker thawed (the time limit); 500 ms allows for a loaded machine.
        #expect(slowest < .milliseconds(500), "slowest publish call took \(slowest)")
        #expect(forwarder.liveMessagesDropped > 0)
        await broker.thaw()
        await forwarder.shutdown()
        _ = await running.value
    }
}
