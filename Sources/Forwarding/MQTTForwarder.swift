import Firmware
import Logging
import MQTT
import Synchronization

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where and how the MQTT forwarder publishes. Topic layout (prefix default `emeter`):
///
/// | topic | payload | QoS / retain |
/// |---|---|---|
/// | `<prefix>/<device>/status` | `online` / `offline` (the will) | 1, retained |
/// | `<prefix>/<device>/p1` | live P1 reading (`Payloads.live`: `import_t1_wh`, `power_w`, `gas_l`, …) | 0 |
/// | `<prefix>/<device>/ade9000` | live ADE9000 reading (`Payloads.live`: `import_wh`, `voltage_v`, …) | 0 |
/// | `<prefix>/<device>/interval` | each closed record (`Payloads.record`), de-duplicate by `sequence` | 1 |
/// | `<prefix>/<device>/health` | health counters (`Payloads.health`) | 0 |
/// | `homeassistant/sensor/<device>_<key>/config` | Home Assistant discovery, one per entity | 1, retained |
public struct MQTTForwarderConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var prefix: String
    public var device: String
    public var discoveryPrefix: String
    /// Announce sensors for Home Assistant (retained configs under `discoveryPrefix`).
    public var discovery: Bool
    /// Which sources the board has (entities are announced only for these).
    public var hasP1: Bool
    public var hasADE9000: Bool
    public var keepAlive: UInt16
    /// TLS (`mqtts://`): CA file, optional client certificate and key.
    public var tls: MQTTTLSConfiguration?

    public init(
        host: String, port: Int = 1883, username: String? = nil, password: String? = nil, prefix: String = "emeter",
        device: String, discoveryPrefix: String = "homeassistant", discovery: Bool = true, hasP1: Bool = true,
        hasADE9000: Bool = true, keepAlive: UInt16 = 30, tls: MQTTTLSConfiguration? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.prefix = prefix
        self.device = device
        self.discoveryPrefix = discoveryPrefix
        self.discovery = discovery
        self.hasP1 = hasP1
        self.hasADE9000 = hasADE9000
        self.keepAlive = keepAlive
        self.tls = tls
    }

    /// Parses `mqtt://[user[:pass]@]host[:port][/prefix]` or `mqtts://…` (TLS needs `tls` set by the caller for
    /// the CA file; the system trust store is used otherwise).
    /// - Returns: `nil` with `error` describing what was expected.
    public static func parse(url text: String, device: String) -> Result<MQTTForwarderConfiguration, ForwardError> {
        func fail(_ message: String) -> Result<MQTTForwarderConfiguration, ForwardError> {
            .failure(ForwardError(.pause(for: .zero), "\(Self.redacted(text)): \(message)"))
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "mqtt" || scheme == "mqtts"
        else { return fail("expected mqtt://[user[:password]@]host[:port][/prefix] or mqtts://…") }
        guard let host = components.host, !host.isEmpty else { return fail("no host") }
        let port = components.port ?? (scheme == "mqtts" ? 8883 : 1883)
        guard (1...65535).contains(port) else { return fail("port \(port) is out of range") }
        var prefix = components.path.trimming { $0 == "/" }
        if prefix.isEmpty { prefix = "emeter" }
        guard !prefix.contains(where: { "#+".contains($0) }) else {
            return fail("the topic prefix may not contain # or +")
        }
        var configuration = MQTTForwarderConfiguration(
            host: host, port: port, username: components.user,
            password: components.password, prefix: prefix, device: device)
        if scheme == "mqtts" {
            configuration.tls = MQTTTLSConfiguration(caFile: "/etc/ssl/certs/ca-certificates.crt")
        }
        return .success(configuration)
    }

    /// The URL with the password replaced, for logs.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "<invalid URL>" }
        if components.password != nil { components.password = "***" }
        return components.string ?? "<invalid URL>"
    }

    var base: String { "\(prefix)/\(device)" }
    var statusTopic: String { "\(base)/status" }
    var intervalTopic: String { "\(base)/interval" }
    var p1Topic: String { "\(base)/p1" }
    var adeTopic: String { "\(base)/ade9000" }
    var healthTopic: String { "\(base)/health" }
    public var name: String { "mqtt\(tls == nil ? "" : "s")://\(host):\(port)/\(prefix)" }
}

/// Forwards to an MQTT 3.1.1 broker: interval records with QoS 1 (acknowledged by PUBACK), live state with
/// QoS 0, availability through a retained status and the will, and Home Assistant discovery on every connect.
public actor MQTTForwarder: Forwarder {
    public nonisolated let name: String
    public nonisolated let configuration: MQTTForwarderConfiguration
    public nonisolated let client: MQTTClient
    private let logger: Logger
    /// Live and health messages waiting to be published: a small queue, newest kept, so the measurement loop hands
    /// them over without ever waiting on the network (a slow or hung broker fills a socket buffer, not the loop).
    private nonisolated let liveQueue: AsyncStream<(topic: String, payload: [UInt8])>.Continuation
    private nonisolated let liveMessages: AsyncStream<(topic: String, payload: [UInt8])>
    private nonisolated let dropped = Mutex(0)
    /// Live messages dropped because the link was slower than the readings (oldest first).
    public nonisolated var liveMessagesDropped: Int { dropped.withLock { $0 } }

    public init(
        configuration: MQTTForwarderConfiguration, logger: Logger,
        policy: MQTTReconnectPolicy = MQTTReconnectPolicy()
    ) {
        self.configuration = configuration
        self.name = configuration.name
        self.logger = logger
        (liveMessages, liveQueue) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(32))
        let will = MQTTWill(
            topic: configuration.statusTopic, payload: Array("offline".utf8), qos: .atLeastOnce, retain: true)
        let discovery = configuration.discovery ? HomeAssistantDiscovery.messages(for: configuration) : []
        let statusTopic = configuration.statusTopic
        client = MQTTClient(
            configuration: MQTTConfiguration(
                host: configuration.host, port: configuration.port,
                clientID: "emeter-\(configuration.device)", keepAlive: configuration.keepAlive,
                username: configuration.username, password: configuration.password.map { Array($0.utf8) },
                will: will, tls: configuration.tls),
            policy: policy, logger: logger,
            onConnect: { connection in
                for (topic, payload) in discovery {
                    try await connection.publish(topic: topic, payload: payload, qos: .atLeastOnce, retain: true)
                }
                try await connection.publish(
                    topic: statusTopic, payload: Array("online".utf8), qos: .atLeastOnce, retain: true)
            })
    }

    public func run() async {
        let client = self.client
        let messages = liveMessages
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await message in messages {
                    try? await client.publish(topic: message.topic, payload: message.payload, qos: .atMostOnce)
                }
            }
            await client.run()
            liveQueue.finish()
        }
    }

    /// Queues a QoS 0 message without waiting; when the queue is full the oldest waiting one is dropped and counted.
    private nonisolated func enqueue(topic: String, payload: [UInt8]) {
        if case .dropped = liveQueue.yield((topic, payload)) {
            let count = dropped.withLock { count in
                count += 1
                return count
            }
            if count == 1 || count % 1000 == 0 {
                logger.warning(
                    "MQTT: link slower than the readings; dropping live values", metadata: ["dropped": "\(count)"])
            }
        }
    }

    public func send(_ record: IntervalRecord) async throws(ForwardError) {
        let payload = Payloads.record(record, device: configuration.device)
        do {
            _ = try await client.waitForConnection()
            try await client.publish(topic: configuration.intervalTopic, payload: payload, qos: .atLeastOnce)
        } catch {
            if error.isPermanentRefusal { throw ForwardError(.pause(for: .seconds(300)), "\(name): \(error.message)") }
            throw ForwardError(.retry(after: nil), "\(name): \(error.message)")
        }
    }

    /// Publishes the live reading as ``Payloads/live(_:device:)`` (the same bytes stdout prints) on `p1` or
    /// `ade9000`. Glitches never reach here: the measurement loop publishes only samples it accepted.
    /// Never waits on the network: the message is queued for `run()` (see ``liveMessagesDropped``).
    public nonisolated func publish(_ reading: LiveReading) async {
        let topic: String
        switch reading {
        case .p1: topic = configuration.p1Topic
        case .ade9000: topic = configuration.adeTopic
        }
        enqueue(topic: topic, payload: Payloads.live(reading, device: configuration.device))
    }

    public nonisolated func publish(_ health: Health) async {
        enqueue(topic: configuration.healthTopic, payload: Payloads.health(health, device: configuration.device))
    }

    /// Publishes the retained `offline` status, waiting at most `bound` for its PUBACK (a hung broker must not hold
    /// up the exit: systemd would kill emeter instead), then disconnects.
    public func shutdown() async { await shutdown(waitingAtMost: .seconds(2)) }

    public func shutdown(waitingAtMost bound: Duration) async {
        let client = self.client
        let configuration = self.configuration
        let done = Mutex(false)
        let offline = Task {
            try? await client.publish(
                topic: configuration.statusTopic, payload: Array("offline".utf8), qos: .atLeastOnce, retain: true)
            done.withLock { $0 = true }
        }
        let deadline = ContinuousClock.now.advanced(by: bound)
        while !done.withLock({ $0 }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if !done.withLock({ $0 }) { logger.warning("MQTT: no PUBACK for the offline status within \(bound); closing") }
        await client.shutdown()  // fails a publish still waiting, so `offline` ends
        _ = await offline.value
    }

}

/// Home Assistant MQTT discovery: one retained config per entity, chosen so that grid import/export energy and
/// gas appear in the Energy dashboard (`device_class` energy/gas, `state_class` total_increasing, kWh/m³).
///
/// The state topics carry the one payload schema (``Payloads/live(_:device:)``, integer Wh and litres); each
/// entity's `value_template` picks its member and scales it (Wh → kWh, L → m³). A member the meter did not send
/// is `null` in the payload and renders as `None`, which Home Assistant shows as unknown.
public enum HomeAssistantDiscovery {
    struct Entity {
        /// Entity suffix in `unique_id` (kept stable across releases: renaming it would orphan the entity).
        var id: String
        var name: String
        var source: String  // "p1" or "ade9000"
        /// Jinja expression of the value, over `value_json`.
        var value: String
        var deviceClass: String
        var stateClass: String
        var unit: String
        var precision: Int
    }

    /// `value_json.<key>`, divided by `divisor`; `None` when the member is null.
    static func member(_ key: String, divisor: Int = 1) -> String {
        let scaled = divisor == 1 ? "value_json.\(key)" : "value_json.\(key) / \(divisor)"
        return "{{ \(scaled) if value_json.\(key) is number else None }}"
    }

    /// `value_json.<key>[index]`; `None` when the array is shorter or the element null.
    static func element(_ key: String, _ index: Int) -> String {
        "{{ value_json.\(key)[\(index)] if value_json.\(key) | length > \(index) "
            + "and value_json.\(key)[\(index)] is number else None }}"
    }

    static func entities(p1: Bool, ade: Bool) -> [Entity] {
        var list: [Entity] = []
        func energy(_ id: String, _ name: String, _ key: String, _ source: String) -> Entity {
            Entity(
                id: id, name: name, source: source, value: member(key, divisor: 1000), deviceClass: "energy",
                stateClass: "total_increasing", unit: "kWh", precision: 3)
        }
        func measurement(
            _ id: String, _ name: String, _ source: String, _ value: String, _ deviceClass: String, _ unit: String,
            _ precision: Int
        ) -> Entity {
            Entity(
                id: id, name: name, source: source, value: value, deviceClass: deviceClass,
                stateClass: "measurement", unit: unit, precision: precision)
        }
        if p1 {
            list += [
                energy("import_t1_kwh", "Energy import tariff 1", "import_t1_wh", "p1"),
                energy("import_t2_kwh", "Energy import tariff 2", "import_t2_wh", "p1"),
                energy("export_t1_kwh", "Energy export tariff 1", "export_t1_wh", "p1"),
                energy("export_t2_kwh", "Energy export tariff 2", "export_t2_wh", "p1"),
                measurement("power_import_w", "Power import", "p1", member("power_import_w"), "power", "W", 0),
                measurement("power_export_w", "Power export", "p1", member("power_export_w"), "power", "W", 0),
            ]
            for phase in 1...3 {
                list.append(
                    measurement(
                        "voltage_l\(phase)_v", "Voltage L\(phase)", "p1", element("voltage_v", phase - 1),
                        "voltage", "V", 1))
            }
            list += [
                Entity(
                    id: "gas_m3", name: "Gas", source: "p1", value: member("gas_l", divisor: 1000),
                    deviceClass: "gas", stateClass: "total_increasing", unit: "m³", precision: 3),
                Entity(
                    id: "water_m3", name: "Water", source: "p1", value: member("water_l", divisor: 1000),
                    deviceClass: "water", stateClass: "total_increasing", unit: "m³", precision: 3),
                measurement(
                    "quarter_hour_demand_w", "Quarter-hour demand", "p1", member("quarter_hour_demand_w"),
                    "power", "W", 0),
                measurement(
                    "month_peak_demand_w", "Month peak demand", "p1", member("month_peak_demand_w"),
                    "power", "W", 0),
            ]
        }
        if ade {
            list += [
                energy("import_kwh", "CT energy import", "import_wh", "ade9000"),
                energy("export_kwh", "CT energy export", "export_wh", "ade9000"),
                measurement("power_w", "CT power", "ade9000", member("power_w"), "power", "W", 0),
            ]
            for phase in 1...3 {
                list += [
                    measurement(
                        "power_l\(phase)_w", "CT power L\(phase)", "ade9000",
                        element("phase_power_w", phase - 1), "power", "W", 0),
                    measurement(
                        "voltage_l\(phase)_v", "CT voltage L\(phase)", "ade9000",
                        element("voltage_v", phase - 1), "voltage", "V", 1),
                    measurement(
                        "current_l\(phase)_a", "CT current L\(phase)", "ade9000",
                        element("current_a", phase - 1), "current", "A", 2),
                ]
            }
        }
        return list
    }

    /// `(topic, retained payload)` for every entity of `configuration`.
    public static func messages(for configuration: MQTTForwarderConfiguration) -> [(String, [UInt8])] {
        entities(p1: configuration.hasP1, ade: configuration.hasADE9000).map { entity in
            let id = String(
                "emeter_\(configuration.device)_\(entity.source)_\(entity.id)"
                    .map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" })
            var json = JSONWriter()
            json.objectStart()
            json.field("availability_topic", configuration.statusTopic)
            json.key("device")
            json.objectStart()
            json.key("identifiers")
            json.arrayStart()
            json.string("emeter_\(configuration.device)")
            json.arrayEnd()
            json.field("manufacturer", "emeter")
            json.field("model", "emeter firmware")
            json.field("name", "emeter \(configuration.device)")
            json.objectEnd()
            // `default_entity_id` (with its domain) replaced `object_id` in Home Assistant 2025.10; current
            // releases ignore `object_id` and 2025.10–2026.3 warn about it for every entity, so it is not sent.
            json.field("default_entity_id", "sensor.\(id)")
            json.field("device_class", entity.deviceClass)
            json.field("expire_after", 300)
            json.field("name", entity.name)
            json.key("origin")
            json.objectStart()
            json.field("name", "emeter")
            json.objectEnd()
            json.field("state_class", entity.stateClass)
            json.field("state_topic", "\(configuration.base)/\(entity.source)")
            json.field("suggested_display_precision", entity.precision)
            json.field("unique_id", id)
            json.field("unit_of_measurement", entity.unit)
            json.field("value_template", entity.value)
            json.objectEnd()
            return ("\(configuration.discoveryPrefix)/sensor/\(id)/config", json.bytes)
        }
    }
}
