import CivilTime

/// One metering interval as kept in the offline ring (``ReadingRing``): the energy that flowed between
/// `start` and `end`, plus the levels (powers, voltages, demand) seen in that interval.
///
/// Energies, gas and water are **deltas** over the interval, never absolute registers, so two adjacent records
/// merge by adding them (``merged(with:)``): a merge costs time resolution, never energy.
///
/// The sequence range is assigned by the ring on ``ReadingRing/append(_:)``; a record made by merging carries
/// the union `firstSequence...lastSequence` of its parts. Sequences are unique within one storage ``epoch``;
/// ``id`` (epoch and range) is the key a backend de-duplicates by.
public struct IntervalRecord: Equatable, Sendable {
    /// What went wrong or was special in this interval. Stored as one byte.
    public struct Flags: OptionSet, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// The record is the merge of two or more appended records (set by ``IntervalRecord/merged(with:)``).
        public static let merged = Flags(rawValue: 1 << 0)
        /// Samples are missing: telegrams or ADE9000 reads were lost, or parts were not contiguous in time.
        public static let gap = Flags(rawValue: 1 << 1)
        /// A source reported errors (P1 CRC failures, ADE9000 bus errors) during the interval.
        public static let sourceError = Flags(rawValue: 1 << 2)
        /// The meter clock stepped during the interval.
        public static let clockStep = Flags(rawValue: 1 << 3)
        /// A level (voltage, power, demand) was outside what can be real or stored and was clamped to the nearest
        /// storable value (a faulty meter or a hostile dongle); the energies are as measured.
        public static let levelClamped = Flags(rawValue: 1 << 4)
        /// The first record after emeter (re)started: it spans from the last point persisted before the stop
        /// (``LoopCheckpoint``) to the first new reading. Its P1 energies are exact (the registers are absolute);
        /// its levels cover only the readings after the restart. The ADE9000 restarts its accumulation from zero,
        /// so an ADE9000 part holds no energy for the downtime, and the record is flagged ``gap`` as well.
        public static let restart = Flags(rawValue: 1 << 5)
        /// Closed early because emeter stopped (SIGTERM, SIGINT): `end` is the stop, not an interval boundary.
        public static let partial = Flags(rawValue: 1 << 6)
    }

    /// First sequence number covered by this record (assigned by the ring; 0 before `append`).
    public var firstSequence: UInt32
    /// Last sequence number covered; equal to `firstSequence` unless the record is merged.
    public var lastSequence: UInt32
    /// The storage epoch of the ring that assigned the sequence numbers (``ReadingRing/epoch``; 0 before
    /// `append`). Sequence numbers start again at 1 when a ring starts empty; the epoch tells the runs apart.
    public var epoch: UInt32 = 0
    /// Interval start, a whole second. The ring stores Unix seconds 0...UInt32.max (until 2106).
    public var start: UnixTime
    /// Interval end, a whole second, `end >= start`.
    public var end: UnixTime
    public var flags: Flags
    /// The P1 (DSMR) smart-meter part, if a P1 port is read.
    public var p1: P1Interval?
    /// The ADE9000 part (own CT measurement), if an ADE9000 is fitted.
    public var ade9000: ADE9000Interval?

    public init(
        start: UnixTime, end: UnixTime, flags: Flags = [], p1: P1Interval? = nil, ade9000: ADE9000Interval? = nil,
        firstSequence: UInt32 = 0, lastSequence: UInt32 = 0
    ) {
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
        self.start = start
        self.end = end
        self.flags = flags
        self.p1 = p1
        self.ade9000 = ade9000
    }

    /// Interval length.
    public var duration: Duration { end - start }

    /// Interval length in whole seconds (the ring's unit), 0 when `end` is before `start`.
    var seconds: Int64 { max(end.seconds - start.seconds, 0) }

    /// The sequence range this record covers.
    public var sequences: ClosedRange<UInt32> { firstSequence...max(firstSequence, lastSequence) }

    /// THE de-duplication key of a record: `<epoch>-<first>-<last>`, the storage epoch as 8 hex digits and the
    /// sequence range in decimal (`"9f3a0c21-120-125"`). A record re-sent after a failed acknowledgement or a
    /// restart has the same id; a record of a later run of a RAM ring (whose sequences start again at 1) or of a
    /// ring whose image was lost has another one, even with equal sequence numbers.
    public var id: String {
        let hex = String(epoch, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex + "-\(firstSequence)-\(lastSequence)"
    }

    /// Merges `self` with the next record `later` (which starts where `self` ends, or later):
    /// start = the earlier start, end = the later end (so `end ≥ start` whatever the two hold); energies, gas and water summed; maxima max, minima min;
    /// average powers time-weighted by duration; quarter-hour demand and month peak (P1 and ADE9000) from `later`
    /// (within one month the running peak never decreases, so this is the larger of the two; across a
    /// month boundary the new month's peak is the right one); flags OR-ed plus ``Flags/merged``
    /// (plus ``Flags/gap`` when `later` does not start where `self` ends); sequence range the union.
    public func merged(with later: IntervalRecord) -> IntervalRecord {
        var result = IntervalRecord(
            start: min(start, later.start), end: max(end, later.end),
            flags: flags.union(later.flags).union(.merged),
            firstSequence: firstSequence, lastSequence: later.lastSequence)
        result.epoch = epoch
        if later.start != end { result.flags.insert(.gap) }
        let weights = (seconds, later.seconds)
        result.p1 = Self.mergeOptional(p1, later.p1) { $0.merged(with: $1, weights: weights) }
        result.ade9000 = Self.mergeOptional(ade9000, later.ade9000) { $0.merged(with: $1, weights: weights) }
        return result
    }

    private static func mergeOptional<T>(_ a: T?, _ b: T?, _ merge: (T, T) -> T) -> T? {
        switch (a, b) {
        case (let a?, let b?): merge(a, b)
        case (let a?, nil): a
        case (nil, let b?): b
        case (nil, nil): nil
        }
    }
}

/// The P1 (DSMR) part of an ``IntervalRecord``. Energies are deltas over the interval.
public struct P1Interval: Equatable, Sendable {
    /// Imported energy delta, tariff 1 (from `1-0:1.8.1`), Wh, ≥ 0.
    public var importTariff1Wh: Int64
    /// Imported energy delta, tariff 2 (`1-0:1.8.2`), Wh, ≥ 0.
    public var importTariff2Wh: Int64
    /// Exported energy delta, tariff 1 (`1-0:2.8.1`), Wh, ≥ 0.
    public var exportTariff1Wh: Int64
    /// Exported energy delta, tariff 2 (`1-0:2.8.2`), Wh, ≥ 0.
    public var exportTariff2Wh: Int64
    /// Time-weighted average net power, W: + import, − export (`1-0:1.7.0` − `1-0:2.7.0`).
    public var averagePowerW: Int64
    /// Largest import power seen (`1-0:1.7.0`), W, ≥ 0.
    public var maxImportPowerW: Int64
    /// Largest export power seen (`1-0:2.7.0`), W, ≥ 0.
    public var maxExportPowerW: Int64
    /// Lowest voltage over all phases (`1-0:32/52/72.7.0`), 0.1 V; `nil` when the meter reports none.
    public var voltageMinDecivolts: Int64?
    /// Highest voltage over all phases, 0.1 V; `nil` when the meter reports none.
    public var voltageMaxDecivolts: Int64?
    /// Gas delta (`0-1:24.2.1`), litres (dm³), ≥ 0.
    public var gasLitres: Int64
    /// When the M-Bus gas reading that ends `gasLitres` was captured by the gas meter (`0-n:24.2.1`/`24.2.3`
    /// timestamp), to the second; `nil` when the record holds no gas. The delta belongs to the consumption *up to
    /// this time* (an hourly DSMR 4 meter: the hour before it), not to the record's interval, in which the
    /// telegram merely arrived — book gas by this time.
    public var gasTime: UnixTime?
    /// Water delta (M-Bus water meter), litres, ≥ 0.
    public var waterLitres: Int64
    /// Capacity tariff (Belgium): running quarter-hour average demand at interval end (`1-0:1.4.0`), W, ≥ 0.
    public var quarterHourDemandW: Int64
    /// Capacity tariff: this month's peak quarter-hour demand (`1-0:1.6.0`), W, ≥ 0; 0 = none reported.
    public var monthPeakDemandW: Int64
    /// The meter's time of `monthPeakDemandW` (`1-0:1.6.0`, the end of its quarter-hour), to the second; `nil` =
    /// none reported.
    public var monthPeakTime: UnixTime?

    public init(
        importTariff1Wh: Int64 = 0, importTariff2Wh: Int64 = 0, exportTariff1Wh: Int64 = 0,
        exportTariff2Wh: Int64 = 0, averagePowerW: Int64 = 0, maxImportPowerW: Int64 = 0,
        maxExportPowerW: Int64 = 0, voltageMinDecivolts: Int64? = nil, voltageMaxDecivolts: Int64? = nil,
        gasLitres: Int64 = 0, waterLitres: Int64 = 0, quarterHourDemandW: Int64 = 0,
        monthPeakDemandW: Int64 = 0, monthPeakTime: UnixTime? = nil, gasTime: UnixTime? = nil
    ) {
        self.importTariff1Wh = importTariff1Wh
        self.importTariff2Wh = importTariff2Wh
        self.exportTariff1Wh = exportTariff1Wh
        self.exportTariff2Wh = exportTariff2Wh
        self.averagePowerW = averagePowerW
        self.maxImportPowerW = maxImportPowerW
        self.maxExportPowerW = maxExportPowerW
        self.voltageMinDecivolts = voltageMinDecivolts
        self.voltageMaxDecivolts = voltageMaxDecivolts
        self.gasLitres = gasLitres
        self.gasTime = gasTime
        self.waterLitres = waterLitres
        self.quarterHourDemandW = quarterHourDemandW
        self.monthPeakDemandW = monthPeakDemandW
        self.monthPeakTime = monthPeakTime
    }

    /// Net energy (import − export) over both tariffs, Wh.
    public var netEnergyWh: Int64 { importTariff1Wh + importTariff2Wh - exportTariff1Wh - exportTariff2Wh }

    func merged(with later: P1Interval, weights: (Int64, Int64)) -> P1Interval {
        P1Interval(
            importTariff1Wh: importTariff1Wh + later.importTariff1Wh,
            importTariff2Wh: importTariff2Wh + later.importTariff2Wh,
            exportTariff1Wh: exportTariff1Wh + later.exportTariff1Wh,
            exportTariff2Wh: exportTariff2Wh + later.exportTariff2Wh,
            averagePowerW: IntervalRecord.timeWeightedAverage(averagePowerW, later.averagePowerW, weights),
            maxImportPowerW: max(maxImportPowerW, later.maxImportPowerW),
            maxExportPowerW: max(maxExportPowerW, later.maxExportPowerW),
            voltageMinDecivolts: combine(voltageMinDecivolts, later.voltageMinDecivolts, min),
            voltageMaxDecivolts: combine(voltageMaxDecivolts, later.voltageMaxDecivolts, max),
            gasLitres: gasLitres + later.gasLitres,
            waterLitres: waterLitres + later.waterLitres,
            // The billing detail a merge keeps: the highest quarter-hour demand either part saw.
            quarterHourDemandW: max(quarterHourDemandW, later.quarterHourDemandW),
            monthPeakDemandW: later.monthPeakDemandW,
            monthPeakTime: later.monthPeakTime,
            gasTime: later.gasTime ?? gasTime)
    }
}

/// Energy of one ADE9000 phase over an interval (from AWATTHR/BWATTHR/CWATTHR split by sign), Wh, ≥ 0.
public struct PhaseEnergy: Equatable, Sendable {
    public var importWh: Int64
    public var exportWh: Int64
    public init(importWh: Int64 = 0, exportWh: Int64 = 0) {
        self.importWh = importWh
        self.exportWh = exportWh
    }
}

/// The ADE9000 part of an ``IntervalRecord``.
public struct ADE9000Interval: Equatable, Sendable {
    public var phaseA: PhaseEnergy
    public var phaseB: PhaseEnergy
    public var phaseC: PhaseEnergy
    /// Time-weighted average total active power (AWATT + BWATT + CWATT), W, signed (+ import).
    public var averagePowerW: Int64
    /// Largest total active power seen, W, signed.
    public var maxPowerW: Int64
    /// Lowest phase voltage RMS (AVRMS/BVRMS/CVRMS) over all phases, 0.1 V.
    public var voltageMinDecivolts: Int64?
    /// Highest phase voltage RMS over all phases, 0.1 V.
    public var voltageMaxDecivolts: Int64?
    /// Capacity tariff from the own measurement: running quarter-hour average demand at interval end, W, ≥ 0.
    public var quarterHourDemandW: Int64
    /// This month's peak quarter-hour demand from the own measurement, W, ≥ 0; 0 = none yet.
    public var monthPeakDemandW: Int64
    /// End of the quarter-hour of `monthPeakDemandW`, to the second; `nil` = none yet.
    public var monthPeakTime: UnixTime?

    public init(
        phaseA: PhaseEnergy = PhaseEnergy(), phaseB: PhaseEnergy = PhaseEnergy(),
        phaseC: PhaseEnergy = PhaseEnergy(), averagePowerW: Int64 = 0, maxPowerW: Int64 = 0,
        voltageMinDecivolts: Int64? = nil, voltageMaxDecivolts: Int64? = nil, quarterHourDemandW: Int64 = 0,
        monthPeakDemandW: Int64 = 0, monthPeakTime: UnixTime? = nil
    ) {
        self.quarterHourDemandW = quarterHourDemandW
        self.monthPeakDemandW = monthPeakDemandW
        self.monthPeakTime = monthPeakTime
        self.phaseA = phaseA
        self.phaseB = phaseB
        self.phaseC = phaseC
        self.averagePowerW = averagePowerW
        self.maxPowerW = maxPowerW
        self.voltageMinDecivolts = voltageMinDecivolts
        self.voltageMaxDecivolts = voltageMaxDecivolts
    }

    /// Net energy (import − export) over all three phases, Wh.
    public var netEnergyWh: Int64 {
        [phaseA, phaseB, phaseC].reduce(0) { $0 + $1.importWh - $1.exportWh }
    }

    func merged(with later: ADE9000Interval, weights: (Int64, Int64)) -> ADE9000Interval {
        func sum(_ a: PhaseEnergy, _ b: PhaseEnergy) -> PhaseEnergy {
            PhaseEnergy(importWh: a.importWh + b.importWh, exportWh: a.exportWh + b.exportWh)
        }
        return ADE9000Interval(
            phaseA: sum(phaseA, later.phaseA), phaseB: sum(phaseB, later.phaseB),
            phaseC: sum(phaseC, later.phaseC),
            averagePowerW: IntervalRecord.timeWeightedAverage(averagePowerW, later.averagePowerW, weights),
            maxPowerW: max(maxPowerW, later.maxPowerW),
            voltageMinDecivolts: combine(voltageMinDecivolts, later.voltageMinDecivolts, min),
            voltageMaxDecivolts: combine(voltageMaxDecivolts, later.voltageMaxDecivolts, max),
            quarterHourDemandW: later.quarterHourDemandW, monthPeakDemandW: later.monthPeakDemandW,
            monthPeakTime: later.monthPeakTime)
    }
}

extension IntervalRecord {
    /// `(a·wa + b·wb) / (wa + wb)`, rounded half away from zero; `b` when both weights are 0.
    static func timeWeightedAverage(_ a: Int64, _ b: Int64, _ weights: (Int64, Int64)) -> Int64 {
        let total = Int128(weights.0) + Int128(weights.1)
        guard total > 0 else { return b }
        let sum = Int128(a) * Int128(weights.0) + Int128(b) * Int128(weights.1)
        let half = total / 2
        let rounded = sum >= 0 ? (sum + half) / total : (sum - half) / total
        return Int64(rounded)  // lies between a and b, so it fits
    }
}

private func combine(_ a: Int64?, _ b: Int64?, _ pick: (Int64, Int64) -> Int64) -> Int64? {
    switch (a, b) {
    case (let a?, let b?): pick(a, b)
    case (let a?, nil): a
    case (nil, let b?): b
    case (nil, nil): nil
    }
}
