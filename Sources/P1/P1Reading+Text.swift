extension String {
    /// The text with control characters (C0, DEL, C1) shown as `\xNN`: meter text (equipment id, text messages,
    /// header) goes to a terminal, where an escape sequence from a telegram must not act.
    public var terminalSafe: String {
        guard unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            return self
        }
        var result = ""
        for scalar in unicodeScalars {
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                let hex = String(scalar.value, radix: 16)
                result += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}

extension P1Reading {
    /// A short human-readable summary (several lines), for `emeter p1 parse --format text`. Every text the meter
    /// sent is made `terminalSafe`.
    public var textSummary: String {
        func kWh(_ wh: P1Decimal?) -> String { wh.map { "\($0.shifted(by: -3)) kWh" } ?? "-" }
        func w(_ value: P1Decimal?) -> String { value.map { "\($0) W" } ?? "-" }
        var lines: [String] = []
        var head = "/" + header.terminalSafe
        head += "  country \(country.rawValue)"
        if let p1Version { head += ", P1 version \(p1Version.terminalSafe)" }
        if let meterTime { head += ", time \(meterTime.iso8601)" }
        lines.append(head)
        if let equipmentId { lines.append("equipment \(equipmentId.terminalSafe)") }
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
        if let textMessage, !textMessage.isEmpty { lines.append("message: \(textMessage.terminalSafe)") }
        return lines.joined(separator: "\n")
    }
}
