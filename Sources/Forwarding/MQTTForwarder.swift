import Firmware
import Foundation
import Logging
import MQTT

/// Where and how the MQTT forwarder publishes. Topic layout (prefix default `emeter`):
///
/// | topic | payload | QoS / retain |
/// |---|---|---|
/// | `<prefix>/<device>/status` | `online` / `offline` (the will) | 1, retained |
/// | `<prefix>/<device>/p1` | live P1 state, flat JSON (`import_t1_kwh`, `power_import_w`, `voltage_l1_v`, `gas_m3`, …) | 0 |
/// | `<prefix>/<device>/ade9000` | live ADE9000 state (`import_kwh`, `power_w`, `voltage_l1_v`, `current_l1_a`, …) | 0 |
/// | `<prefix>/<device>/interval` | each closed interval record (`Payloads.Record`), de-duplicate by `sequence`/`start` | 1 |
/// | `<prefix>/<device>/health` | health counters | 0 |
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
        var prefix = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if prefix.isEmpty { prefix = "emeter" }
        guard !prefix.contains(where: { "#+".contains($0) }) else { return fail("the topic prefix may not contain # or +") }
        var configuration = MQTTForwarderConfiguration(host: host, port: port, username: components.user?.removingPercentEncoding,
            password: components.password?.removingPercentEncoding, prefix: prefix, device: device)
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
    public let configuration: MQTTForwarderConfiguration
    public nonisolated let client: MQTTClient
    private var registers = RegisterGuard()
    private let logger: Logger
    private let encoder = Payloads.encoder()

    public init(configuration: MQTTForwarderConfiguration, logger: Logger,
        policy: MQTTReconnectPolicy = MQTTReconnectPolicy())
    {
        self.configuration = configuration
        self.name = configuration.name
        self.logger = logger
        let will = MQTTWill(topic: configuration.statusTopic, payload: Array("offline".utf8), qos: .atLeastOnce, retain: true)
        let discovery = configuration.discovery ? HomeAssistantDiscovery.messages(for: configuration) : []
        let statusTopic = configuration.statusTopic
        client = MQTTClient(
            configuration: MQTTConfiguration(host: configuration.host, port: configuration.port,
                clientID: "emeter-\(configuration.device)", keepAlive: configuration.keepAlive,
                username: configuration.username, password: configuration.password.map { Array($0.utf8) },
                will: will, tls: configuration.tls),
            policy: policy, logger: logger,
            onConnect: { connection in
                for (topic, payload) in discovery {
                    try await connection.publish(topic: topic, payload: payload, qos: .atLeastOnce, retain: true)
                }
                try await connection.publish(topic: statusTopic, payload: Array("online".utf8), qos: .atLeastOnce, retain: true)
            })
    }

    public func run() async {
        await client.run()
    }

    public func send(_ record: IntervalRecord) async throws(ForwardError) {
        let payload: [UInt8]
        do {
            payload = Array(try encoder.encode(Payloads.Record(record, device: configuration.device)))
        } catch {
            throw ForwardError(.drop, "\(name): cannot encode record: \(error)")
        }
        do {
            _ = try await client.waitForConnection()
            try await client.publish(topic: configuration.intervalTopic, payload: payload, qos: .atLeastOnce)
        } catch {
            if error.isPermanentRefusal { throw ForwardError(.pause(for: .seconds(300)), "\(name): \(error.message)") }
            throw ForwardError(.retry(after: nil), "\(name): \(error.message)")
        }
    }

    public func publish(_ reading: LiveReading) async {
        let topic: String
        let state: [String: Double]
        switch reading {
        case .p1(let sample, let demand):
            topic = configuration.p1Topic
            state = p1State(sample, demand)
        case .ade9000(let sample, let demand):
            topic = configuration.adeTopic
            state = adeState(sample, demand)
        }
        guard let data = try? JSONSerialization.data(withJSONObject: state, options: [.sortedKeys]) else { return }
        try? await client.publish(topic: topic, payload: Array(data), qos: .atMostOnce)
    }

    public func publish(_ health: Health) async {
        guard let data = try? encoder.encode(health) else { return }
        try? await client.publish(topic: configuration.healthTopic, payload: Array(data), qos: .atMostOnce)
    }

    public func shutdown() async {
        try? await client.publish(topic: configuration.statusTopic, payload: Array("offline".utf8), qos: .atLeastOnce,
            retain: true)
        await client.shutdown()
    }

    /// Live P1 values; registers pass the glitch guard (never a 0 or a drop into a `total_increasing` sensor).
    func p1State(_ sample: P1Sample, _ demand: DemandView) -> [String: Double] {
        var state: [String: Double] = [
            "time": Double(sample.time) / 1000,
            "power_import_w": Double(sample.powerImportW), "power_export_w": Double(sample.powerExportW),
            "quarter_hour_demand_w": Double(demand.quarterHourDemandW),
            "month_peak_demand_w": Double(demand.monthPeakDemandW),
        ]
        let registers: [(String, Double?)] = [
            ("import_t1_kwh", Double(sample.importWh.tariff1) / 1000), ("import_t2_kwh", Double(sample.importWh.tariff2) / 1000),
            ("export_t1_kwh", Double(sample.exportWh.tariff1) / 1000), ("export_t2_kwh", Double(sample.exportWh.tariff2) / 1000),
            ("gas_m3", sample.gasLitres.map { Double($0) / 1000 }), ("water_m3", sample.waterLitres.map { Double($0) / 1000 }),
        ]
        for (key, value) in registers {
            if let admitted = self.registers.admit("p1." + key, value) { state[key] = admitted }
        }
        for (index, volts) in sample.voltagesDecivolts.enumerated() {
            state["voltage_l\(index + 1)_v"] = Double(volts) / 10
        }
        return state
    }

    func adeState(_ sample: ADESample, _ demand: DemandView) -> [String: Double] {
        var state: [String: Double] = [
            "time": Double(sample.time) / 1000, "power_w": sample.totalPowerW,
            "quarter_hour_demand_w": Double(demand.quarterHourDemandW),
            "month_peak_demand_w": Double(demand.monthPeakDemandW),
        ]
        if let value = registers.admit("ade.import_kwh", sample.totalImportWh / 1000) { state["import_kwh"] = value }
        if let value = registers.admit("ade.export_kwh", sample.exportWh.reduce(0, +) / 1000) { state["export_kwh"] = value }
        for index in 0..<min(3, sample.voltageV.count) {
            state["voltage_l\(index + 1)_v"] = sample.voltageV[index]
            if index < sample.powerW.count { state["power_l\(index + 1)_w"] = sample.powerW[index] }
            if index < sample.currentA.count { state["current_l\(index + 1)_a"] = sample.currentA[index] }
        }
        return state
    }
}

/// Home Assistant MQTT discovery: one retained config per entity, chosen so that grid import/export energy and
/// gas appear in the Energy dashboard (`device_class` energy/gas, `state_class` total_increasing, kWh/m³).
public enum HomeAssistantDiscovery {
    struct Entity {
        var key: String
        var name: String
        var source: String  // "p1" or "ade9000"
        var deviceClass: String
        var stateClass: String
        var unit: String
        var precision: Int
    }

    static func entities(p1: Bool, ade: Bool) -> [Entity] {
        var list: [Entity] = []
        if p1 {
            list += [
                Entity(key: "import_t1_kwh", name: "Energy import tariff 1", source: "p1", deviceClass: "energy", stateClass: "total_increasing", unit: "kWh", precision: 3),
                Entity(key: "import_t2_kwh", name: "Energy import tariff 2", source: "p1", deviceClass: "energy", stateClass: "total_increasing", unit: "kWh", precision: 3),
                Entity(key: "export_t1_kwh", name: "Energy export tariff 1", source: "p1", deviceClass: "energy", stateClass: "total_increasing", unit: "kWh", precision: 3),
                Entity(key: "export_t2_kwh", name: "Energy export tariff 2", source: "p1", deviceClass: "energy", stateClass: "total_increasing", unit: "kWh", precision: 3),
                Entity(key: "power_import_w", name: "Power import", source: "p1", deviceClass: "power", stateClass: "measurement", unit: "W", precision: 0),
                Entity(key: "power_export_w", name: "Power export", source: "p1", deviceClass: "power", stateClass: "measurement", unit: "W", precision: 0),
                Entity(key: "voltage_l1_v", name: "Voltage L1", source: "p1", deviceClass: "voltage", stateClass: "measurement", unit: "V", precision: 1),
                Entity(key: "voltage_l2_v", name: "Voltage L2", source: "p1", deviceClass: "voltage", stateClass: "measurement", unit: "V", precision: 1),
                Entity(key: "voltage_l3_v", name: "Voltage L3", source: "p1", deviceClass: "voltage", stateClass: "measurement", unit: "V", precision: 1),
                Entity(key: "gas_m3", name: "Gas", source: "p1", deviceClass: "gas", stateClass: "total_increasing", unit: "m³", precision: 3),
                Entity(key: "water_m3", name: "Water", source: "p1", deviceClass: "water", stateClass: "total_increasing", unit: "m³", precision: 3),
                Entity(key: "quarter_hour_demand_w", name: "Quarter-hour demand", source: "p1", deviceClass: "power", stateClass: "measurement", unit: "W", precision: 0),
                Entity(key: "month_peak_demand_w", name: "Month peak demand", source: "p1", deviceClass: "power", stateClass: "measurement", unit: "W", precision: 0),
            ]
        }
        if ade {
            list += [
                Entity(key: "import_kwh", name: "CT energy import", source: "ade9000", deviceClass: "energy", stateClass: "total_increasing", unit: "kWh", precision: 3),
                Entity(key: "export_kwh", name: "CT energy export", source: "ade9000", deviceClass: "energy", stateClass: "total_increasing", unit: "kWh", precision: 3),
                Entity(key: "power_w", name: "CT power", source: "ade9000", deviceClass: "power", stateClass: "measurement", unit: "W", precision: 0),
            ]
            for phase in 1...3 {
                list += [
                    Entity(key: "power_l\(phase)_w", name: "CT power L\(phase)", source: "ade9000", deviceClass: "power", stateClass: "measurement", unit: "W", precision: 0),
                    Entity(key: "voltage_l\(phase)_v", name: "CT voltage L\(phase)", source: "ade9000", deviceClass: "voltage", stateClass: "measurement", unit: "V", precision: 1),
                    Entity(key: "current_l\(phase)_a", name: "CT current L\(phase)", source: "ade9000", deviceClass: "current", stateClass: "measurement", unit: "A", precision: 2),
                ]
            }
        }
        return list
    }

    /// `(topic, retained payload)` for every entity of `configuration`.
    public static func messages(for configuration: MQTTForwarderConfiguration) -> [(String, [UInt8])] {
        let device: [String: Any] = [
            "identifiers": ["emeter_\(configuration.device)"], "name": "emeter \(configuration.device)",
            "manufacturer": "emeter", "model": "emeter firmware",
        ]
        return entities(p1: configuration.hasP1, ade: configuration.hasADE9000).compactMap { entity in
            let uniqueID = "emeter_\(configuration.device)_\(entity.source)_\(entity.key)"
                .map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" }
            let id = String(uniqueID)
            let payload: [String: Any] = [
                "name": entity.name, "unique_id": id, "object_id": id,
                "state_topic": "\(configuration.base)/\(entity.source)",
                "value_template": "{{ value_json.\(entity.key) }}",
                "device_class": entity.deviceClass, "state_class": entity.stateClass,
                "unit_of_measurement": entity.unit, "suggested_display_precision": entity.precision,
                "availability_topic": configuration.statusTopic, "expire_after": 300,
                "device": device, "origin": ["name": "emeter"],
            ]
            guard let data = try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys]) else {
                return nil
            }
            return ("\(configuration.discoveryPrefix)/sensor/\(id)/config", Array(data))
        }
    }
}
