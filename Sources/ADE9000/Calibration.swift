#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Calibration words of one phase, as written to the chip (two's-complement Int32, unity = 0, scale 2²⁷).
public struct PhaseCalibration: Codable, Sendable, Equatable {
    /// xVGAIN: voltage gain, ×(1 + v/2²⁷).
    public var voltageGain: Int32
    /// xIGAIN: current gain, ×(1 + v/2²⁷).
    public var currentGain: Int32
    /// xPGAIN: power gain for xWATT/xVAR/xVA, ×(1 + v/2²⁷).
    public var powerGain: Int32
    /// xPHCAL0: phase compensation (spec §6.3).
    public var phaseCalibration: Int32
    /// xVRMSOS: voltage RMS offset (acts on RMS², weight 2¹⁵; spec §12.4). Optional in YAML/JSON, default 0.
    public var voltageRMSOffset: Int32
    /// xIRMSOS: current RMS offset. Optional, default 0.
    public var currentRMSOffset: Int32
    /// xWATTOS: active power offset in xWATT codes. Optional, default 0.
    public var activePowerOffset: Int32

    public init(
        voltageGain: Int32 = 0, currentGain: Int32 = 0, powerGain: Int32 = 0, phaseCalibration: Int32 = 0,
        voltageRMSOffset: Int32 = 0, currentRMSOffset: Int32 = 0, activePowerOffset: Int32 = 0
    ) {
        self.voltageGain = voltageGain
        self.currentGain = currentGain
        self.powerGain = powerGain
        self.phaseCalibration = phaseCalibration
        self.voltageRMSOffset = voltageRMSOffset
        self.currentRMSOffset = currentRMSOffset
        self.activePowerOffset = activePowerOffset
    }

    private enum CodingKeys: String, CodingKey {
        case voltageGain, currentGain, powerGain, phaseCalibration, voltageRMSOffset, currentRMSOffset
        case activePowerOffset
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            voltageGain: try c.decodeIfPresent(Int32.self, forKey: .voltageGain) ?? 0,
            currentGain: try c.decodeIfPresent(Int32.self, forKey: .currentGain) ?? 0,
            powerGain: try c.decodeIfPresent(Int32.self, forKey: .powerGain) ?? 0,
            phaseCalibration: try c.decodeIfPresent(Int32.self, forKey: .phaseCalibration) ?? 0,
            voltageRMSOffset: try c.decodeIfPresent(Int32.self, forKey: .voltageRMSOffset) ?? 0,
            currentRMSOffset: try c.decodeIfPresent(Int32.self, forKey: .currentRMSOffset) ?? 0,
            activePowerOffset: try c.decodeIfPresent(Int32.self, forKey: .activePowerOffset) ?? 0)
    }

    /// The register writes that restore this phase's calibration.
    public func writes(_ phase: Phase) -> [RegisterWrite] {
        [
            .u32(.voltageGain(phase), UInt32(bitPattern: voltageGain)),
            .u32(.currentGain(phase), UInt32(bitPattern: currentGain)),
            .u32(.powerGain(phase), UInt32(bitPattern: powerGain)),
            .u32(.phaseCalibration(phase), UInt32(bitPattern: phaseCalibration)),
            .u32(.voltageRMSOffset(phase), UInt32(bitPattern: voltageRMSOffset)),
            .u32(.currentRMSOffset(phase), UInt32(bitPattern: currentRMSOffset)),
            .u32(.activePowerOffset(phase), UInt32(bitPattern: activePowerOffset)),
        ]
    }
}

/// Saved calibration of all three phases (per phase xVGAIN, xIGAIN, xPGAIN, xPHCAL0 and optional offsets).
///
/// YAML/JSON: `{ a: { voltageGain: 321883, currentGain: 2285112, powerGain: -757617, phaseCalibration: 6244147 },
/// b: {…}, c: {…} }`.
public struct Calibration: Codable, Sendable, Equatable {
    public var a: PhaseCalibration
    public var b: PhaseCalibration
    public var c: PhaseCalibration

    public init(a: PhaseCalibration = .init(), b: PhaseCalibration = .init(), c: PhaseCalibration = .init()) {
        self.a = a
        self.b = b
        self.c = c
    }

    /// All registers at their reset value 0 (unity gain, no phase correction).
    public static let identity = Calibration()

    public subscript(phase: Phase) -> PhaseCalibration {
        get {
            switch phase {
            case .a: a
            case .b: b
            case .c: c
            }
        }
        set {
            switch phase {
            case .a: a = newValue
            case .b: b = newValue
            case .c: c = newValue
            }
        }
    }

    /// All writes, phase A first.
    public var writes: [RegisterWrite] { Phase.allCases.flatMap { self[$0].writes($0) } }
}

/// Why a calibration value could not be computed.
public enum CalibrationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A measured value was zero, negative or not finite where a positive one is needed.
    case invalidMeasurement(quantity: String, value: Double)
    /// The result does not fit the register (e.g. a gain ratio far from 1 means wrong wiring or front end).
    case outOfRange(register: String, value: Double)
    /// A result outside what the chip or a sane board allows (a gain beyond ±50 %, a phase correction outside
    /// −15° … +2.25° at 50 Hz): refused, nothing written. `likelyCause` names what to check.
    case implausible(register: String, value: String, allowed: String, likelyCause: String)

    public var description: String {
        switch self {
        case .invalidMeasurement(let quantity, let value):
            "calibration: measured \(quantity) = \(value) is not usable (expected a positive, finite value)"
        case .outOfRange(let register, let value):
            "calibration: \(register) = \(value) does not fit the register; check wiring, CT and divider ratios"
        case .implausible(let register, let value, let allowed, let likelyCause):
            "calibration refused: \(register) would be \(value), outside \(allowed); likely cause: \(likelyCause)"
        }
    }
}

/// Pure calibration arithmetic (spec §6). Results are truncated toward zero like the spec's worked examples,
/// except offsets, which round to nearest (spec §6.5: 2.56 → 3).
public enum CalibrationMath {
    static func int32(_ value: Double, register: String) throws(CalibrationError) -> Int32 {
        let truncated = value.rounded(.towardZero)
        guard truncated.isFinite, truncated >= Double(Int32.min), truncated <= Double(Int32.max) else {
            throw .outOfRange(register: register, value: value)
        }
        return Int32(truncated)
    }

    static func positive(_ value: Double, _ quantity: String) throws(CalibrationError) {
        guard value.isFinite, value > 0 else { throw .invalidMeasurement(quantity: quantity, value: value) }
    }

    /// xIGAIN / xVGAIN = (expected / measured − 1) · 2²⁷, with the measurement taken at gain 0 (spec §6.1).
    /// Spec §6.6: expected AIRMS 1,520,453, measured 1,495,000 → 2,285,112 (0x0022DE38).
    public static func gain(expected: Double, measured: Double, register: String = "xGAIN") throws(CalibrationError)
        -> Int32
    {
        try composedGain(expected: expected, measured: measured, currentGain: 0, register: register)
    }

    /// The gain to write when `measured` was taken with `currentGain` already active: the old gain is composed
    /// multiplicatively, new = (expected / measured · (1 + old/2²⁷) − 1) · 2²⁷.
    public static func composedGain(
        expected: Double, measured: Double, currentGain: Int32, register: String = "xGAIN"
    ) throws(CalibrationError) -> Int32 {
        try positive(measured, "\(register) reference reading")
        try positive(expected, "\(register) expected value")
        let ratio = expected / measured * (1 + Double(currentGain) / FullScale.unity)
        return try int32((ratio - 1) * FullScale.unity, register: register)
    }

    /// xPGAIN = (expected − measured) / measured · 2²⁷ (spec §6.2), e.g. from xWATTHR_HI over 1 s.
    /// Spec §6.6: 236,756 expected, 238,100 measured → −757,617 (0xFFF4708F).
    public static func powerGain(expected: Double, measured: Double, currentGain: Int32 = 0) throws(CalibrationError)
        -> Int32
    {
        try composedGain(expected: expected, measured: measured, currentGain: currentGain, register: "xPGAIN")
    }

    /// Phase error φ (radians) from active and reactive energy measured at a known current lag θ (spec §6.3):
    /// φ = −atan[(P·sinθ − Q·cosθ) / (P·cosθ + Q·sinθ)]; φ > 0 when the measured lag exceeds θ.
    public static func phaseError(activeEnergy p: Double, reactiveEnergy q: Double, referenceLag theta: Double)
        throws(CalibrationError) -> Double
    {
        let denominator = p * cos(theta) + q * sin(theta)
        guard p.isFinite, q.isFinite, denominator > 0 else {
            throw .invalidMeasurement(quantity: "P·cosθ + Q·sinθ (active/reactive energy)", value: denominator)
        }
        return -atan((p * sin(theta) - q * cos(theta)) / denominator)
    }

    /// ω = 2π · f_line / f_DSP.
    public static func omega(lineFrequency: Double) -> Double { 2 * Double.pi * lineFrequency / FullScale.dspRate }

    /// xPHCAL0 = [sin(φ − ω) + sin(ω)] / sin(2ω − φ) · 2²⁷ (spec §6.3).
    /// Spec §6.6: φ = +0.2° at 50 Hz → 6,244,147 (0x005F4733); φ = −0.2° → −5,712,991 (0xFFA8D3A1).
    public static func phaseCalibration(phaseError phi: Double, lineFrequency: Double) throws(CalibrationError)
        -> Int32
    {
        let w = omega(lineFrequency: lineFrequency)
        let value = (sin(phi - w) + sin(w)) / sin(2 * w - phi) * FullScale.unity
        return try int32(value, register: "xPHCAL0")
    }

    /// The phase correction φ (radians) that an xPHCAL0 value applies: the inverse of
    /// `phaseCalibration(phaseError:lineFrequency:)`, solved by Newton's method. Used to compose a residual
    /// phase error with the correction already active, and by the simulator.
    public static func phaseCorrection(forPHCAL code: Int32, lineFrequency: Double) -> Double {
        let k = Double(code) / FullScale.unity
        let w = omega(lineFrequency: lineFrequency)
        var x = 0.0
        for _ in 0..<60 {
            let f = sin(x - w) + sin(w) - k * sin(2 * w - x)
            let derivative = cos(x - w) + k * cos(2 * w - x)
            guard derivative != 0 else { break }
            let step = f / derivative
            x -= step
            if abs(step) < 1e-16 { break }
        }
        return x
    }

    /// xIRMSOS / xVRMSOS = (expected² − measured²) / 2¹⁵, clamped to signed 24 bits (spec §6.4, §12.4).
    public static func rmsOffset(expected: Double, measured: Double) -> Int32 {
        let value = ((expected * expected - measured * measured) / 32768).rounded()
        return Int32(min(max(value, -8_388_608), 8_388_607))
    }

    /// xWATTOS = (HI_expected − HI_measured) / (t · 8000 / 2¹³), rounded (spec §6.5).
    /// TRM example: 12,570 expected, 11,000 measured over 10 s → 161. Spec §6.6: 9,470 vs 9,445 → 3.
    public static func powerOffset(expectedHigh: Double, measuredHigh: Double, seconds: Double)
        throws(CalibrationError) -> Int32
    {
        try positive(seconds, "accumulation time")
        let value = (expectedHigh - measuredHigh) / (seconds * FullScale.dspRate / FullScale.energyHighShift)
        guard value.isFinite, abs(value) < Double(Int32.max) else {
            throw .outOfRange(register: "xWATTOS", value: value)
        }
        return Int32(value.rounded())
    }
}
