/// What the driver programs into the chip at start-up (and again after a detected chip reset).
///
/// Codable; every key is optional in YAML/JSON and defaults as documented:
/// `{ wiring: 3P4W, lineFrequency: 50, nominalVoltage: 230, frontEnd: {…}, energyAccumulationSamples: 8000,
///    burstReads: true, crcRetries: 2, resetTimeoutSeconds: 1.0, verifyWrites: true }`.
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
    /// Read the per-phase snapshot with one burst of 0x680–0x6BC (CONFIG1.BURST_EN = 1). Default `true`.
    /// Burst data carries no CRC; the driver checks it for plausibility instead. With `false` every register
    /// is read singly with CRC_SPI.
    public var burstReads: Bool
    /// Retries after a CRC_SPI mismatch before a read fails. Default 2.
    public var crcRetries: Int
    /// How long to wait for RSTDONE after a reset. Default 1 s (spec §12.5).
    public var resetTimeoutSeconds: Double
    /// Read back every configuration write (TRM recommendation). Default `true`.
    public var verifyWrites: Bool

    public init(
        wiring: Wiring = .threePhaseFourWire, lineFrequency: LineFrequency = .hz50, nominalVoltage: Double = 230,
        frontEnd: FrontEnd = .specExample, energyAccumulationSamples: Int = 8000, burstReads: Bool = true,
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

    /// CONFIG1: CF3/ZX pin = zero crossing (vendor value) and BURST_EN when `burstReads`.
    public var config1: Config1 {
        var value = Config1()
        value.cf3IsZeroCrossing = true
        value.burstEnabled = burstReads
        return value
    }

    /// EP_CFG: accumulation on, sample-count mode, add to the user registers (no latch), no reset on read,
    /// no-load detection off (NOLOAD_TMR = 7) → 0xE001. The 45-bit registers then run freely and wrap; the
    /// driver accumulates their differences (read at least every ~100 s at full-scale power, spec §5.5).
    public var energyPowerConfig: EnergyPowerConfig {
        var value = EnergyPowerConfig()
        value.enabled = true
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

    /// Writes that start the DSP: clear STATUS0/STATUS1 (write 1s) and RUN = 1 (16-bit).
    public static let startWrites: [RegisterWrite] = [
        .u32(.status0, 0xFFFF_FFFF), .u32(.status1, 0xFFFF_FFFF), .u16(.run, 0x0001),
    ]

    /// The whole initialisation table, calibration excluded (the kernel's `reg_sequence`).
    public var initSequence: [RegisterWrite] { configurationWrites + Self.startWrites }
}
