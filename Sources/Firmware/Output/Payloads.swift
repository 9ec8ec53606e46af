import CivilTime

/// The one payload schema of emeter: the JSON of an interval record, a live reading, a health report and a parsed
/// telegram, written once here with ``JSONWriter``. stdout JSON Lines, MQTT, HTTP JSON and `emeter p1 parse` send
/// these bytes as they are; Orion and ThingSpeak map from them. So every sink says the same thing with the same
/// keys and values.
///
/// Units: energies integer Wh, powers integer W, gas and water integer litres, voltages V with one decimal,
/// currents A with three, times Unix seconds (`time` of a live reading with milliseconds) plus ISO-8601 UTC strings
/// (`…_utc`). A value the meter did not send is `null`; the keys of a payload type are always the same.
/// Records carry `id` (``IntervalRecord/id``: storage epoch and sequence range), THE key a backend de-duplicates
/// re-sent records by: it is the same when a record is sent again and differs across RAM-ring restarts.
public enum Payloads {
    /// `2025-03-30T01:59:59Z`.
    public static func iso8601(_ unixSeconds: Int64) -> String {
        CivilTime.iso8601(unixSeconds: unixSeconds)
    }

    // MARK: interval record

    /// A closed interval record: `{"type":"interval","device":…,"start":…,"end":…,"start_utc":…,"end_utc":…,
    /// "id":"<epoch>-<first>-<last>","sequence":[first,last],"flags":[…],"p1":{…},"ade9000":{…}}` (`p1`/`ade9000` only
    /// for the meters fitted). `id` is the de-duplication key (``IntervalRecord/id``).
    /// Flags: `merged`, `gap` (samples missing), `source_error`, `clock_step`, `level_clamped` (an impossible
    /// voltage, power or demand was clamped; the energies are as measured), `restart` (the first record after a
    /// restart: it spans the downtime), `partial` (closed early at a stop).
    public static func record(_ record: IntervalRecord, device: String) -> [UInt8] {
        var json = JSONWriter(capacity: 512)
        json.objectStart()
        json.field("type", "interval")
        json.field("device", device)
        json.field("start", record.start.seconds)
        json.field("end", record.end.seconds)
        json.field("start_utc", time: record.start)
        json.field("end_utc", time: record.end)
        json.field("id", record.id)
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
            json.field("import_t1_wh", p1.importTariff1Wh)
            json.field("import_t2_wh", p1.importTariff2Wh)
            json.field("export_t1_wh", p1.exportTariff1Wh)
            json.field("export_t2_wh", p1.exportTariff2Wh)
            json.field("average_power_w", p1.averagePowerW)
            json.field("max_import_power_w", p1.maxImportPowerW)
            json.field("max_export_power_w", p1.maxExportPowerW)
            json.field("voltage_min_v", fixed: p1.voltageMinDecivolts, decimals: 1)
            json.field("voltage_max_v", fixed: p1.voltageMaxDecivolts, decimals: 1)
            json.field("gas_l", p1.gasLitres)
            json.field("gas_time_utc", time: p1.gasTime)
            json.field("water_l", p1.waterLitres)
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
            json.field("average_power_w", ade.averagePowerW)
            json.field("max_power_w", ade.maxPowerW)
            json.field("voltage_min_v", fixed: ade.voltageMinDecivolts, decimals: 1)
            json.field("voltage_max_v", fixed: ade.voltageMaxDecivolts, decimals: 1)
            demand(ade.quarterHourDemandW, ade.monthPeakDemandW, ade.monthPeakTime, into: &json)
            json.objectEnd()
        }
        json.objectEnd()
        return json.bytes
    }

    /// Flag names in the order they are written.
    static let flagNames: [(IntervalRecord.Flags, String)] = [
        (.merged, "merged"), (.gap, "gap"), (.sourceError, "source_error"), (.clockStep, "clock_step"),
        (.levelClamped, "level_clamped"), (.restart, "restart"), (.partial, "partial"),
    ]

    private static func demand(
        _ quarterHour: Int64, _ monthPeak: Int64, _ peakTime: UnixTime?, into json: inout JSONWriter
    ) {
        json.field("quarter_hour_demand_w", quarterHour)
        json.field("month_peak_demand_w", monthPeak)
        json.field("month_peak_time", peakTime?.seconds)
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

    private static func envelope(device: String, time: UnixTime, into json: inout JSONWriter) {
        json.field("device", device)
        json.field("time", fixed: time.milliseconds, decimals: 3)
        json.field("time_utc", time: time)
    }

    /// The members of a P1 reading (inside an open object): registers, levels, demand, identity, M-Bus devices.
    public static func p1Reading(_ sample: P1Sample, demand: DemandView, into json: inout JSONWriter) {
        let details = sample.details
        json.field("power_w", sample.powerImportW - sample.powerExportW)
        json.field("power_import_w", sample.powerImportW)
        json.field("power_export_w", sample.powerExportW)
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
        json.field("gas_l", sample.gasLitres)
        json.field("gas_time_utc", time: details.gasTime)
        json.field("water_l", sample.waterLitres)
        json.field("water_time_utc", time: details.waterTime)
        json.field("quarter_hour_demand_w", demand.quarterHourDemandW)
        json.field("month_peak_demand_w", demand.monthPeakDemandW)
        json.field("month_peak_time_utc", time: demand.monthPeakTime)
        json.field("projected_quarter_hour_demand_w", demand.projectedQuarterHourDemandW)
        json.field("billed_peak_w", demand.billedPeakW)
        json.field("tariff", details.tariff.map(Int64.init))
        json.field("tariff_name", details.tariffName)
        json.field("meter_time_utc", time: details.meterTime)
        json.field("equipment_id", details.equipmentID)
        json.field("country", details.country)
        json.field("p1_version", details.p1Version)
        json.field("power_failures", details.powerFailures.map(Int64.init))
        json.field("long_power_failures", details.longPowerFailures.map(Int64.init))
        json.key("mbus")
        json.arrayStart()
        for device in details.mbus {
            json.objectStart()
            json.field("channel", device.channel)
            json.field("medium", device.medium)
            json.field("identifier", device.identifier)
            json.field("value", fixed: device.valueMilli, decimals: 3)
            json.field("unit", device.unit)
            json.field("capture_time_utc", time: device.captureTime)
            json.objectEnd()
        }
        json.arrayEnd()
    }

    /// The members of an ADE9000 reading (inside an open object): totals, per-phase levels (power, voltage, current,
    /// power factor, frequency), per-phase energies and demand.
    public static func adeReading(_ sample: ADESample, demand: DemandView, into json: inout JSONWriter) {
        json.field("power_w", fixed: scaled(sample.totalPowerW, 10), decimals: 1)
        json.field("import_wh", fixed: sample.totalImportMilliwattHours, decimals: 3)
        json.field("export_wh", fixed: sample.totalExportMilliwattHours, decimals: 3)
        json.key("phase_power_w")
        doubles(sample.powerW, scale: 10, decimals: 1, into: &json)
        json.key("voltage_v")
        doubles(sample.voltageV, scale: 10, decimals: 1, into: &json)
        json.key("current_a")
        doubles(sample.currentA, scale: 1000, decimals: 3, into: &json)
        json.key("power_factor")
        doubles(sample.powerFactor, scale: 1000, decimals: 3, into: &json)
        json.key("frequency_hz")
        doubles(sample.frequencyHz, scale: 100, decimals: 2, into: &json)
        json.key("phase_import_wh")
        array(sample.importMilliwattHours, decimals: 3, into: &json)
        json.key("phase_export_wh")
        array(sample.exportMilliwattHours, decimals: 3, into: &json)
        json.field("quarter_hour_demand_w", demand.quarterHourDemandW)
        json.field("month_peak_demand_w", demand.monthPeakDemandW)
        json.field("month_peak_time_utc", time: demand.monthPeakTime)
        json.field("projected_quarter_hour_demand_w", demand.projectedQuarterHourDemandW)
        json.field("billed_peak_w", demand.billedPeakW)
    }

    /// `value × factor` rounded, or `nil` (written as `null`) when not finite or beyond ±2⁵³.
    static func scaled(_ value: Double, _ factor: Double) -> Int64? {
        let product = (value * factor).rounded()
        guard product.isFinite, abs(product) <= 9_007_199_254_740_992 else { return nil }
        return Int64(product)
    }

    private static func array(_ values: some Collection<Int64>, decimals: Int, into json: inout JSONWriter) {
        json.arrayStart()
        for value in values { json.fixed(value, decimals: decimals) }
        json.arrayEnd()
    }

    private static func doubles(_ values: [Double], scale: Double, decimals: Int, into json: inout JSONWriter) {
        json.arrayStart()
        for value in values { json.fixed(scaled(value, scale), decimals: decimals) }
        json.arrayEnd()
    }

    // MARK: control

    /// An output switched (`"type":"switch"`) or a wanted switch refused by the switch budget
    /// (`"type":"switch_refused"`): `{"type":…,"device":…,"output":…,"on":…,"time":<Unix s>,"time_utc":…,"reason":…}`.
    public static func control(_ event: ControlEvent, device: String) -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        json.objectStart()
        let output: String
        let on: Bool
        let time: UnixTime
        let reason: String
        switch event {
        case .switched(let name, let state, let at, let why):
            json.field("type", "switch")
            (output, on, time, reason) = (name, state, at, why)
        case .suppressed(let name, let wanted, let at, let why):
            json.field("type", "switch_refused")
            (output, on, time, reason) = (name, wanted, at, why)
        }
        json.field("device", device)
        json.field("output", output)
        json.key("on")
        json.bool(on)
        json.field("time", time.seconds)
        json.field("time_utc", time: time)
        json.field("reason", reason)
        json.objectEnd()
        return json.bytes
    }

    /// An alert raised or cleared:
    /// `{"type":"alert","device":…,"alert":"p1_missing","active":true,"time":<Unix s>,"time_utc":…,"detail":…}`.
    public static func alert(_ event: AlertMonitor.Event, device: String) -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        json.objectStart()
        json.field("type", "alert")
        json.field("device", device)
        json.field("alert", event.kind.rawValue)
        json.key("active")
        json.bool(event.active)
        json.field("time", event.time.seconds)
        json.field("time_utc", time: event.time)
        json.field("detail", event.detail)
        json.objectEnd()
        return json.bytes
    }

    // MARK: health

    /// `{"type":"health","device":…, <every counter>}`; rejection reasons by their closed-set names.
    public static func health(_ health: Health, device: String) -> [UInt8] {
        var json = JSONWriter(capacity: 768)
        json.objectStart()
        json.field("type", "health")
        json.field("device", device)
        let counters: [(StaticString, Int)] = [
            ("telegrams_accepted", health.telegramsAccepted), ("telegrams_rejected", health.telegramsRejected),
            ("ade_samples", health.adeSamples), ("ade_errors", health.adeErrors),
            ("spi_crc_errors", health.spiCRCErrors), ("chip_resets", health.chipResets),
            ("deadlines_missed", health.deadlinesMissed), ("ticks", health.ticks),
            ("samples_rejected", health.samplesRejected), ("records_closed", health.recordsClosed),
            ("ring_bytes_used", health.ringBytesUsed), ("ring_records", health.ringRecords),
            ("records_merged", health.recordsMerged), ("storage_bytes_written", health.storageBytesWritten),
            ("peak_mismatches", health.peakMismatches), ("alerts_raised", health.alertsRaised),
            ("clock_steps", health.clockSteps), ("clock_skew_telegrams", health.clockSkewTelegrams),
            ("checkpoint_errors", health.checkpointErrors),
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
        json.field("max_lateness_us", health.maxLatenessMicros)
        json.field("lateness_p50_us", health.latenessPercentile(0.5))
        json.field("lateness_p99_us", health.latenessPercentile(0.99))
        json.key("lateness_histogram")
        json.arrayStart()
        for count in health.latenessHistogram { json.int(count) }
        json.arrayEnd()
        json.objectEnd()
        return json.bytes
    }
}
