import Foundation
import CivilTime

/// The JSON shapes emeter publishes (stdout JSON Lines, MQTT, HTTP): one place, so every sink says the same.
///
/// Energies are integer Wh, powers integer W, voltages V with one decimal, times Unix seconds plus an ISO-8601
/// UTC string. Records carry `start`/`end` and the sequence range so a backend can de-duplicate re-sent records.
public enum Payloads {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// `2025-03-30T01:59:59Z`.
    public static func iso8601(_ unixSeconds: Int64) -> String {
        CivilTime.iso8601(unixSeconds: unixSeconds)
    }

    /// A closed interval record.
    public struct Record: Codable, Equatable, Sendable {
        public var type = "interval"
        public var device: String
        public var start: Int64
        public var end: Int64
        public var startUTC: String
        public var endUTC: String
        public var sequence: [UInt32]
        public var flags: [String]
        public var p1: P1Part?
        public var ade9000: ADEPart?

        enum CodingKeys: String, CodingKey {
            case type, device, start, end, sequence, flags, p1, ade9000
            case startUTC = "start_utc"
            case endUTC = "end_utc"
        }

        public init(_ record: IntervalRecord, device: String) {
            self.device = device
            start = record.start
            end = record.end
            startUTC = Payloads.iso8601(record.start)
            endUTC = Payloads.iso8601(record.end)
            sequence = [record.firstSequence, record.lastSequence]
            var names: [String] = []
            if record.flags.contains(.merged) { names.append("merged") }
            if record.flags.contains(.gap) { names.append("gap") }
            if record.flags.contains(.sourceError) { names.append("source_error") }
            if record.flags.contains(.clockStep) { names.append("clock_step") }
            flags = names
            p1 = record.p1.map(P1Part.init)
            ade9000 = record.ade9000.map(ADEPart.init)
        }
    }

    public struct P1Part: Codable, Equatable, Sendable {
        public var importT1Wh: Int64
        public var importT2Wh: Int64
        public var exportT1Wh: Int64
        public var exportT2Wh: Int64
        public var averagePowerW: Int64
        public var maxImportPowerW: Int64
        public var maxExportPowerW: Int64
        public var voltageMinV: Double?
        public var voltageMaxV: Double?
        public var gasL: Int64
        public var waterL: Int64
        public var quarterHourDemandW: Int64
        public var monthPeakDemandW: Int64
        public var monthPeakTime: Int64?

        enum CodingKeys: String, CodingKey {
            case importT1Wh = "import_t1_wh", importT2Wh = "import_t2_wh"
            case exportT1Wh = "export_t1_wh", exportT2Wh = "export_t2_wh"
            case averagePowerW = "average_power_w", maxImportPowerW = "max_import_power_w"
            case maxExportPowerW = "max_export_power_w"
            case voltageMinV = "voltage_min_v", voltageMaxV = "voltage_max_v"
            case gasL = "gas_l", waterL = "water_l"
            case quarterHourDemandW = "quarter_hour_demand_w", monthPeakDemandW = "month_peak_demand_w"
            case monthPeakTime = "month_peak_time"
        }

        init(_ part: P1Interval) {
            importT1Wh = part.importTariff1Wh
            importT2Wh = part.importTariff2Wh
            exportT1Wh = part.exportTariff1Wh
            exportT2Wh = part.exportTariff2Wh
            averagePowerW = part.averagePowerW
            maxImportPowerW = part.maxImportPowerW
            maxExportPowerW = part.maxExportPowerW
            voltageMinV = part.voltageMinDecivolts.map { Double($0) / 10 }
            voltageMaxV = part.voltageMaxDecivolts.map { Double($0) / 10 }
            gasL = part.gasLitres
            waterL = part.waterLitres
            quarterHourDemandW = part.quarterHourDemandW
            monthPeakDemandW = part.monthPeakDemandW
            monthPeakTime = part.monthPeakTime == 0 ? nil : part.monthPeakTime
        }
    }

    public struct ADEPart: Codable, Equatable, Sendable {
        public var importWh: [Int64]
        public var exportWh: [Int64]
        public var averagePowerW: Int64
        public var maxPowerW: Int64
        public var voltageMinV: Double?
        public var voltageMaxV: Double?
        public var quarterHourDemandW: Int64
        public var monthPeakDemandW: Int64
        public var monthPeakTime: Int64?

        enum CodingKeys: String, CodingKey {
            case importWh = "import_wh", exportWh = "export_wh"
            case averagePowerW = "average_power_w", maxPowerW = "max_power_w"
            case voltageMinV = "voltage_min_v", voltageMaxV = "voltage_max_v"
            case quarterHourDemandW = "quarter_hour_demand_w", monthPeakDemandW = "month_peak_demand_w"
            case monthPeakTime = "month_peak_time"
        }

        init(_ part: ADE9000Interval) {
            importWh = [part.phaseA.importWh, part.phaseB.importWh, part.phaseC.importWh]
            exportWh = [part.phaseA.exportWh, part.phaseB.exportWh, part.phaseC.exportWh]
            averagePowerW = part.averagePowerW
            maxPowerW = part.maxPowerW
            voltageMinV = part.voltageMinDecivolts.map { Double($0) / 10 }
            voltageMaxV = part.voltageMaxDecivolts.map { Double($0) / 10 }
            quarterHourDemandW = part.quarterHourDemandW
            monthPeakDemandW = part.monthPeakDemandW
            monthPeakTime = part.monthPeakTime == 0 ? nil : part.monthPeakTime
        }
    }

    /// A live reading (`type` = `p1` or `ade9000`).
    public struct Live: Codable, Equatable, Sendable {
        public var type: String
        public var device: String
        public var time: Double
        public var timeUTC: String
        public var powerW: Double
        public var importWh: Double?
        public var exportWh: Double?
        public var importT1Wh: Int64?
        public var importT2Wh: Int64?
        public var exportT1Wh: Int64?
        public var exportT2Wh: Int64?
        public var phasePowerW: [Double]?
        public var voltageV: [Double]
        public var currentA: [Double]?
        public var gasL: Int64?
        public var waterL: Int64?
        public var quarterHourDemandW: Int64
        public var monthPeakDemandW: Int64

        enum CodingKeys: String, CodingKey {
            case type, device, time
            case timeUTC = "time_utc", powerW = "power_w", importWh = "import_wh", exportWh = "export_wh"
            case importT1Wh = "import_t1_wh", importT2Wh = "import_t2_wh"
            case exportT1Wh = "export_t1_wh", exportT2Wh = "export_t2_wh"
            case phasePowerW = "phase_power_w", voltageV = "voltage_v", currentA = "current_a"
            case gasL = "gas_l", waterL = "water_l"
            case quarterHourDemandW = "quarter_hour_demand_w", monthPeakDemandW = "month_peak_demand_w"
        }

        public init(_ reading: LiveReading, device: String) {
            self.device = device
            switch reading {
            case .p1(let sample, let demand):
                type = "p1"
                time = Double(sample.time) / 1000
                powerW = Double(sample.powerImportW - sample.powerExportW)
                importWh = Double(sample.totalImportWh)
                exportWh = Double(sample.totalExportWh)
                importT1Wh = sample.importWh.tariff1
                importT2Wh = sample.importWh.tariff2
                exportT1Wh = sample.exportWh.tariff1
                exportT2Wh = sample.exportWh.tariff2
                voltageV = sample.voltagesDecivolts.map { Double($0) / 10 }
                gasL = sample.gasLitres
                waterL = sample.waterLitres
                quarterHourDemandW = demand.quarterHourDemandW
                monthPeakDemandW = demand.monthPeakDemandW
            case .ade9000(let sample, let demand):
                type = "ade9000"
                time = Double(sample.time) / 1000
                powerW = (sample.totalPowerW * 10).rounded() / 10
                importWh = (sample.totalImportWh * 1000).rounded() / 1000
                exportWh = (sample.exportWh.reduce(0, +) * 1000).rounded() / 1000
                phasePowerW = sample.powerW.map { ($0 * 10).rounded() / 10 }
                voltageV = sample.voltageV.map { ($0 * 10).rounded() / 10 }
                currentA = sample.currentA.map { ($0 * 1000).rounded() / 1000 }
                quarterHourDemandW = demand.quarterHourDemandW
                monthPeakDemandW = demand.monthPeakDemandW
            }
            timeUTC = Payloads.iso8601(Int64(time.rounded(.down)))
        }
    }
}
