/// The total-energy accumulators the driver tracks: xWATTHR, xVARHR, xVAHR (HI/LO pairs, spec §2.3).
public enum EnergyQuantity: Int, CaseIterable, Sendable {
    case active, reactive, apparent

    /// xWATTHR_HI / xVARHR_HI / xVAHR_HI.
    public func high(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        switch self {
        case .active: .activeEnergyHigh(phase)
        case .reactive: .reactiveEnergyHigh(phase)
        case .apparent: .apparentEnergyHigh(phase)
        }
    }

    /// xWATTHR_LO / xVARHR_LO / xVAHR_LO.
    public func low(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        switch self {
        case .active: .activeEnergyLow(phase)
        case .reactive: .reactiveEnergyLow(phase)
        case .apparent: .apparentEnergyLow(phase)
        }
    }
}

/// One reading of the energy registers the driver tracks, for all phases: xWATTHR, xVARHR and xVAHR in
/// accumulator counts (one count = one xWATT code for one 8 kSPS sample; an xHR_HI LSB is 2¹³ counts, §12.3).
/// With the read-with-reset model each value is the increment since the previous read.
public struct EnergyRegisterValues: Sendable, Equatable {
    /// Phase-major: A active, A reactive, A apparent, B active, …
    private var values = [Int64](repeating: 0, count: 9)

    /// All accumulators at zero (the chip after reset).
    public init() {}

    /// The 45-bit accumulator value of `quantity` on `phase`.
    public subscript(phase: Phase, quantity: EnergyQuantity) -> Int64 {
        get { values[phase.rawValue * 3 + quantity.rawValue] }
        set { values[phase.rawValue * 3 + quantity.rawValue] = newValue }
    }

    /// Stores the xHR_HI / xHR_LO pair of `quantity` on `phase` as read from the chip.
    public mutating func set(_ phase: Phase, _ quantity: EnergyQuantity, high: UInt32, low: UInt32) {
        self[phase, quantity] = Framing.energyAccumulator(high: high, low: low)
    }

    /// Stores a read-with-reset xHR_HI word of `quantity` on `phase`: HI (signed) · 2¹³ counts.
    public mutating func set(_ phase: Phase, _ quantity: EnergyQuantity, high: UInt32) {
        self[phase, quantity] = Int64(Int32(bitPattern: high)) * 8192
    }
}

/// Energy since the driver started, in 64-bit counters, fed with the increments the chip hands over.
///
/// The energy model is read-with-reset (EP_CFG.RD_RST_EN = 1, spec §5.5 model (a); see
/// `ADE9000Configuration.energyPowerConfig`): each read of xWATTHR_HI / xVARHR_HI / xVAHR_HI returns the energy
/// since the previous read and clears the register, so every reading *is* an increment and the 45-bit registers
/// never approach their undocumented overflow. A pure value: the driver reads the registers and feeds each
/// complete set of increments to `add(_:)`; active and reactive increments are split by sign (import/export,
/// positive/negative), apparent increments count by magnitude.
public struct EnergyAccumulator: Sendable, Equatable {
    /// Energy per phase (A, B, C) in accumulator counts.
    public private(set) var counts = [EnergyCounts](repeating: EnergyCounts(), count: Phase.allCases.count)

    /// No energy yet.
    public init() {}

    /// Adds one set of increments (each the energy since the previous read of that register).
    public mutating func add(_ increments: EnergyRegisterValues) {
        for phase in Phase.allCases {
            let p = phase.rawValue
            let active = increments[phase, .active]
            let reactive = increments[phase, .reactive]
            let apparent = increments[phase, .apparent]
            if active >= 0 { counts[p].activeImport += active } else { counts[p].activeExport -= active }
            if reactive >= 0 {
                counts[p].reactivePositive += reactive
            } else {
                counts[p].reactiveNegative -= reactive
            }
            counts[p].apparent += abs(apparent)
        }
    }

    /// Difference of two 45-bit two's-complement accumulator values across a wrap: (new − old) mod 2⁴⁵ in
    /// [−2⁴⁴, 2⁴⁴). For tools that compare raw register values; the driver itself only reads increments.
    public static func delta(from old: Int64, to new: Int64) -> Int64 {
        let modulus: Int64 = 1 << 45
        // Wrapping subtraction: 2⁴⁵ divides 2⁶⁴, so the residue is the same and no input can trap.
        var delta = (new &- old) % modulus
        if delta >= modulus / 2 { delta -= modulus }
        if delta < -modulus / 2 { delta += modulus }
        return delta
    }
}
