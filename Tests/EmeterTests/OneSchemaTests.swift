import Foundation
import Logging
import MQTT
import Synchronization
import TestSupport
import Testing

/// One payload schema: `emeter run` prints an interval record and a live P1 reading on stdout, publishes them to a
/// real mosquitto and POSTs them to a real local HTTP server; all three carry the same JSON object (same keys, same
/// values) for the same record and the same reading.
@Test(.timeLimit(.minutes(2)))
func stdoutMQTTAndHTTPCarryTheSameJSON() async throws {
    try await MosquittoBroker.with { broker in
        let http = try await TestHTTPServer.start()
        defer { Task { await http.stop() } }
        http.setFallback(.status(201))
        let directory = try temporaryDirectory("schema")
        defer { try? FileManager.default.removeItem(at: directory) }
        let board = directory.appendingPathComponent("board.yaml")
        try "name: schema\np1:\n  simulate:\n    profile: belgian-3phase\n    start: 2025-01-06T19:00:00Z\n"
            .write(to: board, atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("config.yaml")
        try """
        device: schema
        ring:
          storage: ram
        stdout:
          live: true
          records: true
        forward:
          - url: mqtt://127.0.0.1:\(broker.port)/emeter
            discovery: false
          - http:
              url: \(http.baseURL)/records/
              live_url: \(http.baseURL)/live/
              live_min_interval: 0
        """.write(to: config, atomically: true, encoding: .utf8)

        let received = MQTTLockedPayloads()
        let subscriber = MQTTClient(
            configuration: MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: "schema-subscriber"),
            policy: MQTTReconnectPolicy(base: .milliseconds(100), cap: .seconds(1)), logger: Logger(label: "sub"))
        let subscriberTask = Task { await subscriber.run() }
        _ = try await subscriber.waitForConnection()  // so the subscription is in place before anything is published
        try await subscriber.subscribe([
            MQTTSubscription("emeter/schema/interval", qos: .atLeastOnce),
            MQTTSubscription("emeter/schema/p1", qos: .atMostOnce),
        ])
        let readerTask = Task {
            for await message in subscriber.messages {
                received.append(topic: message.topic, String(decoding: message.payload, as: UTF8.self))
            }
        }
        defer {
            readerTask.cancel()
            subscriberTask.cancel()
        }

        let emeter = try EmeterProcess([
            "run", "--board", board.path, "--config", config.path, "--interval", "1s",
        ])
        func stdout(_ type: String) -> [[String: Any]] {
            emeter.outputLines.compactMap(jsonObject).filter { $0["type"] as? String == type }
        }
        func httpBodies(_ path: String) -> [[String: Any]] {
            http.requests(to: path).compactMap { jsonObject($0.text) }
        }
        func sequence(_ object: [String: Any]) -> [Int]? { object["sequence"] as? [Int] }
        func time(_ object: [String: Any]) -> Double? { object["time"] as? Double }

        // A record and a live reading that every sink has.
        var common: (record: [Int], live: Double)?
        let found = await waitUntil(.seconds(60)) {
            let records = Set(stdout("interval").compactMap(sequence))
                .intersection(received.objects("emeter/schema/interval").compactMap(sequence))
                .intersection(httpBodies("/records/").compactMap(sequence))
            let lives = Set(stdout("p1").compactMap(time))
                .intersection(received.objects("emeter/schema/p1").compactMap(time))
                .intersection(httpBodies("/live/").compactMap(time))
            guard let record = records.min(by: { $0[0] < $1[0] }), let live = lives.min() else { return false }
            common = (record, live)
            return true
        }
        emeter.signal(SIGTERM)
        _ = await emeter.wait(timeout: .seconds(60))
        await subscriber.shutdown()
        #expect(found, "no record/reading reached all three sinks: \(emeter.standardError.suffix(2000))")
        guard let common else { return }

        let records = [
            stdout("interval"), received.objects("emeter/schema/interval"), httpBodies("/records/"),
        ].map { objects in objects.first { sequence($0) == common.record } ?? [:] }
        #expect(!records[0].isEmpty && (records[0]["p1"] as? [String: Any])?["import_t1_wh"] != nil)
        #expect(NSDictionary(dictionary: records[0]) == NSDictionary(dictionary: records[1]), "stdout vs MQTT")
        #expect(NSDictionary(dictionary: records[0]) == NSDictionary(dictionary: records[2]), "stdout vs HTTP")

        let lives = [stdout("p1"), received.objects("emeter/schema/p1"), httpBodies("/live/")]
            .map { objects in objects.first { time($0) == common.live } ?? [:] }
        #expect(lives[0]["import_t1_wh"] is Int && lives[0]["voltage_v"] is [Any])
        #expect(NSDictionary(dictionary: lives[0]) == NSDictionary(dictionary: lives[1]), "stdout vs MQTT")
        #expect(NSDictionary(dictionary: lives[0]) == NSDictionary(dictionary: lives[2]), "stdout vs HTTP")
    }
}

/// What a subscriber received, by topic.
final class MQTTLockedPayloads: Sendable {
    private let storage = Mutex<[(String, String)]>([])
    func append(topic: String, _ payload: String) { storage.withLock { $0.append((topic, payload)) } }
    func objects(_ topic: String) -> [[String: Any]] {
        storage.withLock { $0 }.filter { $0.0 == topic }.compactMap { jsonObject($0.1) }
    }
}
