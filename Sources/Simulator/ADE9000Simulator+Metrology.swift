#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A phasor (rms magnitude, complex form).
struct Phasor {
    var re: Double
    var im: Double

    static let zero = Phasor(re: 0, im: 0)

    init(re: Double, im: Double) {
        self.re = re
        self.im = im
    }

    init(magnitude: Double, degrees: Double) {
        let radians = degrees * .pi / 180
        self.init(re: magnitude * cos(radians), im: magnitude * sin(radians))
    }

    var magnitudeSquared: Double { re * re + im * im }
    var magnitude: Double { magnitudeSquared.squareRoot() }
    var degrees: Double { atan2(im, re) * 180 / .pi }

    static func + (l: Phasor, r: Phasor) -> Phasor { Phasor(re: l.re + r.re, im: l.im + r.im) }
    static func - (l: Phasor, r: Phasor) -> Phasor { Phasor(re: l.re - r.re, im: l.im - r.im) }
    static prefix func - (p: Phasor) -> Phasor { Phasor(re: -p.re, im: -p.im) }
    static func * (l: Phasor, k: Double) -> Phasor { Phasor(re: l.re * k, im: l.im * k) }

    func rotated(degrees: Double) -> Phasor {
        let r = degrees * .pi / 180
        return Phasor(re: re * cos(r) - im * sin(r), im: re * sin(r) + im * cos(r))
    }

    /// self · conj(other): real part = active, imaginary part = reactive (positive when `other` lags).
    func timesConjugate(_ other: Phasor) -> Phasor {
        Phasor(re: re * other.re + im * other.im, im: im * other.re - re * other.im)
    }
}

/// Register codes of one phase for one constant stretch of the scenario.
struct PhaseCodes {
    var vrms: Int32 = 0, irms: Int32 = 0, vfrms: Int32 = 0, ifrms: Int32 = 0
    var watt: Int32 = 0, reactive: Int32 = 0, va: Int32 = 0, fwatt: Int32 = 0, fvar: Int32 = 0, fva: Int32 = 0
    var pf: Int32 = 0, vthd: Int32 = 0, ithd: Int32 = 0
    var vPCF: Int32 = 0, iPCF: Int32 = 0
    var neutral: Int32 = 0
    var voltageAngleDegrees = 0.0
    var voltageAngleFromA: UInt16 = 0
    var currentAngle: UInt16 = 0
    var frequency = 50.0

    /// Per-sample energy increments: WATT, VAR, VA, FWATT, FVAR, FVA.
    var energyCodes: [Int64] { [watt, reactive, va, fwatt, fvar, fva].map { Int64($0) } }

    /// Value of the phase-A-relative measurement register `0x20A…0x21D`.
    func register(_ address: UInt16) -> Int32 {
        switch address {
        case 0x20A: iPCF
        case 0x20B: vPCF
        case 0x20C, 0x219, 0x21B: irms
        case 0x20D, 0x21A, 0x21C: vrms
        case 0x20E: ifrms
        case 0x20F: vfrms
        case 0x210: watt
        case 0x211: reactive
        case 0x212: va
        case 0x213: fwatt
        case 0x214: fvar
        case 0x215: fva
        case 0x216: pf
        case 0x217: vthd
        case 0x218: ithd
        case 0x21D: 15  // MTREGION: multipoint disabled
        default: 0
        }
    }
}

extension ADE9000Simulator {
    static func code(_ value: Double) -> Int32 {
        guard value.isFinite else { return 0 }
        return Int32(min(max(value.rounded(), Double(Int32.min)), Double(Int32.max)))
    }

    private func signed(_ address: UInt16) -> Double { Double(Int32(bitPattern: stored(address))) }

    /// PGA_GAIN (0x4B9): two bits per ADC, IA[1:0] IB[3:2] IC[5:4] IN[7:6] VA[9:8] VB[11:10] VC[13:12];
    /// 00 ×1, 01 ×2, 10 ×4, 11 ×4 (spec §3.9, §12.8). `channel` is the bit pair index (0 IA … 6 VC).
    private func pga(_ channel: Int) -> Double {
        switch (stored(ADE9000Sheet.pgaGain) >> (2 * channel)) & 0b11 {
        case 0b00: 1
        case 0b01: 2
        default: 4
        }
    }

    /// The phase advance (degrees at the fundamental) that xPHCAL0 = `phcal` gives the current channel at
    /// `hertz`. The datasheet gives the inverse, xPHCAL0 = [sin(φ − ω) + sin ω] / sin(2ω − φ) · 2²⁷ with
    /// ω = 2π·f/f_DSP (spec §6.3). With x = xPHCAL0 / 2²⁷ that is A·sin φ − B·cos φ = −sin ω, A = cos ω + x·cos 2ω,
    /// B = sin ω + x·sin 2ω, so φ = atan2(B, A) + asin(−sin ω / √(A² + B²)), the root near zero. The chip can
    /// only delay the voltage by up to one sample: the result is limited to the TRM range, −15° … +360°·f/8000.
    static func phaseAdvanceDegrees(phcal: Int32, hertz: Double) -> Double {
        guard phcal != 0 else { return 0 }
        let x = Double(phcal) / ADE9000Sheet.one
        let omega = 2 * Double.pi * hertz / Double(ADE9000Sheet.samplesPerSecond)
        let a = cos(omega) + x * cos(2 * omega)
        let b = sin(omega) + x * sin(2 * omega)
        let radius = (a * a + b * b).squareRoot()
        guard radius > 0 else { return 0 }
        let phi = atan2(b, a) + asin(max(-1, min(1, -sin(omega) / radius)))
        let degrees = phi * 180 / .pi
        return min(max(degrees, -15), 360 * hertz / Double(ADE9000Sheet.samplesPerSecond))
    }

    /// The codes the chip would show at `sample` (cached per constant stretch of the load and register state).
    func phaseCodes(atSample sample: Int64) -> [PhaseCodes] {
        let load = scenario.load(atSample: sample)
        if let cached = codeCache[load.index] { return cached }
        let codes = computeCodes(phases: load.phases, frequency: load.frequency, sample: sample)
        codeCache[load.index] = codes
        return codes
    }

    private func computeCodes(phases loads: [Scenario.PhaseLoad], frequency: Double, sample: Int64) -> [PhaseCodes] {
        let frontEnd = scenario.frontEnd
        let accMode = stored(ADE9000Sheet.accMode)
        let orders = [Scenario.Harmonic(order: 1, voltage: 1, current: 1)] + (scenario.harmonics ?? [])
        // Codes per rms volt at the pins: full scale is 0.7071 V rms.
        let rmsScale = ADE9000Sheet.rmsFullScale / ADE9000Sheet.fullScalePinRMS
        let powerScale = ADE9000Sheet.powerFullScale / (ADE9000Sheet.fullScalePinRMS * ADE9000Sheet.fullScalePinRMS)
        let neutralPGA = pga(3)

        // ADC-level phasors (front end, PGA) per phase and order; true pin currents for the neutral.
        var voltages = [[Phasor]](repeating: [], count: 3)
        var currents = [[Phasor]](repeating: [], count: 3)
        var neutralByOrder = [Phasor](repeating: .zero, count: orders.count)
        for p in 0..<3 {
            let load = p < loads.count ? loads[p] : Scenario.PhaseLoad(voltage: 0, current: 0)
            let error = scenario.error(p)
            let theta = scenario.voltageAngle(p)
            let gv = pga(4 + p) * (1 + (error.voltageGain ?? 0))
            let gi = pga(p) * (1 + (error.currentGain ?? 0))
            for (index, harmonic) in orders.enumerated() {
                let h = Double(harmonic.order)
                let lag = harmonic.order == 1 ? load.angle : (harmonic.angle ?? 0)
                let v = Phasor(
                    magnitude: load.voltage * harmonic.voltage * frontEnd.voltageTransfer, degrees: h * theta)
                let i = Phasor(
                    magnitude: load.current * harmonic.current * frontEnd.currentTransfer, degrees: h * theta - lag)
                neutralByOrder[index] = neutralByOrder[index] + i * neutralPGA
                voltages[p].append(v * gv)
                currents[p].append((i * gi).rotated(degrees: -h * (error.phaseDegrees ?? 0)))
            }
        }
        // Wiring as the DSP computes it (ACCMODE.VCONSEL[6:4] = 001: VB′ = VA − VC; ICONSEL b7: IB = −IA − IC).
        if (accMode >> 4) & 0b111 == 0b001 {
            voltages[1] = zip(voltages[0], voltages[2]).map { $0 - $1 }
        }
        if accMode & (1 << 7) != 0 {
            currents[1] = zip(currents[0], currents[2]).map { -($0 + $1) }
        }

        let seconds = Double(sample) / Double(ADE9000Sheet.samplesPerSecond)
        var result = [PhaseCodes](repeating: PhaseCodes(), count: 3)
        for p in 0..<3 {
            let off = UInt16(p) * 0x20
            let error = scenario.error(p)
            let vg = 1 + signed(0x00B + off) / ADE9000Sheet.one
            let ig = 1 + signed(0x000 + off) / ADE9000Sheet.one
            let pg = 1 + signed(0x00E + off) / ADE9000Sheet.one
            let correction = Self.phaseAdvanceDegrees(phcal: Int32(bitPattern: stored(0x006 + off)), hertz: frequency)
            let vm = voltages[p].map { $0 * vg }
            let im = currents[p].enumerated().map { index, phasor in
                (phasor * ig).rotated(degrees: Double(orders[index].order) * correction)
            }
            let vOffset = (error.voltageOffset ?? 0) * frontEnd.voltageTransfer * pga(4 + p) * vg
            let iOffset = (error.currentOffset ?? 0) * frontEnd.currentTransfer * pga(p) * ig
            let vSquares = vm.reduce(vOffset * vOffset) { $0 + $1.magnitudeSquared }
            let iSquares = im.reduce(iOffset * iOffset) { $0 + $1.magnitudeSquared }
            let weight = ADE9000Sheet.rmsOffsetWeight
            let vrms = max(0, rmsScale * rmsScale * vSquares + weight * signed(0x00D + off)).squareRoot()
            let irms = max(0, rmsScale * rmsScale * iSquares + weight * signed(0x00C + off)).squareRoot()
            var total = Phasor.zero
            for (v, i) in zip(vm, im) { total = total + v.timesConjugate(i) }
            let fundamental = vm[0].timesConjugate(im[0])
            let powerOffset =
                (error.powerOffset ?? 0) * frontEnd.voltageTransfer * frontEnd.currentTransfer
                * pga(4 + p) * pga(p) * vg * ig
            var codes = PhaseCodes()
            codes.frequency = frequency
            codes.vrms = Self.code(vrms)
            codes.irms = Self.code(irms)
            codes.vfrms = Self.code(rmsScale * vm[0].magnitude)
            codes.ifrms = Self.code(rmsScale * im[0].magnitude)
            let watt = powerScale * (total.re + powerOffset) * pg + signed(0x00F + off)
            let reactive = powerScale * total.im * pg + signed(0x010 + off)
            let apparent = powerScale * (vrms / rmsScale) * (irms / rmsScale) * pg
            codes.watt = Self.code(watt)
            codes.reactive = Self.code(reactive)
            codes.va = Self.code(apparent)
            codes.fwatt = Self.code(powerScale * fundamental.re * pg)
            codes.fvar = Self.code(powerScale * fundamental.im * pg)
            codes.fva = Self.code(powerScale * vm[0].magnitude * im[0].magnitude * pg)
            codes.pf = apparent > 0 ? Self.code(min(max(watt / apparent, -1), 1) * ADE9000Sheet.one) : 0
            if vm[0].magnitudeSquared > 0 {
                codes.vthd = Self.code(
                    (vm.dropFirst().reduce(0) { $0 + $1.magnitudeSquared } / vm[0].magnitudeSquared).squareRoot()
                        * ADE9000Sheet.one)
            }
            if im[0].magnitudeSquared > 0 {
                codes.ithd = Self.code(
                    (im.dropFirst().reduce(0) { $0 + $1.magnitudeSquared } / im[0].magnitudeSquared).squareRoot()
                        * ADE9000Sheet.one)
            }
            // Instantaneous values at this sample (peak = √2 · rms, full scale 74,532,013 per volt peak).
            var vNow = 0.0
            var iNow = 0.0
            for (index, harmonic) in orders.enumerated() {
                let wt = 2 * Double.pi * frequency * Double(harmonic.order) * seconds
                vNow += 2.0.squareRoot() * vm[index].magnitude * sin(wt + vm[index].degrees * .pi / 180)
                iNow += 2.0.squareRoot() * im[index].magnitude * sin(wt + im[index].degrees * .pi / 180)
            }
            codes.vPCF = Self.code(vNow * ADE9000Sheet.instantaneousFullScale)
            codes.iPCF = Self.code(iNow * ADE9000Sheet.instantaneousFullScale)
            codes.voltageAngleDegrees = vm[0].degrees
            codes.currentAngle = Self.ticks(degrees: vm[0].degrees - im[0].degrees, frequency: frequency)
            result[p] = codes
        }
        for p in 0..<3 {
            result[p].voltageAngleFromA = Self.ticks(
                degrees: result[0].voltageAngleDegrees - result[p].voltageAngleDegrees, frequency: frequency)
        }
        let neutral = neutralByOrder.reduce(0) { $0 + $1.magnitudeSquared }.squareRoot() * rmsScale
        for p in 0..<3 { result[p].neutral = Self.code(neutral) }
        return result
    }
}
