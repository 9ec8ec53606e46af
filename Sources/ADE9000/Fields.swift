/// STATUS0 (0x402), 32-bit, R/W1C; also the layout of MASK0 (0x405), which gates the IRQ0 pin (spec §7.2).
public struct Status0: OptionSet, Sendable, Hashable {
    public static let register: WriteOneToClearRegister<UInt32> = .status0
    public static let maskRegister: Register<UInt32> = .mask0
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// EGYRDY, bit 0: energy accumulation of EGY_TIME samples/half cycles finished.
    public static let energyReady = Status0(rawValue: 1 << 0)
    /// REVAPA/B/C, bits 1–3: phase active power changed sign.
    public static let reverseActivePowerA = Status0(rawValue: 1 << 1)
    public static let reverseActivePowerB = Status0(rawValue: 1 << 2)
    public static let reverseActivePowerC = Status0(rawValue: 1 << 3)
    /// REVRPA/B/C, bits 4–6: phase reactive power changed sign.
    public static let reverseReactivePowerA = Status0(rawValue: 1 << 4)
    public static let reverseReactivePowerB = Status0(rawValue: 1 << 5)
    public static let reverseReactivePowerC = Status0(rawValue: 1 << 6)
    /// DREADY, bit 15: new waveform data (rate set by WFB_CFG.WF_SRC).
    public static let dataReady = Status0(rawValue: 1 << 15)
    /// WFB_TRIG_IRQ, bit 16.
    public static let waveformTriggerIRQ = Status0(rawValue: 1 << 16)
    /// PAGE_FULL, bit 17.
    public static let pageFull = Status0(rawValue: 1 << 17)
    /// PWRRDY, bit 18: xWATT_ACC etc. latched (every PWR_TIME samples).
    public static let powerReady = Status0(rawValue: 1 << 18)
    /// RMSONERDY, bit 19.
    public static let rmsOneReady = Status0(rawValue: 1 << 19)
    /// RMS1012RDY, bit 20.
    public static let rms1012Ready = Status0(rawValue: 1 << 20)
    /// THD_PF_RDY, bit 21: THD and PF updated (every 1.024 s).
    public static let thdPowerFactorReady = Status0(rawValue: 1 << 21)
    /// MISMTCH, bit 24.
    public static let mismatch = Status0(rawValue: 1 << 24)
    /// TEMP_RDY, bit 25.
    public static let temperatureReady = Status0(rawValue: 1 << 25)
}

/// STATUS1 (0x403), 32-bit, R/W1C; also the layout of MASK1 (0x406), which gates IRQ1 (spec §7.2).
public struct Status1: OptionSet, Sendable, Hashable {
    public static let register: WriteOneToClearRegister<UInt32> = .status1
    public static let maskRegister: Register<UInt32> = .mask1
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// ANLOAD, bit 0 · RNLOAD, bit 1 · VANLOAD, bit 2: no-load conditions.
    public static let activeNoLoad = Status1(rawValue: 1 << 0)
    public static let reactiveNoLoad = Status1(rawValue: 1 << 1)
    public static let apparentNoLoad = Status1(rawValue: 1 << 2)
    /// ZXTOVA/B/C, bits 6–8: zero-crossing timeout.
    public static let zeroCrossingTimeoutA = Status1(rawValue: 1 << 6)
    public static let zeroCrossingTimeoutB = Status1(rawValue: 1 << 7)
    public static let zeroCrossingTimeoutC = Status1(rawValue: 1 << 8)
    /// RSTDONE, bit 16: the power-up sequence finished after a reset (drives IRQ1 regardless of MASK1).
    public static let resetDone = Status1(rawValue: 1 << 16)
    /// OI, bit 17: overcurrent.
    public static let overcurrent = Status1(rawValue: 1 << 17)
    /// SEQERR, bit 18: phase sequence error.
    public static let sequenceError = Status1(rawValue: 1 << 18)
    /// CRC_CHG, bit 26: the configuration CRC (CRC_RSLT) changed.
    public static let configurationCRCChanged = Status1(rawValue: 1 << 26)
    /// CRC_DONE, bit 27.
    public static let configurationCRCDone = Status1(rawValue: 1 << 27)
    /// ERROR0…ERROR3, bits 28–31.
    public static let error0 = Status1(rawValue: 1 << 28)
    public static let error1 = Status1(rawValue: 1 << 29)
    public static let error2 = Status1(rawValue: 1 << 30)
    public static let error3 = Status1(rawValue: 1 << 31)
}

/// CONFIG0 (0x060), 32-bit, RW (spec §3.1).
public struct Config0: Equatable, Sendable {
    public static let register: Register<UInt32> = .config0
    public var rawValue: UInt32
    public init(rawValue: UInt32 = 0) { self.rawValue = rawValue }

    /// HPFDIS, bit 3: disable all high-pass filters.
    public var highPassFiltersDisabled: Bool {
        get { rawValue[bits: 3..<4] == 1 }
        set { rawValue[bits: 3..<4] = newValue ? 1 : 0 }
    }
    /// MTEN, bit 4: multipoint gain/phase compensation.
    public var multipointEnabled: Bool {
        get { rawValue[bits: 4..<5] == 1 }
        set { rawValue[bits: 4..<5] = newValue ? 1 : 0 }
    }
    /// INTEN, bit 5: phase-current integrators (Rogowski coils).
    public var integratorEnabled: Bool {
        get { rawValue[bits: 5..<6] == 1 }
        set { rawValue[bits: 5..<6] = newValue ? 1 : 0 }
    }
}

/// CONFIG1 (0x481), 16-bit, RW (spec §3.2).
public struct Config1: Equatable, Sendable {
    public static let register: Register<UInt16> = .config1
    public var rawValue: UInt16
    public init(rawValue: UInt16 = 0) { self.rawValue = rawValue }

    /// SWRST, bit 0: software reset.
    public var softwareReset: Bool {
        get { rawValue[bits: 0..<1] == 1 }
        set { rawValue[bits: 0..<1] = newValue ? 1 : 0 }
    }
    /// CF3_CFG, bit 1: 1 = zero-crossing signal on the CF3/ZX pin.
    public var cf3IsZeroCrossing: Bool {
        get { rawValue[bits: 1..<2] == 1 }
        set { rawValue[bits: 1..<2] = newValue ? 1 : 0 }
    }
    /// BURST_EN, bit 11: burst reads of 0x500–0x63C and 0x680–0x6BC (no CRC appended there).
    public var burstEnabled: Bool {
        get { rawValue[bits: 11..<12] == 1 }
        set { rawValue[bits: 11..<12] = newValue ? 1 : 0 }
    }
    /// IRQ0_ON_IRQ1, bit 12.
    public var irq0OnIRQ1: Bool {
        get { rawValue[bits: 12..<13] == 1 }
        set { rawValue[bits: 12..<13] = newValue ? 1 : 0 }
    }
}

/// Supply wiring, encoded in ACCMODE.VCONSEL/ICONSEL.
public enum Wiring: String, Sendable, Codable, CaseIterable {
    /// 3-phase 4-wire wye (VCONSEL 000).
    case threePhaseFourWire = "3P4W"
    /// 3-phase 3-wire delta with phase B as reference (VCONSEL 001: VB′ = VA − VC; ICONSEL: IB = −IA − IC).
    case threePhaseThreeWire = "3P3W"
}

/// Nominal line frequency (ACCMODE.SELFREQ).
public enum LineFrequency: Int, Sendable, Codable, CaseIterable {
    case hz50 = 50
    case hz60 = 60
    public var hertz: Double { Double(rawValue) }
}

/// ACCMODE (0x492), 16-bit, RW: accumulation modes, wiring and 50/60 Hz (spec §3.4).
public struct AccumulationMode: Equatable, Sendable {
    public static let register: Register<UInt16> = .accMode
    public var rawValue: UInt16
    public init(rawValue: UInt16 = 0) { self.rawValue = rawValue }

    public init(wiring: Wiring, frequency: LineFrequency) {
        self.init()
        self.wiring = wiring
        self.frequency = frequency
    }

    /// WATTACC, bits 1:0: 00 signed, 01 absolute, 10 positive only, 11 negative only.
    public var activeAccumulation: UInt16 {
        get { rawValue[bits: 0..<2] }
        set { rawValue[bits: 0..<2] = newValue }
    }
    /// VCONSEL, bits 6:4.
    public var voltageConfiguration: UInt16 {
        get { rawValue[bits: 4..<7] }
        set { rawValue[bits: 4..<7] = newValue }
    }
    /// ICONSEL, bit 7: IB computed as −IA − IC.
    public var currentBComputed: Bool {
        get { rawValue[bits: 7..<8] == 1 }
        set { rawValue[bits: 7..<8] = newValue ? 1 : 0 }
    }
    /// SELFREQ, bit 8: 0 = 50 Hz, 1 = 60 Hz.
    public var frequency: LineFrequency {
        get { rawValue[bits: 8..<9] == 1 ? .hz60 : .hz50 }
        set { rawValue[bits: 8..<9] = newValue == .hz60 ? 1 : 0 }
    }
    /// Wiring as encoded in VCONSEL/ICONSEL; `nil` for encodings this driver does not model.
    public var wiring: Wiring? {
        get {
            switch (voltageConfiguration, currentBComputed) {
            case (0b000, false): .threePhaseFourWire
            case (0b001, true): .threePhaseThreeWire
            default: nil
            }
        }
        set {
            switch newValue {
            case .threePhaseFourWire, nil:
                voltageConfiguration = 0
                currentBComputed = false
            case .threePhaseThreeWire:
                voltageConfiguration = 0b001
                currentBComputed = true
            }
        }
    }
}

/// EP_CFG (0x4B0), 16-bit, RW: energy and power accumulation (spec §3.5).
public struct EnergyPowerConfig: Equatable, Sendable {
    public static let register: Register<UInt16> = .epConfig
    public var rawValue: UInt16
    public init(rawValue: UInt16 = 0) { self.rawValue = rawValue }

    /// EGY_PWR_EN, bit 0: run the energy/power accumulators (needs RUN = 1 too).
    public var enabled: Bool {
        get { rawValue[bits: 0..<1] == 1 }
        set { rawValue[bits: 0..<1] = newValue ? 1 : 0 }
    }
    /// EGY_TMR_MODE, bit 1: 0 = count 8 kSPS samples, 1 = count half line cycles.
    public var countsHalfLineCycles: Bool {
        get { rawValue[bits: 1..<2] == 1 }
        set { rawValue[bits: 1..<2] = newValue ? 1 : 0 }
    }
    /// EGY_LD_ACCUM, bit 4: 1 = at EGYRDY the internal accumulator overwrites the user registers, 0 = is added.
    public var latchesAtEnergyReady: Bool {
        get { rawValue[bits: 4..<5] == 1 }
        set { rawValue[bits: 4..<5] = newValue ? 1 : 0 }
    }
    /// RD_RST_EN, bit 5: reading xHR_HI clears it.
    public var resetOnRead: Bool {
        get { rawValue[bits: 5..<6] == 1 }
        set { rawValue[bits: 5..<6] = newValue ? 1 : 0 }
    }
    /// NOLOAD_TMR, bits 15:13: 7 disables no-load detection.
    public var noLoadTimer: UInt16 {
        get { rawValue[bits: 13..<16] }
        set { rawValue[bits: 13..<16] = newValue }
    }
}

/// Gain of one programmable-gain amplifier (PGA_GAIN 2-bit code: 00 ×1, 01 ×2, 10 ×4, 11 ×4; spec §3.9).
public enum PGAGain: Int, Sendable, Codable, CaseIterable {
    case x1 = 1
    case x2 = 2
    case x4 = 4

    public var factor: Double { Double(rawValue) }

    /// The 2-bit PGA_GAIN field code.
    public var code: UInt16 {
        switch self {
        case .x1: 0b00
        case .x2: 0b01
        case .x4: 0b10
        }
    }

    /// Decodes a 2-bit field (11 also means ×4).
    public init(code: UInt16) {
        switch code & 0b11 {
        case 0b00: self = .x1
        case 0b01: self = .x2
        default: self = .x4
        }
    }
}

/// PGA_GAIN (0x4B9), 16-bit, RW: IA[1:0], IB[3:2], IC[5:4], IN[7:6], VA[9:8], VB[11:10], VC[13:12].
public struct PGAGainRegister: Equatable, Sendable {
    public static let register: Register<UInt16> = .pgaGain
    public var rawValue: UInt16
    public init(rawValue: UInt16 = 0) { self.rawValue = rawValue }

    /// All current channels (incl. neutral) at `current`, all voltage channels at `voltage`.
    public init(current: PGAGain, voltage: PGAGain) {
        self.init()
        for phase in Phase.allCases {
            setCurrent(phase, current)
            setVoltage(phase, voltage)
        }
        rawValue[bits: 6..<8] = current.code
    }

    public func current(_ phase: Phase) -> PGAGain {
        PGAGain(code: rawValue[bits: (2 * phase.rawValue)..<(2 * phase.rawValue + 2)])
    }
    public func voltage(_ phase: Phase) -> PGAGain {
        PGAGain(code: rawValue[bits: (8 + 2 * phase.rawValue)..<(10 + 2 * phase.rawValue)])
    }
    public var neutral: PGAGain { PGAGain(code: rawValue[bits: 6..<8]) }

    public mutating func setCurrent(_ phase: Phase, _ gain: PGAGain) {
        rawValue[bits: (2 * phase.rawValue)..<(2 * phase.rawValue + 2)] = gain.code
    }
    public mutating func setVoltage(_ phase: Phase, _ gain: PGAGain) {
        rawValue[bits: (8 + 2 * phase.rawValue)..<(10 + 2 * phase.rawValue)] = gain.code
    }
}

/// WR_LOCK (0x4BF) keys (spec §12.2).
public enum WriteLockKey {
    public static let lock: UInt16 = 0x3C64
    public static let unlock: UInt16 = 0x4AD1
}
