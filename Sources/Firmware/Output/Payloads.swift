import CivilTime

/// The one payload schema of emeter: the JSON of an interval record, a live reading, a health report and a parsed
/// telegram, written once here with ``JSONWriter``. stdout JSON Lines, MQTT, HTTP JSON and `emeter p1 parse` send
/// these bytes as they are; Orion and ThingSpeak map from them. So every sink says the same thing with the same
/// keys and values.
///
/// Units: energies integer Wh, powers integer W, gas and water integer litres, voltages V with one decimal,
/// currents A with three, times Unix seconds (`time` of a live reading with milliseconds) plus ISO-8601 UTC strings
/// (`…_utc`). A value the meter did not send is `null`; the keys of a payload type are always the same.
/// Records carry `start`/`end` and the sequence range so a backend can de-duplicate re-sent records.
public enum Payloads {
    /// `2025-03-30T01:59:59Z`.
    public static func iso8601(_ unixSeconds: Int64) -> String {
        CivilTime.iso8601(unixSeconds: unixSeconds)
    }

    // MARK: interval record

    /// A closed interval record: `{"type":"interval","device":…,"start":…,"end":…,"start_utc":…,"end_utc":…,
    /// "sequence":[first,last],"flags":[…],"p1":{…},"ade9000":{…}}` (`p1`/`ade9000` only for the meters fitted).
    public static func record(_ record: IntervalRecord, device: String) -> [UInt8] {
        var json = JSONWriter(capacity: 512)
        json.objectStart()
        json.key("type")
        json.string("interval")
        json.key("device")
        json.string(device)
        json.key("start")
        json.int(record.start)
        json.key("end")
        json.int(record.end)
        json.key("start_utc")
        json.time(record.start)
        json.key("end_utc")
        json.time(record.end)
        json.key("sequence")
        json.arrayStart()
        json.int(Int64(record.firstSequence))
        json.int(Int64(record.lastSequence))
        json.arrayEnd()
        json.key("flags")
        json.arrayStart()
        for (flag, name) in flagNames where record.flags.contains(flag) { json.string(name) }
        json.arrayEnd()
        if let p1 = record.p1 {
            json.key("p1")
            json.objectStart()
            json.key("import_t1_wh")
            json.int(p1.importTariff1Wh)
            json.key("import_t2_wh")
            json.int(p1.importTariff2Wh)
            json.key("export_t1_wh")
            json.int(p1.exportTariff1Wh)
            json.key("export_t2_wh")
            json.int(p1.exportTariff2Wh)
            json.key("average_power_w")
            json.int(p1.averagePowerW)
            json.key("max_import_power_w")
            json.int(p1.maxImportPowerW)
            json.key("max_export_power_w")
            json.int(p1.maxExportPowerW)
            json.key("voltage_min_v")
            json.fixed(p1.voltageMinDecivolts, decimals: 1)
            json.key("voltage_max_v")
            json.fixed(p1.voltageMaxDecivolts, decimals: 1)
            json.key("gas_l")
            json.int(p1.gasLitres)
            json.key("water_l")
            json.int(p1.waterLitres)
            demand(p1.quarterHourDemandW, p1.monthPeakDemandW, p1.monthPeakTime, into: &json)
            json.objectEnd()
        }
        if let ade = record.ade9000 {
            let phases = [ade.phaseA, ade.phaseB, ade.phaseC]
            json.key("ade9000")
            json.objectStart()
            json.key("import_wh")
            json.arrayStart()
            for phase in phases { json.int(phase.importWh) }
            json.arrayEnd()
            json.key("export_wh")
            json.arrayStart()
            for phase in phases { json.int(phase.exportWh) }
            json.arrayEnd()
            json.key("average_power_w")
            json.int(ade.averagePowerW)
            json.key("max_power_w")
            json.int(ade.maxPowerW)
            json.key("voltage_min_v")
            json.fixed(ade.voltageMinDecivolts, decimals: 1)
            json.key("voltage_max_v")
            json.fixed(ade.voltageMaxDecivolts, decimals: 1)
            demand(ade.quarterHourDemandW, ade.monthPeakDemandW, ade.monthPeakTime, into: &json)
            json.objectEnd()
        }
        json.objectEnd()
        return json.bytes
    }

    /// Flag names in the order they are written.
    static let flagNames: [(IntervalRecord.Flags, String)] = [
        (.merged, "merged"), (.gap, "gap"), (.sourceError, "source_error"), (.clockStep, "clock_step"),
    ]

    private static func demand(_ quarterHour: Int64, _ monthPeak: Int64, _ peakTime: Int64, into json: inout JSONWriter)
    {
        json.key("quarter_hour_demand_w")
        json.int(quarterHour)
        json.key("month_peak_demand_w")
        json.int(monthPeak)
        json.key("month_peak_time")
        json.int(peakTime == 0 ? nil : peakTime)
    }

    // MARK: live readings

    /// A live reading: `{"type":"p1"|"ade9000","device":…,"time":<Unix s.ms>,"time_utc":…, <reading>}` where the
    /// P1 reading is ``p1Reading(_:demand:into:)`` and the ADE9000 one ``adeReading(_:demand:into:)``.
    public static func live(_ reading: LiveReading, device: String) -> [UInt8] {
        var json = JSONWriter(capacity: 768)
        json.objectStart()
        json.key("type")
        switch reading {
        case .p1(let sample, let demand):
            json.string("p1")
            envelope(device: device, time: sample.time, into: &json)
            p1Reading(sample, demand: demand, into: &json)
        case .ade9000(let sample, let demand):
            json.string("ade9000")
            envelope(device: device, time: sample.time, into: &json)
            adeReading(sample, demand: demand, into: &json)
        }
        json.objectEnd()
        return json.bytes
    }

    private static func envelope(device: String, time: Int64, into json: inout JSONWriter) {
        json.key("device")
        json.string(device)
        json.key("time")
        json.fixed(time, decimals: 3)
        json.key("time_utc")
        json.time(CivilTime.floorDiv(time, 1000))
    }

    /// The members of a P1 reading (inside an open object): registers, levels, demand, identity, M-Bus devices.
    public static func p1Reading(_ sample: P1Sample, demand: DemandView, into json: inout JSONWriter) {
        let details = sample.details
        json.key("power_w")
        json.int(sample.powerImportW - sample.powerExportW)
        json.key("power_import_w")
        json.int(sample.powerImportW)
        json.key("power_export_w")
        json.int(sample.powerExportW)
        func register(_ key: StaticString, _ value: Int64) {
            json.key(key)
            json.int(sample.metersEnergy ? value : nil)
        }
        register("import_wh", sample.totalImportWh)
        register("export_wh", sample.totalExportWh)
        register("import_t1_wh", sample.importWh.tariff1)
        register("import_t2_wh", sample.importWh.tariff2)
        register("export_t1_wh", sample.exportWh.tariff1)
        register("export_t2_wh", sample.exportWh.tariff2)
        json.key("voltage_v")
        array(sample.voltagesDecivolts, decimals: 1, into: &json)
        json.key("current_a")
        array(details.currentsMilliamps, decimals: 3, into: &json)
        json.key("phase_power_import_w")
        array(details.phasePowerImportW, decimals: 0, into: &json)
        json.key("phase_power_export_w")
        array(details.phasePowerExportW, decimals: 0, into: &json)
        json.key("gas_l")
        json.int(sample.gasLitres)
        json.key("gas_time_utc")
        json.time(details.gasTime)
        json.key("water_l")
        json.int(sample.waterLitres)
        json.key("water_time_utc")
        json.time(details.waterTime)
        json.key("quarter_hour_demand_w")
        json.int(demand.quarterHourDemandW)
        json.key("month_peak_demand_w")
        json.int(demand.monthPeakDemandW)
        json.key("month_peak_time_utc")
        json.time(demand.monthPeakTime == 0 ? nil : demand.monthPeakTime)
        json.key("tariff")
        json.int(details.tariff.map(Int64.init))
        json.key("tariff_name")
        json.string(details.tariffName)
        json.key("meter_time_utc")
        json.time(details.meterTime)
        json.key("equipment_id")
        json.string(details.equipmentID)
        json.key("country")
        json.string(details.country)
        json.key("p1_version")
        json.string(details.p1Version)
        json.key("power_failures")
        json.int(details.powerFailures.map(Int64.init))
        json.key("long_power_failures")
        json.int(details.longPowerFailures.map(Int64.init))
        json.key("mbus")
        json.arrayStart()
        for device in details.mbus {
            json.objectStart()
            json.key("channel")
            json.int(device.channel)
            json.key("medium")
            json.string(device.medium)
            json.key("identifier")
            json.string(device.identifier)
            json.key("value")
            json.fixed(device.valueMilli, decimals: 3)
            json.key("unit")
            json.string(device.unit)
            json.key("capture_time_utc")
            json.time(device.captureTime)
            json.objectEnd()
        }
        json.arrayEnd()
    }

    /// The members of an ADE9000 reading (inside an open object): totals, per-phase levels and demand.
    public static func adeReading(_ sample: ADESample, demand: DemandView, into json: inout JSONWriter) {
        json.key("power_w")
        json.fixed(scaled(sample.totalPowerW, 10), decimals: 1)
        json.key("import_wh")
        json.fixed(sample.totalImportMilliwattHours, decimals: 3)
        json.key("export_wh")
        json.fixed(sample.totalExportMilliwattHours, decimals: 3)
        json.key("phase_power_w")
        doubles(sample.powerW, scale: 10, decimals: 1, into: &json)
        json.key("voltage_v")
        doubles(sample.voltageV, scale: 10, decimals: 1, into: &json)
        json.key("current_a")
        doubles(sample.currentA, scale: 1000, decimals: 3, into: &json)
        json.key("quarter_hour_demand_w")
        json.int(demand.quarterHourDemandW)
        json.key("month_peak_demand_w")
        json.int(demand.monthPeakDemandW)
        json.key("month_peak_time_utc")
        json.time(demand.monthPeakTime == 0 ? nil : demand.monthPeakTime)
    }

    /// `value × factor` rounded, or `nil` (written as `null`) when not finite or beyond ±2⁵³.
    static func scaled(_ value: Double, _ factor: Double) -> Int64? {
        let product = (value * factor).rounded()
        guard product.isFinite, abs(product) <= 9_007_199_254_740_992 else { return nil }
        return Int64(product)
    }

    private static func array(_ values: [Int64], decimals: Int, into json: inout JSONWriter) {
        json.arrayStart()
        for value in values { json.fixed(value, decimals: decimals) }
        json.arrayEnd()
    }

    private static func doubles(_ values: [Double], scale: Double, decimals: Int, into json: inout JSONWriter) {
        json.arrayStart()
        for value in values { json.fixed(scaled(value, scale), decimals: decimals) }
        json.arrayEnd()
    }

    // MARK: health

    /// `{"type":"health","device":…, <every counter>}`; rejection reasons by their closed-set names.
    public static func health(_ health: Health, device: String) -> [UInt8] {
        var json = JSONWriter(capacity: 768)
        json.objectStart()
        json.key("type")
        json.string("health")
        json.key("device")
        json.string(device)
        let counters: [(StaticString, Int)] = [
            ("telegrams_accepted", health.telegramsAccepted), ("telegrams_rejected", health.telegramsRejected),
            ("ade_samples", health.adeSamples), ("ade_errors", health.adeErrors),
            ("spi_crc_errors", health.spiCRCErrors), ("chip_resets", health.chipResets),
            ("deadlines_missed", health.deadlinesMissed), ("ticks", health.ticks),
            ("samples_rejected", health.samplesRejected), ("records_closed", health.recordsClosed),
            ("ring_bytes_used", health.ringBytesUsed), ("ring_records", health.ringRecords),
            ("records_merged", health.recordsMerged), ("storage_bytes_written", health.storageBytesWritten),
        ]
        for (name, value) in counters {
            json.key(name)
            json.int(value)
        }
        json.key("rejection_reasons")
        json.objectStart()
        for reason in health.rejectionReasons.keys.sorted() {
            json.key(reason)
            json.int(health.rejectionReasons[reason] ?? 0)
        }
        json.objectEnd()
        json.key("max_lateness_us")
        json.int(health.maxLatenessMicros)
        json.key("lateness_p50_us")
        json.int(health.latenessPercentile(0.5))
        json.key("lateness_p99_us")
        json.int(health.latenessPercentile(0.99))
        json.key("lateness_histogram")
        json.arrayStart()
        for count in health.latenessHistogram { json.int(count) }
        json.arrayEnd()
        json.objectEnd()
        return json.bytes
    }
}
