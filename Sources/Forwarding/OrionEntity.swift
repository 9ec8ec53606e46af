import Firmware

/// Builds NGSI-v2 (normalized) entities of the FIWARE Smart Data Models `ThreePhaseAcMeasurement` /
/// `ACMeasurement` (dataModel.Energy) from interval records and live readings. Pure. `spec/forwarding.md` §3.1–3.3.
///
/// **Record** → the energy that flowed in the interval, per the model's definition "active energy … since the
/// metering start date": `dateEnergyMeteringStarted` = interval start, `dateObserved` = interval end (both
/// `DateTime`), `activeEnergyImport`/`activeEnergyExport` per phase (`L1`…`L3`, ADE9000 only) and
/// `totalActiveEnergyImport`/`totalActiveEnergyExport` in kWh, `totalActivePower` = the interval's time-weighted
/// average in W with metadata `measurementType` `average`, `measurementInterval` (s) and `timestamp` (end).
/// P1 records carry no per-phase energies, so they give totals only (tariffs summed).
///
/// **Live reading** → instantaneous per-phase values with a `timestamp` metadata: `phaseVoltage` (V), and from the
/// ADE9000 also `activePower` (W) and `current` (A). No energies (those come from records).
///
/// `ACMeasurement` entities also get `phaseType` (`threePhase`/`singlePhase`) and, when configured, `location`
/// (GeoJSON Point). For `singlePhase`, per-phase objects carry `L1` only (§3.1).
public enum OrionEntity {
    /// Who the entity is.
    public struct Identity: Sendable {
        public var id: String
        /// `ThreePhaseAcMeasurement` or `ACMeasurement`.
        public var type: String
        /// 3 or 1: how many `L` keys per-phase objects get.
        public var phases: Int
        public var location: (longitude: Double, latitude: Double)?

        public init(id: String, type: String, phases: Int, location: (longitude: Double, latitude: Double)? = nil) {
            self.id = id
            self.type = type
            self.phases = phases
            self.location = location
        }
    }

    /// Which part of a record feeds the entity.
    public enum Source: Sendable, Equatable {
        case ade9000, p1
    }

    /// `{"actionType":"append","entities":[…]}` for `POST /v2/op/update` (creates missing entities, updates or
    /// appends attributes of existing ones; answers 204).
    public static func appendBody(_ entities: [HTTPJSON]) -> HTTPJSON {
        .object(["actionType": .string("append"), "entities": .array(entities)])
    }

    /// The entity for `record`, or `nil` when the record has no part from `source` (default: ADE9000 if present,
    /// else P1).
    public static func entity(for record: IntervalRecord, identity: Identity, source: Source?) -> HTTPJSON? {
        let start = Payloads.iso8601(record.start.seconds)
        let end = Payloads.iso8601(record.end.seconds)
        var attributes = header(identity)
        attributes["dateEnergyMeteringStarted"] = dateTime(start)
        attributes["dateObserved"] = dateTime(end)
        let averageMetadata: [String: HTTPJSON] = [
            "measurementType": attribute("Text", .string("average")),
            "measurementInterval": attribute("Number", .number(Double(record.duration.components.seconds))),
            "timestamp": dateTime(end),
        ]

        switch (source, record.ade9000, record.p1) {
        case (.ade9000, let ade?, _), (nil, let ade?, _):
            let phases = [ade.phaseA, ade.phaseB, ade.phaseC]
            attributes["activeEnergyImport"] = perPhase(phases.map { kWh($0.importWh) }, identity.phases)
            attributes["activeEnergyExport"] = perPhase(phases.map { kWh($0.exportWh) }, identity.phases)
            let used = phases.prefix(identity.phases)
            attributes["totalActiveEnergyImport"] = number(kWh(used.reduce(0) { $0 + $1.importWh }))
            attributes["totalActiveEnergyExport"] = number(kWh(used.reduce(0) { $0 + $1.exportWh }))
            attributes["totalActivePower"] = attribute("Number", .number(Double(ade.averagePowerW)), averageMetadata)
        case (.p1, _, let p1?), (nil, nil, let p1?):
            attributes["totalActiveEnergyImport"] = number(kWh(p1.importTariff1Wh + p1.importTariff2Wh))
            attributes["totalActiveEnergyExport"] = number(kWh(p1.exportTariff1Wh + p1.exportTariff2Wh))
            attributes["totalActivePower"] = attribute("Number", .number(Double(p1.averagePowerW)), averageMetadata)
        default:
            return nil
        }
        return .object(attributes)
    }

    /// The entity update for a live reading (instantaneous per-phase values), or `nil` when it has none.
    public static func entity(for reading: LiveReading, identity: Identity) -> HTTPJSON? {
        var attributes = header(identity)
        /// Sets `key` unless no phase has a finite value.
        func set(_ key: String, _ values: [Double], scale: Double) {
            let value = perPhase(values.map { ($0 * scale).rounded() / scale }, identity.phases)
            if value["value"] != .object([:]) { attributes[key] = value }
        }
        switch reading {
        case .p1(let sample, _):
            set("phaseVoltage", sample.voltagesDecivolts.map { Double($0) / 10 }, scale: 10)
        case .ade9000(let sample, _):
            set("phaseVoltage", sample.voltageV, scale: 10)
            set("activePower", sample.powerW, scale: 10)
            set("current", sample.currentA, scale: 1000)
        }
        let stamp = Payloads.iso8601(reading.time.seconds)
        var stamped = attributes
        for key in ["phaseVoltage", "activePower", "current"] {
            guard case .object(var members)? = attributes[key] else { continue }
            members["metadata"] = .object(["timestamp": dateTime(stamp)])
            stamped[key] = .object(members)
        }
        guard stamped.count > header(identity).count else { return nil }
        return .object(stamped)
    }

    // MARK: - Attribute helpers

    private static func header(_ identity: Identity) -> [String: HTTPJSON] {
        var attributes: [String: HTTPJSON] = ["id": .string(identity.id), "type": .string(identity.type)]
        if identity.type == "ACMeasurement" {
            attributes["phaseType"] = attribute("Text", .string(identity.phases == 1 ? "singlePhase" : "threePhase"))
            if let location = identity.location {
                attributes["location"] = attribute(
                    "geo:json",
                    .object([
                        "type": .string("Point"),
                        "coordinates": .array([.number(location.longitude), .number(location.latitude)]),
                    ]))
            }
        }
        return attributes
    }

    private static func attribute(_ type: String, _ value: HTTPJSON, _ metadata: [String: HTTPJSON]? = nil) -> HTTPJSON
    {
        var members: [String: HTTPJSON] = ["type": .string(type), "value": value]
        if let metadata { members["metadata"] = .object(metadata) }
        return .object(members)
    }

    private static func dateTime(_ iso: String) -> HTTPJSON { attribute("DateTime", .string(iso)) }

    private static func number(_ value: Double) -> HTTPJSON { attribute("Number", .number(value)) }

    /// `{"type":"StructuredValue","value":{"L1":…,"L2":…,"L3":…}}`, at most `phases` keys.
    private static func perPhase(_ values: [Double], _ phases: Int) -> HTTPJSON {
        var members: [String: HTTPJSON] = [:]
        // A non-finite reading (NaN from a failed conversion) leaves its phase out; the keys stay positional.
        for (index, value) in values.prefix(phases).enumerated() where value.isFinite {
            members["L\(index + 1)"] = .number(value)
        }
        return attribute("StructuredValue", .object(members))
    }

    /// Wh → kWh.
    private static func kWh(_ wh: Int64) -> Double { Double(wh) / 1000 }
}
