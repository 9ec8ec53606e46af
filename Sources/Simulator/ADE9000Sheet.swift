// The chip model's own copy of the ADE9000 datasheet facts (register map, reset values, CRC, energy and
// interrupts), typed here for the simulator and for nothing else. Nothing in this file comes from the ADE9000 driver module:
// a wrong constant in the driver must not be able to agree with the model by construction (STYLE §C). The
// datasheet conformance test (Tests/ADE9000Tests/DatasheetConformanceTests.swift) pins both against a third,
// literal table.

/// How the host may access a register of the chip model.
enum SheetAccess: Sendable, Equatable {
    /// R: writes are illegal (strict mode throws; the real chip ignores them).
    case read
    /// RW: configuration and calibration.
    case readWrite
    /// R/W1C: STATUS0, STATUS1 — writing a 1 clears that bit.
    case writeOneToClear
}

/// One datasheet row: mnemonic, address, width on the wire, access and value after reset.
struct SheetRow: Sendable, Equatable {
    var name: String
    var address: UInt16
    /// 16 or 32 bits (0x480–0x4FE are 16-bit, spec §1.3).
    var bits: Int
    var access: SheetAccess
    var reset: UInt32
}

/// The ADE9000 datasheet as the chip model knows it.
enum ADE9000Sheet {
    // MARK: Full-scale codes and clocks (TRM Table 8, spec §5.1–§5.3)

    /// xIRMS / xVRMS (and fundamental, ½-cycle, 10/12-cycle rms) with a full-scale sine on the pins, PGA ×1.
    static let rmsFullScale = 52_702_092.0
    /// xWATT / xVAR / xVA with both inputs at full scale.
    static let powerFullScale = 20_694_066.0
    /// xI_PCF / xV_PCF for +1 V on the pins.
    static let instantaneousFullScale = 74_532_013.0
    /// Full-scale input, rms volts at the pins (±1 V peak).
    static let fullScalePinRMS = 0.707_106_781_186_547_5
    /// f_DSP: samples per second of the metrology data path.
    static let samplesPerSecond: Int64 = 8000
    /// The angle timer, CLKIN / 24 (24.576 MHz / 24).
    static let angleTicksPerSecond = 1_024_000.0
    /// Gains, xPHCAL, xPF and THD: 1.0 = 2²⁷.
    static let one = 134_217_728.0
    /// xRMSOS acts on rms²: rms = √(rms₀² + 2¹⁵ · xRMSOS) (spec §12.4).
    static let rmsOffsetWeight = 32_768.0
    /// xPERIOD for a line frequency: (8000 · 2¹⁶ / f) − 1 (spec §5.3).
    static func periodCode(hertz: Double) -> UInt32 {
        UInt32((Double(samplesPerSecond) * 65_536 / hertz - 1).rounded())
    }
    /// xPERIOD forced when there is no signal: the 50 Hz value (SELFREQ = 0).
    static let periodNoSignal: UInt32 = 0x00A0_0000

    // MARK: Bits the model acts on (spec §3, §7.2)

    /// CONFIG1: SWRST b0, BURST_EN b11.
    static let softwareResetBit: UInt32 = 1 << 0
    static let burstEnableBit: UInt32 = 1 << 11
    /// EP_CFG: EGY_PWR_EN b0, EGY_TMR_MODE b1, EGY_LD_ACCUM b4, RD_RST_EN b5.
    static let energyEnableBit: UInt32 = 1 << 0
    static let halfCycleModeBit: UInt32 = 1 << 1
    static let loadAccumulatorBit: UInt32 = 1 << 4
    static let readResetBit: UInt32 = 1 << 5
    /// STATUS0.EGYRDY b0.
    static let energyReady: UInt32 = 1 << 0
    /// STATUS1: RSTDONE b16, CRC_CHG b26, CRC_DONE b27.
    static let resetDone: UInt32 = 1 << 16
    static let configurationCRCChanged: UInt32 = 1 << 26
    static let configurationCRCDone: UInt32 = 1 << 27
    /// WR_LOCK keys (spec §12.2).
    static let lockKey: UInt32 = 0x3C64
    static let unlockKey: UInt32 = 0x4AD1
    /// One configuration-CRC pass (spec §1.6).
    static let configurationCRCPass = Duration.microseconds(10_800)
    /// PART_ID with bit 20 (ADE9000_ID) set, CONFIG5 after reset (spec §12.1).
    static let partID: UInt32 = 0x0010_0000

    // MARK: Addresses the model gives behaviour to

    static let status0: UInt16 = 0x402, status1: UInt16 = 0x403, mask0: UInt16 = 0x405, mask1: UInt16 = 0x406
    static let lastData32: UInt16 = 0x423, run: UInt16 = 0x480, config1: UInt16 = 0x481, accMode: UInt16 = 0x492
    static let crcResult: UInt16 = 0x4A8, crcSPI: UInt16 = 0x4A9, lastData16: UInt16 = 0x4AC,
        lastCommand: UInt16 = 0x4AE
    static let epConfig: UInt16 = 0x4B0, energyTime: UInt16 = 0x4B2, crcForce: UInt16 = 0x4B4, pgaGain: UInt16 = 0x4B9
    static let writeLock: UInt16 = 0x4BF, version: UInt16 = 0x4FE

    // MARK: SPI (spec §1.2–§1.7)

    /// Registers 0x480–0x4FE are 16 bits on the wire, every other address 32 (spec §1.3).
    static func bits(_ address: UInt16) -> Int { address >= 0x480 && address <= 0x4FE ? 16 : 32 }

    /// The command header: address in bits 15:4, bit 3 set for a read.
    static func decodeHeader(_ high: UInt8, _ low: UInt8) -> (address: UInt16, read: Bool) {
        let word = UInt16(high) << 8 | UInt16(low)
        return (word >> 4, word & 0b1000 != 0)
    }

    /// Addresses that stream consecutive words while CONFIG1.BURST_EN = 1 (spec §1.7).
    static func streams(_ address: UInt16) -> Bool {
        (0x500...0x63C).contains(address) || (0x680...0x6BC).contains(address)
    }

    /// CRC_SPI: the CCITT polynomial x¹⁶ + x¹² + x⁵ + 1, register preset to all ones, data MSB first, no final
    /// inversion (spec §1.6, §12.9). Table-driven here (the driver computes bit by bit).
    static func crc(_ bytes: [UInt8]) -> UInt16 {
        var register: UInt16 = 0xFFFF
        for byte in bytes {
            let index = Int(UInt8(truncatingIfNeeded: register >> 8) ^ byte)
            register = (register << 8) ^ crcTable[index]
        }
        return register
    }

    private static let crcTable: [UInt16] = (0..<256).map { value in
        var entry = UInt16(value) << 8
        for _ in 0..<8 { entry = entry & 0x8000 == 0 ? entry << 1 : (entry << 1) ^ 0x1021 }
        return entry
    }

    // MARK: Burst alias blocks (spec §1.7, ADI register map)

    /// 0x680–0x6BC ("organised by phase"): 19 words per phase, phase A at 0x680, B at 0x693, C at 0x6A6, each
    /// word mirroring a measurement register of that phase (given for phase A), then the neutral words.
    private static let byPhaseWords: [UInt16] = [
        0x20B, 0x20A, 0x20C, 0x20D, 0x210, 0x212, 0x211, 0x214, 0x216, 0x217, 0x218, 0x213, 0x215, 0x20E, 0x20F,
        0x219, 0x21A, 0x21B, 0x21C,
    ]
    private static let byPhaseNeutral: [UInt16] = [0x265, 0x266, 0x267, 0x268]
    /// 0x600–0x63C ("organised by quantity"): AV_PCF, BV_PCF, CV_PCF, NI_PCF, AI_PCF… and so on.
    private static let byQuantityWords: [UInt16] = {
        func phases(_ base: UInt16) -> [UInt16] { [base, base + 0x20, base + 0x40] }
        return phases(0x20B) + [0x265] + phases(0x20A) + phases(0x20C) + phases(0x20D) + [0x266] + phases(0x210)
            + phases(0x212) + phases(0x211) + phases(0x214) + phases(0x216) + phases(0x217) + phases(0x218)
            + phases(0x213) + phases(0x215) + phases(0x20E) + phases(0x20F) + phases(0x219) + phases(0x21A)
            + [0x267] + phases(0x21B) + phases(0x21C) + [0x268]
    }()

    /// The measurement register a burst alias address mirrors, or `nil`.
    static func aliasSource(_ address: UInt16) -> UInt16? {
        if address >= 0x600, Int(address - 0x600) < byQuantityWords.count {
            return byQuantityWords[Int(address - 0x600)]
        }
        if (0x680...0x6BC).contains(address) {
            let index = Int(address - 0x680)
            if index < 3 * byPhaseWords.count {
                return byPhaseWords[index % byPhaseWords.count] + UInt16(index / byPhaseWords.count) * 0x20
            }
            return byPhaseNeutral[index - 3 * byPhaseWords.count]
        }
        return nil
    }

    // MARK: Register table (spec §2, §12.1)

    /// Every register the model knows, by address.
    static let rows: [UInt16: SheetRow] = {
        var table: [UInt16: SheetRow] = [:]
        func add(_ name: String, _ address: UInt16, _ access: SheetAccess, reset: UInt32 = 0) {
            table[address] = SheetRow(name: name, address: address, bits: bits(address), access: access, reset: reset)
        }
        let letters = ["A", "B", "C"]
        // Per-phase calibration 0x000–0x018 and measurements 0x20A–0x21D: B = A + 0x20, C = A + 0x40.
        let calibration = [
            "IGAIN", "IGAIN0", "IGAIN1", "IGAIN2", "IGAIN3", "IGAIN4", "PHCAL0", "PHCAL1", "PHCAL2", "PHCAL3",
            "PHCAL4", "VGAIN", "IRMSOS", "VRMSOS", "PGAIN", "WATTOS", "VAROS", "FWATTOS", "FVAROS", "IFRMSOS",
            "VFRMSOS", "VRMSONEOS", "IRMSONEOS", "VRMS1012OS", "IRMS1012OS",
        ]
        let measurements = [
            "I_PCF", "V_PCF", "IRMS", "VRMS", "IFRMS", "VFRMS", "WATT", "VAR", "VA", "FWATT", "FVAR", "FVA", "PF",
            "VTHD", "ITHD", "IRMSONE", "VRMSONE", "IRMS1012", "VRMS1012", "MTREGION",
        ]
        // Energy and accumulated power 0x2E5–0x319: B = A + 0x3C, C = A + 0x78; quantities 0x0A apart.
        let energies = ["WATT", "VAR", "VA", "FWATT", "FVAR", "FVA"]
        for (phase, letter) in letters.enumerated() {
            let block = UInt16(phase) * 0x20
            for (index, name) in calibration.enumerated() { add(letter + name, UInt16(index) + block, .readWrite) }
            for (index, name) in measurements.enumerated() { add(letter + name, 0x20A + UInt16(index) + block, .read) }
            let energyBlock = 0x2E5 + UInt16(phase) * 0x3C
            for (index, name) in energies.enumerated() {
                let base = energyBlock + UInt16(index) * 0x0A
                add(letter + name + "_ACC", base, .read)
                add(letter + name + "HR_LO", base + 1, .read)
                add(letter + name + "HR_HI", base + 2, .read)
            }
            add(letter + "PERIOD", 0x418 + UInt16(phase), .read, reset: periodNoSignal)
            add("OI" + letter, 0x40A + UInt16(phase), .read)
            add("DIP" + letter, 0x411 + UInt16(phase), .read)
            add("SWELL" + letter, 0x415 + UInt16(phase), .read)
        }
        add("CONFIG0", 0x060, .readWrite)
        for index in 0..<5 {
            add("MTTHR_L\(index)", 0x061 + UInt16(index), .readWrite)
            add("MTTHR_H\(index)", 0x066 + UInt16(index), .readWrite)
        }
        for (offset, name) in ["NIRMSOS", "ISUMRMSOS", "NIGAIN", "NPHCAL", "NIRMSONEOS", "NIRMS1012OS", "VNOM"]
            .enumerated()
        {
            add(name, 0x06B + UInt16(offset), .readWrite)
        }
        add("DICOEFF", 0x072, .readWrite)
        add("ISUMLVL", 0x073, .readWrite)
        for (offset, name) in ["NI_PCF", "NIRMS", "NIRMSONE", "NIRMS1012", "ISUMRMS", "VERSION2"].enumerated() {
            add(name, 0x265 + UInt16(offset), .read)
        }
        add("PWATT_ACC", 0x397, .read)
        add("NWATT_ACC", 0x39B, .read)
        add("PVAR_ACC", 0x39F, .read)
        add("NVAR_ACC", 0x3A3, .read)
        add("IPEAK", 0x400, .read)
        add("VPEAK", 0x401, .read)
        add("STATUS0", status0, .writeOneToClear)
        add("STATUS1", status1, .writeOneToClear)
        add("EVENT_STATUS", 0x404, .read)
        add("MASK0", mask0, .readWrite)
        add("MASK1", mask1, .readWrite)
        add("EVENT_MASK", 0x407, .readWrite)
        add("OILVL", 0x409, .readWrite)
        add("OIN", 0x40D, .read)
        add("USER_PERIOD", 0x40E, .readWrite, reset: 0x0050_0000)
        add("VLEVEL", 0x40F, .readWrite, reset: 0x0004_5D45)
        add("DIP_LVL", 0x410, .readWrite)
        add("SWELL_LVL", 0x414, .readWrite)
        add("COM_PERIOD", 0x41B, .read, reset: periodNoSignal)
        add("ACT_NL_LVL", 0x41C, .readWrite, reset: 0xFFFF)
        add("REACT_NL_LVL", 0x41D, .readWrite, reset: 0xFFFF)
        add("APP_NL_LVL", 0x41E, .readWrite, reset: 0xFFFF)
        add("PHNOLOAD", 0x41F, .read)
        add("WTHR", 0x420, .readWrite, reset: 0xFFFF)
        add("VARTHR", 0x421, .readWrite, reset: 0xFFFF)
        add("VATHR", 0x422, .readWrite, reset: 0xFFFF)
        add("LAST_DATA_32", lastData32, .read)
        add("ADC_REDIRECT", 0x424, .readWrite, reset: 0x001F_FFFF)
        add("CF_LCFG", 0x425, .readWrite)
        add("PART_ID", 0x472, .read, reset: partID)
        add("TEMP_TRIM", 0x474, .read)
        // The 16-bit block.
        add("RUN", run, .readWrite)
        add("CONFIG1", config1, .readWrite)
        for (offset, name) in [
            "ANGL_VA_VB", "ANGL_VB_VC", "ANGL_VA_VC", "ANGL_VA_IA", "ANGL_VB_IB", "ANGL_VC_IC", "ANGL_IA_IB",
            "ANGL_IB_IC", "ANGL_IA_IC",
        ].enumerated() {
            add(name, 0x482 + UInt16(offset), .read)
        }
        add("DIP_CYC", 0x48B, .readWrite, reset: 0xFFFF)
        add("SWELL_CYC", 0x48C, .readWrite, reset: 0xFFFF)
        add("OISTATUS", 0x48F, .read)
        add("CFMODE", 0x490, .readWrite)
        add("COMPMODE", 0x491, .readWrite)
        add("ACCMODE", accMode, .readWrite)
        add("CONFIG3", 0x493, .readWrite)
        for index in 0..<4 { add("CF\(index + 1)DEN", 0x494 + UInt16(index), .readWrite, reset: 0xFFFF) }
        add("ZXTOUT", 0x498, .readWrite, reset: 0xFFFF)
        add("ZXTHRSH", 0x499, .readWrite, reset: 0x0009)
        add("ZX_LP_SEL", 0x49A, .readWrite, reset: 0x001E)
        add("SEQ_CYC", 0x49C, .readWrite, reset: 0x00FF)
        add("PHSIGN", 0x49D, .read)
        add("WFB_CFG", 0x4A0, .readWrite)
        add("WFB_PG_IRQEN", 0x4A1, .readWrite)
        add("WFB_TRG_CFG", 0x4A2, .readWrite)
        add("WFB_TRG_STAT", 0x4A3, .read)
        add("CONFIG5", 0x4A4, .readWrite, reset: 0x0063)
        add("CRC_RSLT", crcResult, .read)
        add("CRC_SPI", crcSPI, .read)
        add("LAST_DATA_16", lastData16, .read)
        add("LAST_CMD", lastCommand, .read)
        add("CONFIG2", 0x4AF, .readWrite, reset: 0x0C00)
        add("EP_CFG", epConfig, .readWrite)
        add("PWR_TIME", 0x4B1, .readWrite, reset: 0x00FF)
        add("EGY_TIME", energyTime, .readWrite, reset: 0x00FF)
        add("CRC_FORCE", crcForce, .readWrite)
        add("CRC_OPTEN", 0x4B5, .readWrite)
        add("TEMP_CFG", 0x4B6, .readWrite)
        add("TEMP_RSLT", 0x4B7, .read)
        add("PSM2_CFG", 0x4B8, .readWrite, reset: 0x001F)
        add("PGA_GAIN", pgaGain, .readWrite)
        add("CHNL_DIS", 0x4BA, .readWrite)
        add("WR_LOCK", writeLock, .readWrite)
        add("VAR_DIS", 0x4E0, .readWrite)
        add("VERSION", version, .read)
        // Burst aliases: read-only copies.
        for address in UInt16(0x600)...0x63C { add("ALIAS_1", address, .read) }
        for address in UInt16(0x680)...0x6BC { add("ALIAS_2", address, .read) }
        return table
    }()

    /// The registers the configuration CRC (CRC_RSLT) covers in this model: every read-write register except
    /// RUN, CRC_FORCE and WR_LOCK (the chip's fixed set is not documented in what we read; any change detection
    /// works alike).
    static let crcCovered: [SheetRow] = rows.values
        .filter { $0.access == .readWrite && ![run, crcForce, writeLock].contains($0.address) }
        .sorted { $0.address < $1.address }
}
