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

extension BurstByPhase {
    /// The per-phase RMS, power and power-factor codes and NIRMS from the words of a burst of 0x680–0x6BC.
    /// - Throws: `.truncatedReply` for fewer than `wordCount` words.
    public static func measurementCodes(_ words: [UInt32]) throws(ADE9000Error)
        -> (phases: [RawPhaseCodes], neutral: Int32)
    {
        guard words.count >= wordCount else {
            throw .truncatedReply(
                register: RegisterMap.name(of: RegisterAddress(rawValue: base)), expected: 4 * wordCount,
                received: 4 * words.count)
        }
        func word(_ phase: Phase, _ source: (Phase) -> ReadOnlyRegister<UInt32>) -> Int32 {
            Int32(bitPattern: words[phase.rawValue * Int(phaseStride) + index(of: source(.a).address.rawValue)])
        }
        let phases = Phase.allCases.map { phase in
            RawPhaseCodes(
                vrms: word(phase, ReadOnlyRegister.vrms), irms: word(phase, ReadOnlyRegister.irms),
                active: word(phase, ReadOnlyRegister.activePower),
                reactive: word(phase, ReadOnlyRegister.reactivePower),
                apparent: word(phase, ReadOnlyRegister.apparentPower),
                powerFactor: word(phase, ReadOnlyRegister.powerFactor))
        }
        // The neutral group follows the three phase groups: NI_PCF, NIRMS, NIRMSONE, NIRMS1012.
        let neutral = Int32(bitPattern: words[3 * Int(phaseStride) + 1])
        return (phases, neutral)
    }
}
