import CivilTime

/// What the ADE9000's capacity-tariff demand is computed from.
public enum ADEDemandMode: String, Sendable, CaseIterable {
    /// Net across the phases, as meters (Fluvius) count it: energy imported by one phase while another exports
    /// (a single-phase PV inverter) cancels out. The default.
    case net
    /// The sum of the per-phase imports (what emeter did before 0.10; higher than the meter's with PV on one phase).
    case importSum = "import_sum"
}

/// Turns samples into interval records aligned to the wall clock (default 60 s: hh:mm:00–hh:mm+1:00).
///
/// Energy deltas are differences of absolute registers taken at the last sample of each interval, so the deltas of
/// consecutive records add up exactly to the register difference over the run, whatever samples are lost.
/// An interval without samples is still closed (flagged `.gap`, zero deltas); its energy shows up in the next
/// interval that has a sample. A register that goes backwards, or a reading of 0 after non-zero readings
/// (a glitch), is ignored and counted instead of producing a negative or huge delta.
///
/// **Restarts.** ``restore(from:p1Demand:adeDemand:)`` continues from a ``LoopCheckpoint``: the open interval starts
/// at the persisted point with the persisted P1 registers as baseline, and the first record (flagged
/// ``IntervalRecord/Flags/restart``) closes at the first new P1 reading (at the first reading of any kind when the
/// checkpoint has no P1 registers; at the latest one interval after the first event), so it spans the downtime
/// and holds its energy exactly. A P1 reading below the persisted registers (another meter, a replaced meter) is
/// not a negative delta: the baseline starts again from it and the record is flagged `gap`.
///
/// **Clock steps.** Events more than ``stepFactor`` intervals apart (a forward step of the wall clock, or the
/// process stopped) close *one* record spanning the jump, flagged ``IntervalRecord/Flags/clockStep`` (``.gap``
/// when the ticker reported a stall), not one empty record per missed interval. An event more than
/// ``backwardTolerance`` before the latest one (a backward step) closes the open record at the step, flagged
/// `clockStep`; time then stands still for the records until the clock is back at the step point, so records
/// never overlap and never end before they start: the record after the step spans from the step point to the next
/// boundary after the clock caught up, and holds all the energy in between. The capacity-tariff quarters around a
/// step are incomplete (``DemandTracker/clockStepped()``).
public struct IntervalAggregator: Sendable {
    /// Forward jumps of more than this many intervals between two events are clock steps (or stalls).
    public static let stepFactor: Int64 = 2
    /// Events up to this much older than the latest one are reordering between threads, not a step.
    public static let backwardTolerance: Duration = .seconds(2)

    /// Interval length, seconds.
    public let length: Int64
    public let localTime: LocalTime
    public let adeDemandMode: ADEDemandMode
    /// The interval being filled: from `currentStart` (a whole second) to the next multiple of `length`; `nil`
    /// before the first event. Aligned except after a restart, a partial close or a step.
    public private(set) var currentStart: UnixTime?
    /// Samples refused as implausible (register going backwards, zero glitches).
    public private(set) var rejectedSamples = 0
    /// Clock steps seen (forward and backward).
    public private(set) var clockSteps = 0
    /// P1 readings after a restart that were below the persisted registers (the baseline started again).
    public private(set) var baselinesReplaced = 0

    private var p1 = P1Accumulator()
    private var ade = ADEAccumulator()
    private var p1Demand: DemandTracker
    private var adeDemand: DemandTracker
    private var pendingFlags: IntervalRecord.Flags = []
    /// The latest event time seen.
    private var latestTime: UnixTime?
    /// The clock went back: events are older than `latestTime` until it catches up.
    private var holding = false
    /// A restart record is open (see the type's documentation).
    private var resume: Resume?
    /// Σ over samples of the positive net (import − export over the phases) ADE9000 energy, mWh.
    private var adeNetImport: Int64 = 0

    private struct Resume: Sendable {
        var waitingForP1: Bool
        var firstEvent: UnixTime?
    }

    public init(length: Int64 = 60, localTime: LocalTime = .centralEurope, adeDemandMode: ADEDemandMode = .net) {
        self.length = max(1, length)
        self.localTime = localTime
        self.adeDemandMode = adeDemandMode
        p1Demand = DemandTracker(localTime: localTime)
        adeDemand = DemandTracker(localTime: localTime)
    }

    /// Continues after a restart from `point` (see the type's documentation). Call before the first event.
    /// - Parameters:
    ///   - point: Where the last record before the stop ended, with the P1 registers there.
    ///   - p1Demand: The persisted capacity-tariff state of the P1 registers.
    ///   - adeDemand: The persisted capacity-tariff state of the ADE9000 (its quarter in progress becomes
    ///     incomplete: the ADE9000's energy restarts from zero).
    public mutating func restore(
        from point: LoopCheckpoint.Point, p1Demand: DemandTracker.State?, adeDemand: DemandTracker.State?
    ) {
        currentStart = point.time
        if let registers = point.p1 { p1 = P1Accumulator(resumingFrom: registers, at: point.time) }
        pendingFlags = [.restart]
        resume = Resume(waitingForP1: point.p1 != nil)
        if let p1Demand { self.p1Demand = DemandTracker(localTime: localTime, state: p1Demand) }
        if let adeDemand {
            self.adeDemand = DemandTracker(localTime: localTime, state: adeDemand)
            self.adeDemand.clockStepped()
        }
    }

    /// Where the open interval starts, with the P1 registers there: what a ``LoopCheckpoint`` stores.
    public var checkpointPoint: LoopCheckpoint.Point? {
        currentStart.map { LoopCheckpoint.Point(time: $0, p1: p1.baselineRegisters) }
    }

    /// Marks the current interval (e.g. a CRC error or a bus error happened in it).
    public mutating func flag(_ flags: IntervalRecord.Flags) { pendingFlags.formUnion(flags) }

    /// The running capacity-tariff view computed from the ADE9000's import energy.
    public var adeDemandView: DemandTracker { adeDemand }
    public var p1DemandView: DemandTracker { p1Demand }

    /// Closes every interval that ends at or before `time`; returns them oldest first.
    /// - Parameters:
    ///   - time: The event's wall time.
    ///   - stalled: The ticker reported missed deadlines with this event: a jump is the process stalling, not the
    ///     clock stepping.
    public mutating func advance(to time: UnixTime, stalled: Bool = false) -> [IntervalRecord] {
        guard let start = currentStart else {
            currentStart = floor(time)
            latestTime = time
            // Started mid-interval: the first record does not cover its whole interval.
            if time > floor(time) { pendingFlags.insert(.gap) }
            return []
        }
        if var pending = resume {
            let first = pending.firstEvent ?? time
            pending.firstEvent = first
            resume = pending
            latestTime = max(latestTime ?? time, time)
            if time < start {
                // The clock is behind the persisted point (a board without RTC booted with an old time).
                if !pendingFlags.contains(.clockStep) { clockSteps += 1 }
                pendingFlags.insert(.clockStep)
                return []
            }
            // Waiting for the first P1 reading, at most one interval from the first event.
            let deadline = max(first.floored(toMultipleOf: .seconds(1)), start) + period
            guard time >= deadline else { return [] }
            return [closeRestart(at: floor(time))]
        }
        let latest = latestTime ?? time
        if holding {
            if time >= latest { holding = false } else { return [] }
        } else if time < latest - Self.backwardTolerance {
            // Backward step: close the open record at the step point; hold until the clock is back there.
            clockSteps += 1
            holding = true
            p1Demand.clockStepped()
            adeDemand.clockStepped()
            let stepPoint = latest.floored(toMultipleOf: .seconds(1))
            pendingFlags.insert(.clockStep)
            guard stepPoint > start else { return [] }
            let record = close(start: start, end: stepPoint)
            currentStart = stepPoint
            pendingFlags.insert(.clockStep)
            return [record]
        } else if time - latest > period * Self.stepFactor {
            // Forward step (or a stall): one record spans it.
            latestTime = time
            let boundary = floor(time)
            if stalled {
                pendingFlags.insert(.gap)
            } else {
                clockSteps += 1
                pendingFlags.insert(.clockStep)
                p1Demand.clockStepped()
                adeDemand.clockStepped()
            }
            guard boundary > start else { return [] }
            currentStart = boundary
            return [close(start: start, end: boundary)]
        }
        latestTime = max(latest, time)
        var closed: [IntervalRecord] = []
        var open = start
        while floor(open) + period <= time {
            let end = floor(open) + period
            closed.append(close(start: open, end: end))
            open = end
        }
        currentStart = open
        return closed
    }

    /// Closes the open interval at `time` although it is not over, flagged
    /// ``IntervalRecord/Flags/partial``: emeter is stopping. Returns the intervals closed (none when nothing is
    /// open or `time` is not after its start, unless the clock is behind after a step: then the record ends where
    /// it starts, so no energy waits for the clock to catch up).
    public mutating func closeOpenInterval(at time: UnixTime) -> [IntervalRecord] {
        var closed = advance(to: time)
        guard let start = currentStart else { return closed }
        // While the clock is behind the step point (or behind the checkpoint after a restart) the record closes
        // at its own start: zero length, flagged `clockStep`, holding the energy; its time is not known.
        let behind = holding || pendingFlags.contains(.clockStep)
        let end = max(start, time.floored(toMultipleOf: .seconds(1)))
        guard end > start || behind else { return closed }
        pendingFlags.insert(.partial)
        closed.append(close(start: start, end: end))
        currentStart = end
        resume = nil
        return closed
    }

    /// Adds a P1 telegram; returns the intervals it closed (those ending at or before its time) and whether the
    /// sample was taken (`false`: its registers went backwards or dropped to zero against the last accepted one).
    @discardableResult
    public mutating func add(_ sample: P1Sample) -> (closed: [IntervalRecord], accepted: Bool) {
        var closed = advance(to: sample.time)
        var accepted = p1.accept(sample)
        if !accepted && resume != nil && sample.totalImportWh + sample.totalExportWh > 0 {
            // Below the persisted registers after a restart: not this meter's continuation. Start again from it.
            baselinesReplaced += 1
            p1 = P1Accumulator()
            pendingFlags.insert(.gap)
            p1Demand.clockStepped()
            accepted = p1.accept(sample)
        }
        guard accepted else {
            rejectedSamples += 1
            pendingFlags.insert(.sourceError)
            return (closed, false)
        }
        if p1.takeSwaps() > 0 {
            // A replaced meter: the energy between the old one's last telegram and the new one's first is unknown.
            pendingFlags.insert(.gap)
            p1Demand.clockStepped()
        }
        p1Demand.add(time: sample.time, importWh: Double(sample.totalImportWh))
        if let pending = resume, pending.waitingForP1, let start = currentStart, sample.time >= start {
            let end = sample.time.floored(toMultipleOf: .seconds(1))
            if end > start { closed.append(closeRestart(at: end)) }
        }
        return (closed, true)
    }

    /// Adds an ADE9000 snapshot; returns the intervals it closed and whether the sample was taken.
    @discardableResult
    public mutating func add(_ sample: ADESample) -> (closed: [IntervalRecord], accepted: Bool) {
        var closed = advance(to: sample.time)
        let previous = ade.latestSample
        guard ade.accept(sample) else {
            rejectedSamples += 1
            pendingFlags.insert(.sourceError)
            return (closed, false)
        }
        if let previous {
            var net: Int64 = 0
            for phase in 0..<3 {
                net += sample.importMilliwattHours[phase] - previous.importMilliwattHours[phase]
                net -= sample.exportMilliwattHours[phase] - previous.exportMilliwattHours[phase]
            }
            adeNetImport += max(0, net)
        }
        let demandEnergy = adeDemandMode == .net ? adeNetImport : sample.totalImportMilliwattHours
        adeDemand.add(time: sample.time, milliwattHours: demandEnergy)
        if let pending = resume, !pending.waitingForP1, let start = currentStart, sample.time >= start {
            let end = sample.time.floored(toMultipleOf: .seconds(1))
            if end > start { closed.append(closeRestart(at: end)) }
        }
        return (closed, true)
    }

    private mutating func closeRestart(at end: UnixTime) -> IntervalRecord {
        let start = currentStart ?? end
        resume = nil
        currentStart = max(start, end)
        return close(start: start, end: max(start, end))
    }

    /// The interval length as a span.
    private var period: Duration { .seconds(length) }

    /// The start of the aligned interval `time` falls in.
    private func floor(_ time: UnixTime) -> UnixTime { time.floored(toMultipleOf: period) }

    private mutating func close(start: UnixTime, end: UnixTime) -> IntervalRecord {
        var record = IntervalRecord(start: start, end: end, flags: pendingFlags)
        pendingFlags = []
        if p1.hasBaseline {
            var part = p1.close(at: end, intervalStart: start)
            if part.samples == 0 { record.flags.insert(.gap) }
            if part.interval.quarterHourDemandW == 0 && !p1.meterReportsDemand {
                part.interval.quarterHourDemandW = p1Demand.runningDemandW
                part.interval.monthPeakDemandW = p1Demand.monthPeakW
                part.interval.monthPeakTime = p1Demand.monthPeakTime
            }
            record.p1 = part.interval
        }
        if ade.hasBaseline {
            let part = ade.close(at: end, intervalStart: start)
            if part.samples == 0 { record.flags.insert(.gap) }
            var interval = part.interval
            interval.quarterHourDemandW = adeDemand.runningDemandW
            interval.monthPeakDemandW = adeDemand.monthPeakW
            interval.monthPeakTime = adeDemand.monthPeakTime
            record.ade9000 = interval
        }
        // The ADE9000 restarted from zero: what it measured during the downtime is not known.
        if record.flags.contains(.restart) && record.ade9000 != nil { record.flags.insert(.gap) }
        return record.withLevelsClamped()
    }
}

/// Time-weighted integral of a held value: each sample's value holds until the next one.
struct HeldAverage: Sendable {
    private var value: Double?
    private var since = UnixTime.epoch
    private var integral: Double = 0
    /// Milliseconds covered by `integral`.
    private var covered: Int64 = 0

    mutating func add(_ newValue: Double, at time: UnixTime) {
        if let value, time > since {
            let span = time.milliseconds - since.milliseconds
            integral += value * Double(span)
            covered += span
        }
        value = newValue
        since = time
    }

    /// The average over what was covered up to `end`, then restarts from `end` with the held value.
    mutating func close(at end: UnixTime) -> Double {
        if let value, end > since {
            let span = end.milliseconds - since.milliseconds
            integral += value * Double(span)
            covered += span
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
    /// Registers counted this interval by a meter that was replaced during it (its equipment id changed): kept,
    /// and added at close, so a swap loses nothing the old meter counted and gives no negative delta.
    private var carried: (import1: Int64, import2: Int64, export1: Int64, export2: Int64, gas: Int64, water: Int64) =
        (0, 0, 0, 0, 0, 0)
    /// Meter swaps seen since the last call of ``takeSwaps()``.
    private var swaps = 0

    var hasBaseline: Bool { baseline != nil }

    /// How many meter swaps happened since the last call (the aggregator flags the record `gap`: the energy
    /// between the old meter's last telegram and the new one's first is unknown).
    mutating func takeSwaps() -> Int {
        defer { swaps = 0 }
        return swaps
    }
    /// The registers the next close starts from.
    var baselineRegisters: LoopCheckpoint.P1Registers? { baseline.map(LoopCheckpoint.P1Registers.init) }

    init() {}

    /// Continues from persisted registers: the next close counts from them.
    init(resumingFrom registers: LoopCheckpoint.P1Registers, at time: UnixTime) {
        baseline = P1Sample(
            time: time, importWh: (registers.importTariff1Wh, registers.importTariff2Wh),
            exportWh: (registers.exportTariff1Wh, registers.exportTariff2Wh), powerImportW: 0, powerExportW: 0,
            gasLitres: registers.gasLitres, waterLitres: registers.waterLitres)
    }

    /// Takes `sample` unless it is implausible against the last accepted one.
    mutating func accept(_ sample: P1Sample) -> Bool {
        if let last = latest ?? baseline, let base = baseline, let old = last.details.equipmentID,
            let new = sample.details.equipmentID, !old.isEmpty, !new.isEmpty, old != new,
            sample.totalImportWh != 0 || sample.totalExportWh != 0
        {
            // A new meter (0-0:96.1.1 changed): its registers start anywhere. What the old one counted since the
            // interval began is carried; the new one counts from its first reading.
            func delta(_ a: Int64?, _ b: Int64?) -> Int64 { max(0, (a ?? 0) - (b ?? a ?? 0)) }
            carried.import1 += max(0, last.importWh.tariff1 - base.importWh.tariff1)
            carried.import2 += max(0, last.importWh.tariff2 - base.importWh.tariff2)
            carried.export1 += max(0, last.exportWh.tariff1 - base.exportWh.tariff1)
            carried.export2 += max(0, last.exportWh.tariff2 - base.exportWh.tariff2)
            carried.gas += delta(last.gasLitres, base.gasLitres)
            carried.water += delta(last.waterLitres, base.waterLitres)
            baseline = sample
            latest = nil
            swaps += 1
        }
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

    mutating func close(at end: UnixTime, intervalStart: UnixTime) -> (interval: P1Interval, samples: Int) {
        guard let base = baseline else { return (P1Interval(), 0) }
        let now = latest ?? base
        func delta(_ a: Int64?, _ b: Int64?) -> Int64 { max(0, (a ?? 0) - (b ?? a ?? 0)) }
        let gas = delta(now.gasLitres, base.gasLitres) + carried.gas
        let interval = P1Interval(
            importTariff1Wh: now.importWh.tariff1 - base.importWh.tariff1 + carried.import1,
            importTariff2Wh: now.importWh.tariff2 - base.importWh.tariff2 + carried.import2,
            exportTariff1Wh: now.exportWh.tariff1 - base.exportWh.tariff1 + carried.export1,
            exportTariff2Wh: now.exportWh.tariff2 - base.exportWh.tariff2 + carried.export2,
            averagePowerW: Int64(power.close(at: end).rounded()),
            maxImportPowerW: maxImport, maxExportPowerW: maxExport,
            voltageMinDecivolts: vmin, voltageMaxDecivolts: vmax,
            gasLitres: gas, waterLitres: delta(now.waterLitres, base.waterLitres) + carried.water,
            quarterHourDemandW: now.quarterHourDemandW ?? 0, monthPeakDemandW: now.monthPeakDemandW ?? 0,
            monthPeakTime: now.monthPeakTime, gasTime: gas > 0 ? now.details.gasTime : nil)
        let count = samples
        carried = (0, 0, 0, 0, 0, 0)
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
    var latestSample: ADESample? { latest }

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

    mutating func close(at end: UnixTime, intervalStart: UnixTime) -> (interval: ADE9000Interval, samples: Int) {
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
