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
    /// `reference` (a small current, ~1 % of nominal) at power factor 1, for the RMS offsets.
    case lowCurrent(ReferenceLoad)
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
    /// The phases to calibrate; the others are neither measured nor written (they may be dead).
    public var phases: [Phase]
    /// Run the PF 0.5 phase step. `false` (`--power-factor 1`): the phase registers are never touched.
    public var calibratePhase: Bool

    public init(
        samples: Int = 10, interval: Duration = .seconds(1), settle: Duration = .seconds(2),
        phaseLagDegrees: Double = 60, phases: [Phase] = Phase.allCases, calibratePhase: Bool = true
    ) {
        self.samples = samples
        self.interval = interval
        self.settle = settle
        self.phaseLagDegrees = phaseLagDegrees
        self.phases = phases
        self.calibratePhase = calibratePhase
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
    /// Phase error found in the PF 0.5 step before correction, degrees (A, B, C); positive = extra lag. Zero
    /// for phases not calibrated and when the phase step did not run.
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

    /// Gains further than this from 1 are refused: a factor 1.5 or 0.5 is a board-file or wiring error, not
    /// a component tolerance.
    public static var gainLimit: Double { 0.5 }

    /// Checks a new total gain (1 + register/2²⁷) against `gainLimit`.
    private static func checkGain(_ register: Int32, name: String, likelyCause: String) throws(CalibrationError) {
        let gain = 1 + Double(register) / FullScale.unity
        guard abs(gain - 1) <= gainLimit else {
            throw .implausible(
                register: name, value: "×\(formatted(gain))", allowed: "×0.5 … ×1.5 (±50 %)", likelyCause: likelyCause)
        }
    }

    private static func formatted(_ value: Double) -> String {
        let scaled = (value * 1000).rounded() / 1000
        return "\(scaled)"
    }

    /// Calibrates gains and (optionally) the phase of the selected phases against a reference source
    /// (spec §6.1–§6.3):
    ///
    /// 1. `prepare(.unityPowerFactor)`: measure (average of `options.samples` readings) → `before`; compute
    ///    xVGAIN and xIGAIN from expected vs measured RMS, composed with the gains already active; write them.
    /// 2. Only with `options.calibratePhase`: `prepare(.laggingPowerFactor(60°))`: accumulate active and reactive
    ///    energy over `samples` intervals, compute the phase error φ and xPHCAL0 (composed with the correction
    ///    already active); write it. Without it the phase registers are neither read for a step nor written.
    /// 3. `prepare(.unityPowerFactor)`: compute xPGAIN from expected vs measured xWATT; write it; measure again
    ///    → `after`.
    ///
    /// Results are checked before anything is written: a gain beyond ±50 %, a phase correction outside the
    /// chip's range (−15° … +360°·f/8000, i.e. +2.25° at 50 Hz, TRM p.12) or negative active power at PF 1 is
    /// refused with an error naming the likely cause (CT ratio, burden, divider, reversed CT); the chip then
    /// keeps the calibration it had. Phases not in `options.phases` are not measured (they may be dead) and keep
    /// their registers.
    ///
    /// The new calibration is kept by the driver (restored after a chip reset) and returned in the report.
    /// - Parameters:
    ///   - reference: The voltage and current the source applies.
    ///   - options: Phases to calibrate, samples per measurement, whether to run the phase step.
    ///   - prepare: Called before each step; set the source (on hardware: tell the operator and wait;
    ///     in simulation: change the scenario). Return `false` to abort.
    /// - Throws: `ADE9000Error` from the bus, `.calibration` when a value cannot be computed or is implausible,
    ///   `.invalidConfiguration` when aborted.
    public mutating func calibrate(
        reference: ReferenceLoad, options: CalibrationOptions = .init(), prepare: (CalibrationStep) -> Bool
    ) throws(ADE9000Error) -> CalibrationReport {
        guard reference.voltage > 0, reference.current > 0 else {
            throw .invalidConfiguration("calibration reference must be > 0 V and > 0 A, got \(reference)")
        }
        guard !options.phases.isEmpty else { throw .invalidConfiguration("calibration: no phase selected") }
        let original = calibration
        do {
            return try runCalibration(reference: reference, options: options, prepare: prepare)
        } catch {
            // Leave the chip as it was: a refused or failed step must not leave half a calibration behind.
            if calibration != original { try? applyCalibration(original) }
            throw error
        }
    }

    private mutating func runCalibration(
        reference: ReferenceLoad, options: CalibrationOptions, prepare: (CalibrationStep) -> Bool
    ) throws(ADE9000Error) -> CalibrationReport {
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
        do throws(CalibrationError) {
            for phase in options.phases {
                let p = phase.rawValue
                if initial.vrms[p] < expectedV * 0.05 || initial.irms[p] < expectedI * 0.05 {
                    throw .implausible(
                        register: "\(phase)VRMS/\(phase)IRMS",
                        value: "\(Int(initial.vrms[p])) / \(Int(initial.irms[p])) codes",
                        allowed: "at least 5 % of the expected \(Int(expectedV)) / \(Int(expectedI))",
                        likelyCause: "phase \(phase) not energised or not connected (or the wrong --phase)")
                }
                if initial.watt[p] < 0 {
                    throw .implausible(
                        register: "\(phase)WATT", value: "negative at power factor 1", allowed: "positive",
                        likelyCause: "reversed CT on phase \(phase) (swap its secondary leads), or the source "
                            + "is not at power factor 1")
                }
                newCalibration[phase].voltageGain = try CalibrationMath.composedGain(
                    expected: expectedV, measured: initial.vrms[p], currentGain: calibration[phase].voltageGain,
                    register: "\(phase)VGAIN")
                try Self.checkGain(
                    newCalibration[phase].voltageGain, name: "\(phase)VGAIN",
                    likelyCause: "voltage divider (front_end.voltage_divider_top_ohms / _bottom_ohms), the voltage "
                        + "PGA (voltage_pga), or the reference voltage")
                newCalibration[phase].currentGain = try CalibrationMath.composedGain(
                    expected: expectedI, measured: initial.irms[p], currentGain: calibration[phase].currentGain,
                    register: "\(phase)IGAIN")
                try Self.checkGain(
                    newCalibration[phase].currentGain, name: "\(phase)IGAIN",
                    likelyCause: "CT ratio (front_end.ct_turns), burden resistor (front_end.burden_ohms), the "
                        + "current PGA (current_pga), or the reference current")
            }
        } catch {
            throw .calibration(error)
        }
        try applyCalibration(newCalibration)
        logger.info("calibration: voltage and current gains written")

        // Step 2: phase at PF 0.5 lagging, from energies over the same window.
        var phaseErrors = [Double](repeating: 0, count: 3)
        if options.calibratePhase {
            guard prepare(.laggingPowerFactor(reference, lagDegrees: options.phaseLagDegrees)) else {
                throw .invalidConfiguration("calibration aborted")
            }
            delay.delay(options.settle)
            let frequency = try measureAverages(CalibrationOptions(samples: 1, interval: options.interval)).frequency
            try updateEnergy()
            let start = energyCounts
            for _ in 0..<max(1, options.samples) { delay.delay(options.interval) }
            try updateEnergy()
            do throws(CalibrationError) {
                for phase in options.phases {
                    let p = phase.rawValue
                    let active = Double(
                        (energyCounts[p].activeImport - start[p].activeImport)
                            - (energyCounts[p].activeExport - start[p].activeExport))
                    let reactive = Double(
                        (energyCounts[p].reactivePositive - start[p].reactivePositive)
                            - (energyCounts[p].reactiveNegative - start[p].reactiveNegative))
                    let residual = try CalibrationMath.phaseError(
                        activeEnergy: active, reactiveEnergy: reactive,
                        referenceLag: options.phaseLagDegrees * .pi / 180)
                    phaseErrors[p] = residual * 180 / .pi
                    let active0 = CalibrationMath.phaseCorrection(
                        forPHCAL: calibration[phase].phaseCalibration, lineFrequency: frequency)
                    let total = (active0 + residual) * 180 / .pi
                    let upper = 360 * frequency / FullScale.dspRate
                    guard total >= -15, total <= upper else {
                        throw .implausible(
                            register: "\(phase)PHCAL0", value: "a correction of \(Self.formatted(total))°",
                            allowed: "−15° … +\(Self.formatted(upper))° (TRM p.12)",
                            likelyCause: "the source is not lagging by \(Self.formatted(options.phaseLagDegrees))° "
                                + "(use --power-factor 1 without a PF 0.5 source), a reversed CT (≈180°), or "
                                + "phases swapped between the voltage and current inputs")
                    }
                    newCalibration[phase].phaseCalibration = try CalibrationMath.phaseCalibration(
                        phaseError: active0 + residual, lineFrequency: frequency)
                }
            } catch {
                throw .calibration(error)
            }
            try applyCalibration(newCalibration)
            logger.info("calibration: phase compensation written", metadata: ["phaseErrorDegrees": "\(phaseErrors)"])

            // Back to PF 1 for the power gain.
            guard prepare(.unityPowerFactor(reference)) else { throw .invalidConfiguration("calibration aborted") }
            delay.delay(options.settle)
        }

        // Step 3: power gain at PF 1, then the check.
        let power = try measureAverages(options)
        do {
            for phase in options.phases {
                newCalibration[phase].powerGain = try CalibrationMath.powerGain(
                    expected: expectedW, measured: power.watt[phase.rawValue], currentGain: calibration[phase].powerGain
                )
                try Self.checkGain(
                    newCalibration[phase].powerGain, name: "\(phase)PGAIN",
                    likelyCause: "a phase error the PF 0.5 step did not correct, the CT ratio or burden, or a source "
                        + "not at power factor 1")
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

    /// The RMS offset step (spec §6.4, §12.4): with `reference` applied at a small current (about 1 % of
    /// nominal; gains already calibrated), sets xIRMSOS and xVRMSOS of the selected phases so that
    /// √(rms₀² + 2¹⁵·xRMSOS) reads the reference, clamped to signed 24 bits. Returns the errors in percent
    /// after the step (A, B, C; zero for phases not selected).
    /// - Parameters:
    ///   - reference: The low-current reference the source applies.
    ///   - options: Phases and samples.
    ///   - prepare: Called once with `.lowCurrent(reference)`; return `false` to abort.
    /// - Throws: As `calibrate`.
    public mutating func calibrateOffsets(
        reference: ReferenceLoad, options: CalibrationOptions = .init(), prepare: (CalibrationStep) -> Bool
    ) throws(ADE9000Error) -> [PhaseCalibrationErrors] {
        guard reference.voltage > 0, reference.current > 0 else {
            throw .invalidConfiguration("offset reference must be > 0 V and > 0 A, got \(reference)")
        }
        guard prepare(.lowCurrent(reference)) else { throw .invalidConfiguration("calibration aborted") }
        delay.delay(options.settle)
        let frontEnd = configuration.frontEnd
        let expectedV = Conversions.expectedVoltageRMSCode(volts: reference.voltage, frontEnd)
        let expectedI = Conversions.expectedCurrentRMSCode(amps: reference.current, frontEnd)
        let measured = try measureAverages(options)
        var newCalibration = calibration
        for phase in options.phases {
            let p = phase.rawValue
            // Strip the offset already active: rms₀² = rms² − 2¹⁵·xRMSOS.
            let i0 = measured.irms[p] * measured.irms[p] - 32768 * Double(calibration[phase].currentRMSOffset)
            let v0 = measured.vrms[p] * measured.vrms[p] - 32768 * Double(calibration[phase].voltageRMSOffset)
            newCalibration[phase].currentRMSOffset = CalibrationMath.rmsOffset(
                expected: expectedI, measured: max(0, i0).squareRoot())
            newCalibration[phase].voltageRMSOffset = CalibrationMath.rmsOffset(
                expected: expectedV, measured: max(0, v0).squareRoot())
        }
        try applyCalibration(newCalibration)
        let after = try measureAverages(options)
        return errors(after, reference).enumerated().map { index, error in
            options.phases.contains { $0.rawValue == index }
                ? error : PhaseCalibrationErrors(voltagePercent: 0, currentPercent: 0, activePowerPercent: 0)
        }
    }
}
