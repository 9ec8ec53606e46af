import HAL
import Logging

/// The reference applied to all three phases during calibration.
public struct ReferenceLoad: Codable, Sendable, Equatable {
    /// Line-to-neutral voltage, V rms.
    public var voltage: Double
    /// Current, A rms.
    public var current: Double

    public init(voltage: Double, current: Double) {
        self.voltage = voltage
        self.current = current
    }
}

/// What the operator (or the simulator) must set the reference source to before a step.
public enum CalibrationStep: Sendable, Equatable {
    /// `reference` at power factor 1.
    case unityPowerFactor(ReferenceLoad)
    /// `reference` with the current lagging the voltage by `lagDegrees` (60° = PF 0.5 lagging).
    case laggingPowerFactor(ReferenceLoad, lagDegrees: Double)
}

/// Tuning of the calibration procedure.
public struct CalibrationOptions: Sendable, Equatable {
    /// Readings averaged per measurement.
    public var samples: Int
    /// Time between readings (and the energy window granularity); ≥ one EGYRDY period.
    public var interval: Duration
    /// Wait after each `prepare` before measuring (filters settle: 99.9 % in 0.66 s, spec §5.6).
    public var settle: Duration
    /// Current lag of the phase step, degrees (spec §6.3 uses 60°).
    public var phaseLagDegrees: Double

    public init(
        samples: Int = 10, interval: Duration = .seconds(1), settle: Duration = .seconds(2),
        phaseLagDegrees: Double = 60
    ) {
        self.samples = samples
        self.interval = interval
        self.settle = settle
        self.phaseLagDegrees = phaseLagDegrees
    }
}

/// Errors of one phase against the reference, in percent.
public struct PhaseCalibrationErrors: Codable, Sendable, Equatable {
    public var voltagePercent: Double
    public var currentPercent: Double
    public var activePowerPercent: Double
}

/// Result of `ADE9000.calibrate(reference:options:prepare:)`.
public struct CalibrationReport: Sendable, Equatable {
    /// Errors at PF 1 with the calibration active when the procedure started (A, B, C).
    public var before: [PhaseCalibrationErrors]
    /// Errors at PF 1 with the new calibration (A, B, C).
    public var after: [PhaseCalibrationErrors]
    /// Phase error found in the PF 0.5 step before correction, degrees (A, B, C); positive = extra lag.
    public var phaseErrorDegrees: [Double]
    /// The calibration now in the chip and in the driver (save it for the next start).
    public var calibration: Calibration
}

extension ADE9000 {
    /// Averages of raw codes per phase.
    private struct Averages {
        var vrms = [Double](repeating: 0, count: 3)
        var irms = [Double](repeating: 0, count: 3)
        var watt = [Double](repeating: 0, count: 3)
        var frequency = 0.0
    }

    private mutating func measureAverages(_ options: CalibrationOptions) throws(ADE9000Error) -> Averages {
        var sums = Averages()
        let count = max(1, options.samples)
        for _ in 0..<count {
            delay.delay(options.interval)
            let snapshot = try readSnapshot()
            for p in 0..<3 {
                sums.vrms[p] += Double(snapshot.raw[p].vrms)
                sums.irms[p] += Double(snapshot.raw[p].irms)
                sums.watt[p] += Double(snapshot.raw[p].active)
            }
            sums.frequency += snapshot.phases[0].frequency
        }
        for p in 0..<3 {
            sums.vrms[p] /= Double(count)
            sums.irms[p] /= Double(count)
            sums.watt[p] /= Double(count)
        }
        sums.frequency /= Double(count)
        return sums
    }

    private func errors(_ averages: Averages, _ reference: ReferenceLoad) -> [PhaseCalibrationErrors] {
        let frontEnd = configuration.frontEnd
        return (0..<3).map { p in
            let volts = averages.vrms[p] * Conversions.voltsPerCode(frontEnd)
            let amps = averages.irms[p] * Conversions.ampsPerCode(frontEnd)
            let watts = averages.watt[p] * Conversions.wattsPerCode(frontEnd)
            let expectedWatts = reference.voltage * reference.current
            return PhaseCalibrationErrors(
                voltagePercent: (volts - reference.voltage) / reference.voltage * 100,
                currentPercent: (amps - reference.current) / reference.current * 100,
                activePowerPercent: (watts - expectedWatts) / expectedWatts * 100)
        }
    }

    /// Calibrates gains and phase of all three phases against a reference source (spec §6.1–§6.3):
    ///
    /// 1. `prepare(.unityPowerFactor)`: measure (average of `options.samples` readings) → `before`; compute
    ///    xVGAIN and xIGAIN from expected vs measured RMS, composed with the gains already active; write them.
    /// 2. `prepare(.laggingPowerFactor(60°))`: accumulate active and reactive energy over `samples` intervals,
    ///    compute the phase error φ and xPHCAL0 (composed with the correction already active); write it.
    /// 3. `prepare(.unityPowerFactor)`: compute xPGAIN from expected vs measured xWATT; write it; measure again
    ///    → `after`.
    ///
    /// The new calibration is kept by the driver (restored after a chip reset) and returned in the report.
    /// - Parameters:
    ///   - reference: The voltage, current and power factor the source applies.
    ///   - options: Phases to calibrate, samples per measurement, whether to run the phase step.
    ///   - prepare: Called before each step; set the source (on hardware: tell the operator and wait;
    ///     in simulation: change the scenario). Return `false` to abort.
    /// - Throws: `ADE9000Error` from the bus, `.calibration` when a value cannot be computed,
    ///   `.invalidConfiguration` when aborted.
    public mutating func calibrate(
        reference: ReferenceLoad, options: CalibrationOptions = .init(), prepare: (CalibrationStep) -> Bool
    ) throws(ADE9000Error) -> CalibrationReport {
        guard reference.voltage > 0, reference.current > 0 else {
            throw .invalidConfiguration("calibration reference must be > 0 V and > 0 A, got \(reference)")
        }
        let frontEnd = configuration.frontEnd
        let expectedV = Conversions.expectedVoltageRMSCode(volts: reference.voltage, frontEnd)
        let expectedI = Conversions.expectedCurrentRMSCode(amps: reference.current, frontEnd)
        let expectedW = Conversions.expectedPowerCode(watts: reference.voltage * reference.current, frontEnd)
        var newCalibration = calibration

        // Step 1: voltage and current gains at PF 1.
        guard prepare(.unityPowerFactor(reference)) else { throw .invalidConfiguration("calibration aborted") }
        delay.delay(options.settle)
        let initial = try measureAverages(options)
        let before = errors(initial, reference)
        do {
            for phase in Phase.allCases {
                let p = phase.rawValue
                newCalibration[phase].voltageGain = try CalibrationMath.composedGain(
                    expected: expectedV, measured: initial.vrms[p], currentGain: calibration[phase].voltageGain,
                    register: "\(phase)VGAIN")
                newCalibration[phase].currentGain = try CalibrationMath.composedGain(
                    expected: expectedI, measured: initial.irms[p], currentGain: calibration[phase].currentGain,
                    register: "\(phase)IGAIN")
            }
        } catch {
            throw .calibration(error)
        }
        try applyCalibration(newCalibration)
        logger.info("calibration: voltage and current gains written")

        // Step 2: phase at PF 0.5 lagging, from energies over the same window.
        guard prepare(.laggingPowerFactor(reference, lagDegrees: options.phaseLagDegrees)) else {
            throw .invalidConfiguration("calibration aborted")
        }
        delay.delay(options.settle)
        let frequency = try measureAverages(CalibrationOptions(samples: 1, interval: options.interval)).frequency
        try updateEnergy()
        let start = energyCounts
        for _ in 0..<max(1, options.samples) { delay.delay(options.interval) }
        try updateEnergy()
        var phaseErrors = [Double](repeating: 0, count: 3)
        do {
            for phase in Phase.allCases {
                let p = phase.rawValue
                let active = Double(
                    (energyCounts[p].activeImport - start[p].activeImport)
                        - (energyCounts[p].activeExport - start[p].activeExport))
                let reactive = Double(
                    (energyCounts[p].reactivePositive - start[p].reactivePositive)
                        - (energyCounts[p].reactiveNegative - start[p].reactiveNegative))
                let residual = try CalibrationMath.phaseError(
                    activeEnergy: active, reactiveEnergy: reactive, referenceLag: options.phaseLagDegrees * .pi / 180)
                phaseErrors[p] = residual * 180 / .pi
                let active0 = CalibrationMath.phaseCorrection(
                    forPHCAL: calibration[phase].phaseCalibration, lineFrequency: frequency)
                newCalibration[phase].phaseCalibration = try CalibrationMath.phaseCalibration(
                    phaseError: active0 + residual, lineFrequency: frequency)
            }
        } catch {
            throw .calibration(error)
        }
        try applyCalibration(newCalibration)
        logger.info("calibration: phase compensation written", metadata: ["phaseErrorDegrees": "\(phaseErrors)"])

        // Step 3: power gain at PF 1, then the check.
        guard prepare(.unityPowerFactor(reference)) else { throw .invalidConfiguration("calibration aborted") }
        delay.delay(options.settle)
        let power = try measureAverages(options)
        do {
            for phase in Phase.allCases {
                newCalibration[phase].powerGain = try CalibrationMath.powerGain(
                    expected: expectedW, measured: power.watt[phase.rawValue], currentGain: calibration[phase].powerGain
                )
            }
        } catch {
            throw .calibration(error)
        }
        try applyCalibration(newCalibration)
        let final = try measureAverages(options)
        let report = CalibrationReport(
            before: before, after: errors(final, reference), phaseErrorDegrees: phaseErrors, calibration: calibration)
        logger.info("calibration finished", metadata: ["after": "\(report.after)"])
        return report
    }
}
