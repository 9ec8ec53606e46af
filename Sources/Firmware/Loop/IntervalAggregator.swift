import CivilTime

/// Turns samples into interval records aligned to the wall clock (default 60 s: hh:mm:00–hh:mm+1:00).
///
/// Energy deltas are differences of absolute registers taken at the last sample of each interval, so the deltas of
/// consecutive records add up exactly to the register difference over the run, whatever samples are lost.
/// An interval without samples is still closed (flagged `.gap`, zero deltas); its energy shows up in the next
/// interval that has a sample. A register that goes backwards, or a reading of 0 after non-zero readings
/// (a glitch), is ignored and counted instead of producing a negative or huge delta.
public struct IntervalAggregator: Sendable {
    /// Interval length, seconds.
    public let length: Int64
    public let localTime: LocalTime
    /// The interval being filled: `[start, start + length)`, Unix seconds; `nil` before the first sample.
    public private(set) var currentStart: Int64?
    /// Samples refused as implausible (register going backwards, zero glitches).
    public private(set) var rejectedSamples = 0

    private var p1 = P1Accumulator()
    private var ade = ADEAccumulator()
    private var p1Demand: DemandTracker
    private var adeDemand: DemandTracker
    private var pendingFlags: IntervalRecord.Flags = []

    public init(length: Int64 = 60, localTime: LocalTime = .centralEurope) {
        self.length = max(1, length)
        self.localTime = localTime
        p1Demand = DemandTracker(localTime: localTime)
        adeDemand = DemandTracker(localTime: localTime)
    }

    /// Marks the current interval (e.g. a CRC error or a bus error happened in it).
    public mutating func flag(_ flags: IntervalRecord.Flags) { pendingFlags.formUnion(flags) }

    /// The running capacity-tariff view computed from the ADE9000's import energy.
    public var adeDemandView: DemandTracker { adeDemand }
    public var p1DemandView: DemandTracker { p1Demand }

    /// Closes every interval that ends at or before `time` (Unix milliseconds); returns them oldest first.
    public mutating func advance(to time: Int64) -> [IntervalRecord] {
        let seconds = DemandTracker.seconds(time)
        guard var start = currentStart else {
            currentStart = floor(seconds)
            // Started mid-interval: the first record does not cover its whole interval.
            if time > floor(seconds) * 1000 { pendingFlags.insert(.gap) }
            return []
        }
        var closed: [IntervalRecord] = []
        while start + length <= seconds {
            closed.append(close(start: start, end: start + length))
            start += length
        }
        currentStart = start
        return closed
    }

    /// Adds a P1 telegram; returns the intervals it closed (those ending at or before its time) and whether the
    /// sample was taken (`false`: its registers went backwards or dropped to zero against the last accepted one).
    @discardableResult
    public mutating func add(_ sample: P1Sample) -> (closed: [IntervalRecord], accepted: Bool) {
        let closed = advance(to: sample.time)
        guard p1.accept(sample) else {
            rejectedSamples += 1
            pendingFlags.insert(.sourceError)
            return (closed, false)
        }
        p1Demand.add(time: sample.time, importWh: Double(sample.totalImportWh))
        return (closed, true)
    }

    /// Adds an ADE9000 snapshot; returns the intervals it closed and whether the sample was taken.
    @discardableResult
    public mutating func add(_ sample: ADESample) -> (closed: [IntervalRecord], accepted: Bool) {
        let closed = advance(to: sample.time)
        guard ade.accept(sample) else {
            rejectedSamples += 1
            pendingFlags.insert(.sourceError)
            return (closed, false)
        }
        adeDemand.add(time: sample.time, importWh: Double(sample.totalImportMilliwattHours) / 1000)
        return (closed, true)
    }

    private func floor(_ seconds: Int64) -> Int64 {
        seconds >= 0 ? seconds - seconds % length : seconds - ((seconds % length) + length) % length
    }

    private mutating func close(start: Int64, end: Int64) -> IntervalRecord {
        var record = IntervalRecord(start: start, end: end, flags: pendingFlags)
        pendingFlags = []
        let endMs = end * 1000
        if p1.hasBaseline {
            var part = p1.close(at: endMs, intervalStart: start * 1000)
            if part.samples == 0 { record.flags.insert(.gap) }
            if part.interval.quarterHourDemandW == 0 && !p1.meterReportsDemand {
                part.interval.quarterHourDemandW = p1Demand.runningDemandW
                part.interval.monthPeakDemandW = p1Demand.monthPeakW
                part.interval.monthPeakTime = p1Demand.monthPeakTime
            }
            record.p1 = part.interval
        }
        if ade.hasBaseline {
            let part = ade.close(at: endMs, intervalStart: start * 1000)
            if part.samples == 0 { record.flags.insert(.gap) }
            var interval = part.interval
            interval.quarterHourDemandW = adeDemand.runningDemandW
            interval.monthPeakDemandW = adeDemand.monthPeakW
            interval.monthPeakTime = adeDemand.monthPeakTime
            record.ade9000 = interval
        }
        return record.withLevelsClamped()
    }
}

/// Time-weighted integral of a held value: each sample's value holds until the next one.
struct HeldAverage: Sendable {
    private var value: Double?
    private var since: Int64 = 0
    private var integral: Double = 0
    private var covered: Int64 = 0

    mutating func add(_ newValue: Double, at time: Int64) {
        if let value, time > since {
            integral += value * Double(time - since)
            covered += time - since
        }
        value = newValue
        since = time
    }

    /// The average over what was covered up to `end`, then restarts from `end` with the held value.
    mutating func close(at end: Int64) -> Double {
        if let value, end > since {
            integral += value * Double(end - since)
            covered += end - since
            since = end
        }
        let average = covered > 0 ? integral / Double(covered) : (value ?? 0)
        integral = 0
        covered = 0
        return average
    }
}

struct P1Accumulator: Sendable {
    private var baseline: P1Sample?
    private var latest: P1Sample?
    private var power = HeldAverage()
    private var maxImport: Int64 = 0
    private var maxExport: Int64 = 0
    private var vmin: Int64?
    private var vmax: Int64?
    private var samples = 0
    private(set) var meterReportsDemand = false

    var hasBaseline: Bool { baseline != nil }

    /// Takes `sample` unless it is implausible against the last accepted one.
    mutating func accept(_ sample: P1Sample) -> Bool {
        if let last = latest ?? baseline {
            let backwards =
                sample.importWh.tariff1 < last.importWh.tariff1
                || sample.importWh.tariff2 < last.importWh.tariff2 || sample.exportWh.tariff1 < last.exportWh.tariff1
                || sample.exportWh.tariff2 < last.exportWh.tariff2
                || (sample.gasLitres ?? .max) < (last.gasLitres ?? 0)
                || (sample.waterLitres ?? .max) < (last.waterLitres ?? 0)
            if backwards { return false }
        } else if sample.totalImportWh == 0 && sample.totalExportWh == 0 {
            return false  // a first reading of all zeros is a glitch, not a baseline
        }
        if baseline == nil {
            baseline = sample
        }
        latest = sample
        samples += 1
        meterReportsDemand = sample.quarterHourDemandW != nil
        power.add(Double(sample.powerImportW - sample.powerExportW), at: sample.time)
        maxImport = max(maxImport, sample.powerImportW)
        maxExport = max(maxExport, sample.powerExportW)
        for volts in sample.voltagesDecivolts where volts > 0 {
            vmin = min(vmin ?? volts, volts)
            vmax = max(vmax ?? volts, volts)
        }
        return true
    }

    mutating func close(at end: Int64, intervalStart: Int64) -> (interval: P1Interval, samples: Int) {
        guard let base = baseline else { return (P1Interval(), 0) }
        let now = latest ?? base
        func delta(_ a: Int64?, _ b: Int64?) -> Int64 { max(0, (a ?? 0) - (b ?? a ?? 0)) }
        let interval = P1Interval(
            importTariff1Wh: now.importWh.tariff1 - base.importWh.tariff1,
            importTariff2Wh: now.importWh.tariff2 - base.importWh.tariff2,
            exportTariff1Wh: now.exportWh.tariff1 - base.exportWh.tariff1,
            exportTariff2Wh: now.exportWh.tariff2 - base.exportWh.tariff2,
            averagePowerW: Int64(power.close(at: end).rounded()),
            maxImportPowerW: maxImport, maxExportPowerW: maxExport,
            voltageMinDecivolts: vmin, voltageMaxDecivolts: vmax,
            gasLitres: delta(now.gasLitres, base.gasLitres), waterLitres: delta(now.waterLitres, base.waterLitres),
            quarterHourDemandW: now.quarterHourDemandW ?? 0, monthPeakDemandW: now.monthPeakDemandW ?? 0,
            monthPeakTime: now.monthPeakTime ?? 0)
        let count = samples
        baseline = now
        latest = nil
        samples = 0
        maxImport = 0
        maxExport = 0
        vmin = nil
        vmax = nil
        return (interval, count)
    }
}

struct ADEAccumulator: Sendable {
    /// Whole Wh already attributed to closed intervals, per phase: the register (mWh) at the last close, floored.
    private var attributedImport: [Int64]?
    private var attributedExport: [Int64] = [0, 0, 0]
    private var latest: ADESample?
    private var power = HeldAverage()
    private var maxPower: Double?
    private var vmin: Double?
    private var vmax: Double?
    private var samples = 0

    var hasBaseline: Bool { attributedImport != nil }

    mutating func accept(_ sample: ADESample) -> Bool {
        guard sample.importMilliwattHours.count == 3, sample.exportMilliwattHours.count == 3,
            sample.importMilliwattHours.allSatisfy({ $0 >= 0 }), sample.exportMilliwattHours.allSatisfy({ $0 >= 0 }),
            // Levels are averaged and rounded to integers later: a NaN or an absurd value must not get there.
            sample.powerW.allSatisfy({ $0.isFinite && abs($0) < 1e9 }),
            sample.voltageV.allSatisfy({ $0.isFinite && abs($0) < 1e6 })
        else { return false }
        if let last = latest {
            for phase in 0..<3
            where sample.importMilliwattHours[phase] < last.importMilliwattHours[phase]
                || sample.exportMilliwattHours[phase] < last.exportMilliwattHours[phase]
            {
                return false
            }
        }
        if attributedImport == nil {
            attributedImport = sample.importMilliwattHours.map { $0 / 1000 }
            attributedExport = sample.exportMilliwattHours.map { $0 / 1000 }
        }
        latest = sample
        samples += 1
        let total = sample.totalPowerW
        power.add(total, at: sample.time)
        maxPower = max(maxPower ?? total, total)
        for volts in sample.voltageV where volts > 1 {
            vmin = min(vmin ?? volts, volts)
            vmax = max(vmax ?? volts, volts)
        }
        return true
    }

    mutating func close(at end: Int64, intervalStart: Int64) -> (interval: ADE9000Interval, samples: Int) {
        guard var imported = attributedImport else { return (ADE9000Interval(), 0) }
        var phases: [PhaseEnergy] = []
        for phase in 0..<3 {
            let nowImport = latest.map { $0.importMilliwattHours[phase] / 1000 } ?? imported[phase]
            let nowExport = latest.map { $0.exportMilliwattHours[phase] / 1000 } ?? attributedExport[phase]
            phases.append(
                PhaseEnergy(importWh: nowImport - imported[phase], exportWh: nowExport - attributedExport[phase]))
            imported[phase] = nowImport
            attributedExport[phase] = nowExport
        }
        attributedImport = imported
        let interval = ADE9000Interval(
            phaseA: phases[0], phaseB: phases[1], phaseC: phases[2],
            averagePowerW: Int64(power.close(at: end).rounded()), maxPowerW: Int64((maxPower ?? 0).rounded()),
            voltageMinDecivolts: vmin.map { Int64(($0 * 10).rounded()) },
            voltageMaxDecivolts: vmax.map { Int64(($0 * 10).rounded()) })
        let count = samples
        samples = 0
        maxPower = nil
        vmin = nil
        vmax = nil
        return (interval, count)
    }
}
