/// Hand-written JSON for `emeter p1 parse`: one object per telegram on one line, no Foundation.
///
/// Shape: `{"header": "<identification without />", "crc": "6796"|null, "obis": {<code as sent>: <value>, …},
/// "reading": {…}}`. Values in `obis`:
/// - number with unit → `{"value": 4512.373, "unit": "kWh"}` (exact decimal as sent, leading zeros dropped);
///   without unit → `{"value": 2}`;
/// - timestamp → `"2025-03-30T01:59:59Z"` (UTC); placeholder dates and `()` → `null`;
/// - identifiers, versions, tariff indicator → the string as sent; text messages (`96.13.x`) → decoded text;
/// - value with capture time (M-Bus, `1-0:1.6.0`, DSMR 2.2/3 `24.3.0`) →
///   `{"timestamp": …, "value": …, "unit": …}`;
/// - power-failure log → `[{"end_utc": …, "duration_s": …}]`;
/// - Belgian `0-0:98.1.0` → `[{"month_utc": …, "peak_time_utc": …, "value_kw": …}]`;
/// - several groups of an unknown line → a list of the above.
public enum P1JSON {
    /// One JSON object (no trailing newline) for a telegram.
    public static func telegram(_ telegram: P1Telegram) -> String {
        var out = ""
        out.reserveCapacity(2048 + 48 * telegram.lines.count)
        out += "{\"header\":"
        string(telegram.header, into: &out)
        out += ",\"crc\":"
        if let crc = telegram.transmittedCRC { out += "\"\(P1Framer.hex4(crc))\"" } else { out += "null" }
        out += ",\"obis\":{"
        var first = true
        for line in telegram.lines {
            if !first { out += "," }
            first = false
            string(line.obisText, into: &out)
            out += ":"
            value(line.value, into: &out)
        }
        out += "},\"reading\":"
        reading(telegram.reading, into: &out)
        out += "}"
        return out
    }

    /// The normalised reading as a JSON object.
    public static func reading(_ reading: P1Reading) -> String {
        var out = ""
        self.reading(reading, into: &out)
        return out
    }

    static func value(_ value: P1Value, into out: inout String) {
        switch value {
        case .empty:
            out += "null"
        case .number(let number, let unit):
            out += "{\"value\":\(number)"
            if let unit {
                out += ",\"unit\":"
                string(unit.symbol, into: &out)
            }
            out += "}"
        case .timestamp(let time):
            timestamp(time, into: &out)
        case .text(let text), .obis(let text):
            string(text, into: &out)
        case .hexText(let hex):
            string(P1Value.decodeHex(hex) ?? hex, into: &out)
        case .captured(let time, let number, let unit):
            out += "{\"timestamp\":"
            timestamp(time, into: &out)
            out += ",\"value\":"
            decimal(number, into: &out)
            if let unit {
                out += ",\"unit\":"
                string(unit.symbol, into: &out)
            }
            out += "}"
        case .failureLog(let entries):
            out += "["
            for (index, entry) in entries.enumerated() {
                if index > 0 { out += "," }
                out += "{\"end_utc\":"
                timestamp(entry.end, into: &out)
                out += ",\"duration_s\":"
                out += entry.durationSeconds.map { String($0) } ?? "null"
                out += "}"
            }
            out += "]"
        case .peakHistory(let entries):
            out += "["
            for (index, entry) in entries.enumerated() {
                if index > 0 { out += "," }
                out += "{\"month_utc\":"
                timestamp(entry.month, into: &out)
                out += ",\"peak_time_utc\":"
                timestamp(entry.occurred, into: &out)
                out += ",\"value_kw\":"
                let kW = entry.value.map { entry.unit == .W ? $0.shifted(by: -3) : $0 }
                decimal(kW, into: &out)
                out += "}"
            }
            out += "]"
        case .list(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                self.value(item, into: &out)
            }
            out += "]"
        }
    }

    static func reading(_ r: P1Reading, into out: inout String) {
        out += "{\"country\":"
        string(r.country.rawValue, into: &out)
        out += ",\"p1_version\":"
        optionalString(r.p1Version, into: &out)
        out += ",\"meter_time\":"
        timestamp(r.meterTime, into: &out)
        out += ",\"equipment_id\":"
        optionalString(r.equipmentId, into: &out)
        out += ",\"tariff\":" + (r.tariff.map { String($0) } ?? "null")
        out += ",\"tariff_name\":"
        optionalString(r.tariffName, into: &out)
        for (key, registers) in [("import_wh", r.importWh), ("export_wh", r.exportWh)] {
            out += ",\"\(key)\":{\"total\":"
            decimal(registers.total, into: &out)
            out += ",\"total_sent\":\(registers.totalSent)"
            for n in 1...4 {
                guard let value = registers[tariff: n] else { continue }
                out += ",\"tariff_\(n)\":\(value)"
            }
            out += "}"
        }
        out += ",\"power_import_w\":"
        decimal(r.powerImportW, into: &out)
        out += ",\"power_export_w\":"
        decimal(r.powerExportW, into: &out)
        out += ",\"phases\":["
        for (index, phase) in r.phases.enumerated() {
            if index > 0 { out += "," }
            out += "{\"voltage_v\":"
            decimal(phase.voltageV, into: &out)
            out += ",\"current_a\":"
            decimal(phase.currentA, into: &out)
            out += ",\"power_import_w\":"
            decimal(phase.powerImportW, into: &out)
            out += ",\"power_export_w\":"
            decimal(phase.powerExportW, into: &out)
            out += "}"
        }
        out += "],\"demand\":"
        if let demand = r.demand {
            out += "{\"current_average_w\":"
            decimal(demand.currentAverageW, into: &out)
            out += ",\"month_maximum_w\":"
            decimal(demand.monthMaximumW, into: &out)
            out += ",\"month_maximum_time\":"
            timestamp(demand.monthMaximumTime, into: &out)
            out += ",\"history\":"
            value(.peakHistory(demand.history), into: &out)
            out += "}"
        } else {
            out += "null"
        }
        out += ",\"limiter_threshold\":"
        if let limit = r.limiterThreshold {
            value(.number(limit, unit: r.limiterThresholdUnit), into: &out)
        } else {
            out += "null"
        }
        out += ",\"fuse_threshold_a\":"
        decimal(r.fuseThresholdA, into: &out)
        out += ",\"breaker_state\":" + (r.breakerState.map { String($0) } ?? "null")
        out += ",\"power_failures\":" + (r.powerFailures.map { String($0) } ?? "null")
        out += ",\"long_power_failures\":" + (r.longPowerFailures.map { String($0) } ?? "null")
        out += ",\"text_message\":"
        optionalString(r.textMessage, into: &out)
        out += ",\"mbus\":["
        for (index, device) in r.mbus.enumerated() {
            if index > 0 { out += "," }
            out += "{\"channel\":\(device.channel),\"device_type\":" + (device.deviceType.map { String($0) } ?? "null")
            out += ",\"medium\":"
            string(device.medium.rawValue, into: &out)
            out += ",\"identifier\":"
            optionalString(device.identifier, into: &out)
            out += ",\"value\":"
            decimal(device.value, into: &out)
            out += ",\"unit\":"
            optionalString(device.unit?.symbol, into: &out)
            out += ",\"capture_time\":"
            timestamp(device.captureTime, into: &out)
            out += ",\"valve_position\":" + (device.valvePosition.map { String($0) } ?? "null")
            out += "}"
        }
        out += "]}"
    }

    static func decimal(_ value: P1Decimal?, into out: inout String) {
        if let value { out += value.description } else { out += "null" }
    }

    static func timestamp(_ time: P1Timestamp?, into out: inout String) {
        if let time { out += "\"\(time.iso8601)\"" } else { out += "null" }
    }

    static func optionalString(_ text: String?, into out: inout String) {
        if let text { string(text, into: &out) } else { out += "null" }
    }

    /// A JSON string literal: `"` and `\` escaped, control characters as `\u00XX`.
    public static func string(_ text: String, into out: inout String) {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C && $0 < 0x7F }) {
            out += "\""
            out += text
            out += "\""
            return
        }
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16, uppercase: false)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

extension P1Telegram {
    /// `P1JSON.telegram(self)`.
    public var jsonLine: String { P1JSON.telegram(self) }
}

extension P1Reading {
    /// A short human-readable summary (several lines), for `emeter p1 parse --format text`.
    public var textSummary: String {
        func kWh(_ wh: P1Decimal?) -> String { wh.map { "\($0.shifted(by: -3)) kWh" } ?? "-" }
        func w(_ value: P1Decimal?) -> String { value.map { "\($0) W" } ?? "-" }
        var lines: [String] = []
        let visibleHeader = header.unicodeScalars.map { scalar in
            scalar.value < 0x20 ? "\\x\(String(scalar.value, radix: 16))" : String(scalar)
        }
        var head = "/" + visibleHeader.joined()
        head += "  country \(country.rawValue)"
        if let p1Version { head += ", P1 version \(p1Version)" }
        if let meterTime { head += ", time \(meterTime.iso8601)" }
        lines.append(head)
        if let equipmentId { lines.append("equipment \(equipmentId)") }
        for (label, registers) in [("import", importWh), ("export", exportWh)] {
            var text = "\(label) \(kWh(registers.total))"
            let parts = (1...4).compactMap { n in
                registers[tariff: n].map { "\(country.tariffName(n)) \(kWh($0))" }
            }
            if !parts.isEmpty { text += " (" + parts.joined(separator: ", ") + ")" }
            lines.append(text)
        }
        var power = "power +\(w(powerImportW)) -\(w(powerExportW))"
        if let tariff { power += ", tariff \(tariff) (\(country.tariffName(tariff)))" }
        lines.append(power)
        for (index, phase) in phases.enumerated()
        where phase.voltageV != nil || phase.currentA != nil || phase.powerImportW != nil {
            lines.append(
                "L\(index + 1) \(phase.voltageV.map { "\($0) V" } ?? "-") \(phase.currentA.map { "\($0) A" } ?? "-") "
                    + "+\(w(phase.powerImportW)) -\(w(phase.powerExportW))")
        }
        if let demand {
            var text = "demand now \(w(demand.currentAverageW)), month max \(w(demand.monthMaximumW))"
            if let time = demand.monthMaximumTime { text += " at \(time.iso8601)" }
            text += ", \(demand.history.count) monthly peaks"
            lines.append(text)
        }
        for device in mbus {
            var text = "M-Bus \(device.channel) \(device.medium.rawValue)"
            if let value = device.value { text += " \(value) \(device.unit?.symbol ?? "")" }
            if let time = device.captureTime { text += " at \(time.iso8601)" }
            lines.append(text)
        }
        if let textMessage, !textMessage.isEmpty { lines.append("message: \(textMessage)") }
        return lines.joined(separator: "\n")
    }
}
