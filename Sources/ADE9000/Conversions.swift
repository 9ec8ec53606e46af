/// Datasheet full-scale constants (TRM Table 8, spec §5.2) and rates (spec §5.1, §5.3).
public enum FullScale {
    /// xIRMS/xVRMS (total and fundamental, also rms½ and 10/12-cycle per spec §12.6) at full-scale input, PGA 1.
    public static let rmsCode: Double = 52_702_092
    /// xWATT/xVAR/xVA (total and fundamental) with both V and I at full scale.
    public static let powerCode: Double = 20_694_066
    /// xI_PCF/xV_PCF positive peak at +1 V on the pins.
    public static let waveformPeakCode: Double = 74_532_013
    /// VLEVEL per unit of X = full scale / nominal (spec §4.3, corrected constant §12.10).
    public static let vlevelPerUnit: Double = 1_144_084
    /// Full-scale analog input: 1 V peak = 0.70711 V rms at the ADC pins, PGA 1.
    public static let inputRMSVolts: Double = 0.5.squareRoot()
    /// f_DSP of the ADE9000: 8 kSPS.
    public static let dspRate: Double = 8000
    /// Angle timer: CLKIN / 24 = 1.024 MHz.
    public static let angleClock: Double = 1_024_000
    /// Gain, phase and power-factor registers: unity = 2²⁷.
    public static let unity: Double = 134_217_728
    /// xHR_HI holds the 45-bit accumulator divided by 2¹³.
    public static let energyHighShift: Double = 8192
}

/// The analog front end of one board: voltage divider, current transformer with burden, PGA gains.
///
/// YAML keys are the property names, e.g.
/// `{ voltageDividerRatio: 801, ctRatio: 2500, burdenOhms: 10.2, voltagePGA: 1, currentPGA: 1 }`.
public struct FrontEnd: Codable, Sendable, Equatable {
    /// Line volts per volt at the ADC pins (800 kΩ + 1 kΩ divider → 801).
    public var voltageDividerRatio: Double
    /// CT turns ratio (2500 for 2500:1).
    public var ctRatio: Double
    /// Burden resistor across the CT secondary, in ohms.
    public var burdenOhms: Double
    /// PGA of the voltage channels (PGA_GAIN VA/VB/VC).
    public var voltagePGA: PGAGain
    /// PGA of the current channels (PGA_GAIN IA/IB/IC/IN).
    public var currentPGA: PGAGain

    public init(
        voltageDividerRatio: Double, ctRatio: Double, burdenOhms: Double, voltagePGA: PGAGain = .x1,
        currentPGA: PGAGain = .x1
    ) {
        self.voltageDividerRatio = voltageDividerRatio
        self.ctRatio = ctRatio
        self.burdenOhms = burdenOhms
        self.voltagePGA = voltagePGA
        self.currentPGA = currentPGA
    }

    private enum CodingKeys: String, CodingKey {
        case voltageDividerRatio, ctRatio, burdenOhms, voltagePGA, currentPGA
    }

    /// Decodes a board; `voltagePGA` and `currentPGA` are optional (default ×1).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            voltageDividerRatio: try c.decode(Double.self, forKey: .voltageDividerRatio),
            ctRatio: try c.decode(Double.self, forKey: .ctRatio),
            burdenOhms: try c.decode(Double.self, forKey: .burdenOhms),
            voltagePGA: try c.decodeIfPresent(PGAGain.self, forKey: .voltagePGA) ?? .x1,
            currentPGA: try c.decodeIfPresent(PGAGain.self, forKey: .currentPGA) ?? .x1)
    }

    /// A board described by its divider resistors (line side `topOhms`, across the ADC input `bottomOhms`):
    /// ratio = (top + bottom) / bottom, e.g. 800 kΩ + 1 kΩ → 801.
    public init(
        dividerTopOhms: Double, dividerBottomOhms: Double, ctRatio: Double, burdenOhms: Double,
        voltagePGA: PGAGain = .x1, currentPGA: PGAGain = .x1
    ) {
        self.init(
            voltageDividerRatio: (dividerTopOhms + dividerBottomOhms) / dividerBottomOhms, ctRatio: ctRatio,
            burdenOhms: burdenOhms, voltagePGA: voltagePGA, currentPGA: currentPGA)
    }

    /// The board of the spec's worked example §5.8: 800 kΩ + 1 kΩ divider, CT 2500:1 with 10.2 Ω, PGA ×1.
    public static let specExample = FrontEnd(voltageDividerRatio: 801, ctRatio: 2500, burdenOhms: 10.2)

    /// VTF: volts at the ADC pins per line volt (1/801 = 0.00124844).
    public var voltageTransfer: Double { 1 / voltageDividerRatio }
    /// CTF: volts at the ADC pins per ampere (10.2 Ω / 2500 = 0.00408 V/A).
    public var currentTransfer: Double { burdenOhms / ctRatio }

    /// PGA_GAIN register value for these gains (all phases and neutral alike).
    public var pgaRegister: PGAGainRegister { PGAGainRegister(current: currentPGA, voltage: voltagePGA) }

    /// Checks the values a board file could get wrong.
    /// - Returns: A message naming the field, or `nil` when valid.
    public func validationError() -> String? {
        if !(voltageDividerRatio.isFinite && voltageDividerRatio >= 1) {
            return "frontEnd.voltageDividerRatio must be ≥ 1 (line volts per pin volt), got \(voltageDividerRatio)"
        }
        if !(ctRatio.isFinite && ctRatio > 0) { return "frontEnd.ctRatio must be > 0, got \(ctRatio)" }
        if !(burdenOhms.isFinite && burdenOhms > 0) { return "frontEnd.burdenOhms must be > 0, got \(burdenOhms)" }
        return nil
    }
}

/// Pure code ↔ SI-unit conversions (spec §5.3–§5.5). No I/O.
public enum Conversions {
    // MARK: LSB weights

    /// Line volts per xVRMS code: 1 / (52,702,092 · √2 · VTF · Gv). Spec §5.8: 10.747 µV.
    public static func voltsPerCode(_ frontEnd: FrontEnd) -> Double {
        1 / (FullScale.rmsCode * 2.0.squareRoot() * frontEnd.voltageTransfer * frontEnd.voltagePGA.factor)
    }

    /// Amperes per xIRMS code: 1 / (52,702,092 · √2 · CTF · Gi). Spec §5.8: 3.2885 µA.
    public static func ampsPerCode(_ frontEnd: FrontEnd) -> Double {
        1 / (FullScale.rmsCode * 2.0.squareRoot() * frontEnd.currentTransfer * frontEnd.currentPGA.factor)
    }

    /// Watts (or var, VA) per xWATT code: 1 / (20,694,066 · 2 · VTF · CTF · Gv · Gi). Spec §5.8: 4.7435 mW.
    public static func wattsPerCode(_ frontEnd: FrontEnd) -> Double {
        1
            / (FullScale.powerCode * 2 * frontEnd.voltageTransfer * frontEnd.currentTransfer
                * frontEnd.voltagePGA.factor * frontEnd.currentPGA.factor)
    }

    /// Watt-hours per count of the 45-bit energy accumulator (one xHR_LO LSB): P_LSB / (8000 · 3600).
    public static func wattHoursPerEnergyCount(_ frontEnd: FrontEnd) -> Double {
        wattsPerCode(frontEnd) / (FullScale.dspRate * 3600)
    }

    /// Watt-hours per xHR_HI LSB: 2¹³ · P_LSB / (8000 · 3600) (spec §5.5, §12.7). Spec §5.8: 1.34925 µWh.
    public static func wattHoursPerEnergyHighLSB(_ frontEnd: FrontEnd) -> Double {
        FullScale.energyHighShift * wattHoursPerEnergyCount(frontEnd)
    }

    // MARK: Codes → SI

    /// Line-voltage RMS in volts from xVRMS.
    public static func voltage(rmsCode: Int32, _ frontEnd: FrontEnd) -> Double {
        Double(rmsCode) * voltsPerCode(frontEnd)
    }

    /// Current RMS in amperes from xIRMS (also NIRMS).
    public static func current(rmsCode: Int32, _ frontEnd: FrontEnd) -> Double {
        Double(rmsCode) * ampsPerCode(frontEnd)
    }

    /// Power in W / var / VA from xWATT / xVAR / xVA.
    public static func power(code: Int32, _ frontEnd: FrontEnd) -> Double { Double(code) * wattsPerCode(frontEnd) }

    /// Energy in Wh / varh / VAh from 45-bit accumulator counts.
    public static func energy(counts: Int64, _ frontEnd: FrontEnd) -> Double {
        Double(counts) * wattHoursPerEnergyCount(frontEnd)
    }

    /// Power factor from xPF: signed, 1.0 = 2²⁷.
    public static func powerFactor(code: Int32) -> Double { Double(code) / FullScale.unity }

    /// Line frequency from xPERIOD: f = 8000 · 2¹⁶ / (code + 1) (spec §5.3).
    public static func frequency(periodCode: UInt32) -> Double {
        FullScale.dspRate * 65536 / (Double(periodCode) + 1)
    }

    /// Degrees from an ANGL_* code: code · 360 · f / 1,024,000 (0.017578125 °/LSB at 50 Hz).
    public static func angleDegrees(code: UInt16, lineFrequency: Double) -> Double {
        Double(code) * 360 * lineFrequency / FullScale.angleClock
    }

    // MARK: SI → expected codes (calibration, simulator)

    /// Expected xVRMS for `volts` on the line: 52,702,092 · √2 · VTF · Gv · V (spec §6.1).
    public static func expectedVoltageRMSCode(volts: Double, _ frontEnd: FrontEnd) -> Double {
        volts / voltsPerCode(frontEnd)
    }

    /// Expected xIRMS for `amps`: 52,702,092 · √2 · CTF · Gi · I.
    public static func expectedCurrentRMSCode(amps: Double, _ frontEnd: FrontEnd) -> Double {
        amps / ampsPerCode(frontEnd)
    }

    /// Expected xWATT for `watts` (also var, VA): 20,694,066 · 2 · VTF · CTF · Gv · Gi · P.
    public static func expectedPowerCode(watts: Double, _ frontEnd: FrontEnd) -> Double {
        watts / wattsPerCode(frontEnd)
    }

    /// Expected xWATTHR_HI after `seconds` at constant `powerCode`: code · 8000 · t / 2¹³ (spec §5.5, §6.2).
    public static func expectedEnergyHigh(powerCode: Double, seconds: Double) -> Double {
        powerCode * FullScale.dspRate * seconds / FullScale.energyHighShift
    }

    /// VLEVEL = X · 1,144,084 with X = full-scale input / nominal input at the pins (spec §4.3), truncated.
    /// Spec §5.8: 230 V on the 1/801 divider → 2,817,394 (0x002AFD72).
    public static func vlevel(nominalVoltage: Double, _ frontEnd: FrontEnd) -> UInt32 {
        let pinVolts = nominalVoltage * frontEnd.voltageTransfer * frontEnd.voltagePGA.factor
        let value = (FullScale.inputRMSVolts / pinVolts * FullScale.vlevelPerUnit).rounded(.towardZero)
        return UInt32(min(max(value, 0), Double(0x00FF_FFFF)))
    }

    /// xPERIOD code for a line frequency: 8000 · 2¹⁶ / f − 1, rounded (60 Hz → 0x00855554).
    public static func periodCode(frequency: Double) -> UInt32 {
        UInt32(min(max((FullScale.dspRate * 65536 / frequency - 1).rounded(), 0), Double(UInt32.max)))
    }
}

// MARK: - Snapshots

extension Conversions {
    /// One phase in SI units from its raw codes; the current angle is folded to (−180°, 180°].
    public static func phaseReading(_ codes: RawPhaseCodes, phase: Phase, _ frontEnd: FrontEnd) -> PhaseReading {
        let frequency = frequency(periodCode: codes.period)
        var currentAngle = angleDegrees(code: codes.currentAngle, lineFrequency: frequency)
        if currentAngle > 180 { currentAngle -= 360 }
        return PhaseReading(
            phase: phase, voltage: voltage(rmsCode: codes.vrms, frontEnd),
            current: current(rmsCode: codes.irms, frontEnd),
            activePower: power(code: codes.active, frontEnd),
            reactivePower: power(code: codes.reactive, frontEnd),
            apparentPower: power(code: codes.apparent, frontEnd),
            powerFactor: powerFactor(code: codes.powerFactor), frequency: frequency,
            voltageAngle: angleDegrees(code: codes.voltageAngle, lineFrequency: frequency),
            currentAngle: currentAngle)
    }

    /// A snapshot in SI units from the codes of phases A, B, C, NIRMS and the energy accumulated so far.
    public static func readings(
        raw: [RawPhaseCodes], neutral: Int32, energy: [EnergyCounts], _ frontEnd: FrontEnd
    ) -> Readings {
        Readings(
            phases: zip(Phase.allCases, raw).map { phase, codes in phaseReading(codes, phase: phase, frontEnd) },
            neutralCurrent: current(rmsCode: neutral, frontEnd),
            energy: energy.map { EnergyTotals($0, frontEnd) }, raw: raw, neutralRaw: neutral)
    }
}
