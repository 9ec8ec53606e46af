import CivilTime
import Firmware

/// Home Assistant MQTT discovery: one retained config per entity, for exactly the data the meters send.
///
/// **What is announced.** Each source (P1 meter, ADE9000 channels) has a catalogue of possible entities
/// (``catalogue(_:)``). Which of them a meter really has is decided from its first live reading
/// (``presentEntities(in:)``: a single-phase meter has no L2/L3, a meter without M-Bus no gas or water, Smarty only
/// register totals) and kept in a ``HomeAssistantEntities`` record persisted by the forwarder, so a restart
/// announces the same set at once. An entity the meter has not sent for ``HomeAssistantEntities/retention`` (a day)
/// is removed with an empty retained config, and so is every catalogue entity of a decided source that the meter
/// does not send (this also clears configs an older emeter announced unconditionally).
///
/// **The payload.** Fields as documented for the MQTT sensor and MQTT discovery in Home Assistant
/// (<https://www.home-assistant.io/integrations/sensor.mqtt/>, <https://www.home-assistant.io/integrations/mqtt/>):
/// - `availability_topic`: the retained `online`/`offline` status (the will), on every entity;
/// - `default_entity_id`: `sensor.<unique id>` — replaced `object_id` in Home Assistant 2025.10; 2025.10–2026.3
///   log a deprecation warning per entity for `object_id` and 2026.4+ ignore it, so `object_id` is not sent
///   (Home Assistant before 2025.10 then derives the entity id from the name: the entities still work);
/// - `device`: `identifiers`, `manufacturer`, `model`, `name`, and `via_device` for the ADE9000 channels, which
///   are their own device so the Energy dashboard can list them as individual devices;
/// - `device_class`, `state_class`, `unit_of_measurement`: energy `total_increasing` in kWh and gas/water
///   `total_increasing` in m³ (what the Energy dashboard accepts), power W, voltage V, current A, frequency Hz,
///   power factor without unit (−1…1), all `measurement`;
/// - `expire_after`: 300 s — a value older than that is shown as unavailable, not as live;
/// - `name`, `origin` (`name`), `state_topic`, `suggested_display_precision`, `unique_id`, `value_template`.
///
/// The state topics carry the one payload schema (``Payloads/live(_:device:)``, integer Wh and litres); each
/// `value_template` picks its member and scales it (Wh → kWh, L → m³); a `null` member renders as `None`
/// (unknown in Home Assistant).
public enum HomeAssistantDiscovery {
    /// Where an entity's state comes from: the live topic of that source.
    public enum Source: String, Sendable, CaseIterable, Hashable {
        case p1
        case ade9000
    }

    /// One sensor entity.
    public struct Entity: Sendable, Equatable {
        /// Suffix of the `unique_id` (stable across releases: renaming it would orphan the entity in Home
        /// Assistant), unique within its source.
        public var key: String
        public var name: String
        public var source: Source
        /// Jinja expression of the value, over `value_json`.
        public var value: String
        public var deviceClass: String
        public var stateClass: String
        /// `nil` for a unitless value (power factor).
        public var unit: String?
        public var precision: Int

        /// `<source>_<key>`: the id an entity is tracked by.
        public var id: String { "\(source.rawValue)_\(key)" }
    }

    /// Seconds after which Home Assistant shows a value as unavailable when no new reading came (`expire_after`).
    public static let expireAfter = 300

    // MARK: catalogue

    /// `value_json.<key>`, divided by `divisor`; `None` when the member is null.
    static func member(_ key: String, divisor: Int = 1) -> String {
        let scaled = divisor == 1 ? "value_json.\(key)" : "value_json.\(key) / \(divisor)"
        return "{{ \(scaled) if value_json.\(key) is number else None }}"
    }

    /// `value_json.<key>[index]` divided by `divisor`; `None` when the array is shorter or the element null.
    static func element(_ key: String, _ index: Int, divisor: Int = 1) -> String {
        let scaled = divisor == 1 ? "value_json.\(key)[\(index)]" : "value_json.\(key)[\(index)] / \(divisor)"
        return "{{ \(scaled) if value_json.\(key) | length > \(index) "
            + "and value_json.\(key)[\(index)] is number else None }}"
    }

    private static func energy(_ key: String, _ name: String, _ source: Source, _ value: String) -> Entity {
        Entity(
            key: key, name: name, source: source, value: value, deviceClass: "energy",
            stateClass: "total_increasing", unit: "kWh", precision: 3)
    }

    private static func measurement(
        _ key: String, _ name: String, _ source: Source, _ value: String, _ deviceClass: String, _ unit: String?,
        _ precision: Int
    ) -> Entity {
        Entity(
            key: key, name: name, source: source, value: value, deviceClass: deviceClass,
            stateClass: "measurement", unit: unit, precision: precision)
    }

    /// Every entity `source` can have (three phases), in the order they are announced.
    public static func catalogue(_ source: Source) -> [Entity] {
        switch source {
        case .p1: p1Catalogue
        case .ade9000: adeCatalogue
        }
    }

    private static let p1Catalogue: [Entity] = {
        var list: [Entity] = [
            energy("import_kwh", "Energy import", .p1, member("import_wh", divisor: 1000)),
            energy("import_t1_kwh", "Energy import tariff 1", .p1, member("import_t1_wh", divisor: 1000)),
            energy("import_t2_kwh", "Energy import tariff 2", .p1, member("import_t2_wh", divisor: 1000)),
            energy("export_kwh", "Energy export", .p1, member("export_wh", divisor: 1000)),
            energy("export_t1_kwh", "Energy export tariff 1", .p1, member("export_t1_wh", divisor: 1000)),
            energy("export_t2_kwh", "Energy export tariff 2", .p1, member("export_t2_wh", divisor: 1000)),
            measurement("power_w", "Power", .p1, member("power_w"), "power", "W", 0),
            measurement("power_import_w", "Power import", .p1, member("power_import_w"), "power", "W", 0),
            measurement("power_export_w", "Power export", .p1, member("power_export_w"), "power", "W", 0),
        ]
        for phase in 1...3 {
            list.append(
                measurement(
                    "voltage_l\(phase)_v", "Voltage L\(phase)", .p1, element("voltage_v", phase - 1), "voltage", "V",
                    1))
        }
        for phase in 1...3 {
            list.append(
                measurement(
                    "current_l\(phase)_a", "Current L\(phase)", .p1, element("current_a", phase - 1), "current", "A",
                    2))
        }
        list += [
            Entity(
                key: "gas_m3", name: "Gas", source: .p1, value: member("gas_l", divisor: 1000), deviceClass: "gas",
                stateClass: "total_increasing", unit: "m³", precision: 3),
            Entity(
                key: "water_m3", name: "Water", source: .p1, value: member("water_l", divisor: 1000),
                deviceClass: "water", stateClass: "total_increasing", unit: "m³", precision: 3),
            measurement(
                "quarter_hour_demand_w", "Quarter-hour demand", .p1, member("quarter_hour_demand_w"), "power", "W", 0),
            measurement(
                "month_peak_demand_w", "Month peak demand", .p1, member("month_peak_demand_w"), "power", "W", 0),
            measurement(
                "projected_quarter_hour_demand_w", "Projected quarter-hour demand", .p1,
                member("projected_quarter_hour_demand_w"), "power", "W", 0),
            measurement(
                "billed_peak_w", "Billed capacity (12-month mean)", .p1, member("billed_peak_w"), "power", "W", 0),
        ]
        return list
    }()

    private static let adeCatalogue: [Entity] = {
        var list: [Entity] = [
            energy("import_kwh", "Energy import", .ade9000, member("import_wh", divisor: 1000)),
            energy("export_kwh", "Energy export", .ade9000, member("export_wh", divisor: 1000)),
            measurement("power_w", "Power", .ade9000, member("power_w"), "power", "W", 0),
            measurement(
                "frequency_hz", "Frequency", .ade9000, element("frequency_hz", 0), "frequency", "Hz", 2),
        ]
        for phase in 1...3 {
            let index = phase - 1
            list += [
                measurement(
                    "power_l\(phase)_w", "Power L\(phase)", .ade9000, element("phase_power_w", index), "power", "W",
                    0),
                measurement(
                    "voltage_l\(phase)_v", "Voltage L\(phase)", .ade9000, element("voltage_v", index), "voltage",
                    "V", 1),
                measurement(
                    "current_l\(phase)_a", "Current L\(phase)", .ade9000, element("current_a", index), "current",
                    "A", 2),
                measurement(
                    "power_factor_l\(phase)", "Power factor L\(phase)", .ade9000, element("power_factor", index),
                    "power_factor", nil, 2),
                energy(
                    "import_l\(phase)_kwh", "Energy import L\(phase)", .ade9000,
                    element("phase_import_wh", index, divisor: 1000)),
                energy(
                    "export_l\(phase)_kwh", "Energy export L\(phase)", .ade9000,
                    element("phase_export_wh", index, divisor: 1000)),
            ]
        }
        list += [
            measurement(
                "quarter_hour_demand_w", "Quarter-hour demand", .ade9000, member("quarter_hour_demand_w"), "power",
                "W", 0),
            measurement(
                "month_peak_demand_w", "Month peak demand", .ade9000, member("month_peak_demand_w"), "power", "W", 0),
            measurement(
                "projected_quarter_hour_demand_w", "Projected quarter-hour demand", .ade9000,
                member("projected_quarter_hour_demand_w"), "power", "W", 0),
            measurement(
                "billed_peak_w", "Billed capacity (12-month mean)", .ade9000, member("billed_peak_w"), "power", "W", 0),
        ]
        return list
    }()

    // MARK: what a reading has

    /// The source of `reading` and the ids (``Entity/id``) of the catalogue entities it carries a value for.
    public static func presentEntities(in reading: LiveReading) -> (source: Source, ids: Set<String>) {
        var keys: Set<String> = []
        switch reading {
        case .p1(let sample, _):
            if sample.metersEnergy {
                if sample.sent.contains(.importTariffs) {
                    keys.formUnion(["import_t1_kwh", "import_t2_kwh"])
                } else {
                    keys.insert("import_kwh")
                }
                if sample.sent.contains(.exportTariffs) {
                    keys.formUnion(["export_t1_kwh", "export_t2_kwh"])
                } else if sample.sent.contains(.export) {
                    keys.insert("export_kwh")
                }
                // The capacity-tariff figures are computed by emeter from the import registers.
                keys.formUnion([
                    "quarter_hour_demand_w", "month_peak_demand_w", "projected_quarter_hour_demand_w", "billed_peak_w",
                ])
            }
            if sample.sent.contains(.powerImport) { keys.insert("power_import_w") }
            if sample.sent.contains(.powerExport) { keys.insert("power_export_w") }
            if sample.sent.contains(.powerImport) || sample.sent.contains(.powerExport) { keys.insert("power_w") }
            for index in 0..<min(3, sample.voltagesDecivolts.count) { keys.insert("voltage_l\(index + 1)_v") }
            for index in 0..<min(3, sample.details.currentsMilliamps.count) { keys.insert("current_l\(index + 1)_a") }
            if sample.gasLitres != nil { keys.insert("gas_m3") }
            if sample.waterLitres != nil { keys.insert("water_m3") }
            return (.p1, Set(keys.map { "p1_\($0)" }))
        case .ade9000(let sample, _):
            keys.formUnion([
                "import_kwh", "export_kwh", "power_w", "quarter_hour_demand_w", "month_peak_demand_w",
                "projected_quarter_hour_demand_w", "billed_peak_w",
            ])
            if !sample.frequencyHz.isEmpty { keys.insert("frequency_hz") }
            for phase in 1...3 {
                let index = phase - 1
                if sample.powerW.count > index { keys.insert("power_l\(phase)_w") }
                if sample.voltageV.count > index { keys.insert("voltage_l\(phase)_v") }
                if sample.currentA.count > index { keys.insert("current_l\(phase)_a") }
                if sample.powerFactor.count > index { keys.insert("power_factor_l\(phase)") }
                if sample.importMilliwattHours.count > index {
                    keys.formUnion(["import_l\(phase)_kwh", "export_l\(phase)_kwh"])
                }
            }
            return (.ade9000, Set(keys.map { "ade9000_\($0)" }))
        }
    }

    // MARK: messages

    /// `unique_id` (and, with the domain, `default_entity_id`) of `entity`: `emeter_<device>_<source>_<key>`,
    /// reduced to letters, digits, `_` and `-`.
    static func uniqueID(_ entity: Entity, device: String) -> String {
        String(
            "emeter_\(device)_\(entity.id)".map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" })
    }

    /// The retained config topic of `entity`.
    public static func topic(_ entity: Entity, configuration: MQTTForwarderConfiguration) -> String {
        "\(configuration.discoveryPrefix)/sensor/\(uniqueID(entity, device: configuration.device))/config"
    }

    /// The retained config payload of `entity`.
    public static func config(_ entity: Entity, configuration: MQTTForwarderConfiguration) -> [UInt8] {
        let id = uniqueID(entity, device: configuration.device)
        let device = configuration.device
        var json = JSONWriter()
        json.objectStart()
        json.field("availability_topic", configuration.statusTopic)
        json.key("device")
        json.objectStart()
        json.key("identifiers")
        json.arrayStart()
        switch entity.source {
        case .p1:
            json.string("emeter_\(device)")
            json.arrayEnd()
            json.field("manufacturer", "emeter")
            json.field("model", "P1 port reader")
            json.field("name", "emeter \(device)")
        case .ade9000:
            json.string("emeter_\(device)_ade9000")
            json.arrayEnd()
            json.field("manufacturer", "emeter")
            json.field("model", "ADE9000 CT channels")
            json.field("name", "emeter \(device) CT")
            json.field("via_device", "emeter_\(device)")
        }
        json.objectEnd()
        json.field("default_entity_id", "sensor.\(id)")
        json.field("device_class", entity.deviceClass)
        json.field("expire_after", expireAfter)
        json.field("name", entity.name)
        json.key("origin")
        json.objectStart()
        json.field("name", "emeter")
        json.objectEnd()
        json.field("state_class", entity.stateClass)
        json.field("state_topic", "\(configuration.base)/\(entity.source.rawValue)")
        json.field("suggested_display_precision", entity.precision)
        json.field("unique_id", id)
        if let unit = entity.unit { json.field("unit_of_measurement", unit) }
        json.field("value_template", entity.value)
        json.objectEnd()
        return json.bytes
    }

    /// The relay outputs: a `switch` for a commandable (manual) output, a `binary_sensor` (device class `power`)
    /// for one switched by a rule. State payloads `ON`/`OFF` on `<prefix>/<device>/output/<name>`.
    public static func outputMessages(for configuration: MQTTForwarderConfiguration) -> [(
        topic: String, payload: [UInt8]
    )] {
        configuration.outputs.map { output in
            onOffEntity(
                output.commandable ? "switch" : "binary_sensor", key: "output_\(output.name)",
                name: "Output \(output.name)", stateTopic: configuration.outputTopic(output.name),
                commandTopic: output.commandable ? configuration.outputTopic(output.name) + "/set" : nil,
                deviceClass: output.commandable ? nil : "power", diagnostic: false, configuration: configuration)
        }
    }

    /// One `binary_sensor` (device class `problem`, a diagnostic entity) per alert checked.
    public static func alertMessages(for configuration: MQTTForwarderConfiguration) -> [(
        topic: String, payload: [UInt8]
    )] {
        configuration.alerts.map { name in
            onOffEntity(
                "binary_sensor", key: "alert_\(name)", name: "Alert " + String(name.map { $0 == "_" ? " " : $0 }),
                stateTopic: "\(configuration.alertTopic)/\(name)", commandTopic: nil, deviceClass: "problem",
                diagnostic: true, configuration: configuration)
        }
    }

    /// The retained config of an `ON`/`OFF` entity (`switch` or `binary_sensor`) on the P1 reader's device.
    static func onOffEntity(
        _ component: String, key: String, name: String, stateTopic: String, commandTopic: String?,
        deviceClass: String?, diagnostic: Bool, configuration: MQTTForwarderConfiguration
    ) -> (topic: String, payload: [UInt8]) {
        let id = String(
            "emeter_\(configuration.device)_\(key)".map {
                $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_"
            })
        var json = JSONWriter()
        json.objectStart()
        json.field("availability_topic", configuration.statusTopic)
        if let commandTopic { json.field("command_topic", commandTopic) }
        json.key("device")
        json.objectStart()
        json.key("identifiers")
        json.arrayStart()
        json.string("emeter_\(configuration.device)")
        json.arrayEnd()
        json.field("manufacturer", "emeter")
        json.field("model", "P1 port reader")
        json.field("name", "emeter \(configuration.device)")
        json.objectEnd()
        json.field("default_entity_id", "\(component).\(id)")
        if let deviceClass { json.field("device_class", deviceClass) }
        if diagnostic { json.field("entity_category", "diagnostic") }
        json.field("name", name)
        json.key("origin")
        json.objectStart()
        json.field("name", "emeter")
        json.objectEnd()
        json.field("payload_off", "OFF")
        json.field("payload_on", "ON")
        json.field("state_topic", stateTopic)
        json.field("unique_id", id)
        json.objectEnd()
        return ("\(configuration.discoveryPrefix)/\(component)/\(id)/config", json.bytes)
    }

    /// Every retained message that makes Home Assistant's view match `entities`: a config for each announced
    /// entity, an empty payload (removal) for each catalogue entity of a decided source that is not announced.
    /// Sources not decided yet (no reading since the first start) get nothing.
    public static func messages(
        for configuration: MQTTForwarderConfiguration, entities: HomeAssistantEntities
    ) -> [(topic: String, payload: [UInt8])] {
        var messages: [(topic: String, payload: [UInt8])] = []
        for source in Source.allCases where entities.decided.contains(source) {
            for entity in catalogue(source) {
                let announced = entities.announced.contains(entity.id)
                messages.append(
                    (
                        topic(entity, configuration: configuration),
                        announced ? config(entity, configuration: configuration) : []
                    ))
            }
        }
        return messages
    }

    /// The messages for a change of `entities` from `old` to `new`: configs for added entities, removals for
    /// dropped ones, and for a source decided just now the removal of its catalogue entities it does not send.
    public static func messages(
        for configuration: MQTTForwarderConfiguration, from old: HomeAssistantEntities, to new: HomeAssistantEntities
    ) -> [(topic: String, payload: [UInt8])] {
        var messages: [(topic: String, payload: [UInt8])] = []
        for source in Source.allCases where new.decided.contains(source) {
            let newlyDecided = !old.decided.contains(source)
            for entity in catalogue(source) {
                let was = old.announced.contains(entity.id)
                let now = new.announced.contains(entity.id)
                if now && (!was || newlyDecided) {
                    messages.append(
                        (topic(entity, configuration: configuration), config(entity, configuration: configuration)))
                } else if !now && (was || newlyDecided) {
                    messages.append((topic(entity, configuration: configuration), []))
                }
            }
        }
        return messages
    }
}

/// Which Home Assistant entities a meter has: every entity id with the last time a reading carried it, and the
/// sources whose set is decided (by a first reading). Pure; the MQTT forwarder persists it as text
/// (``text`` / ``init(text:)``) so that a restart announces the same entities at once.
public struct HomeAssistantEntities: Sendable, Equatable {
    /// An entity not carried by any reading of its source for this long (reading time) is removed.
    public static let retention: Duration = .seconds(86_400)

    /// Entity id (``HomeAssistantDiscovery/Entity/id``) → last reading time that carried it, to the second.
    public private(set) var lastSeen: [String: UnixTime] = [:]
    public private(set) var decided: Set<HomeAssistantDiscovery.Source> = []

    public init() {}

    /// The announced entity ids.
    public var announced: Set<String> { Set(lastSeen.keys) }

    /// Takes one accepted live reading into account.
    /// - Returns: whether the announced set (or the decided sources) changed.
    public mutating func observe(_ reading: LiveReading) -> Bool {
        let (source, present) = HomeAssistantDiscovery.presentEntities(in: reading)
        let time = reading.time.floored(toMultipleOf: .seconds(1))  // whole seconds, as persisted
        var changed = decided.insert(source).inserted
        for id in present {
            if lastSeen.updateValue(time, forKey: id) == nil { changed = true }
        }
        let prefix = "\(source.rawValue)_"
        for (id, seen) in lastSeen where id.hasPrefix(prefix) && !present.contains(id) {
            // A clock stepped back (seen > time) removes nothing: only a day of readings without it does.
            if time - seen > Self.retention {
                lastSeen[id] = nil
                changed = true
            }
        }
        return changed
    }

    /// The oldest last-seen time (for deciding when to persist again), `nil` when nothing is announced.
    public var oldestSeen: UnixTime? { lastSeen.values.min() }

    /// Persisted form: `decided <source>` and `seen <id> <unix s>` lines, sorted.
    public var text: String {
        var lines = decided.map { "decided \($0.rawValue)" }.sorted()
        lines += lastSeen.map { "seen \($0.key) \($0.value.seconds)" }.sorted()
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads ``text``.
    /// - Returns: `nil` for anything but that format (the caller logs it and starts undecided).
    public init?(text: String) {
        let known = Set(HomeAssistantDiscovery.Source.allCases.flatMap(HomeAssistantDiscovery.catalogue).map(\.id))
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            switch (fields.first, fields.count) {
            case ("decided", 2):
                guard let source = HomeAssistantDiscovery.Source(rawValue: String(fields[1])) else { return nil }
                decided.insert(source)
            case ("seen", 3):
                guard let seconds = Int64(fields[2]) else { return nil }
                let id = String(fields[1])
                // An id a later release no longer has is dropped (and, its source being decided, not announced).
                if known.contains(id) { lastSeen[id] = UnixTime(seconds: seconds) }
            default:
                return nil
            }
        }
    }
}
