/// What the driver programs into the chip at start-up (and again after a detected chip reset).
///
/// Codable; every key is optional in YAML/JSON and defaults as documented:
/// `{ wiring: 3P4W, lineFrequency: 50, nominalVoltage: 230, frontEnd: {…}, energyAccumulationSamples: 8000,
///    burstReads: false, crcRetries: 2, resetTimeoutSeconds: 1.0, verifyWrites: true }`.
public struct ADE9000Configuration: Codable, Sendable, Equatable {
    /// 3P4W (wye) or 3P3W (delta, phase B reference). ACCMODE.VCONSEL/ICONSEL.
    public var wiring: Wiring
    /// ACCMODE.SELFREQ. Default 50 Hz.
    public var lineFrequency: LineFrequency
    /// Nominal line voltage, used for VLEVEL (spec §4.3). Default 230 V.
    public var nominalVoltage: Double
    /// Divider, CT, burden and PGA gains. Default: the board of spec §5.8.
    public var frontEnd: FrontEnd
    /// Samples per EGYRDY (EGY_TIME + 1), 1…8192. Default 8000 (1 s).
    public var energyAccumulationSamples: Int
    /// Read the per-phase snapshot with one burst of 0x680–0x6BC. Default `false`: every register is read singly
    /// with CRC_SPI. With `true` (a board's `burst: true`) the driver sets CONFIG1.BURST_EN just for the burst and
    /// clears it right after, because while BURST_EN = 1 the chip appends no CRC_SPI to *any* read (datasheet,
    /// CONFIG1). Burst data is checked for plausibility instead.
    public var burstReads: Bool
    /// Retries after a CRC_SPI mismatch before a read fails. Default 2.
    public var crcRetries: Int
    /// How long to wait for RSTDONE after a reset. Default 1 s (spec §12.5).
    public var resetTimeoutSeconds: Double
    /// Read back every configuration write (TRM recommendation). Default `true`.
    public var verifyWrites: Bool

    public init(
        wiring: Wiring = .threePhaseFourWire, lineFrequency: LineFrequency = .hz50, nominalVoltage: Double = 230,
        frontEnd: FrontEnd = .specExample, energyAccumulationSamples: Int = 8000, burstReads: Bool = false,
        crcRetries: Int = 2, resetTimeoutSeconds: Double = 1, verifyWrites: Bool = true
    ) {
        self.wiring = wiring
        self.lineFrequency = lineFrequency
        self.nominalVoltage = nominalVoltage
        self.frontEnd = frontEnd
        self.energyAccumulationSamples = energyAccumulationSamples
        self.burstReads = burstReads
        self.crcRetries = crcRetries
        self.resetTimeoutSeconds = resetTimeoutSeconds
        self.verifyWrites = verifyWrites
    }

    private enum CodingKeys: String, CodingKey {
        case wiring, lineFrequency, nominalVoltage, frontEnd, energyAccumulationSamples, burstReads, crcRetries
        case resetTimeoutSeconds, verifyWrites
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = ADE9000Configuration()
        self.init(
            wiring: try c.decodeIfPresent(Wiring.self, forKey: .wiring) ?? defaults.wiring,
            lineFrequency: try c.decodeIfPresent(LineFrequency.self, forKey: .lineFrequency) ?? defaults.lineFrequency,
            nominalVoltage: try c.decodeIfPresent(Double.self, forKey: .nominalVoltage) ?? defaults.nominalVoltage,
            frontEnd: try c.decodeIfPresent(FrontEnd.self, forKey: .frontEnd) ?? defaults.frontEnd,
            energyAccumulationSamples: try c.decodeIfPresent(Int.self, forKey: .energyAccumulationSamples)
                ?? defaults.energyAccumulationSamples,
            burstReads: try c.decodeIfPresent(Bool.self, forKey: .burstReads) ?? defaults.burstReads,
            crcRetries: try c.decodeIfPresent(Int.self, forKey: .crcRetries) ?? defaults.crcRetries,
            resetTimeoutSeconds: try c.decodeIfPresent(Double.self, forKey: .resetTimeoutSeconds)
                ?? defaults.resetTimeoutSeconds,
            verifyWrites: try c.decodeIfPresent(Bool.self, forKey: .verifyWrites) ?? defaults.verifyWrites)
    }

    /// A message naming the first invalid field, or `nil`.
    public func validationError() -> String? {
        if let message = frontEnd.validationError() { return message }
        if !(1...8192).contains(energyAccumulationSamples) {
            return "energyAccumulationSamples must be 1…8192 (EGY_TIME + 1), got \(energyAccumulationSamples)"
        }
        if !(0...10).contains(crcRetries) { return "crcRetries must be 0…10, got \(crcRetries)" }
        if !(nominalVoltage.isFinite && nominalVoltage > 0) {
            return "nominalVoltage must be > 0, got \(nominalVoltage)"
        }
        if !(resetTimeoutSeconds.isFinite && resetTimeoutSeconds > 0) {
            return "resetTimeoutSeconds must be > 0, got \(resetTimeoutSeconds)"
        }
        return nil
    }

    /// CONFIG1: CF3/ZX pin = zero crossing (vendor value). BURST_EN stays 0, so every read carries CRC_SPI; a
    /// burst sets it only for its own duration (`burstReads`).
    public var config1: Config1 {
        var value = Config1()
        value.cf3IsZeroCrossing = true
        return value
    }

    /// EP_CFG: the read-with-reset energy model (spec §5.5 model (a)): accumulation on, sample-count mode, the
    /// internal accumulator *added* to the user registers at each EGYRDY, RD_RST_EN = 1 (reading xHR_HI clears
    /// it; xHR_LO keeps the remainder below one HI LSB, so nothing is lost), no-load detection off
    /// (NOLOAD_TMR = 7) → 0xE021.
    ///
    /// Every read of xWATTHR_HI therefore returns the energy since the previous read, which the driver adds to
    /// 64-bit counters (`EnergyAccumulator`). The 45-bit user registers never get near their limit (a read at
    /// least every ~100 s at full-scale power, spec §5.5) — whether the chip would wrap or saturate there is
    /// undocumented, and this model never asks. A reading lost to a CRC error is recovered from LAST_DATA_32.
    public var energyPowerConfig: EnergyPowerConfig {
        var value = EnergyPowerConfig()
        value.enabled = true
        value.resetOnRead = true
        value.noLoadTimer = 7
        return value
    }

    /// The configuration writes, in the vendor order of spec §4.1 (RUN and the status clears excluded):
    /// PGA_GAIN, CONFIG0, CONFIG1, CONFIG2, CONFIG3, ACCMODE, ZX_LP_SEL, MASK0 (EGYRDY on IRQ0), MASK1,
    /// EVENT_MASK, VLEVEL, DICOEFF, EGY_TIME, EP_CFG.
    public var configurationWrites: [RegisterWrite] {
        [
            .u16(.pgaGain, frontEnd.pgaRegister.rawValue),
            .u32(.config0, 0),
            .u16(.config1, config1.rawValue),
            .u16(.config2, 0x0C00),
            .u16(.config3, 0),
            .u16(.accMode, AccumulationMode(wiring: wiring, frequency: lineFrequency).rawValue),
            .u16(.zxLpSel, 0x001E),
            .u32(.mask0, Status0.energyReady.rawValue),
            .u32(.mask1, 0),
            .u32(.eventMask, 0),
            .u32(.vlevel, Conversions.vlevel(nominalVoltage: nominalVoltage, frontEnd)),
            .u32(.dicoeff, 0),
            .u16(.energyTime, UInt16(clamping: max(1, min(8192, energyAccumulationSamples)) - 1)),
            .u16(.epConfig, energyPowerConfig.rawValue),
        ]
    }

    /// Written first: WR_LOCK released (0x4AD1) and RUN = 0, so the configuration (ACCMODE.SELFREQ in
    /// particular, TRM p.16) is written with the DSP stopped, also when re-initialising a running chip.
    public static let stopWrites: [RegisterWrite] = [.u16(.writeLock, WriteLockKey.unlock), .u16(.run, 0)]

    /// Writes that start the DSP: clear STATUS0/STATUS1 (write 1s) and RUN = 1 (16-bit).
    public static let startWrites: [RegisterWrite] = [
        .u32(.status0, 0xFFFF_FFFF), .u32(.status1, 0xFFFF_FFFF), .u16(.run, 0x0001),
    ]

    /// The whole initialisation table, calibration excluded (the kernel's `reg_sequence`).
    public var initSequence: [RegisterWrite] { Self.stopWrites + configurationWrites + Self.startWrites }
}
