// The ADE9000 registers, each declared once (spec §2, §12.1): datasheet mnemonic, address, reset value and
// signedness in the declaration, width and access in its type. `RegisterMap` lists these declarations at the end
// of this file and derives everything else from them. A per-phase family is one declaration: the mnemonic without
// the phase letter, phase A's address and the stride.
//
// The members are declared on `TypedRegister` for any access, so `.irms(.a)` works wherever a register is
// expected, `Register.irms(phase)` and `Register<UInt16>.version` too; the result type carries the access.

// MARK: - Per-phase calibration (spec §2.1), 32-bit, read-write, signed, stride 0x20

extension TypedRegister where Value == UInt32 {
    /// AIGAIN/BIGAIN/CIGAIN (0x000 + 0x20·phase): current gain ×(1 + v/2²⁷). Datasheet: AIGAIN = 0x000.
    public static func currentGain(_ phase: Phase) -> Register<UInt32> {
        .init("IGAIN", 0x000, phase, stride: .block, signed: true)
    }
    /// AIGAIN0 (0x001 + 0x20·phase): multipoint current gain, region 0 (CONFIG0.MTEN).
    public static func currentGain0(_ phase: Phase) -> Register<UInt32> {
        .init("IGAIN0", 0x001, phase, stride: .block, signed: true)
    }
    /// AIGAIN1 (0x002 + 0x20·phase): multipoint current gain, region 1.
    public static func currentGain1(_ phase: Phase) -> Register<UInt32> {
        .init("IGAIN1", 0x002, phase, stride: .block, signed: true)
    }
    /// AIGAIN2 (0x003 + 0x20·phase): multipoint current gain, region 2.
    public static func currentGain2(_ phase: Phase) -> Register<UInt32> {
        .init("IGAIN2", 0x003, phase, stride: .block, signed: true)
    }
    /// AIGAIN3 (0x004 + 0x20·phase): multipoint current gain, region 3.
    public static func currentGain3(_ phase: Phase) -> Register<UInt32> {
        .init("IGAIN3", 0x004, phase, stride: .block, signed: true)
    }
    /// AIGAIN4 (0x005 + 0x20·phase): multipoint current gain, region 4.
    public static func currentGain4(_ phase: Phase) -> Register<UInt32> {
        .init("IGAIN4", 0x005, phase, stride: .block, signed: true)
    }
    /// APHCAL0/BPHCAL0/CPHCAL0 (0x006 + 0x20·phase): phase compensation. Datasheet: APHCAL0 = 0x006.
    public static func phaseCalibration(_ phase: Phase) -> Register<UInt32> {
        .init("PHCAL0", 0x006, phase, stride: .block, signed: true)
    }
    /// APHCAL1 (0x007 + 0x20·phase): multipoint phase compensation, region 1.
    public static func phaseCalibration1(_ phase: Phase) -> Register<UInt32> {
        .init("PHCAL1", 0x007, phase, stride: .block, signed: true)
    }
    /// APHCAL2 (0x008 + 0x20·phase): multipoint phase compensation, region 2.
    public static func phaseCalibration2(_ phase: Phase) -> Register<UInt32> {
        .init("PHCAL2", 0x008, phase, stride: .block, signed: true)
    }
    /// APHCAL3 (0x009 + 0x20·phase): multipoint phase compensation, region 3.
    public static func phaseCalibration3(_ phase: Phase) -> Register<UInt32> {
        .init("PHCAL3", 0x009, phase, stride: .block, signed: true)
    }
    /// APHCAL4 (0x00A + 0x20·phase): multipoint phase compensation, region 4.
    public static func phaseCalibration4(_ phase: Phase) -> Register<UInt32> {
        .init("PHCAL4", 0x00A, phase, stride: .block, signed: true)
    }
    /// AVGAIN/BVGAIN/CVGAIN (0x00B + 0x20·phase): voltage gain ×(1 + v/2²⁷). Datasheet: AVGAIN = 0x00B.
    public static func voltageGain(_ phase: Phase) -> Register<UInt32> {
        .init("VGAIN", 0x00B, phase, stride: .block, signed: true)
    }
    /// AIRMSOS (0x00C + 0x20·phase): IRMS = √(IRMS₀² + 2¹⁵·xIRMSOS) (spec §12.4).
    public static func currentRMSOffset(_ phase: Phase) -> Register<UInt32> {
        .init("IRMSOS", 0x00C, phase, stride: .block, signed: true)
    }
    /// AVRMSOS (0x00D + 0x20·phase): VRMS = √(VRMS₀² + 2¹⁵·xVRMSOS).
    public static func voltageRMSOffset(_ phase: Phase) -> Register<UInt32> {
        .init("VRMSOS", 0x00D, phase, stride: .block, signed: true)
    }
    /// APGAIN (0x00E + 0x20·phase): power gain for xWATT, xVAR, xVA (and fundamental).
    public static func powerGain(_ phase: Phase) -> Register<UInt32> {
        .init("PGAIN", 0x00E, phase, stride: .block, signed: true)
    }
    /// AWATTOS (0x00F + 0x20·phase): active power offset, one LSB = one xWATT code.
    public static func activePowerOffset(_ phase: Phase) -> Register<UInt32> {
        .init("WATTOS", 0x00F, phase, stride: .block, signed: true)
    }
    /// AVAROS (0x010 + 0x20·phase): reactive power offset.
    public static func reactivePowerOffset(_ phase: Phase) -> Register<UInt32> {
        .init("VAROS", 0x010, phase, stride: .block, signed: true)
    }
    /// AFWATTOS (0x011 + 0x20·phase): fundamental active power offset.
    public static func fundamentalActivePowerOffset(_ phase: Phase) -> Register<UInt32> {
        .init("FWATTOS", 0x011, phase, stride: .block, signed: true)
    }
    /// AFVAROS (0x012 + 0x20·phase): fundamental reactive power offset.
    public static func fundamentalReactivePowerOffset(_ phase: Phase) -> Register<UInt32> {
        .init("FVAROS", 0x012, phase, stride: .block, signed: true)
    }
    /// AIFRMSOS (0x013 + 0x20·phase): fundamental current RMS offset.
    public static func fundamentalCurrentRMSOffset(_ phase: Phase) -> Register<UInt32> {
        .init("IFRMSOS", 0x013, phase, stride: .block, signed: true)
    }
    /// AVFRMSOS (0x014 + 0x20·phase): fundamental voltage RMS offset.
    public static func fundamentalVoltageRMSOffset(_ phase: Phase) -> Register<UInt32> {
        .init("VFRMSOS", 0x014, phase, stride: .block, signed: true)
    }
    /// AVRMSONEOS (0x015 + 0x20·phase): one-cycle voltage RMS offset.
    public static func oneCycleVoltageRMSOffset(_ phase: Phase) -> Register<UInt32> {
        .init("VRMSONEOS", 0x015, phase, stride: .block, signed: true)
    }
    /// AIRMSONEOS (0x016 + 0x20·phase): one-cycle current RMS offset.
    public static func oneCycleCurrentRMSOffset(_ phase: Phase) -> Register<UInt32> {
        .init("IRMSONEOS", 0x016, phase, stride: .block, signed: true)
    }
    /// AVRMS1012OS (0x017 + 0x20·phase): 10/12-cycle voltage RMS offset.
    public static func tenCycleVoltageRMSOffset(_ phase: Phase) -> Register<UInt32> {
        .init("VRMS1012OS", 0x017, phase, stride: .block, signed: true)
    }
    /// AIRMS1012OS (0x018 + 0x20·phase): 10/12-cycle current RMS offset.
    public static func tenCycleCurrentRMSOffset(_ phase: Phase) -> Register<UInt32> {
        .init("IRMS1012OS", 0x018, phase, stride: .block, signed: true)
    }
}

// MARK: - Neutral and common calibration (spec §2.1), 32-bit, read-write

extension TypedRegister where Value == UInt32 {
    /// CONFIG0 (0x060), see `Config0`.
    public static var config0: Register<UInt32> { .init("CONFIG0", 0x060) }
    /// MTTHR_L0 (0x061): multipoint threshold, low, region 0.
    public static var multipointThresholdLow0: Register<UInt32> { .init("MTTHR_L0", 0x061) }
    /// MTTHR_L1 (0x062).
    public static var multipointThresholdLow1: Register<UInt32> { .init("MTTHR_L1", 0x062) }
    /// MTTHR_L2 (0x063).
    public static var multipointThresholdLow2: Register<UInt32> { .init("MTTHR_L2", 0x063) }
    /// MTTHR_L3 (0x064).
    public static var multipointThresholdLow3: Register<UInt32> { .init("MTTHR_L3", 0x064) }
    /// MTTHR_L4 (0x065).
    public static var multipointThresholdLow4: Register<UInt32> { .init("MTTHR_L4", 0x065) }
    /// MTTHR_H0 (0x066): multipoint threshold, high, region 0.
    public static var multipointThresholdHigh0: Register<UInt32> { .init("MTTHR_H0", 0x066) }
    /// MTTHR_H1 (0x067).
    public static var multipointThresholdHigh1: Register<UInt32> { .init("MTTHR_H1", 0x067) }
    /// MTTHR_H2 (0x068).
    public static var multipointThresholdHigh2: Register<UInt32> { .init("MTTHR_H2", 0x068) }
    /// MTTHR_H3 (0x069).
    public static var multipointThresholdHigh3: Register<UInt32> { .init("MTTHR_H3", 0x069) }
    /// MTTHR_H4 (0x06A).
    public static var multipointThresholdHigh4: Register<UInt32> { .init("MTTHR_H4", 0x06A) }
    /// NIRMSOS (0x06B), signed: neutral current RMS offset.
    public static var neutralCurrentRMSOffset: Register<UInt32> { .init("NIRMSOS", 0x06B, signed: true) }
    /// ISUMRMSOS (0x06C), signed: offset of the RMS of the current sum.
    public static var currentSumRMSOffset: Register<UInt32> { .init("ISUMRMSOS", 0x06C, signed: true) }
    /// NIGAIN (0x06D), signed: neutral current gain.
    public static var neutralCurrentGain: Register<UInt32> { .init("NIGAIN", 0x06D, signed: true) }
    /// NPHCAL (0x06E), signed: neutral phase compensation.
    public static var neutralPhaseCalibration: Register<UInt32> { .init("NPHCAL", 0x06E, signed: true) }
    /// NIRMSONEOS (0x06F), signed: neutral one-cycle current RMS offset.
    public static var neutralOneCycleCurrentRMSOffset: Register<UInt32> { .init("NIRMSONEOS", 0x06F, signed: true) }
    /// NIRMS1012OS (0x070), signed: neutral 10/12-cycle current RMS offset.
    public static var neutralTenCycleCurrentRMSOffset: Register<UInt32> {
        .init("NIRMS1012OS", 0x070, signed: true)
    }
    /// VNOM (0x071): nominal voltage for the sag/swell and missing-neutral features.
    public static var nominalVoltage: Register<UInt32> { .init("VNOM", 0x071) }
    /// DICOEFF (0x072), signed: digital integrator coefficient (0xFFFFE000 with the integrator on, else 0).
    public static var dicoeff: Register<UInt32> { .init("DICOEFF", 0x072, signed: true) }
    /// ISUMLVL (0x073): threshold of the current-sum mismatch check.
    public static var currentSumLevel: Register<UInt32> { .init("ISUMLVL", 0x073) }
}

// MARK: - Per-phase measurements (spec §2.2), 32-bit, read-only, stride 0x20

extension TypedRegister where Value == UInt32 {
    /// AI_PCF (0x20A + 0x20·phase), signed: instantaneous current, 8 kSPS.
    public static func currentWaveform(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("I_PCF", 0x20A, phase, stride: .block, signed: true)
    }
    /// AV_PCF (0x20B + 0x20·phase), signed: instantaneous voltage, 8 kSPS.
    public static func voltageWaveform(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("V_PCF", 0x20B, phase, stride: .block, signed: true)
    }
    /// AIRMS/BIRMS/CIRMS (0x20C + 0x20·phase): filter-based total current RMS. Datasheet: AIRMS = 0x20C.
    public static func irms(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("IRMS", 0x20C, phase, stride: .block, signed: true)
    }
    /// AVRMS (0x20D + 0x20·phase): filter-based total voltage RMS.
    public static func vrms(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("VRMS", 0x20D, phase, stride: .block, signed: true)
    }
    /// AIFRMS (0x20E + 0x20·phase): fundamental current RMS.
    public static func fundamentalIRMS(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("IFRMS", 0x20E, phase, stride: .block, signed: true)
    }
    /// AVFRMS (0x20F + 0x20·phase): fundamental voltage RMS.
    public static func fundamentalVRMS(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("VFRMS", 0x20F, phase, stride: .block, signed: true)
    }
    /// AWATT (0x210 + 0x20·phase): total active power, signed.
    public static func activePower(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("WATT", 0x210, phase, stride: .block, signed: true)
    }
    /// AVAR (0x211 + 0x20·phase): total reactive power, signed.
    public static func reactivePower(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("VAR", 0x211, phase, stride: .block, signed: true)
    }
    /// AVA (0x212 + 0x20·phase): total apparent power.
    public static func apparentPower(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("VA", 0x212, phase, stride: .block, signed: true)
    }
    /// AFWATT (0x213 + 0x20·phase): fundamental active power.
    public static func fundamentalActivePower(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("FWATT", 0x213, phase, stride: .block, signed: true)
    }
    /// AFVAR (0x214 + 0x20·phase): fundamental reactive power.
    public static func fundamentalReactivePower(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("FVAR", 0x214, phase, stride: .block, signed: true)
    }
    /// AFVA (0x215 + 0x20·phase): fundamental apparent power.
    public static func fundamentalApparentPower(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("FVA", 0x215, phase, stride: .block, signed: true)
    }
    /// APF (0x216 + 0x20·phase): power factor, 1.0 = 2²⁷, signed.
    public static func powerFactor(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("PF", 0x216, phase, stride: .block, signed: true)
    }
    /// AVTHD (0x217 + 0x20·phase): voltage total harmonic distortion.
    public static func voltageTHD(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("VTHD", 0x217, phase, stride: .block)
    }
    /// AITHD (0x218 + 0x20·phase): current total harmonic distortion.
    public static func currentTHD(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("ITHD", 0x218, phase, stride: .block)
    }
    /// AIRMSONE (0x219 + 0x20·phase): one-cycle current RMS, updated every half cycle.
    public static func oneCycleIRMS(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("IRMSONE", 0x219, phase, stride: .block, signed: true)
    }
    /// AVRMSONE (0x21A + 0x20·phase): one-cycle voltage RMS.
    public static func oneCycleVRMS(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("VRMSONE", 0x21A, phase, stride: .block, signed: true)
    }
    /// AIRMS1012 (0x21B + 0x20·phase): 10/12-cycle current RMS.
    public static func tenCycleIRMS(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("IRMS1012", 0x21B, phase, stride: .block, signed: true)
    }
    /// AVRMS1012 (0x21C + 0x20·phase): 10/12-cycle voltage RMS.
    public static func tenCycleVRMS(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("VRMS1012", 0x21C, phase, stride: .block, signed: true)
    }
    /// AMTREGION (0x21D + 0x20·phase): the multipoint region in use.
    public static func multipointRegion(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("MTREGION", 0x21D, phase, stride: .block)
    }

    /// NI_PCF (0x265), signed: instantaneous neutral current.
    public static var neutralCurrentWaveform: ReadOnlyRegister<UInt32> { .init("NI_PCF", 0x265, signed: true) }
    /// NIRMS (0x266): neutral current RMS.
    public static var neutralIRMS: ReadOnlyRegister<UInt32> { .init("NIRMS", 0x266, signed: true) }
    /// NIRMSONE (0x267): one-cycle neutral current RMS.
    public static var neutralOneCycleIRMS: ReadOnlyRegister<UInt32> { .init("NIRMSONE", 0x267, signed: true) }
    /// NIRMS1012 (0x268): 10/12-cycle neutral current RMS.
    public static var neutralTenCycleIRMS: ReadOnlyRegister<UInt32> { .init("NIRMS1012", 0x268, signed: true) }
    /// ISUMRMS (0x269): RMS of the sum of the phase currents (and neutral, ISUM_CFG).
    public static var currentSumRMS: ReadOnlyRegister<UInt32> { .init("ISUMRMS", 0x269, signed: true) }
    /// VERSION2 (0x26A): metrology algorithm version.
    public static var version2: ReadOnlyRegister<UInt32> { .init("VERSION2", 0x26A) }
}

// MARK: - Per-phase energy and accumulated power (spec §2.3), 32-bit, read-only, stride 0x3C

extension TypedRegister where Value == UInt32 {
    /// AWATT_ACC (0x2E5 + 0x3C·phase), signed: active power accumulated over PWR_TIME.
    public static func activePowerAccumulation(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("WATT_ACC", 0x2E5, phase, stride: .energy, signed: true)
    }
    /// xWATTHR_LO (0x2E6 + 0x3C·phase): 13 LSBs of the 45-bit total active energy in bits 12:0 (spec §12.3).
    public static func activeEnergyLow(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("WATTHR_LO", 0x2E6, phase, stride: .energy)
    }
    /// xWATTHR_HI (0x2E7 + 0x3C·phase): 32 MSBs of the 45-bit total active energy, signed.
    public static func activeEnergyHigh(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("WATTHR_HI", 0x2E7, phase, stride: .energy, signed: true)
    }
    /// xVAR_ACC (0x2EF + 0x3C·phase), signed: reactive power accumulated over PWR_TIME.
    public static func reactivePowerAccumulation(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("VAR_ACC", 0x2EF, phase, stride: .energy, signed: true)
    }
    /// xVARHR_LO (0x2F0 + 0x3C·phase).
    public static func reactiveEnergyLow(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("VARHR_LO", 0x2F0, phase, stride: .energy)
    }
    /// xVARHR_HI (0x2F1 + 0x3C·phase), signed.
    public static func reactiveEnergyHigh(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("VARHR_HI", 0x2F1, phase, stride: .energy, signed: true)
    }
    /// xVA_ACC (0x2F9 + 0x3C·phase): apparent power accumulated over PWR_TIME.
    public static func apparentPowerAccumulation(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("VA_ACC", 0x2F9, phase, stride: .energy, signed: true)
    }
    /// xVAHR_LO (0x2FA + 0x3C·phase).
    public static func apparentEnergyLow(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("VAHR_LO", 0x2FA, phase, stride: .energy)
    }
    /// xVAHR_HI (0x2FB + 0x3C·phase).
    public static func apparentEnergyHigh(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("VAHR_HI", 0x2FB, phase, stride: .energy, signed: true)
    }
    /// xFWATT_ACC (0x303 + 0x3C·phase): fundamental active power accumulated over PWR_TIME.
    public static func fundamentalActivePowerAccumulation(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("FWATT_ACC", 0x303, phase, stride: .energy, signed: true)
    }
    /// xFWATTHR_LO (0x304 + 0x3C·phase).
    public static func fundamentalActiveEnergyLow(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("FWATTHR_LO", 0x304, phase, stride: .energy)
    }
    /// xFWATTHR_HI (0x305 + 0x3C·phase).
    public static func fundamentalActiveEnergyHigh(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("FWATTHR_HI", 0x305, phase, stride: .energy, signed: true)
    }
    /// xFVAR_ACC (0x30D + 0x3C·phase): fundamental reactive power accumulated over PWR_TIME.
    public static func fundamentalReactivePowerAccumulation(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("FVAR_ACC", 0x30D, phase, stride: .energy, signed: true)
    }
    /// xFVARHR_LO (0x30E + 0x3C·phase).
    public static func fundamentalReactiveEnergyLow(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("FVARHR_LO", 0x30E, phase, stride: .energy)
    }
    /// xFVARHR_HI (0x30F + 0x3C·phase).
    public static func fundamentalReactiveEnergyHigh(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("FVARHR_HI", 0x30F, phase, stride: .energy, signed: true)
    }
    /// xFVA_ACC (0x317 + 0x3C·phase): fundamental apparent power accumulated over PWR_TIME.
    public static func fundamentalApparentPowerAccumulation(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("FVA_ACC", 0x317, phase, stride: .energy, signed: true)
    }
    /// xFVAHR_LO (0x318 + 0x3C·phase).
    public static func fundamentalApparentEnergyLow(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("FVAHR_LO", 0x318, phase, stride: .energy)
    }
    /// xFVAHR_HI (0x319 + 0x3C·phase).
    public static func fundamentalApparentEnergyHigh(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("FVAHR_HI", 0x319, phase, stride: .energy, signed: true)
    }

    /// PWATT_ACC (0x397), signed: total positive active power accumulated.
    public static var positiveActivePowerAccumulation: ReadOnlyRegister<UInt32> {
        .init("PWATT_ACC", 0x397, signed: true)
    }
    /// NWATT_ACC (0x39B), signed: total negative active power accumulated.
    public static var negativeActivePowerAccumulation: ReadOnlyRegister<UInt32> {
        .init("NWATT_ACC", 0x39B, signed: true)
    }
    /// PVAR_ACC (0x39F), signed: total positive reactive power accumulated.
    public static var positiveReactivePowerAccumulation: ReadOnlyRegister<UInt32> {
        .init("PVAR_ACC", 0x39F, signed: true)
    }
    /// NVAR_ACC (0x3A3), signed: total negative reactive power accumulated.
    public static var negativeReactivePowerAccumulation: ReadOnlyRegister<UInt32> {
        .init("NVAR_ACC", 0x3A3, signed: true)
    }
}

// MARK: - Status, events, power quality, period, identification (spec §2.4), 32-bit

extension TypedRegister where Value == UInt32 {
    /// IPEAK (0x400): peak current and the phase it was seen on.
    public static var currentPeak: ReadOnlyRegister<UInt32> { .init("IPEAK", 0x400) }
    /// VPEAK (0x401): peak voltage and the phase it was seen on.
    public static var voltagePeak: ReadOnlyRegister<UInt32> { .init("VPEAK", 0x401) }
    /// STATUS0 (0x402), write 1 to clear. See `Status0`.
    public static var status0: WriteOneToClearRegister<UInt32> { .init("STATUS0", 0x402) }
    /// STATUS1 (0x403), write 1 to clear. See `Status1`.
    public static var status1: WriteOneToClearRegister<UInt32> { .init("STATUS1", 0x403) }
    /// EVENT_STATUS (0x404), live.
    public static var eventStatus: ReadOnlyRegister<UInt32> { .init("EVENT_STATUS", 0x404) }
    /// MASK0 (0x405): IRQ0 enables, same layout as STATUS0.
    public static var mask0: Register<UInt32> { .init("MASK0", 0x405) }
    /// MASK1 (0x406): IRQ1 enables, same layout as STATUS1.
    public static var mask1: Register<UInt32> { .init("MASK1", 0x406) }
    /// EVENT_MASK (0x407).
    public static var eventMask: Register<UInt32> { .init("EVENT_MASK", 0x407) }
    /// OILVL (0x409): overcurrent threshold.
    public static var overcurrentLevel: Register<UInt32> { .init("OILVL", 0x409) }
    /// OIA/OIB/OIC (0x40A + phase, stride 1): phase current RMS½ at an overcurrent event.
    public static func overcurrent(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("OI" + phase.description, 0x40A + PhaseStride.adjacent.offset(phase))
    }
    /// OIN (0x40D): neutral current RMS½ at an overcurrent event.
    public static var neutralOvercurrent: ReadOnlyRegister<UInt32> { .init("OIN", 0x40D) }
    /// USER_PERIOD (0x40E), reset 0x00500000: line period used when UPERIOD_SEL is set.
    public static var userPeriod: Register<UInt32> { .init("USER_PERIOD", 0x40E, reset: 0x0050_0000) }
    /// VLEVEL (0x40F), reset 0x00045D45: [23:0] level for the fundamental algorithm (spec §4.3).
    public static var vlevel: Register<UInt32> { .init("VLEVEL", 0x40F, reset: 0x0004_5D45) }
    /// DIP_LVL (0x410): voltage dip threshold.
    public static var dipLevel: Register<UInt32> { .init("DIP_LVL", 0x410) }
    /// DIPA/DIPB/DIPC (0x411 + phase, stride 1): voltage RMS½ during a dip.
    public static func dip(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("DIP" + phase.description, 0x411 + PhaseStride.adjacent.offset(phase))
    }
    /// SWELL_LVL (0x414): voltage swell threshold.
    public static var swellLevel: Register<UInt32> { .init("SWELL_LVL", 0x414) }
    /// SWELLA/SWELLB/SWELLC (0x415 + phase, stride 1): voltage RMS½ during a swell.
    public static func swell(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("SWELL" + phase.description, 0x415 + PhaseStride.adjacent.offset(phase))
    }
    /// APERIOD/BPERIOD/CPERIOD (0x418 + phase, stride 1!), reset 0x00A00000: line period,
    /// f = 8000·2¹⁶/(code + 1).
    public static func period(_ phase: Phase) -> ReadOnlyRegister<UInt32> {
        .init("PERIOD", 0x418, phase, stride: .adjacent, reset: 0x00A0_0000)
    }
    /// COM_PERIOD (0x41B), reset 0x00A00000: period of the combined voltages.
    public static var combinedPeriod: ReadOnlyRegister<UInt32> { .init("COM_PERIOD", 0x41B, reset: 0x00A0_0000) }
    /// ACT_NL_LVL (0x41C), reset 0xFFFF: active-power no-load level.
    public static var activeNoLoadLevel: Register<UInt32> { .init("ACT_NL_LVL", 0x41C, reset: 0xFFFF) }
    /// REACT_NL_LVL (0x41D), reset 0xFFFF: reactive-power no-load level.
    public static var reactiveNoLoadLevel: Register<UInt32> { .init("REACT_NL_LVL", 0x41D, reset: 0xFFFF) }
    /// APP_NL_LVL (0x41E), reset 0xFFFF: apparent-power no-load level.
    public static var apparentNoLoadLevel: Register<UInt32> { .init("APP_NL_LVL", 0x41E, reset: 0xFFFF) }
    /// PHNOLOAD (0x41F): per-phase no-load state.
    public static var phaseNoLoad: ReadOnlyRegister<UInt32> { .init("PHNOLOAD", 0x41F) }
    /// WTHR (0x420), reset 0xFFFF: active energy threshold of the CF pulses.
    public static var activeEnergyThreshold: Register<UInt32> { .init("WTHR", 0x420, reset: 0xFFFF) }
    /// VARTHR (0x421), reset 0xFFFF: reactive energy threshold.
    public static var reactiveEnergyThreshold: Register<UInt32> { .init("VARTHR", 0x421, reset: 0xFFFF) }
    /// VATHR (0x422), reset 0xFFFF: apparent energy threshold.
    public static var apparentEnergyThreshold: Register<UInt32> { .init("VATHR", 0x422, reset: 0xFFFF) }
    /// LAST_DATA_32 (0x423): the data of the last 32-bit SPI transfer.
    public static var lastData32: ReadOnlyRegister<UInt32> { .init("LAST_DATA_32", 0x423) }
    /// ADC_REDIRECT (0x424), reset 0x001FFFFF: routes ADC channels to other datapaths.
    public static var adcRedirect: Register<UInt32> { .init("ADC_REDIRECT", 0x424, reset: 0x001F_FFFF) }
    /// CF_LCFG (0x425): CF pulse latch configuration.
    public static var cfLatchConfig: Register<UInt32> { .init("CF_LCFG", 0x425) }
    /// PART_ID (0x472), reset 0x00100000: bit 20 = ADE9000_ID.
    public static var partID: ReadOnlyRegister<UInt32> { .init("PART_ID", 0x472, reset: 0x0010_0000) }
    /// TEMP_TRIM (0x474): temperature sensor trim.
    public static var temperatureTrim: ReadOnlyRegister<UInt32> { .init("TEMP_TRIM", 0x474) }
}

// MARK: - 16-bit configuration block 0x480–0x4FE (spec §2.5)

extension TypedRegister where Value == UInt16 {
    /// RUN (0x480): 1 starts the DSP.
    public static var run: Register<UInt16> { .init("RUN", 0x480) }
    /// CONFIG1 (0x481). See `Config1`.
    public static var config1: Register<UInt16> { .init("CONFIG1", 0x481) }
    /// ANGL_VA_VB (0x482): VA→VB zero-crossing time, 1.024 MHz ticks.
    public static var angleVAtoVB: ReadOnlyRegister<UInt16> { .init("ANGL_VA_VB", 0x482) }
    /// ANGL_VB_VC (0x483).
    public static var angleVBtoVC: ReadOnlyRegister<UInt16> { .init("ANGL_VB_VC", 0x483) }
    /// ANGL_VA_VC (0x484).
    public static var angleVAtoVC: ReadOnlyRegister<UInt16> { .init("ANGL_VA_VC", 0x484) }
    /// ANGL_VA_IA / ANGL_VB_IB / ANGL_VC_IC (0x485 + phase): voltage → current of the same phase.
    public static func voltageToCurrentAngle(_ phase: Phase) -> ReadOnlyRegister<UInt16> {
        let p = phase.description
        return .init("ANGL_V\(p)_I\(p)", 0x485 + PhaseStride.adjacent.offset(phase))
    }
    /// ANGL_IA_IB (0x488): IA→IB zero-crossing time.
    public static var angleIAtoIB: ReadOnlyRegister<UInt16> { .init("ANGL_IA_IB", 0x488) }
    /// ANGL_IB_IC (0x489).
    public static var angleIBtoIC: ReadOnlyRegister<UInt16> { .init("ANGL_IB_IC", 0x489) }
    /// ANGL_IA_IC (0x48A).
    public static var angleIAtoIC: ReadOnlyRegister<UInt16> { .init("ANGL_IA_IC", 0x48A) }
    /// DIP_CYC (0x48B), reset 0xFFFF: half cycles below DIP_LVL before a dip is flagged.
    public static var dipCycles: Register<UInt16> { .init("DIP_CYC", 0x48B, reset: 0xFFFF) }
    /// SWELL_CYC (0x48C), reset 0xFFFF: half cycles above SWELL_LVL before a swell is flagged.
    public static var swellCycles: Register<UInt16> { .init("SWELL_CYC", 0x48C, reset: 0xFFFF) }
    /// OISTATUS (0x48F): which phases are over OILVL.
    public static var overcurrentStatus: ReadOnlyRegister<UInt16> { .init("OISTATUS", 0x48F) }
    /// CFMODE (0x490).
    public static var cfMode: Register<UInt16> { .init("CFMODE", 0x490) }
    /// COMPMODE (0x491).
    public static var compMode: Register<UInt16> { .init("COMPMODE", 0x491) }
    /// ACCMODE (0x492). See `AccumulationMode`.
    public static var accMode: Register<UInt16> { .init("ACCMODE", 0x492) }
    /// CONFIG3 (0x493).
    public static var config3: Register<UInt16> { .init("CONFIG3", 0x493) }
    /// CF1DEN (0x494), reset 0xFFFF: CF1 pulse denominator.
    public static var cf1Denominator: Register<UInt16> { .init("CF1DEN", 0x494, reset: 0xFFFF) }
    /// CF2DEN (0x495), reset 0xFFFF.
    public static var cf2Denominator: Register<UInt16> { .init("CF2DEN", 0x495, reset: 0xFFFF) }
    /// CF3DEN (0x496), reset 0xFFFF.
    public static var cf3Denominator: Register<UInt16> { .init("CF3DEN", 0x496, reset: 0xFFFF) }
    /// CF4DEN (0x497), reset 0xFFFF.
    public static var cf4Denominator: Register<UInt16> { .init("CF4DEN", 0x497, reset: 0xFFFF) }
    /// ZXTOUT (0x498), reset 0xFFFF: zero-crossing timeout.
    public static var zeroCrossingTimeout: Register<UInt16> { .init("ZXTOUT", 0x498, reset: 0xFFFF) }
    /// ZXTHRSH (0x499), reset 0x0009: voltage level below which zero crossings are not detected.
    public static var zeroCrossingThreshold: Register<UInt16> { .init("ZXTHRSH", 0x499, reset: 0x0009) }
    /// ZX_LP_SEL (0x49A), reset 0x001E.
    public static var zxLpSel: Register<UInt16> { .init("ZX_LP_SEL", 0x49A, reset: 0x001E) }
    /// SEQ_CYC (0x49C), reset 0x00FF: line cycles of a phase-sequence error before SEQERR.
    public static var sequenceCycles: Register<UInt16> { .init("SEQ_CYC", 0x49C, reset: 0x00FF) }
    /// PHSIGN (0x49D): signs of the power of each phase.
    public static var phaseSign: ReadOnlyRegister<UInt16> { .init("PHSIGN", 0x49D) }
    /// WFB_CFG (0x4A0).
    public static var waveformBufferConfig: Register<UInt16> { .init("WFB_CFG", 0x4A0) }
    /// WFB_PG_IRQEN (0x4A1): waveform buffer page interrupts.
    public static var waveformBufferPageIRQEnable: Register<UInt16> { .init("WFB_PG_IRQEN", 0x4A1) }
    /// WFB_TRG_CFG (0x4A2): waveform buffer trigger events.
    public static var waveformBufferTriggerConfig: Register<UInt16> { .init("WFB_TRG_CFG", 0x4A2) }
    /// WFB_TRG_STAT (0x4A3): waveform buffer trigger status.
    public static var waveformBufferTriggerStatus: ReadOnlyRegister<UInt16> { .init("WFB_TRG_STAT", 0x4A3) }
    /// CONFIG5 (0x4A4), reset 0x0063 (family identification).
    public static var config5: Register<UInt16> { .init("CONFIG5", 0x4A4, reset: 0x0063) }
    /// CRC_RSLT (0x4A8): configuration-register CRC.
    public static var crcResult: ReadOnlyRegister<UInt16> { .init("CRC_RSLT", 0x4A8) }
    /// CRC_SPI (0x4A9): CRC of the last SPI read.
    public static var crcSPI: ReadOnlyRegister<UInt16> { .init("CRC_SPI", 0x4A9) }
    /// LAST_DATA_16 (0x4AC): the data of the last 16-bit SPI transfer.
    public static var lastData16: ReadOnlyRegister<UInt16> { .init("LAST_DATA_16", 0x4AC) }
    /// LAST_CMD (0x4AE): the last SPI command header.
    public static var lastCommand: ReadOnlyRegister<UInt16> { .init("LAST_CMD", 0x4AE) }
    /// CONFIG2 (0x4AF), reset 0x0C00: HPF_CRN[11:9], UPERIOD_SEL b12.
    public static var config2: Register<UInt16> { .init("CONFIG2", 0x4AF, reset: 0x0C00) }
    /// EP_CFG (0x4B0). See `EnergyPowerConfig`.
    public static var epConfig: Register<UInt16> { .init("EP_CFG", 0x4B0) }
    /// PWR_TIME (0x4B1), reset 0x00FF.
    public static var powerTime: Register<UInt16> { .init("PWR_TIME", 0x4B1, reset: 0x00FF) }
    /// EGY_TIME (0x4B2), reset 0x00FF: [12:0] energy accumulation length − 1.
    public static var energyTime: Register<UInt16> { .init("EGY_TIME", 0x4B2, reset: 0x00FF) }
    /// CRC_FORCE (0x4B4): bit 0 FORCE_CRC_UPDATE starts a configuration-CRC pass.
    public static var crcForce: Register<UInt16> { .init("CRC_FORCE", 0x4B4) }
    /// CRC_OPTEN (0x4B5): optional registers in the configuration CRC.
    public static var crcOptionalEnable: Register<UInt16> { .init("CRC_OPTEN", 0x4B5) }
    /// TEMP_CFG (0x4B6): temperature sensor configuration.
    public static var temperatureConfig: Register<UInt16> { .init("TEMP_CFG", 0x4B6) }
    /// TEMP_RSLT (0x4B7): temperature sensor result.
    public static var temperatureResult: ReadOnlyRegister<UInt16> { .init("TEMP_RSLT", 0x4B7) }
    /// PSM2_CFG (0x4B8), reset 0x001F: PSM2 low-power comparator configuration.
    public static var psm2Config: Register<UInt16> { .init("PSM2_CFG", 0x4B8, reset: 0x001F) }
    /// PGA_GAIN (0x4B9). See `PGAGainRegister`.
    public static var pgaGain: Register<UInt16> { .init("PGA_GAIN", 0x4B9) }
    /// CHNL_DIS (0x4BA): ADC channel disables.
    public static var channelDisable: Register<UInt16> { .init("CHNL_DIS", 0x4BA) }
    /// WR_LOCK (0x4BF): 0x3C64 locks, 0x4AD1 unlocks; reads 1 while locked.
    public static var writeLock: Register<UInt16> { .init("WR_LOCK", 0x4BF) }
    /// VAR_DIS (0x4E0): total reactive power algorithm selection.
    public static var varDisable: Register<UInt16> { .init("VAR_DIS", 0x4E0) }
    /// VERSION (0x4FE).
    public static var version: ReadOnlyRegister<UInt16> { .init("VERSION", 0x4FE) }
}

// MARK: - The list the map is derived from

extension RegisterMap {
    /// Every register declared above, families expanded to phases A, B, C: the rows `RegisterMap.all` is made of
    /// (with the burst aliases, derived from these). A declaration not listed here is missing from the map, and
    /// from `emeter ade9000 regs` and the simulator; the map tests check that names and addresses are unique.
    static func declaredRows() -> [RegisterInfo] {
        var rows: [RegisterInfo] = []
        func family<Value, Access>(_ declaration: (Phase) -> TypedRegister<Value, Access>) {
            rows += Phase.allCases.map { RegisterInfo(declaration($0)) }
        }
        func single<Value, Access>(_ declaration: TypedRegister<Value, Access>) {
            rows.append(RegisterInfo(declaration))
        }
        // Per-phase calibration
        family(Register.currentGain)
        family(Register.currentGain0)
        family(Register.currentGain1)
        family(Register.currentGain2)
        family(Register.currentGain3)
        family(Register.currentGain4)
        family(Register.phaseCalibration)
        family(Register.phaseCalibration1)
        family(Register.phaseCalibration2)
        family(Register.phaseCalibration3)
        family(Register.phaseCalibration4)
        family(Register.voltageGain)
        family(Register.currentRMSOffset)
        family(Register.voltageRMSOffset)
        family(Register.powerGain)
        family(Register.activePowerOffset)
        family(Register.reactivePowerOffset)
        family(Register.fundamentalActivePowerOffset)
        family(Register.fundamentalReactivePowerOffset)
        family(Register.fundamentalCurrentRMSOffset)
        family(Register.fundamentalVoltageRMSOffset)
        family(Register.oneCycleVoltageRMSOffset)
        family(Register.oneCycleCurrentRMSOffset)
        family(Register.tenCycleVoltageRMSOffset)
        family(Register.tenCycleCurrentRMSOffset)
        // Neutral and common calibration
        single(Register.config0)
        single(Register.multipointThresholdLow0)
        single(Register.multipointThresholdLow1)
        single(Register.multipointThresholdLow2)
        single(Register.multipointThresholdLow3)
        single(Register.multipointThresholdLow4)
        single(Register.multipointThresholdHigh0)
        single(Register.multipointThresholdHigh1)
        single(Register.multipointThresholdHigh2)
        single(Register.multipointThresholdHigh3)
        single(Register.multipointThresholdHigh4)
        single(Register.neutralCurrentRMSOffset)
        single(Register.currentSumRMSOffset)
        single(Register.neutralCurrentGain)
        single(Register.neutralPhaseCalibration)
        single(Register.neutralOneCycleCurrentRMSOffset)
        single(Register.neutralTenCycleCurrentRMSOffset)
        single(Register.nominalVoltage)
        single(Register.dicoeff)
        single(Register.currentSumLevel)
        // Per-phase measurements
        family(ReadOnlyRegister.currentWaveform)
        family(ReadOnlyRegister.voltageWaveform)
        family(ReadOnlyRegister.irms)
        family(ReadOnlyRegister.vrms)
        family(ReadOnlyRegister.fundamentalIRMS)
        family(ReadOnlyRegister.fundamentalVRMS)
        family(ReadOnlyRegister.activePower)
        family(ReadOnlyRegister.reactivePower)
        family(ReadOnlyRegister.apparentPower)
        family(ReadOnlyRegister.fundamentalActivePower)
        family(ReadOnlyRegister.fundamentalReactivePower)
        family(ReadOnlyRegister.fundamentalApparentPower)
        family(ReadOnlyRegister.powerFactor)
        family(ReadOnlyRegister.voltageTHD)
        family(ReadOnlyRegister.currentTHD)
        family(ReadOnlyRegister.oneCycleIRMS)
        family(ReadOnlyRegister.oneCycleVRMS)
        family(ReadOnlyRegister.tenCycleIRMS)
        family(ReadOnlyRegister.tenCycleVRMS)
        family(ReadOnlyRegister.multipointRegion)
        single(ReadOnlyRegister.neutralCurrentWaveform)
        single(ReadOnlyRegister.neutralIRMS)
        single(ReadOnlyRegister.neutralOneCycleIRMS)
        single(ReadOnlyRegister.neutralTenCycleIRMS)
        single(ReadOnlyRegister.currentSumRMS)
        single(ReadOnlyRegister.version2)
        // Per-phase energy and accumulated power
        family(ReadOnlyRegister.activePowerAccumulation)
        family(ReadOnlyRegister.activeEnergyLow)
        family(ReadOnlyRegister.activeEnergyHigh)
        family(ReadOnlyRegister.reactivePowerAccumulation)
        family(ReadOnlyRegister.reactiveEnergyLow)
        family(ReadOnlyRegister.reactiveEnergyHigh)
        family(ReadOnlyRegister.apparentPowerAccumulation)
        family(ReadOnlyRegister.apparentEnergyLow)
        family(ReadOnlyRegister.apparentEnergyHigh)
        family(ReadOnlyRegister.fundamentalActivePowerAccumulation)
        family(ReadOnlyRegister.fundamentalActiveEnergyLow)
        family(ReadOnlyRegister.fundamentalActiveEnergyHigh)
        family(ReadOnlyRegister.fundamentalReactivePowerAccumulation)
        family(ReadOnlyRegister.fundamentalReactiveEnergyLow)
        family(ReadOnlyRegister.fundamentalReactiveEnergyHigh)
        family(ReadOnlyRegister.fundamentalApparentPowerAccumulation)
        family(ReadOnlyRegister.fundamentalApparentEnergyLow)
        family(ReadOnlyRegister.fundamentalApparentEnergyHigh)
        single(ReadOnlyRegister.positiveActivePowerAccumulation)
        single(ReadOnlyRegister.negativeActivePowerAccumulation)
        single(ReadOnlyRegister.positiveReactivePowerAccumulation)
        single(ReadOnlyRegister.negativeReactivePowerAccumulation)
        // Status, events, power quality, period, identification
        single(ReadOnlyRegister.currentPeak)
        single(ReadOnlyRegister.voltagePeak)
        single(WriteOneToClearRegister.status0)
        single(WriteOneToClearRegister.status1)
        single(ReadOnlyRegister.eventStatus)
        single(Register.mask0)
        single(Register.mask1)
        single(Register.eventMask)
        single(Register.overcurrentLevel)
        family(ReadOnlyRegister.overcurrent)
        single(ReadOnlyRegister.neutralOvercurrent)
        single(Register.userPeriod)
        single(Register.vlevel)
        single(Register.dipLevel)
        family(ReadOnlyRegister.dip)
        single(Register.swellLevel)
        family(ReadOnlyRegister.swell)
        family(ReadOnlyRegister.period)
        single(ReadOnlyRegister.combinedPeriod)
        single(Register.activeNoLoadLevel)
        single(Register.reactiveNoLoadLevel)
        single(Register.apparentNoLoadLevel)
        single(ReadOnlyRegister.phaseNoLoad)
        single(Register.activeEnergyThreshold)
        single(Register.reactiveEnergyThreshold)
        single(Register.apparentEnergyThreshold)
        single(ReadOnlyRegister.lastData32)
        single(Register.adcRedirect)
        single(Register.cfLatchConfig)
        single(ReadOnlyRegister.partID)
        single(ReadOnlyRegister.temperatureTrim)
        // 16-bit configuration block
        single(Register.run)
        single(Register.config1)
        single(ReadOnlyRegister.angleVAtoVB)
        single(ReadOnlyRegister.angleVBtoVC)
        single(ReadOnlyRegister.angleVAtoVC)
        family(ReadOnlyRegister.voltageToCurrentAngle)
        single(ReadOnlyRegister.angleIAtoIB)
        single(ReadOnlyRegister.angleIBtoIC)
        single(ReadOnlyRegister.angleIAtoIC)
        single(Register.dipCycles)
        single(Register.swellCycles)
        single(ReadOnlyRegister.overcurrentStatus)
        single(Register.cfMode)
        single(Register.compMode)
        single(Register.accMode)
        single(Register.config3)
        single(Register.cf1Denominator)
        single(Register.cf2Denominator)
        single(Register.cf3Denominator)
        single(Register.cf4Denominator)
        single(Register.zeroCrossingTimeout)
        single(Register.zeroCrossingThreshold)
        single(Register.zxLpSel)
        single(Register.sequenceCycles)
        single(ReadOnlyRegister.phaseSign)
        single(Register.waveformBufferConfig)
        single(Register.waveformBufferPageIRQEnable)
        single(Register.waveformBufferTriggerConfig)
        single(ReadOnlyRegister.waveformBufferTriggerStatus)
        single(Register.config5)
        single(ReadOnlyRegister.crcResult)
        single(ReadOnlyRegister.crcSPI)
        single(ReadOnlyRegister.lastData16)
        single(ReadOnlyRegister.lastCommand)
        single(Register.config2)
        single(Register.epConfig)
        single(Register.powerTime)
        single(Register.energyTime)
        single(Register.crcForce)
        single(Register.crcOptionalEnable)
        single(Register.temperatureConfig)
        single(ReadOnlyRegister.temperatureResult)
        single(Register.psm2Config)
        single(Register.pgaGain)
        single(Register.channelDisable)
        single(Register.writeLock)
        single(Register.varDisable)
        single(ReadOnlyRegister.version)
        return rows
    }
}
