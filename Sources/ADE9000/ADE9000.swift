import HAL
import Logging

/// Driver for the ADE9000, generic over the SPI device it talks through: `Spidev` on hardware,
/// `ADE9000Simulator` or `ScriptedSPIDevice` in tests (STYLE §B.4).
///
/// The bus is a generic parameter (the hot path, specialised). The `Delay` and the optional GPIO lines are
/// existentials (`any Delay`, `(any GPIOOutput)?`, `(any GPIOInput)?`): they are used rarely (reset, IRQ wait),
/// one driver type serves boards with and without the lines, and no `Sendable` is claimed anywhere — the driver
/// is confined to the task that owns it, like its bus.
///
/// The driver orchestrates three parts and holds the chip's state between them:
/// - fetch (`RegisterIO`): SPI transactions, CRC_SPI check and retry (`configuration.crcRetries`, counted in
///   `statistics`), bursts, consistent HI/LO energy reads;
/// - convert (`Conversions`, `Plausibility`, `BurstByPhase.measurementCodes`): pure functions from register codes
///   to SI units;
/// - energy (`EnergyAccumulator`): a pure value fed with the energy registers of every complete cycle.
///
/// Start-up, verification, configuration-CRC capture and reset detection are here; interrupt waits are in
/// ADE9000+Interrupts.swift.
public struct ADE9000<Bus: SPIDevice> {
    /// The register I/O over `bus`.
    var io: RegisterIO<Bus>
    public var delay: any Delay
    /// RESET (active low). Without it, `reset()` uses CONFIG1.SWRST.
    public var resetLine: (any GPIOOutput)?
    /// IRQ0 (active low): EGYRDY is enabled on it by the init sequence.
    public var irq0: (any GPIOInput)?
    /// IRQ1 (active low): RSTDONE after reset.
    public var irq1: (any GPIOInput)?
    /// PM0 and PM1: driven low (PSM0, normal mode) by `start()` and held by the driver for its whole lifetime.
    /// A released line may float back to its pull-up, and PM1 = PM0 = 1 is PSM3, where SPI is dead (spec §12.5).
    public private(set) var powerModeLines: (pm0: any GPIOOutput, pm1: any GPIOOutput)?
    /// Whether WR_LOCK is engaged (the driver engages it after configuration and calibration).
    public private(set) var isWriteLocked = false
    /// `readWhenEnergyReady` gave up on IRQ0 and polls.
    public internal(set) var pollingFallback = false
    /// IRQ0 waits in a row that ended without an edge.
    var consecutiveInterruptFailures = 0
    public private(set) var configuration: ADE9000Configuration
    /// The calibration written at start-up and after every detected reset.
    public private(set) var calibration: Calibration
    /// PART_ID and VERSION read at the last (re-)initialisation.
    public private(set) var identity: (partID: UInt32, version: UInt16)?
    /// CRC_RSLT captured after the driver's own configuration writes; `nil` until captured.
    public private(set) var configurationCRC: UInt16?
    /// Energy since the driver started, fed with the energy registers of every complete cycle.
    public private(set) var energyAccumulator = EnergyAccumulator()
    /// The driver's own counters (resets, re-initialisations, missed interrupts, rejected bursts); the CRC
    /// counters are kept by `io`.
    var events = ADE9000Statistics()

    public init(
        bus: Bus, delay: any Delay, configuration: ADE9000Configuration = .init(),
        calibration: Calibration = .identity, resetLine: (any GPIOOutput)? = nil, irq0: (any GPIOInput)? = nil,
        irq1: (any GPIOInput)? = nil, powerModeLines: (pm0: any GPIOOutput, pm1: any GPIOOutput)? = nil,
        logger: Logger = Logger(label: "emeter.ade9000")
    ) {
        self.powerModeLines = powerModeLines
        self.io = RegisterIO(bus: bus, crcRetries: configuration.crcRetries, logger: logger)
        self.delay = delay
        self.configuration = configuration
        self.calibration = calibration
        self.resetLine = resetLine
        self.irq0 = irq0
        self.irq1 = irq1
    }

    /// The SPI device.
    public var bus: Bus {
        get { io.bus }
        set { io.bus = newValue }
    }

    public var logger: Logger {
        get { io.logger }
        set { io.logger = newValue }
    }

    /// Recoveries and faults since the driver was created.
    public var statistics: ADE9000Statistics {
        var result = events
        result.crcMismatches = io.crcMismatches
        result.crcRecoveries = io.crcRecoveries
        result.crcFailures = io.crcFailures
        result.lastDataRecoveries = io.lastDataRecoveries
        return result
    }

    /// Energy per phase (A, B, C) since the driver started, in accumulator counts.
    public var energyCounts: [EnergyCounts] { energyAccumulator.counts }

    // MARK: - Register access

    /// Reads `register` with CRC_SPI check; the number of bytes follows from `Value`.
    ///
    /// - Throws: `.crcMismatch` after `configuration.crcRetries` retries, `.bus`, `.truncatedReply`.
    public mutating func read<Value, Access>(_ register: TypedRegister<Value, Access>) throws(ADE9000Error) -> Value {
        try io.read(register)
    }

    /// Writes `register`: header then 2 or 4 big-endian data bytes (no CRC on writes). Only read-write and
    /// write-1-to-clear registers are accepted: `write(.irms(.a), 1)` does not compile. WR_LOCK is released
    /// for the write and engaged again after it when it was engaged.
    public mutating func write<Value, Access: WritableAccess>(_ register: TypedRegister<Value, Access>, _ value: Value)
        throws(ADE9000Error)
    {
        let relock = isWriteLocked && register.address != Register<UInt16>.writeLock.address
        if relock { try releaseWriteLock() }
        try io.write(register, value)
        if relock { try engageWriteLock() }
    }

    /// Performs one table entry.
    public mutating func write(_ entry: RegisterWrite) throws(ADE9000Error) {
        try io.write(entry)
    }

    /// Reads `count` consecutive 32-bit registers from a burst region in one transaction (no CRC in a burst),
    /// with CONFIG1.BURST_EN set for just this transaction.
    public mutating func readBurst(from start: RegisterAddress, count: Int) throws(ADE9000Error) -> [UInt32] {
        try io.readBurstWindow(from: start, count: count, locked: isWriteLocked)
    }

    /// Reads any register of the table by its row (for `emeter ade9000 regs`): width from the table, CRC-checked;
    /// registers in a burst region are read as a one-word burst while CONFIG1.BURST_EN is set (no CRC there).
    public mutating func read(_ info: RegisterInfo) throws(ADE9000Error) -> UInt32 {
        try io.read(info)
    }

    /// Writes any register of the table by its row, with the table's width.
    /// - Throws: `.invalidConfiguration` for a read-only register or a value wider than the register.
    public mutating func write(_ info: RegisterInfo, _ value: UInt32) throws(ADE9000Error) {
        let relock = isWriteLocked && info.address != Register<UInt16>.writeLock.address
        if relock { try releaseWriteLock() }
        try io.write(info, value)
        if relock { try engageWriteLock() }
    }

    // MARK: - Write lock

    /// WR_LOCK ← 0x3C64 (spec §12.2): the chip ignores configuration writes until unlocked. Checked by reading
    /// WR_LOCK back (1 = locked) when `configuration.verifyWrites`.
    public mutating func engageWriteLock() throws(ADE9000Error) {
        try io.write(Register<UInt16>.writeLock, WriteLockKey.lock)
        if configuration.verifyWrites {
            let state = try io.read(Register<UInt16>.writeLock)
            guard state == 1 else {
                throw .writeVerifyFailed(register: "WR_LOCK", wrote: UInt32(WriteLockKey.lock), readBack: UInt32(state))
            }
        }
        isWriteLocked = true
    }

    /// WR_LOCK ← 0x4AD1: configuration writes are accepted again.
    public mutating func releaseWriteLock() throws(ADE9000Error) {
        try io.write(Register<UInt16>.writeLock, WriteLockKey.unlock)
        isWriteLocked = false
    }

    /// Reads every register in `rows` (default: the whole table, burst aliases included) in address order.
    public mutating func dumpRegisters(_ rows: [RegisterInfo] = RegisterMap.all) throws(ADE9000Error)
        -> [(info: RegisterInfo, value: UInt32)]
    {
        var result: [(info: RegisterInfo, value: UInt32)] = []
        for info in rows { result.append((info, try io.read(info))) }
        return result
    }

    // MARK: - Start-up

    /// Drives PM1 = PM0 = 0 (PSM0) when the lines are given, resets the chip, waits for RSTDONE, identifies it,
    /// writes configuration and calibration, sets RUN = 1 and engages WR_LOCK.
    public mutating func start() throws(ADE9000Error) {
        if let message = configuration.validationError() { throw .invalidConfiguration(message) }
        if powerModeLines != nil {
            do {
                try powerModeLines?.pm1.set(false)
                try powerModeLines?.pm0.set(false)
            } catch {
                throw .gpio(error)
            }
        }
        try reset()
        try waitForResetDone()
        try initialise()
    }

    /// Hardware reset through the RESET line (low 1 ms, then high), or CONFIG1.SWRST when there is no line.
    public mutating func reset() throws(ADE9000Error) {
        if resetLine != nil {
            do {
                try resetLine?.set(false)
                delay.delay(.milliseconds(1))
                try resetLine?.set(true)
            } catch {
                throw .gpio(error)
            }
            logger.info("ADE9000 hardware reset")
        } else {
            var value = Config1()
            value.softwareReset = true
            try io.write(Config1.register, value.rawValue)
            logger.info("ADE9000 software reset (CONFIG1.SWRST)")
        }
        io.chipWasReset()
        isWriteLocked = false
    }

    /// Waits for STATUS1.RSTDONE: on IRQ1 when wired, else by polling every 10 ms, up to
    /// `configuration.resetTimeoutSeconds`. Reads that fail their CRC while the chip is still in reset (MISO
    /// pulled up) count as "not ready".
    public mutating func waitForResetDone() throws(ADE9000Error) {
        let timeout = Duration.milliseconds(Int64((configuration.resetTimeoutSeconds * 1000).rounded()))
        let step = Duration.milliseconds(10)
        var waited = Duration.zero
        if irq1 != nil {
            do {
                // IRQ1 low = RSTDONE pending; only wait for the edge while it is still high.
                if try irq1?.get() == true { _ = try irq1?.waitForEdge(timeout: timeout) }
            } catch {
                throw .gpio(error)
            }
        }
        while true {
            do {
                let status = Status1(rawValue: try io.read(Status1.register, retries: 0, quiet: true))
                if status.contains(.resetDone) {
                    logger.debug("RSTDONE after reset", metadata: ["polled": "\(waited)"])
                    return
                }
            } catch .crcMismatch {
                // Chip not answering yet (MISO pulled up during reset).
            }
            if waited >= timeout { throw .resetTimedOut(after: timeout) }
            delay.delay(step)
            waited += step
        }
    }

    /// Identifies the chip (CONFIG5 = 0x0063 and PART_ID bit 20, spec §12.1), releases WR_LOCK and stops the DSP
    /// (RUN = 0: ACCMODE.SELFREQ must not change while it runs), writes the configuration and the calibration,
    /// verifies them, clears STATUS0/1, sets RUN = 1, empties the read-with-reset energy registers (what they
    /// held belongs to no interval the driver counts), captures the configuration CRC and engages WR_LOCK.
    public mutating func initialise() throws(ADE9000Error) {
        let config5 = try io.read(Register<UInt16>.config5)
        let partID = try io.read(Register<UInt32>.partID)
        guard config5 == 0x0063, partID & (1 << 20) != 0 else { throw .wrongChip(config5: config5, partID: partID) }
        let version = try io.read(Register<UInt16>.version)
        identity = (partID, version)
        logger.info(
            "ADE9000 identified",
            metadata: ["PART_ID": "0x\(hex(partID, digits: 8))", "VERSION": "0x\(hex(UInt32(version), digits: 4))"])

        for entry in ADE9000Configuration.stopWrites { try io.write(entry) }
        isWriteLocked = false
        let writes = configuration.configurationWrites + calibration.writes
        for entry in writes { try io.write(entry) }
        if configuration.verifyWrites {
            for entry in writes { try verify(entry) }
        }
        for entry in ADE9000Configuration.startWrites { try io.write(entry) }
        if configuration.verifyWrites, let run = ADE9000Configuration.startWrites.last { try verify(run) }
        _ = try io.readEnergyIncrements()
        try captureConfigurationCRC()
        try engageWriteLock()
    }

    /// Reads back a written entry and compares (VLEVEL: bits 23:0 only; write-1-to-clear registers are skipped).
    private mutating func verify(_ entry: RegisterWrite) throws(ADE9000Error) {
        if entry.access == .writeOneToClear { return }
        let readBack = try io.readBack(entry)
        let mask: UInt32 = entry.address == Register<UInt32>.vlevel.address ? 0x00FF_FFFF : 0xFFFF_FFFF
        guard readBack & mask == entry.value & mask else {
            throw .writeVerifyFailed(register: entry.name, wrote: entry.value, readBack: readBack)
        }
    }

    /// Takes the configuration CRC (CRC_RSLT, spec §1.6) as the reference for detecting configuration changes
    /// the driver did not make: clears CRC_DONE, forces a CRC pass (CRC_FORCE.FORCE_CRC_UPDATE), waits for
    /// CRC_DONE (a pass takes 10.8 ms; up to 100 ms), reads CRC_RSLT and clears CRC_CHG/CRC_DONE.
    /// Called after initialisation and `applyCalibration`; call it after deliberate raw register writes too.
    /// WR_LOCK is released for the CRC_FORCE write and engaged again after it when it was engaged.
    public mutating func captureConfigurationCRC() throws(ADE9000Error) {
        configurationCRC = try currentConfigurationCRC()
        if configurationCRC != nil {
            try io.write(Status1.register, Status1([.configurationCRCDone, .configurationCRCChanged]).rawValue)
        }
    }

    /// Forces a configuration-CRC pass and returns CRC_RSLT, or `nil` when CRC_DONE did not come.
    private mutating func currentConfigurationCRC() throws(ADE9000Error) -> UInt16? {
        let relock = isWriteLocked
        if relock { try releaseWriteLock() }
        defer { if relock { try? engageWriteLock() } }
        let flags = Status1([.configurationCRCDone, .configurationCRCChanged])
        try io.write(Status1.register, flags.rawValue)
        try io.write(Register<UInt16>.crcForce, 0x0001)
        var done = false
        for _ in 0..<50 {
            delay.delay(.milliseconds(2))
            if Status1(rawValue: try io.read(Status1.register)).contains(.configurationCRCDone) {
                done = true
                break
            }
        }
        guard done else {
            logger.warning("CRC_DONE not seen after CRC_FORCE; configuration-change detection disabled")
            return nil
        }
        return try io.read(Register<UInt16>.crcResult)
    }

    /// Writes `calibration` (all phases) with WR_LOCK released, verifies it, keeps it for re-initialisation after
    /// a chip reset and engages WR_LOCK again.
    public mutating func applyCalibration(_ newCalibration: Calibration) throws(ADE9000Error) {
        try releaseWriteLock()
        for entry in newCalibration.writes { try io.write(entry) }
        if configuration.verifyWrites {
            for entry in newCalibration.writes { try verify(entry) }
        }
        calibration = newCalibration
        try captureConfigurationCRC()
        try engageWriteLock()
        logger.info("calibration applied")
    }

    /// Reads the calibration registers currently in the chip.
    public mutating func readCalibration() throws(ADE9000Error) -> Calibration {
        var result = Calibration()
        for phase in Phase.allCases {
            result[phase] = PhaseCalibration(
                voltageGain: Int32(bitPattern: try io.read(.voltageGain(phase))),
                currentGain: Int32(bitPattern: try io.read(.currentGain(phase))),
                powerGain: Int32(bitPattern: try io.read(.powerGain(phase))),
                phaseCalibration: Int32(bitPattern: try io.read(.phaseCalibration(phase))),
                voltageRMSOffset: Int32(bitPattern: try io.read(.voltageRMSOffset(phase))),
                currentRMSOffset: Int32(bitPattern: try io.read(.currentRMSOffset(phase))),
                activePowerOffset: Int32(bitPattern: try io.read(.activePowerOffset(phase))))
        }
        return result
    }

    // MARK: - Reset detection

    /// Reads STATUS1 and checks that the chip still runs the driver's configuration:
    ///
    /// - RSTDONE set: the chip has reset since initialisation. The driver logs it, re-initialises
    ///   (configuration + calibration) and throws `.chipResetDetected(reinitialised: true)` so the caller drops
    ///   this cycle.
    /// - CRC_CHG set and CRC_RSLT differs from `configurationCRC`: a configuration register changed behind the
    ///   driver's back. Logged, re-initialised, `.configurationChanged(reinitialised: true)` thrown. When
    ///   CRC_RSLT is unchanged, CRC_CHG is just cleared.
    ///
    /// Other STATUS1 bits are left alone.
    public mutating func checkForChipReset() throws(ADE9000Error) {
        let status = Status1(rawValue: try io.read(Status1.register))
        if !status.contains(.resetDone), status.contains(.configurationCRCChanged) {
            var crc = try io.read(Register<UInt16>.crcResult)
            if let expected = configurationCRC, crc != expected, configuration.burstReads {
                // A burst toggles CONFIG1.BURST_EN; a background CRC pass may have seen it set. Ask for a fresh
                // pass over the restored configuration before calling it a change.
                crc = try currentConfigurationCRC() ?? crc
            }
            if let expected = configurationCRC, crc != expected {
                events.configurationChanges += 1
                logger.error(
                    "ADE9000 configuration changed behind the driver (CRC_RSLT); re-initialising",
                    metadata: [
                        "expected": "0x\(hex(UInt32(expected), digits: 4))",
                        "found": "0x\(hex(UInt32(crc), digits: 4))",
                    ])
                try initialise()
                events.reinitialisations += 1
                throw .configurationChanged(reinitialised: true)
            }
            try io.write(Status1.register, Status1.configurationCRCChanged.rawValue)
        }
        guard status.contains(.resetDone) else { return }
        events.chipResets += 1
        logger.error("ADE9000 reset detected during operation (STATUS1.RSTDONE); re-initialising")
        try initialise()
        events.reinitialisations += 1
        logger.notice("ADE9000 re-initialised after reset", metadata: ["resets": "\(events.chipResets)"])
        throw .chipResetDetected(reinitialised: true)
    }

    // MARK: - Measurements

    /// Reads one snapshot and accumulates the energy read (`energyCounts`). Checks for a chip reset (and a
    /// configuration change) first and again at the end, so a reset during the snapshot never yields a reading.
    ///
    /// - `.full`: per-phase RMS, active/reactive/apparent power, power factor, frequency and angles, neutral
    ///   current, and active/reactive/apparent energy. With `configuration.burstReads` the 61 words 0x680–0x6BC
    ///   come in one burst (BURST_EN set around it); otherwise every register is read with CRC.
    /// - `.loop`: only what the measurement loop publishes — xIRMS, xVRMS, xWATT, xPF, xPERIOD and xWATTHR_HI per
    ///   phase (18 CRC-checked reads plus the two STATUS1 checks). Reactive and apparent power, angles and the
    ///   neutral current read as 0; reactive and apparent energy are not read (their registers keep counting
    ///   and are emptied by the next `.full` snapshot or `updateEnergy()`).
    public mutating func readSnapshot(_ scope: SnapshotScope = .full) throws(ADE9000Error) -> Readings {
        try checkForChipReset()
        var raw: [RawPhaseCodes]
        var neutral: Int32 = 0
        let energy: EnergyRegisterValues
        switch scope {
        case .full:
            (raw, neutral) = try readMeasurementCodes()
            try io.readTiming(into: &raw)
            energy = try io.readEnergyIncrements()
        case .loop:
            raw = try io.readLoopCodes()
            try Plausibility.checkLoop(raw)
            energy = try io.readEnergyIncrements([.active])
        }
        // A reset that completed during this snapshot would have zeroed what we read: check again, then commit.
        try checkForChipReset()
        energyAccumulator.add(energy)
        return Conversions.readings(
            raw: raw, neutral: neutral, energy: energyAccumulator.counts, configuration.frontEnd)
    }

    /// The measurement codes, plausibility-checked: a burst (no CRC) when configured, else single CRC-checked
    /// reads. A rejected burst is counted in `statistics.implausibleBursts`.
    private mutating func readMeasurementCodes() throws(ADE9000Error) -> (phases: [RawPhaseCodes], neutral: Int32) {
        let burst = configuration.burstReads
        let codes = try io.readMeasurementCodes(burst: burst, locked: isWriteLocked)
        do {
            try Plausibility.check(codes.phases, neutral: codes.neutral)
        } catch {
            if burst {
                events.implausibleBursts += 1
                logger.warning("burst snapshot rejected", metadata: ["reason": "\(error)"])
            }
            throw error
        }
        return codes
    }

    /// Reads the active, reactive and apparent energy registers of all phases (read-with-reset: the energy since
    /// their previous read) and adds them to `energyCounts`. Active and reactive increments are split by sign
    /// (import/export).
    ///
    /// STATUS1 is checked before and after the reads (`checkForChipReset()`): a reset that happened in between
    /// voids the cycle, so nothing is committed and the error is thrown.
    public mutating func updateEnergy() throws(ADE9000Error) {
        try checkForChipReset()
        let energy = try io.readEnergyIncrements()
        try checkForChipReset()
        energyAccumulator.add(energy)
    }

    /// Pure conversion of one phase's codes (`Conversions.phaseReading`).
    public static func convert(_ codes: RawPhaseCodes, phase: Phase, _ frontEnd: FrontEnd) -> PhaseReading {
        Conversions.phaseReading(codes, phase: phase, frontEnd)
    }

    /// Difference of two 45-bit accumulator values across a wrap (`EnergyAccumulator.delta`).
    public static func accumulatorDelta(from old: Int64, to new: Int64) -> Int64 {
        EnergyAccumulator.delta(from: old, to: new)
    }

    /// Plausibility of snapshot codes (`Plausibility.check`).
    static func checkPlausible(_ raw: [RawPhaseCodes], neutral: Int32) throws(ADE9000Error) {
        try Plausibility.check(raw, neutral: neutral)
    }
}
