#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the simulated ADE9000 "sees" on its inputs: true line quantities per phase over time, the board's front
/// end, and the front-end errors that calibration must remove. Decoded from YAML (emeter's `YAML` module) or JSON.
///
/// YAML format (keys are the property names; durations and times are seconds as numbers):
/// ```yaml
/// name: house-3p
/// frequency: 50                 # line frequency, Hz (default 50)
/// frontEnd:                     # the board (see Scenario.FrontEnd); PGA gains 1, 2 or 4
///   { voltageDividerRatio: 801, ctRatio: 2500, burdenOhms: 10.2, voltagePGA: 1, currentPGA: 1 }
/// voltageAngles: [0, -120, 120] # optional: phasor angle of VA, VB, VC in degrees (default ABC sequence)
/// phases:                       # exactly 3 entries, A, B, C: the load when there are no segments
///   - { voltage: 230, current: 5, angle: 0 }     # volts rms, amps rms, degrees the current lags
///   - { voltage: 231, current: 2.5, angle: 30 }
///   - { voltage: 229, current: 1, angle: -15 }   # negative = leading (capacitive)
/// segments:                     # optional load profile, piecewise constant
///   - duration: 3600            # seconds
///     phases: [ {…}, {…}, {…} ]  # as above
///     frequency: 50.02          # optional, Hz
/// repeatProfile: true           # optional: loop the segments (default false: the last segment holds)
/// harmonics:                    # optional, same on every phase; fractions of the fundamental
///   - { order: 3, voltage: 0.02, current: 0.10, angle: 20 }   # angle: degrees the harmonic current lags
/// errors:                       # optional, 3 entries A, B, C: analog front-end errors
///   - { voltageGain: 0.05, currentGain: -0.08, phaseDegrees: 1.5,
///       voltageOffset: 0, currentOffset: 0, powerOffset: 0 }
/// resetDelay: 0.05              # optional: seconds from reset release to RSTDONE (default 0.05)
/// ```
/// Error semantics: `voltageGain`/`currentGain` are relative errors of the channel (0.05 = reads 5 % high);
/// `phaseDegrees` is extra current lag of the channel at the fundamental (h × that at harmonic h);
/// `voltageOffset` (V) / `currentOffset` (A) are rms noise added in quadrature; `powerOffset` (W) is added to
/// the active power.
public struct Scenario: Codable, Sendable, Equatable {
    public var name: String
    public var frequency: Double
    public var frontEnd: FrontEnd
    public var voltageAngles: [Double]?
    public var phases: [PhaseLoad]
    public var segments: [Segment]?
    public var repeatProfile: Bool?
    public var harmonics: [Harmonic]?
    public var errors: [FrontEndError]?
    public var resetDelay: Double?

    /// The analog front end of the simulated board: voltage divider, CT with burden, and the PGA gains the board
    /// file asks for. The chip model's own type (it imports nothing from the driver); the YAML keys are those of
    /// the driver's `FrontEnd`, so one file describes both.
    public struct FrontEnd: Codable, Sendable, Equatable {
        /// Line volts per volt at the ADC pins (800 kΩ + 1 kΩ → 801).
        public var voltageDividerRatio: Double
        /// CT turns ratio (2500 for 2500:1).
        public var ctRatio: Double
        /// Burden resistor across the CT secondary, Ω.
        public var burdenOhms: Double
        /// PGA gain of the voltage channels the board uses: 1, 2 or 4.
        public var voltagePGA: Int
        /// PGA gain of the current channels: 1, 2 or 4.
        public var currentPGA: Int

        public init(
            voltageDividerRatio: Double, ctRatio: Double, burdenOhms: Double, voltagePGA: Int = 1, currentPGA: Int = 1
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
                voltagePGA: try c.decodeIfPresent(Int.self, forKey: .voltagePGA) ?? 1,
                currentPGA: try c.decodeIfPresent(Int.self, forKey: .currentPGA) ?? 1)
        }

        /// The board of spec §5.8: 800 kΩ + 1 kΩ divider, CT 2500:1 with 10.2 Ω, PGA ×1.
        public static let specExample = FrontEnd(voltageDividerRatio: 801, ctRatio: 2500, burdenOhms: 10.2)

        /// Volts at the ADC pins per line volt.
        public var voltageTransfer: Double { 1 / voltageDividerRatio }
        /// Volts at the ADC pins per ampere.
        public var currentTransfer: Double { burdenOhms / ctRatio }

        /// A message naming the first invalid field, or `nil`.
        public func validationError() -> String? {
            if !(voltageDividerRatio.isFinite && voltageDividerRatio >= 1) {
                return "frontEnd.voltageDividerRatio must be ≥ 1 (line volts per pin volt), got \(voltageDividerRatio)"
            }
            if !(ctRatio.isFinite && ctRatio > 0) { return "frontEnd.ctRatio must be > 0, got \(ctRatio)" }
            if !(burdenOhms.isFinite && burdenOhms > 0) { return "frontEnd.burdenOhms must be > 0, got \(burdenOhms)" }
            for (key, gain) in [("voltagePGA", voltagePGA), ("currentPGA", currentPGA)] where ![1, 2, 4].contains(gain)
            {
                return "frontEnd.\(key) must be 1, 2 or 4, got \(gain)"
            }
            return nil
        }
    }

    /// The true load of one phase.
    public struct PhaseLoad: Codable, Sendable, Equatable {
        /// Line-to-neutral voltage, V rms.
        public var voltage: Double
        /// Current, A rms.
        public var current: Double
        /// Degrees the fundamental current lags its voltage (PF = cos angle). Default 0.
        public var angle: Double

        public init(voltage: Double, current: Double, angle: Double = 0) {
            self.voltage = voltage
            self.current = current
            self.angle = angle
        }

        private enum CodingKeys: String, CodingKey { case voltage, current, angle }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                voltage: try c.decode(Double.self, forKey: .voltage),
                current: try c.decode(Double.self, forKey: .current),
                angle: try c.decodeIfPresent(Double.self, forKey: .angle) ?? 0)
        }

        /// True active power of the fundamental, W.
        public var activePower: Double { voltage * current * cos(angle * .pi / 180) }
    }

    /// One piece of the load profile.
    public struct Segment: Codable, Sendable, Equatable {
        /// Seconds.
        public var duration: Double
        public var phases: [PhaseLoad]
        /// Line frequency during this segment; default: the scenario's.
        public var frequency: Double?

        public init(duration: Double, phases: [PhaseLoad], frequency: Double? = nil) {
            self.duration = duration
            self.phases = phases
            self.frequency = frequency
        }
    }

    /// One harmonic, applied to every phase.
    public struct Harmonic: Codable, Sendable, Equatable {
        public var order: Int
        /// Voltage amplitude as a fraction of the fundamental.
        public var voltage: Double
        /// Current amplitude as a fraction of the fundamental.
        public var current: Double
        /// Degrees the harmonic current lags the harmonic voltage. Default 0.
        public var angle: Double?

        public init(order: Int, voltage: Double, current: Double, angle: Double? = nil) {
            self.order = order
            self.voltage = voltage
            self.current = current
            self.angle = angle
        }
    }

    /// Analog front-end errors of one phase.
    public struct FrontEndError: Codable, Sendable, Equatable {
        public var voltageGain: Double?
        public var currentGain: Double?
        public var phaseDegrees: Double?
        public var voltageOffset: Double?
        public var currentOffset: Double?
        public var powerOffset: Double?

        public init(
            voltageGain: Double? = nil, currentGain: Double? = nil, phaseDegrees: Double? = nil,
            voltageOffset: Double? = nil, currentOffset: Double? = nil, powerOffset: Double? = nil
        ) {
            self.voltageGain = voltageGain
            self.currentGain = currentGain
            self.phaseDegrees = phaseDegrees
            self.voltageOffset = voltageOffset
            self.currentOffset = currentOffset
            self.powerOffset = powerOffset
        }

        public static let none = FrontEndError()
    }

    public init(
        name: String, frequency: Double = 50, frontEnd: FrontEnd = .specExample, voltageAngles: [Double]? = nil,
        phases: [PhaseLoad], segments: [Segment]? = nil, repeatProfile: Bool? = nil, harmonics: [Harmonic]? = nil,
        errors: [FrontEndError]? = nil, resetDelay: Double? = nil
    ) {
        self.name = name
        self.frequency = frequency
        self.frontEnd = frontEnd
        self.voltageAngles = voltageAngles
        self.phases = phases
        self.segments = segments
        self.repeatProfile = repeatProfile
        self.harmonics = harmonics
        self.errors = errors
        self.resetDelay = resetDelay
    }

    private enum CodingKeys: String, CodingKey {
        case name, frequency, frontEnd, voltageAngles, phases, segments, repeatProfile, harmonics, errors, resetDelay
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            name: try c.decodeIfPresent(String.self, forKey: .name) ?? "scenario",
            frequency: try c.decodeIfPresent(Double.self, forKey: .frequency) ?? 50,
            frontEnd: try c.decodeIfPresent(FrontEnd.self, forKey: .frontEnd) ?? .specExample,
            voltageAngles: try c.decodeIfPresent([Double].self, forKey: .voltageAngles),
            phases: try c.decode([PhaseLoad].self, forKey: .phases),
            segments: try c.decodeIfPresent([Segment].self, forKey: .segments),
            repeatProfile: try c.decodeIfPresent(Bool.self, forKey: .repeatProfile),
            harmonics: try c.decodeIfPresent([Harmonic].self, forKey: .harmonics),
            errors: try c.decodeIfPresent([FrontEndError].self, forKey: .errors),
            resetDelay: try c.decodeIfPresent(Double.self, forKey: .resetDelay))
    }

    /// A balanced three-phase load (all phases alike).
    public static func balanced(
        name: String = "balanced", voltage: Double = 230, current: Double, angle: Double = 0, frequency: Double = 50,
        frontEnd: FrontEnd = .specExample, errors: [FrontEndError]? = nil
    ) -> Scenario {
        Scenario(
            name: name, frequency: frequency, frontEnd: frontEnd,
            phases: Array(repeating: PhaseLoad(voltage: voltage, current: current, angle: angle), count: 3),
            errors: errors)
    }

    /// A message naming the first invalid field, or `nil`.
    public func validationError() -> String? {
        if let message = frontEnd.validationError() { return message }
        if phases.count != 3 { return "scenario \(name): phases must have 3 entries (A, B, C), got \(phases.count)" }
        // Bounds keep every later conversion (seconds → 8 kSPS sample counts, Int64) in range.
        if !(frequency >= 40 && frequency <= 70) {
            return "scenario \(name): frequency must be 40 to 70 Hz, got \(frequency)"
        }
        if let resetDelay, !(resetDelay >= 0 && resetDelay <= 10) {
            return "scenario \(name): resetDelay must be 0 to 10 s, got \(resetDelay)"
        }
        if let voltageAngles, voltageAngles.count != 3 {
            return "scenario \(name): voltageAngles must have 3 entries, got \(voltageAngles.count)"
        }
        if let errors, errors.count != 3 { return "scenario \(name): errors must have 3 entries, got \(errors.count)" }
        for (index, segment) in (segments ?? []).enumerated() {
            if segment.phases.count != 3 {
                return "scenario \(name): segments[\(index)].phases must have 3 entries, got \(segment.phases.count)"
            }
            if !(segment.duration > 0 && segment.duration <= 366 * 86_400) {
                return "scenario \(name): segments[\(index)].duration must be > 0 s and at most a year, "
                    + "got \(segment.duration)"
            }
            if let frequency = segment.frequency, !(frequency >= 40 && frequency <= 70) {
                return "scenario \(name): segments[\(index)].frequency must be 40 to 70 Hz, got \(frequency)"
            }
        }
        for harmonic in harmonics ?? [] where harmonic.order < 2 {
            return "scenario \(name): harmonic order must be ≥ 2, got \(harmonic.order)"
        }
        return nil
    }

    // MARK: Profile lookup (in 8 kSPS samples)

    /// Segment boundaries in samples: element i = first sample after segment i.
    var segmentEnds: [Int64] {
        var total = 0.0
        return (segments ?? []).map { segment in
            total += segment.duration
            return Int64((total * 8000).rounded())
        }
    }

    /// The load in force at `sample` and the sample where it stops (`Int64.max` when it never changes).
    func load(atSample sample: Int64) -> (index: Int, phases: [PhaseLoad], frequency: Double, end: Int64) {
        guard let segments, !segments.isEmpty else { return (-1, phases, frequency, .max) }
        let ends = segmentEnds
        let cycle = ends[ends.count - 1]
        var offset: Int64 = 0
        var position = sample
        if repeatProfile == true, cycle > 0 {
            offset = (sample / cycle) * cycle
            position = sample - offset
        }
        for (index, end) in ends.enumerated() where position < end {
            return (index, segments[index].phases, segments[index].frequency ?? frequency, end + offset)
        }
        let last = segments.count - 1
        return (last, segments[last].phases, segments[last].frequency ?? frequency, .max)
    }

    /// Phasor angle of the phase voltages, degrees.
    func voltageAngle(_ phase: Int) -> Double { voltageAngles?[phase] ?? [0, -120, 120][phase] }

    func error(_ phase: Int) -> FrontEndError { errors?[phase] ?? .none }

    /// True active energy of phase `phase` (0 = A, 1 = B, 2 = C) in Wh over `[start, end)` seconds of scenario
    /// time: the integral of V·I·cos φ plus harmonic products over the profile, exact for piecewise-constant
    /// segments.
    public func trueActiveEnergyWh(phase: Int, from start: Double = 0, to end: Double) -> Double {
        var joules = 0.0
        var t = start
        while t < end {
            let sample = Int64((t * 8000).rounded(.down))
            let current = load(atSample: sample)
            let segmentEnd = current.end == .max ? end : min(end, Double(current.end) / 8000)
            let stop = max(segmentEnd, t + 1.0 / 8000)
            joules += trueActivePower(current.phases[phase]) * (min(stop, end) - t)
            t = min(stop, end)
        }
        return joules / 3600
    }

    /// True total active power of one phase load including harmonics, W.
    public func trueActivePower(_ load: PhaseLoad) -> Double {
        var power = load.activePower
        for harmonic in harmonics ?? [] {
            power +=
                load.voltage * harmonic.voltage * load.current * harmonic.current
                * cos((harmonic.angle ?? 0) * .pi / 180)
        }
        return power
    }
}
