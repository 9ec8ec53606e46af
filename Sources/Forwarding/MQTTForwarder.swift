import CivilTime
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
/// | `homeassistant/sensor/emeter_<device>_<source>_<key>/config` | Home Assistant discovery, one per entity the meter sends (``HomeAssistantDiscovery``) | 1, retained |
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
    /// The board's relay outputs (`controllers:`): their state is published retained on `<prefix>/<device>/output/<name>`
    /// (`ON`/`OFF`), each switch on `<prefix>/<device>/switch`; a `commandable` (manual) output takes `ON`/`OFF` on
    /// `…/output/<name>/set` and is a Home Assistant `switch`, the others are `binary_sensor`s.
    public var outputs: [MQTTOutput] = []
    /// The data-quality alerts checked (their names): each is a Home Assistant `binary_sensor` (`problem`) on the
    /// retained `<prefix>/<device>/alert/<name>` (`ON`/`OFF`); every raise and clear is also sent (retained, QoS 1) on
    /// `<prefix>/<device>/alert` as JSON.
    public var alerts: [String] = []
    /// Where the set of announced entities is kept across restarts (``HomeAssistantEntities/text``); `nil` keeps
    /// it in memory only (every start then decides again from the first readings).
    public var entitiesPath: String?
    public var keepAlive: UInt16
    /// TLS (`mqtts://`): CA file, optional client certificate and key.
    public var tls: MQTTTLSConfiguration?

    public init(
        host: String, port: Int = 1883, username: String? = nil, password: String? = nil, prefix: String = "emeter",
        device: String, discoveryPrefix: String = "homeassistant", discovery: Bool = true, keepAlive: UInt16 = 30,
        tls: MQTTTLSConfiguration? = nil,
        entitiesPath: String? = nil
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.prefix = prefix
        self.device = device
        self.discoveryPrefix = discoveryPrefix
        self.discovery = discovery
        self.keepAlive = keepAlive
        self.tls = tls
        self.entitiesPath = entitiesPath
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
    func outputTopic(_ name: String) -> String { "\(base)/output/\(name)" }
    var switchTopic: String { "\(base)/switch" }
    var alertTopic: String { "\(base)/alert" }
    var statusTopic: String { "\(base)/status" }
    var intervalTopic: String { "\(base)/interval" }
    var p1Topic: String { "\(base)/p1" }
    var adeTopic: String { "\(base)/ade9000" }
    var healthTopic: String { "\(base)/health" }
    public var name: String { "mqtt\(tls == nil ? "" : "s")://\(host):\(port)/\(prefix)" }
}

/// A relay output as the MQTT forwarder announces it.
public struct MQTTOutput: Sendable, Equatable {
    public var name: String
    /// Takes `ON`/`OFF` commands on `<prefix>/<device>/output/<name>/set` (a `manual` controller).
    public var commandable: Bool

    public init(name: String, commandable: Bool) {
        self.name = name
        self.commandable = commandable
    }
}

/// A command received for a relay output.
public struct OutputCommand: Sendable, Equatable {
    public var output: String
    public var on: Bool
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
    /// Discovery configs and removals decided from live readings, published in order with QoS 1 (while the link
    /// is down they fail and the next connect publishes the whole current set instead).
    private nonisolated let discoveryQueue: AsyncStream<(topic: String, payload: [UInt8])>.Continuation
    private nonisolated let discoveryMessages: AsyncStream<(topic: String, payload: [UInt8])>
    private nonisolated let entities: EntityState
    /// The relay outputs' states, published retained at every connect.
    private nonisolated let outputStates: OutputStates
    /// Which alerts are raised, published retained at every connect.
    private nonisolated let alertStates: OutputStates
    /// Commands for commandable outputs (`…/output/<name>/set`, not retained), in arrival order.
    public nonisolated let commands: AsyncStream<OutputCommand>
    private nonisolated let commandQueue: AsyncStream<OutputCommand>.Continuation

    public init(
        configuration: MQTTForwarderConfiguration, logger: Logger,
        policy: MQTTReconnectPolicy = MQTTReconnectPolicy()
    ) {
        self.configuration = configuration
        self.name = configuration.name
        self.logger = logger
        (liveMessages, liveQueue) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(32))
        (discoveryMessages, discoveryQueue) = AsyncStream.makeStream()
        let will = MQTTWill(
            topic: configuration.statusTopic, payload: Array("offline".utf8), qos: .atLeastOnce, retain: true)
        let entities = EntityState(loading: configuration.entitiesPath, logger: logger)
        self.entities = entities
        let outputStates = OutputStates()
        self.outputStates = outputStates
        let alertStates = OutputStates()
        self.alertStates = alertStates
        (commands, commandQueue) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(16))
        let statusTopic = configuration.statusTopic
        client = MQTTClient(
            configuration: MQTTConfiguration(
                host: configuration.host, port: configuration.port,
                clientID: "emeter-\(configuration.device)", keepAlive: configuration.keepAlive,
                username: configuration.username, password: configuration.password.map { Array($0.utf8) },
                will: will, tls: configuration.tls),
            policy: policy, logger: logger,
            onConnect: { connection in
                if configuration.discovery {
                    let discovery = entities.state.withLock {
                        HomeAssistantDiscovery.messages(for: configuration, entities: $0.entities)
                    }
                    for (topic, payload) in discovery {
                        try await connection.publish(topic: topic, payload: payload, qos: .atLeastOnce, retain: true)
                    }
                    for (topic, payload) in HomeAssistantDiscovery.outputMessages(for: configuration) {
                        try await connection.publish(topic: topic, payload: payload, qos: .atLeastOnce, retain: true)
                    }
                }
                if configuration.discovery {
                    for (topic, payload) in HomeAssistantDiscovery.alertMessages(for: configuration) {
                        try await connection.publish(topic: topic, payload: payload, qos: .atLeastOnce, retain: true)
                    }
                }
                let active = alertStates.states.withLock { $0 }
                for name in configuration.alerts {
                    try await connection.publish(
                        topic: "\(configuration.alertTopic)/\(name)",
                        payload: Array((active[name] == true ? "ON" : "OFF").utf8), qos: .atLeastOnce, retain: true)
                }
                for (name, on) in outputStates.states.withLock({ $0 }) {
                    try await connection.publish(
                        topic: configuration.outputTopic(name), payload: Array((on ? "ON" : "OFF").utf8),
                        qos: .atLeastOnce, retain: true)
                }
                try await connection.publish(
                    topic: statusTopic, payload: Array("online".utf8), qos: .atLeastOnce, retain: true)
            })
    }

    public func run() async {
        let client = self.client
        let messages = liveMessages
        let discovery = discoveryMessages
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await message in messages {
                    try? await client.publish(topic: message.topic, payload: message.payload, qos: .atMostOnce)
                }
            }
            let commandable = Set(configuration.outputs.filter(\.commandable).map(\.name))
            if !commandable.isEmpty {
                let configuration = self.configuration
                let queue = commandQueue
                let logger = self.logger
                try? await client.subscribe(
                    commandable.sorted().map {
                        MQTTSubscription(configuration.outputTopic($0) + "/set", qos: .atLeastOnce)
                    })
                group.addTask {
                    for await message in client.messages {
                        // A retained command is an old one replayed by the broker: never act on it.
                        guard !message.retain else { continue }
                        let prefix = configuration.outputTopic("")
                        guard message.topic.hasPrefix(prefix), message.topic.hasSuffix("/set") else { continue }
                        let name = String(message.topic.dropFirst(prefix.count).dropLast("/set".count))
                        guard commandable.contains(name) else { continue }
                        switch String(decoding: message.payload, as: UTF8.self).trimming({ $0 == " " || $0 == "\n" })
                            .uppercased()
                        {
                        case "ON", "1", "TRUE": queue.yield(OutputCommand(output: name, on: true))
                        case "OFF", "0", "FALSE": queue.yield(OutputCommand(output: name, on: false))
                        default:
                            logger.warning(
                                "MQTT: command for output \(name) ignored: expected ON or OFF",
                                metadata: ["payload": "\(message.payload.prefix(32))"])
                        }
                    }
                }
            }
            group.addTask {
                for await message in discovery {
                    try? await client.publish(
                        topic: message.topic, payload: message.payload, qos: .atLeastOnce, retain: true)
                }
            }
            await client.run()
            liveQueue.finish()
            discoveryQueue.finish()
            commandQueue.finish()
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
    /// `ade9000`. Glitches never reach here: the measurement loop publishes only samples it accepted. With
    /// discovery on, the reading also decides which entities are announced (``HomeAssistantEntities``).
    /// Never waits on the network: the message is queued for `run()` (see ``liveMessagesDropped``).
    public nonisolated func publish(_ reading: LiveReading) async {
        let topic: String
        switch reading {
        case .p1: topic = configuration.p1Topic
        case .ade9000: topic = configuration.adeTopic
        }
        if configuration.discovery {
            for message in entities.observe(reading, configuration: configuration, logger: logger) {
                discoveryQueue.yield(message)
            }
        }
        enqueue(topic: topic, payload: Payloads.live(reading, device: configuration.device))
    }

    /// Sets the outputs' states published at the next connect (before any switch).
    public nonisolated func setOutputStates(_ states: [(name: String, on: Bool)]) {
        outputStates.states.withLock { map in
            for (name, on) in states { map[name] = on }
        }
    }

    /// A switch: the output's retained state (QoS 1) and the event itself on `…/switch` (QoS 0).
    public nonisolated func publish(_ event: ControlEvent) async {
        if case .switched(let name, let on, _, _) = event {
            outputStates.states.withLock { $0[name] = on }
            discoveryQueue.yield((configuration.outputTopic(name), Array((on ? "ON" : "OFF").utf8)))
        }
        enqueue(topic: configuration.switchTopic, payload: Payloads.control(event, device: configuration.device))
    }

    /// An alert raised or cleared: its retained state for Home Assistant and the event as JSON, both QoS 1.
    public nonisolated func publish(_ alert: AlertMonitor.Event) async {
        let name = alert.kind.rawValue
        alertStates.states.withLock { $0[name] = alert.active }
        discoveryQueue.yield(("\(configuration.alertTopic)/\(name)", Array((alert.active ? "ON" : "OFF").utf8)))
        discoveryQueue.yield((configuration.alertTopic, Payloads.alert(alert, device: configuration.device)))
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

/// The forwarder's ``HomeAssistantEntities`` and where they are persisted: shared by `publish` (which updates them
/// from readings) and every connect (which announces them).
final class EntityState: Sendable {
    struct Value {
        var entities = HomeAssistantEntities()
        /// Reading time of the last save, to the second.
        var savedAt: UnixTime?
    }

    let state: Mutex<Value>
    let path: String?

    /// Saved again at least this often (reading time), so last-seen times survive a restart within the hour.
    static let saveEvery: Duration = .seconds(3600)

    init(loading path: String?, logger: Logger) {
        self.path = path
        var value = Value()
        if let path, let data = FileManager.default.contents(atPath: path) {
            if let entities = HomeAssistantEntities(text: String(decoding: data, as: UTF8.self)) {
                value.entities = entities
            } else {
                logger.warning(
                    "Home Assistant entity state \(path) is not in the expected format; deciding again from the next readings"
                )
            }
        }
        state = Mutex(value)
    }

    /// Updates the entities from `reading`, saves them when they changed (or hourly), and returns the discovery
    /// messages the change needs.
    func observe(_ reading: LiveReading, configuration: MQTTForwarderConfiguration, logger: Logger)
        -> [(topic: String, payload: [UInt8])]
    {
        let update = state.withLock {
            value -> (old: HomeAssistantEntities, new: HomeAssistantEntities, changed: Bool)? in
            let old = value.entities
            let changed = value.entities.observe(reading)
            let now = reading.time.floored(toMultipleOf: .seconds(1))
            let due = value.savedAt.map { now - $0 >= Self.saveEvery || now < $0 } ?? true
            guard changed || due else { return nil }
            value.savedAt = now
            return (old, value.entities, changed)
        }
        guard let update else { return [] }
        if let path {
            do {
                try Data(update.new.text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                logger.warning("Home Assistant entity state: cannot write \(path): \(error)")
            }
        }
        guard update.changed else { return [] }
        let messages = HomeAssistantDiscovery.messages(for: configuration, from: update.old, to: update.new)
        let added = update.new.announced.subtracting(update.old.announced).sorted()
        let removed = update.old.announced.subtracting(update.new.announced).sorted()
        logger.info(
            "Home Assistant entities updated",
            metadata: ["added": "\(added.joined(separator: ","))", "removed": "\(removed.joined(separator: ","))"])
        return messages
    }
}

/// The relay outputs' last states, for the retained publish at every connect.
final class OutputStates: Sendable {
    let states = Mutex<[String: Bool]>([:])
}
