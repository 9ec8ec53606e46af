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

/// One reading of the energy registers the driver tracks, for all phases: xWATTHR, xVARHR and xVAHR as 45-bit
/// two's-complement accumulator values (HI · 2¹³ + LO, spec §12.3).
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
}

/// Energy since the driver started, accumulated from successive readings of the chip's free-running 45-bit
/// energy registers. A pure value: the driver reads the registers and feeds each complete reading to `add(_:)`.
///
/// The registers run freely and wrap (EP_CFG: no reset on read, no latch); only the differences between
/// readings count. Active and reactive increments are split by sign (import/export, positive/negative);
/// apparent increments count by magnitude.
public struct EnergyAccumulator: Sendable, Equatable {
    /// Energy per phase (A, B, C) in accumulator counts.
    public private(set) var counts = [EnergyCounts](repeating: EnergyCounts(), count: Phase.allCases.count)
    /// The reading the next increments are taken from.
    public private(set) var baseline: EnergyRegisterValues

    /// No energy yet; increments are taken from `baseline` (default: the registers after a chip reset).
    public init(baseline: EnergyRegisterValues = EnergyRegisterValues()) {
        self.baseline = baseline
    }

    /// Takes `reading` as the new baseline without counting anything: after the chip was (re-)initialised, its
    /// registers restarted and the difference to the old baseline is meaningless.
    public mutating func rebaseline(_ reading: EnergyRegisterValues) {
        baseline = reading
    }

    /// Adds the increments from `baseline` to `reading` and makes `reading` the baseline. Feed only readings
    /// that are complete and free of a chip reset: a dropped reading loses nothing, the next one carries the
    /// whole increment.
    public mutating func add(_ reading: EnergyRegisterValues) {
        for phase in Phase.allCases {
            let p = phase.rawValue
            let active = Self.delta(from: baseline[phase, .active], to: reading[phase, .active])
            let reactive = Self.delta(from: baseline[phase, .reactive], to: reading[phase, .reactive])
            let apparent = Self.delta(from: baseline[phase, .apparent], to: reading[phase, .apparent])
            if active >= 0 { counts[p].activeImport += active } else { counts[p].activeExport -= active }
            if reactive >= 0 {
                counts[p].reactivePositive += reactive
            } else {
                counts[p].reactiveNegative -= reactive
            }
            counts[p].apparent += abs(apparent)
        }
        baseline = reading
    }

    /// Difference of two 45-bit two's-complement accumulator values across a wrap: (new − old) mod 2⁴⁵ in
    /// [−2⁴⁴, 2⁴⁴). Correct as long as the register moved by less than 2⁴⁴ counts between reads (~106 s at
    /// full-scale power, spec §5.5).
    public static func delta(from old: Int64, to new: Int64) -> Int64 {
        let modulus: Int64 = 1 << 45
        // Wrapping subtraction: 2⁴⁵ divides 2⁶⁴, so the residue is the same and no input can trap.
        var delta = (new &- old) % modulus
        if delta >= modulus / 2 { delta -= modulus }
        if delta < -modulus / 2 { delta += modulus }
        return delta
    }
}
