/// Raw register codes of one phase as read in a snapshot.
public struct RawPhaseCodes: Sendable, Equatable, Codable {
    /// xVRMS and xIRMS.
    public var vrms: Int32
    public var irms: Int32
    /// xWATT, xVAR, xVA.
    public var active: Int32
    public var reactive: Int32
    public var apparent: Int32
    /// xPF (1.0 = 2²⁷).
    public var powerFactor: Int32
    /// xPERIOD.
    public var period: UInt32
    /// ANGL_VA_VB / ANGL_VA_VC (0 for phase A).
    public var voltageAngle: UInt16
    /// ANGL_VA_IA / ANGL_VB_IB / ANGL_VC_IC.
    public var currentAngle: UInt16

    public init(
        vrms: Int32 = 0, irms: Int32 = 0, active: Int32 = 0, reactive: Int32 = 0, apparent: Int32 = 0,
        powerFactor: Int32 = 0, period: UInt32 = 0, voltageAngle: UInt16 = 0, currentAngle: UInt16 = 0
    ) {
        self.vrms = vrms
        self.irms = irms
        self.active = active
        self.reactive = reactive
        self.apparent = apparent
        self.powerFactor = powerFactor
        self.period = period
        self.voltageAngle = voltageAngle
        self.currentAngle = currentAngle
    }
}

/// One phase in SI units.
public struct PhaseReading: Sendable, Equatable, Codable {
    public var phase: Phase
    /// Line-to-neutral voltage RMS, V.
    public var voltage: Double
    /// Current RMS, A.
    public var current: Double
    /// Total active power, W (positive = import).
    public var activePower: Double
    /// Total reactive power, var (positive = inductive).
    public var reactivePower: Double
    /// Total apparent power, VA.
    public var apparentPower: Double
    /// Power factor from xPF, −1…1.
    public var powerFactor: Double
    /// Line frequency from xPERIOD, Hz.
    public var frequency: Double
    /// Angle from VA's zero crossing to this phase's voltage, degrees in [0, 360) (0 for A; ≈120 for B in an
    /// ABC sequence).
    public var voltageAngle: Double
    /// Angle from this phase's voltage to its current, degrees in (−180, 180]; positive = current lags.
    public var currentAngle: Double
}

/// Energy of one phase, in accumulator counts (one count = one xWATT code for one 8 kSPS sample) since the
/// driver started. Never wraps in practice: Int64 holds ~650 days at full-scale power.
public struct EnergyCounts: Sendable, Equatable, Codable {
    /// Sum of positive active-energy increments (import).
    public var activeImport: Int64 = 0
    /// Sum of negative active-energy increments, as a positive number (export).
    public var activeExport: Int64 = 0
    /// Sum of positive reactive-energy increments.
    public var reactivePositive: Int64 = 0
    /// Sum of negative reactive-energy increments, as a positive number.
    public var reactiveNegative: Int64 = 0
    /// Apparent energy.
    public var apparent: Int64 = 0
    public init() {}
}

/// Energy of one phase in Wh / varh / VAh.
public struct EnergyTotals: Sendable, Equatable, Codable {
    public var activeImportWh: Double
    public var activeExportWh: Double
    public var reactivePositiveVarh: Double
    public var reactiveNegativeVarh: Double
    public var apparentVAh: Double

    public init(_ counts: EnergyCounts, _ frontEnd: FrontEnd) {
        activeImportWh = Conversions.energy(counts: counts.activeImport, frontEnd)
        activeExportWh = Conversions.energy(counts: counts.activeExport, frontEnd)
        reactivePositiveVarh = Conversions.energy(counts: counts.reactivePositive, frontEnd)
        reactiveNegativeVarh = Conversions.energy(counts: counts.reactiveNegative, frontEnd)
        apparentVAh = Conversions.energy(counts: counts.apparent, frontEnd)
    }

    /// Net active energy (import − export), Wh.
    public var activeNetWh: Double { activeImportWh - activeExportWh }
}

/// One coherent snapshot of the meter.
public struct Readings: Sendable, Equatable {
    /// Phases A, B, C in order.
    public var phases: [PhaseReading]
    /// Neutral current RMS (NIRMS), A.
    public var neutralCurrent: Double
    /// Energy per phase (A, B, C) accumulated by the driver since start.
    public var energy: [EnergyTotals]
    /// Raw codes per phase, for diagnostics (`emeter ade9000 read --raw`).
    public var raw: [RawPhaseCodes]
    /// Raw NIRMS.
    public var neutralRaw: Int32

    public subscript(phase: Phase) -> PhaseReading { phases[phase.rawValue] }

    /// Sum of the three phases' active power, W.
    public var totalActivePower: Double { phases.reduce(0) { $0 + $1.activePower } }
}

/// Counters of recoveries and faults since the driver was created.
public struct ADE9000Statistics: Sendable, Equatable {
    /// Single reads whose CRC_SPI did not match (each attempt counts).
    public var crcMismatches = 0
    /// Reads that succeeded on a retry after a CRC mismatch.
    public var crcRecoveries = 0
    /// Reads given up after all retries.
    public var crcFailures = 0
    /// Chip resets detected during operation (RSTDONE set while running).
    public var chipResets = 0
    /// Configuration changes detected through CRC_RSLT.
    public var configurationChanges = 0
    /// Successful re-initialisations after a detected reset or configuration change.
    public var reinitialisations = 0
    /// EGYRDY found by polling after an IRQ0 wait timed out (edge missed or line stuck high).
    public var missedInterrupts = 0
    /// Burst snapshots rejected by the plausibility check.
    public var implausibleBursts = 0
    /// Reset-on-read energy registers whose CRC failed and whose value came from LAST_DATA_32 instead.
    public var lastDataRecoveries = 0
    public init() {}
}

/// What `ADE9000.readSnapshot(_:)` reads.
public enum SnapshotScope: Sendable, Equatable {
    /// Everything the driver converts: powers, angles, neutral current, all three energies.
    case full
    /// What the measurement loop publishes: RMS, active power, power factor, frequency, active energy.
    case loop
}
