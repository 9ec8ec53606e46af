/// A 12-bit ADE9000 register address (0x000–0xFFF). A struct, not an enum: per-phase addresses are computed.
public struct RegisterAddress: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16

    /// - Precondition: `rawValue <= 0xFFF` (an out-of-range address literal is a programmer error).
    public init(rawValue: UInt16) {
        precondition(rawValue <= 0xFFF, "ADE9000 register addresses are 12 bits; got 0x\(String(rawValue, radix: 16))")
        self.rawValue = rawValue
    }

    /// Like `init(rawValue:)` but returns `nil` for addresses wider than 12 bits (for decoding untrusted input).
    public init?(validating value: UInt16) {
        guard value <= 0xFFF else { return nil }
        self.rawValue = value
    }

    /// Datasheet width rule (spec §1.3): 0x480–0x4FE inclusive are 16-bit, every other address is 32-bit.
    public var isSixteenBit: Bool { (0x480...0x4FE).contains(rawValue) }

    /// Width on the wire in bits (16 or 32), from the datasheet rule.
    public var bitWidth: Int { isSixteenBit ? 16 : 32 }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// `0x20C`.
    public var description: String {
        let hex = String(rawValue, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 3 - hex.count)) + hex
    }
}

/// A register whose wire width is its `Value` type: `UInt16` or `UInt32` (STYLE §B.3).
public struct Register<Value: FixedWidthInteger & UnsignedInteger & Sendable>: Hashable, Sendable,
    CustomStringConvertible
{
    public let address: RegisterAddress

    /// - Precondition: the address is 12 bits and `Value.bitWidth` matches the datasheet width of the address
    ///   (spec §1.3: 0x480–0x4FE are 16-bit, everything else 32-bit). A mismatch is a programmer error.
    public init(_ address: UInt16) {
        let checked = RegisterAddress(rawValue: address)
        precondition(
            checked.bitWidth == Value.bitWidth,
            "register \(checked) is \(checked.bitWidth)-bit; declared as \(Value.bitWidth)-bit")
        self.address = checked
    }

    /// A register of the given width at any address, without the width check. Only for tests and tools that
    /// must reproduce a wrong-width access on purpose (e.g. the Linux driver's 32-bit write of RUN).
    public init(uncheckedWidth address: UInt16) {
        self.address = RegisterAddress(rawValue: address)
    }

    /// The datasheet mnemonic (`AIRMS`) when known, else the address.
    public var description: String { RegisterMap.name(of: address) }
}

/// One of the three measurement phases.
public enum Phase: Int, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case a, b, c

    /// Per-phase calibration and measurement blocks repeat with a 0x20 stride: B = A + 0x20, C = A + 0x40.
    public var offset: UInt16 { UInt16(rawValue) * 0x20 }
    /// Energy/accumulated-power blocks repeat with a 0x3C stride: A 0x2E5, B 0x321, C 0x35D (spec §2.3).
    public var energyOffset: UInt16 { UInt16(rawValue) * 0x3C }
    /// `A`, `B`, `C`.
    public var description: String { ["A", "B", "C"][rawValue] }
}

/// One entry of an initialisation table (the kernel's `reg_sequence`), with the width in the case.
public enum RegisterWrite: Equatable, Sendable, CustomStringConvertible {
    case u16(Register<UInt16>, UInt16)
    case u32(Register<UInt32>, UInt32)

    public var address: RegisterAddress {
        switch self {
        case .u16(let register, _): register.address
        case .u32(let register, _): register.address
        }
    }

    public var value: UInt32 {
        switch self {
        case .u16(_, let value): UInt32(value)
        case .u32(_, let value): value
        }
    }

    /// `RUN (0x480) ← 0x0001`.
    public var description: String {
        switch self {
        case .u16(let register, let value): "\(register) (\(register.address)) ← 0x\(hex(UInt32(value), digits: 4))"
        case .u32(let register, let value): "\(register) (\(register.address)) ← 0x\(hex(value, digits: 8))"
        }
    }
}

func hex(_ value: UInt32, digits: Int) -> String {
    let text = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}

// MARK: - Calibration registers (spec §2.1), 32-bit, signed, phase stride 0x20

extension Register where Value == UInt32 {
    /// AIGAIN/BIGAIN/CIGAIN (0x000 + 0x20·phase), RW, signed: current gain ×(1 + v/2²⁷). Datasheet: AIGAIN = 0x000.
    public static func currentGain(_ phase: Phase) -> Self { Self(0x000 + phase.offset) }
    /// APHCAL0/BPHCAL0/CPHCAL0 (0x006 + 0x20·phase), RW, signed: phase compensation. Datasheet: APHCAL0 = 0x006.
    public static func phaseCalibration(_ phase: Phase) -> Self { Self(0x006 + phase.offset) }
    /// AVGAIN/BVGAIN/CVGAIN (0x00B + 0x20·phase), RW, signed: voltage gain ×(1 + v/2²⁷). Datasheet: AVGAIN = 0x00B.
    public static func voltageGain(_ phase: Phase) -> Self { Self(0x00B + phase.offset) }
    /// AIRMSOS (0x00C + 0x20·phase), RW, signed: IRMS = √(IRMS₀² + 2¹⁵·xIRMSOS) (spec §12.4).
    public static func currentRMSOffset(_ phase: Phase) -> Self { Self(0x00C + phase.offset) }
    /// AVRMSOS (0x00D + 0x20·phase), RW, signed: VRMS = √(VRMS₀² + 2¹⁵·xVRMSOS).
    public static func voltageRMSOffset(_ phase: Phase) -> Self { Self(0x00D + phase.offset) }
    /// APGAIN (0x00E + 0x20·phase), RW, signed: power gain for xWATT, xVAR, xVA (and fundamental).
    public static func powerGain(_ phase: Phase) -> Self { Self(0x00E + phase.offset) }
    /// AWATTOS (0x00F + 0x20·phase), RW, signed: active power offset, one LSB = one xWATT code.
    public static func activePowerOffset(_ phase: Phase) -> Self { Self(0x00F + phase.offset) }
    /// AVAROS (0x010 + 0x20·phase), RW, signed: reactive power offset.
    public static func reactivePowerOffset(_ phase: Phase) -> Self { Self(0x010 + phase.offset) }

    /// CONFIG0 (0x060), RW, see `Config0`.
    public static let config0 = Self(0x060)
    /// DICOEFF (0x072), RW: digital integrator coefficient (0xFFFFE000 with the integrator on, else 0).
    public static let dicoeff = Self(0x072)
}

// MARK: - Measurements (spec §2.2), 32-bit, read-only, phase stride 0x20

extension Register where Value == UInt32 {
    /// AI_PCF (0x20A + 0x20·phase): instantaneous current, 8 kSPS.
    public static func currentWaveform(_ phase: Phase) -> Self { Self(0x20A + phase.offset) }
    /// AV_PCF (0x20B + 0x20·phase): instantaneous voltage, 8 kSPS.
    public static func voltageWaveform(_ phase: Phase) -> Self { Self(0x20B + phase.offset) }
    /// AIRMS/BIRMS/CIRMS (0x20C + 0x20·phase): filter-based total current RMS. Datasheet: AIRMS = 0x20C.
    public static func irms(_ phase: Phase) -> Self { Self(0x20C + phase.offset) }
    /// AVRMS (0x20D + 0x20·phase): filter-based total voltage RMS.
    public static func vrms(_ phase: Phase) -> Self { Self(0x20D + phase.offset) }
    /// AIFRMS (0x20E + 0x20·phase): fundamental current RMS.
    public static func fundamentalIRMS(_ phase: Phase) -> Self { Self(0x20E + phase.offset) }
    /// AVFRMS (0x20F + 0x20·phase): fundamental voltage RMS.
    public static func fundamentalVRMS(_ phase: Phase) -> Self { Self(0x20F + phase.offset) }
    /// AWATT (0x210 + 0x20·phase): total active power, signed.
    public static func activePower(_ phase: Phase) -> Self { Self(0x210 + phase.offset) }
    /// AVAR (0x211 + 0x20·phase): total reactive power, signed.
    public static func reactivePower(_ phase: Phase) -> Self { Self(0x211 + phase.offset) }
    /// AVA (0x212 + 0x20·phase): total apparent power.
    public static func apparentPower(_ phase: Phase) -> Self { Self(0x212 + phase.offset) }
    /// AFWATT (0x213 + 0x20·phase): fundamental active power.
    public static func fundamentalActivePower(_ phase: Phase) -> Self { Self(0x213 + phase.offset) }
    /// AFVAR (0x214 + 0x20·phase): fundamental reactive power.
    public static func fundamentalReactivePower(_ phase: Phase) -> Self { Self(0x214 + phase.offset) }
    /// AFVA (0x215 + 0x20·phase): fundamental apparent power.
    public static func fundamentalApparentPower(_ phase: Phase) -> Self { Self(0x215 + phase.offset) }
    /// APF (0x216 + 0x20·phase): power factor, 1.0 = 2²⁷, signed.
    public static func powerFactor(_ phase: Phase) -> Self { Self(0x216 + phase.offset) }
    /// NIRMS (0x266): neutral current RMS.
    public static let neutralIRMS = Self(0x266)

    /// xWATTHR_LO (0x2E6 + 0x3C·phase): 13 LSBs of the 45-bit total active energy in bits 12:0 (spec §12.3).
    public static func activeEnergyLow(_ phase: Phase) -> Self { Self(0x2E6 + phase.energyOffset) }
    /// xWATTHR_HI (0x2E7 + 0x3C·phase): 32 MSBs of the 45-bit total active energy, signed.
    public static func activeEnergyHigh(_ phase: Phase) -> Self { Self(0x2E7 + phase.energyOffset) }
    /// xVARHR_LO (0x2F0 + 0x3C·phase).
    public static func reactiveEnergyLow(_ phase: Phase) -> Self { Self(0x2F0 + phase.energyOffset) }
    /// xVARHR_HI (0x2F1 + 0x3C·phase).
    public static func reactiveEnergyHigh(_ phase: Phase) -> Self { Self(0x2F1 + phase.energyOffset) }
    /// xVAHR_LO (0x2FA + 0x3C·phase).
    public static func apparentEnergyLow(_ phase: Phase) -> Self { Self(0x2FA + phase.energyOffset) }
    /// xVAHR_HI (0x2FB + 0x3C·phase).
    public static func apparentEnergyHigh(_ phase: Phase) -> Self { Self(0x2FB + phase.energyOffset) }
}

// MARK: - Status, period, identification (spec §2.4), 32-bit

extension Register where Value == UInt32 {
    /// STATUS0 (0x402), write 1 to clear. See `Status0`.
    public static let status0 = Self(0x402)
    /// STATUS1 (0x403), write 1 to clear. See `Status1`.
    public static let status1 = Self(0x403)
    /// EVENT_STATUS (0x404), read-only, live.
    public static let eventStatus = Self(0x404)
    /// MASK0 (0x405): IRQ0 enables, same layout as STATUS0.
    public static let mask0 = Self(0x405)
    /// MASK1 (0x406): IRQ1 enables, same layout as STATUS1.
    public static let mask1 = Self(0x406)
    /// EVENT_MASK (0x407).
    public static let eventMask = Self(0x407)
    /// VLEVEL (0x40F): [23:0] level for the fundamental algorithm (spec §4.3).
    public static let vlevel = Self(0x40F)
    /// APERIOD/BPERIOD/CPERIOD (0x418 + phase, stride 1!): line period, f = 8000·2¹⁶/(code + 1).
    public static func period(_ phase: Phase) -> Self { Self(0x418 + UInt16(phase.rawValue)) }
    /// PART_ID (0x472): bit 20 = ADE9000_ID.
    public static let partID = Self(0x472)
}

// MARK: - 16-bit configuration block 0x480–0x4FE (spec §2.5)

extension Register where Value == UInt16 {
    /// RUN (0x480): 1 starts the DSP.
    public static let run = Self(0x480)
    /// CONFIG1 (0x481). See `Config1`.
    public static let config1 = Self(0x481)
    /// ANGL_VA_VB (0x482): VA→VB zero-crossing time, 1.024 MHz ticks.
    public static let angleVAtoVB = Self(0x482)
    /// ANGL_VB_VC (0x483).
    public static let angleVBtoVC = Self(0x483)
    /// ANGL_VA_VC (0x484).
    public static let angleVAtoVC = Self(0x484)
    /// ANGL_VA_IA / ANGL_VB_IB / ANGL_VC_IC (0x485 + phase): voltage → current of the same phase.
    public static func voltageToCurrentAngle(_ phase: Phase) -> Self { Self(0x485 + UInt16(phase.rawValue)) }
    /// CFMODE (0x490).
    public static let cfMode = Self(0x490)
    /// COMPMODE (0x491).
    public static let compMode = Self(0x491)
    /// ACCMODE (0x492). See `AccumulationMode`.
    public static let accMode = Self(0x492)
    /// CONFIG3 (0x493).
    public static let config3 = Self(0x493)
    /// ZX_LP_SEL (0x49A).
    public static let zxLpSel = Self(0x49A)
    /// WFB_CFG (0x4A0).
    public static let waveformBufferConfig = Self(0x4A0)
    /// CONFIG5 (0x4A4): reads 0x0063 after reset (family identification).
    public static let config5 = Self(0x4A4)
    /// CRC_RSLT (0x4A8): configuration-register CRC.
    public static let crcResult = Self(0x4A8)
    /// CRC_SPI (0x4A9): CRC of the last SPI read.
    public static let crcSPI = Self(0x4A9)
    /// CRC_FORCE (0x4B4): bit 0 FORCE_CRC_UPDATE starts a configuration-CRC pass.
    public static let crcForce = Self(0x4B4)
    /// CONFIG2 (0x4AF): HPF_CRN[11:9], UPERIOD_SEL b12.
    public static let config2 = Self(0x4AF)
    /// EP_CFG (0x4B0). See `EnergyPowerConfig`.
    public static let epConfig = Self(0x4B0)
    /// PWR_TIME (0x4B1).
    public static let powerTime = Self(0x4B1)
    /// EGY_TIME (0x4B2): [12:0] energy accumulation length − 1.
    public static let energyTime = Self(0x4B2)
    /// PGA_GAIN (0x4B9). See `PGAGainRegister`.
    public static let pgaGain = Self(0x4B9)
    /// WR_LOCK (0x4BF): 0x3C64 locks, 0x4AD1 unlocks; reads 1 while locked.
    public static let writeLock = Self(0x4BF)
    /// VERSION (0x4FE).
    public static let version = Self(0x4FE)
}

/// Layout of the burst-readable alias block 0x680–0x6BC ("organized by phase", spec §1.7, ADI register map):
/// per phase 19 words with a 0x13 stride (A 0x680, B 0x693, C 0x6A6), then 4 neutral words at 0x6B9.
public enum BurstByPhase {
    /// First address of the block.
    public static let base: UInt16 = 0x680
    /// Words in the whole block, 0x680…0x6BC inclusive.
    public static let wordCount = 61
    /// Words per phase.
    public static let phaseStride: UInt16 = 0x13
    /// The measurement register each word of a phase group mirrors, as an offset from that phase's AI_PCF-block
    /// registers (e.g. word 2 = xIRMS): V_PCF, I_PCF, IRMS, VRMS, WATT, VA, VAR, FVAR, PF, VTHD, ITHD, FWATT,
    /// FVA, FIRMS, FVRMS, IRMSONE, VRMSONE, IRMS1012, VRMS1012.
    public static let phaseWordSources: [UInt16] = [
        0x20B, 0x20A, 0x20C, 0x20D, 0x210, 0x212, 0x211, 0x214, 0x216, 0x217, 0x218, 0x213, 0x215, 0x20E, 0x20F,
        0x219, 0x21A, 0x21B, 0x21C,
    ]
    /// Neutral words at 0x6B9…0x6BC: NI_PCF, NIRMS, NIRMSONE, NIRMS1012.
    public static let neutralWordSources: [UInt16] = [0x265, 0x266, 0x267, 0x268]

    /// Index inside a phase group of the given phase-A source register (e.g. 0x20C → 2).
    static func index(of source: UInt16) -> Int {
        guard let index = phaseWordSources.firstIndex(of: source) else {
            preconditionFailure("0x\(String(source, radix: 16)) is not in the burst layout")
        }
        return index
    }
}

/// Layout of the burst alias block 0x600–0x63C ("organized functionally", ADI register map):
/// each word mirrors one measurement register.
public enum BurstByQuantity {
    public static let base: UInt16 = 0x600
    /// Source register of each word 0x600…0x63C.
    public static let wordSources: [UInt16] = [
        0x20B, 0x22B, 0x24B, 0x265, 0x20A, 0x22A, 0x24A,  // AV_PCF…CV_PCF, NI_PCF, AI_PCF…CI_PCF
        0x20C, 0x22C, 0x24C, 0x20D, 0x22D, 0x24D, 0x266,  // xIRMS, xVRMS, NIRMS
        0x210, 0x230, 0x250, 0x212, 0x232, 0x252, 0x211, 0x231, 0x251,  // WATT, VA, VAR
        0x214, 0x234, 0x254, 0x216, 0x236, 0x256, 0x217, 0x237, 0x257, 0x218, 0x238, 0x258,  // FVAR, PF, VTHD, ITHD
        0x213, 0x233, 0x253, 0x215, 0x235, 0x255, 0x20E, 0x22E, 0x24E, 0x20F, 0x22F, 0x24F,  // FWATT, FVA, FIRMS, FVRMS
        0x219, 0x239, 0x259, 0x21A, 0x23A, 0x25A, 0x267,  // IRMSONE, VRMSONE, NIRMSONE
        0x21B, 0x23B, 0x25B, 0x21C, 0x23C, 0x25C, 0x268,  // IRMS1012, VRMS1012, NIRMS1012
    ]
}

/// Source register mirrored by a burst alias address (0x600–0x63C or 0x680–0x6BC), or `nil`.
public func burstAliasSource(_ address: RegisterAddress) -> RegisterAddress? {
    let a = address.rawValue
    if a >= BurstByQuantity.base, Int(a - BurstByQuantity.base) < BurstByQuantity.wordSources.count {
        return RegisterAddress(rawValue: BurstByQuantity.wordSources[Int(a - BurstByQuantity.base)])
    }
    if a >= BurstByPhase.base, a < BurstByPhase.base + UInt16(BurstByPhase.wordCount) {
        let index = Int(a - BurstByPhase.base)
        let phaseWords = Int(BurstByPhase.phaseStride) * 3
        if index < phaseWords {
            let phase = index / Int(BurstByPhase.phaseStride)
            let word = index % Int(BurstByPhase.phaseStride)
            return RegisterAddress(rawValue: BurstByPhase.phaseWordSources[word] + UInt16(phase) * 0x20)
        }
        return RegisterAddress(rawValue: BurstByPhase.neutralWordSources[index - phaseWords])
    }
    return nil
}

/// The total-energy accumulators the driver tracks: xWATTHR, xVARHR, xVAHR (HI/LO pairs, spec §2.3).
public enum EnergyQuantity: Int, CaseIterable, Sendable {
    case active, reactive, apparent

    /// xWATTHR_HI / xVARHR_HI / xVAHR_HI.
    public func high(_ phase: Phase) -> Register<UInt32> {
        switch self {
        case .active: .activeEnergyHigh(phase)
        case .reactive: .reactiveEnergyHigh(phase)
        case .apparent: .apparentEnergyHigh(phase)
        }
    }

    /// xWATTHR_LO / xVARHR_LO / xVAHR_LO.
    public func low(_ phase: Phase) -> Register<UInt32> {
        switch self {
        case .active: .activeEnergyLow(phase)
        case .reactive: .reactiveEnergyLow(phase)
        case .apparent: .apparentEnergyLow(phase)
        }
    }
}
