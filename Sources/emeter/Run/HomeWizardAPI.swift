import CivilTime
import Firmware
import P1

/// What the HomeWizard P1 API serves beyond the one payload schema (``P1Sample``), taken from the telegram itself:
/// the header (their `meter_model`), the equipment id as sent (hex), the voltage sag and swell counters.
struct HomeWizardTelegramFacts: Equatable, Sendable {
    /// The identification line without `/` (`ISk5\2M550T-1012`).
    var meterModel: String
    /// `0-0:96.1.1` (or `0-0:96.1.0`) exactly as sent: hex digits on DSMR meters.
    var equipmentIDText: String?
    /// `1-0:32/52/72.32.0` and `1-0:32/52/72.36.0` per phase; `nil` for a phase the meter does not report.
    var voltageSags: [Int64?] = [nil, nil, nil]
    var voltageSwells: [Int64?] = [nil, nil, nil]

    init(meterModel: String, equipmentIDText: String? = nil) {
        self.meterModel = meterModel
        self.equipmentIDText = equipmentIDText
    }

    init(_ telegram: P1Telegram) {
        meterModel = telegram.header
        equipmentIDText =
            telegram.value(.equipmentIdentifier)?.text ?? telegram.value(.serialNumber)?.text
        let sags: [P1Field] = [.voltageSagsL1, .voltageSagsL2, .voltageSagsL3]
        let swells: [P1Field] = [.voltageSwellsL1, .voltageSwellsL2, .voltageSwellsL3]
        voltageSags = sags.map { Self.count(telegram, $0) }
        voltageSwells = swells.map { Self.count(telegram, $0) }
    }

    private static func count(_ telegram: P1Telegram, _ field: P1Field) -> Int64? {
        telegram.value(field)?.decimal?.roundedInteger
    }
}

/// The HomeWizard P1 meter's local API, version 1 (`GET /api`, `GET /api/v1/data`), rendered from our P1 sample:
/// what Home Assistant's HomeWizard integration, evcc (`homewizard`) and python-homewizard-energy read.
///
/// Field names, types and units are HomeWizard's (their spelling `montly_power_peak_w` included); a field is
/// present only when the meter sent the data it comes from (``P1Sample/sent``, the optionals of the sample).
/// Energies are kWh with three decimals, powers W, voltages V, currents A; timestamps are integers `YYMMDDhhmmss`
/// in the meter's local time, as DSMR writes them and HomeWizard serves them.
enum HomeWizardAPI {
    static let productType = "HWE-P1"
    static let productName = "P1 meter"
    static let firmwareVersion = "emeter-0.9.0"

    /// `GET /api`: what the device is.
    static func device(serial: String) -> [UInt8] {
        var json = JSONWriter(capacity: 160)
        json.objectStart()
        json.field("product_type", productType)
        json.field("product_name", productName)
        json.field("serial", serial)
        json.field("firmware_version", firmwareVersion)
        json.field("api_version", "v1")
        json.objectEnd()
        return json.bytes
    }

    /// `GET /api/v1/data` for one telegram.
    /// - Parameter localTime: The meter's time zone, for the `YYMMDDhhmmss` timestamps.
    static func data(_ sample: P1Sample, facts: HomeWizardTelegramFacts?, localTime: LocalTime) -> [UInt8] {
        let details = sample.details
        var json = JSONWriter(capacity: 1024)
        json.objectStart()
        // Not on Wi-Fi: present (as null) because clients tell a v1 answer by these keys.
        json.key("wifi_ssid")
        json.null()
        json.key("wifi_strength")
        json.null()
        if let version = details.p1Version.flatMap(smrVersion) { json.field("smr_version", version) }
        if let model = facts?.meterModel { json.field("meter_model", model) }
        if let id = facts?.equipmentIDText ?? details.equipmentID.map(hex) { json.field("unique_id", id) }
        if let tariff = details.tariff { json.field("active_tariff", tariff) }
        if sample.metersEnergy {
            json.field("total_power_import_kwh", fixed: sample.totalImportWh, decimals: 3)
            if sample.sent.contains(.importTariffs) {
                json.field("total_power_import_t1_kwh", fixed: sample.importWh.tariff1, decimals: 3)
                json.field("total_power_import_t2_kwh", fixed: sample.importWh.tariff2, decimals: 3)
            }
            if sample.sent.contains(.export) {
                json.field("total_power_export_kwh", fixed: sample.totalExportWh, decimals: 3)
            }
            if sample.sent.contains(.exportTariffs) {
                json.field("total_power_export_t1_kwh", fixed: sample.exportWh.tariff1, decimals: 3)
                json.field("total_power_export_t2_kwh", fixed: sample.exportWh.tariff2, decimals: 3)
            }
        }
        if !sample.sent.isDisjoint(with: [.powerImport, .powerExport]) {
            json.field("active_power_w", sample.powerImportW - sample.powerExportW)
        }
        let phases = max(details.phasePowerImportW.count, details.phasePowerExportW.count)
        let phasePowerKeys: [StaticString] = ["active_power_l1_w", "active_power_l2_w", "active_power_l3_w"]
        for phase in 0..<min(phases, 3) {
            let imported = phase < details.phasePowerImportW.count ? details.phasePowerImportW[phase] : 0
            let exported = phase < details.phasePowerExportW.count ? details.phasePowerExportW[phase] : 0
            json.field(phasePowerKeys[phase], imported - exported)
        }
        let voltageKeys: [StaticString] = ["active_voltage_l1_v", "active_voltage_l2_v", "active_voltage_l3_v"]
        for (phase, decivolts) in sample.voltagesDecivolts.prefix(3).enumerated() {
            json.field(voltageKeys[phase], fixed: decivolts, decimals: 1)
        }
        let currentKeys: [StaticString] = ["active_current_l1_a", "active_current_l2_a", "active_current_l3_a"]
        for (phase, milliamps) in details.currentsMilliamps.prefix(3).enumerated() {
            json.field(currentKeys[phase], fixed: milliamps, decimals: 3)
        }
        if let facts {
            let sagKeys: [StaticString] = ["voltage_sag_l1_count", "voltage_sag_l2_count", "voltage_sag_l3_count"]
            let swellKeys: [StaticString] = [
                "voltage_swell_l1_count", "voltage_swell_l2_count", "voltage_swell_l3_count",
            ]
            for (phase, count) in facts.voltageSags.prefix(3).enumerated() {
                if let count { json.field(sagKeys[phase], count) }
            }
            for (phase, count) in facts.voltageSwells.prefix(3).enumerated() {
                if let count { json.field(swellKeys[phase], count) }
            }
        }
        if let count = details.powerFailures { json.field("any_power_fail_count", count) }
        if let count = details.longPowerFailures { json.field("long_power_fail_count", count) }
        if let average = sample.quarterHourDemandW { json.field("active_power_average_w", average) }
        if let peak = sample.monthPeakDemandW {
            json.field("montly_power_peak_w", peak)
            if let time = sample.monthPeakTime {
                json.key("montly_power_peak_timestamp")
                json.int(timestamp(time, localTime: localTime))
            }
        }
        if let litres = sample.gasLitres {
            // The M-Bus device the sample's gas reading came from.
            let gas = details.mbus.first { $0.medium == "gas" && $0.valueMilli == litres }
            json.field("total_gas_m3", fixed: litres, decimals: 3)
            if let time = details.gasTime {
                json.key("gas_timestamp")
                json.int(timestamp(time, localTime: localTime))
            }
            if let id = gas?.identifier, !id.isEmpty { json.field("gas_unique_id", id) }
        }
        json.key("external")
        json.arrayStart()
        for device in details.mbus {
            // HomeWizard lists a device with its id, reading and capture time; clients parse all three.
            guard let type = externalType(device.medium), let value = device.valueMilli, let id = device.identifier,
                !id.isEmpty, let captureTime = device.captureTime
            else { continue }
            json.objectStart()
            json.field("unique_id", id)
            json.field("type", type)
            json.key("timestamp")
            json.int(timestamp(captureTime, localTime: localTime))
            json.field("value", fixed: value, decimals: 3)
            json.field("unit", externalUnit(device.unit))
            json.objectEnd()
        }
        json.arrayEnd()
        json.objectEnd()
        return json.bytes
    }

    /// `1-3:0.2.8` as HomeWizard's integer: `50` for DSMR 5.0 (`50`), `42` for 4.2; e-MUCS (`50217`) is DSMR 5.0.
    static func smrVersion(_ text: String) -> Int64? {
        guard text.count >= 2, text.allSatisfy(\.isASCII), let value = Int64(text.prefix(2)) else { return nil }
        return value
    }

    /// `YYMMDDhhmmss` in local time, as an integer (`250106200000`).
    static func timestamp(_ time: UnixTime, localTime: LocalTime) -> Int64 {
        let fields = localTime.fields(at: time)
        let date = Int64(fields.year % 100) * 10_000 + Int64(fields.month) * 100 + Int64(fields.day)
        let time = Int64(fields.hour) * 10_000 + Int64(fields.minute) * 100 + Int64(fields.second)
        return date * 1_000_000 + time
    }

    /// Text as the hex digits DSMR sends it in (`E0012` → `4530303132`).
    static func hex(_ text: String) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for scalar in text.unicodeScalars where scalar.value < 256 {
            let byte = Int(scalar.value)
            out.append(digits[byte >> 4])
            out.append(digits[byte & 0xF])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// HomeWizard's `external[].type` for an M-Bus medium; `nil` for one they do not list.
    static func externalType(_ medium: String) -> StaticString? {
        switch medium {
        case "gas": "gas_meter"
        case "water": "water_meter"
        case "heat": "heat_meter"
        default: nil
        }
    }

    /// `m3` (HomeWizard's spelling) for `m3`/`m³`; other units as sent.
    static func externalUnit(_ unit: String?) -> String {
        guard let unit else { return "" }
        return unit.lowercased() == "m3" || unit == "m³" ? "m3" : unit
    }
}
