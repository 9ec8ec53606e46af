/// How the host may access a register.
public enum RegisterAccess: String, Sendable, Codable {
    case readOnly = "R"
    case readWrite = "RW"
    /// Status registers: reading returns the latched bits, writing 1s clears them.
    case writeOneToClear = "R/W1C"
}

/// One row of the register table: mnemonic, address, width, access and reset value (spec §2, §12.1).
public struct RegisterInfo: Sendable, Hashable {
    public let name: String
    public let address: RegisterAddress
    public let access: RegisterAccess
    /// Value after reset (spec §12.1; zero where the spec says 0 or 0*).
    public let resetValue: UInt32
    /// Two's-complement quantity (for display).
    public let isSigned: Bool

    /// 16 or 32, from the datasheet rule (spec §1.3).
    public var bitWidth: Int { address.bitWidth }
}

/// The register table this driver and the simulator know, keyed by address (spec §2 and §12.1).
public enum RegisterMap {
    /// Every register, sorted by address.
    public static let all: [RegisterInfo] = build().sorted { $0.address < $1.address }

    private static let byAddress: [RegisterAddress: RegisterInfo] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.address, $0) })

    /// The row for `address`, or `nil` for an address not in the table (reserved or not modelled).
    public static func info(_ address: RegisterAddress) -> RegisterInfo? { byAddress[address] }

    /// The row named `name` (case-insensitive datasheet mnemonic, e.g. `airms`).
    public static func info(named name: String) -> RegisterInfo? {
        let wanted = name.uppercased()
        return all.first { $0.name == wanted }
    }

    /// The mnemonic for `address`, or its hex form.
    public static func name(of address: RegisterAddress) -> String { byAddress[address]?.name ?? address.description }

    private static func build() -> [RegisterInfo] {
        var rows: [RegisterInfo] = []
        func add(_ name: String, _ address: UInt16, _ access: RegisterAccess, reset: UInt32 = 0, signed: Bool = false) {
            rows.append(
                RegisterInfo(
                    name: name, address: RegisterAddress(rawValue: address), access: access, resetValue: reset,
                    isSigned: signed))
        }
        let phaseCalibration: [(String, UInt16)] = [
            ("IGAIN", 0x000), ("IGAIN0", 0x001), ("IGAIN1", 0x002), ("IGAIN2", 0x003), ("IGAIN3", 0x004),
            ("IGAIN4", 0x005), ("PHCAL0", 0x006), ("PHCAL1", 0x007), ("PHCAL2", 0x008), ("PHCAL3", 0x009),
            ("PHCAL4", 0x00A), ("VGAIN", 0x00B), ("IRMSOS", 0x00C), ("VRMSOS", 0x00D), ("PGAIN", 0x00E),
            ("WATTOS", 0x00F), ("VAROS", 0x010), ("FWATTOS", 0x011), ("FVAROS", 0x012), ("IFRMSOS", 0x013),
            ("VFRMSOS", 0x014), ("VRMSONEOS", 0x015), ("IRMSONEOS", 0x016), ("VRMS1012OS", 0x017),
            ("IRMS1012OS", 0x018),
        ]
        let phaseMeasurement: [(String, UInt16)] = [
            ("I_PCF", 0x20A), ("V_PCF", 0x20B), ("IRMS", 0x20C), ("VRMS", 0x20D), ("IFRMS", 0x20E),
            ("VFRMS", 0x20F), ("WATT", 0x210), ("VAR", 0x211), ("VA", 0x212), ("FWATT", 0x213), ("FVAR", 0x214),
            ("FVA", 0x215), ("PF", 0x216), ("VTHD", 0x217), ("ITHD", 0x218), ("IRMSONE", 0x219),
            ("VRMSONE", 0x21A), ("IRMS1012", 0x21B), ("VRMS1012", 0x21C), ("MTREGION", 0x21D),
        ]
        let phaseEnergy: [(String, UInt16)] = [
            ("WATT_ACC", 0x2E5), ("WATTHR_LO", 0x2E6), ("WATTHR_HI", 0x2E7), ("VAR_ACC", 0x2EF),
            ("VARHR_LO", 0x2F0), ("VARHR_HI", 0x2F1), ("VA_ACC", 0x2F9), ("VAHR_LO", 0x2FA), ("VAHR_HI", 0x2FB),
            ("FWATT_ACC", 0x303), ("FWATTHR_LO", 0x304), ("FWATTHR_HI", 0x305), ("FVAR_ACC", 0x30D),
            ("FVARHR_LO", 0x30E), ("FVARHR_HI", 0x30F), ("FVA_ACC", 0x317), ("FVAHR_LO", 0x318),
            ("FVAHR_HI", 0x319),
        ]
        for phase in Phase.allCases {
            let p = phase.description
            for (name, base) in phaseCalibration {
                add(p + name, base + phase.offset, .readWrite, signed: true)
            }
            for (name, base) in phaseMeasurement {
                add(p + name, base + phase.offset, .readOnly, signed: name != "MTREGION" && !name.hasSuffix("THD"))
            }
            for (name, base) in phaseEnergy {
                add(p + name, base + phase.energyOffset, .readOnly, signed: !name.hasSuffix("_LO"))
            }
        }
        add("CONFIG0", 0x060, .readWrite)
        for n in 0..<5 {
            add("MTTHR_L\(n)", 0x061 + UInt16(n), .readWrite)
            add("MTTHR_H\(n)", 0x066 + UInt16(n), .readWrite)
        }
        add("NIRMSOS", 0x06B, .readWrite, signed: true)
        add("ISUMRMSOS", 0x06C, .readWrite, signed: true)
        add("NIGAIN", 0x06D, .readWrite, signed: true)
        add("NPHCAL", 0x06E, .readWrite, signed: true)
        add("NIRMSONEOS", 0x06F, .readWrite, signed: true)
        add("NIRMS1012OS", 0x070, .readWrite, signed: true)
        add("VNOM", 0x071, .readWrite)
        add("DICOEFF", 0x072, .readWrite, signed: true)
        add("ISUMLVL", 0x073, .readWrite)
        add("NI_PCF", 0x265, .readOnly, signed: true)
        add("NIRMS", 0x266, .readOnly, signed: true)
        add("NIRMSONE", 0x267, .readOnly, signed: true)
        add("NIRMS1012", 0x268, .readOnly, signed: true)
        add("ISUMRMS", 0x269, .readOnly, signed: true)
        add("VERSION2", 0x26A, .readOnly)
        add("PWATT_ACC", 0x397, .readOnly, signed: true)
        add("NWATT_ACC", 0x39B, .readOnly, signed: true)
        add("PVAR_ACC", 0x39F, .readOnly, signed: true)
        add("NVAR_ACC", 0x3A3, .readOnly, signed: true)
        add("IPEAK", 0x400, .readOnly)
        add("VPEAK", 0x401, .readOnly)
        add("STATUS0", 0x402, .writeOneToClear)
        add("STATUS1", 0x403, .writeOneToClear)
        add("EVENT_STATUS", 0x404, .readOnly)
        add("MASK0", 0x405, .readWrite)
        add("MASK1", 0x406, .readWrite)
        add("EVENT_MASK", 0x407, .readWrite)
        add("OILVL", 0x409, .readWrite)
        add("OIA", 0x40A, .readOnly)
        add("OIB", 0x40B, .readOnly)
        add("OIC", 0x40C, .readOnly)
        add("OIN", 0x40D, .readOnly)
        add("USER_PERIOD", 0x40E, .readWrite, reset: 0x0050_0000)
        add("VLEVEL", 0x40F, .readWrite, reset: 0x0004_5D45)
        add("DIP_LVL", 0x410, .readWrite)
        add("DIPA", 0x411, .readOnly)
        add("DIPB", 0x412, .readOnly)
        add("DIPC", 0x413, .readOnly)
        add("SWELL_LVL", 0x414, .readWrite)
        add("SWELLA", 0x415, .readOnly)
        add("SWELLB", 0x416, .readOnly)
        add("SWELLC", 0x417, .readOnly)
        add("APERIOD", 0x418, .readOnly, reset: 0x00A0_0000)
        add("BPERIOD", 0x419, .readOnly, reset: 0x00A0_0000)
        add("CPERIOD", 0x41A, .readOnly, reset: 0x00A0_0000)
        add("COM_PERIOD", 0x41B, .readOnly, reset: 0x00A0_0000)
        add("ACT_NL_LVL", 0x41C, .readWrite, reset: 0xFFFF)
        add("REACT_NL_LVL", 0x41D, .readWrite, reset: 0xFFFF)
        add("APP_NL_LVL", 0x41E, .readWrite, reset: 0xFFFF)
        add("PHNOLOAD", 0x41F, .readOnly)
        add("WTHR", 0x420, .readWrite, reset: 0xFFFF)
        add("VARTHR", 0x421, .readWrite, reset: 0xFFFF)
        add("VATHR", 0x422, .readWrite, reset: 0xFFFF)
        add("LAST_DATA_32", 0x423, .readOnly)
        add("ADC_REDIRECT", 0x424, .readWrite, reset: 0x001F_FFFF)
        add("CF_LCFG", 0x425, .readWrite)
        add("PART_ID", 0x472, .readOnly, reset: 0x0010_0000)
        add("TEMP_TRIM", 0x474, .readOnly)
        // 16-bit block
        add("RUN", 0x480, .readWrite)
        add("CONFIG1", 0x481, .readWrite)
        add("ANGL_VA_VB", 0x482, .readOnly)
        add("ANGL_VB_VC", 0x483, .readOnly)
        add("ANGL_VA_VC", 0x484, .readOnly)
        add("ANGL_VA_IA", 0x485, .readOnly)
        add("ANGL_VB_IB", 0x486, .readOnly)
        add("ANGL_VC_IC", 0x487, .readOnly)
        add("ANGL_IA_IB", 0x488, .readOnly)
        add("ANGL_IB_IC", 0x489, .readOnly)
        add("ANGL_IA_IC", 0x48A, .readOnly)
        add("DIP_CYC", 0x48B, .readWrite, reset: 0xFFFF)
        add("SWELL_CYC", 0x48C, .readWrite, reset: 0xFFFF)
        add("OISTATUS", 0x48F, .readOnly)
        add("CFMODE", 0x490, .readWrite)
        add("COMPMODE", 0x491, .readWrite)
        add("ACCMODE", 0x492, .readWrite)
        add("CONFIG3", 0x493, .readWrite)
        add("CF1DEN", 0x494, .readWrite, reset: 0xFFFF)
        add("CF2DEN", 0x495, .readWrite, reset: 0xFFFF)
        add("CF3DEN", 0x496, .readWrite, reset: 0xFFFF)
        add("CF4DEN", 0x497, .readWrite, reset: 0xFFFF)
        add("ZXTOUT", 0x498, .readWrite, reset: 0xFFFF)
        add("ZXTHRSH", 0x499, .readWrite, reset: 0x0009)
        add("ZX_LP_SEL", 0x49A, .readWrite, reset: 0x001E)
        add("SEQ_CYC", 0x49C, .readWrite, reset: 0x00FF)
        add("PHSIGN", 0x49D, .readOnly)
        add("WFB_CFG", 0x4A0, .readWrite)
        add("WFB_PG_IRQEN", 0x4A1, .readWrite)
        add("WFB_TRG_CFG", 0x4A2, .readWrite)
        add("WFB_TRG_STAT", 0x4A3, .readOnly)
        add("CONFIG5", 0x4A4, .readWrite, reset: 0x0063)
        add("CRC_RSLT", 0x4A8, .readOnly)
        add("CRC_SPI", 0x4A9, .readOnly)
        add("LAST_DATA_16", 0x4AC, .readOnly)
        add("LAST_CMD", 0x4AE, .readOnly)
        add("CONFIG2", 0x4AF, .readWrite, reset: 0x0C00)
        add("EP_CFG", 0x4B0, .readWrite)
        add("PWR_TIME", 0x4B1, .readWrite, reset: 0x00FF)
        add("EGY_TIME", 0x4B2, .readWrite, reset: 0x00FF)
        add("CRC_FORCE", 0x4B4, .readWrite)
        add("CRC_OPTEN", 0x4B5, .readWrite)
        add("TEMP_CFG", 0x4B6, .readWrite)
        add("TEMP_RSLT", 0x4B7, .readOnly)
        add("PSM2_CFG", 0x4B8, .readWrite, reset: 0x001F)
        add("PGA_GAIN", 0x4B9, .readWrite)
        add("CHNL_DIS", 0x4BA, .readWrite)
        add("WR_LOCK", 0x4BF, .readWrite)
        add("VAR_DIS", 0x4E0, .readWrite)
        add("VERSION", 0x4FE, .readOnly)
        for (index, source) in BurstByQuantity.wordSources.enumerated() {
            let sourceName = rows.first { $0.address.rawValue == source }?.name ?? "?"
            add(sourceName + "_1", BurstByQuantity.base + UInt16(index), .readOnly, signed: true)
        }
        for index in 0..<BurstByPhase.wordCount {
            let alias = BurstByPhase.base + UInt16(index)
            guard let source = burstAliasSource(RegisterAddress(rawValue: alias)) else { continue }
            let sourceName = rows.first { $0.address == source }?.name ?? "?"
            add(sourceName + "_2", alias, .readOnly, signed: true)
        }
        return rows
    }
}
