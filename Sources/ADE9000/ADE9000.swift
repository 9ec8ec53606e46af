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
/// Reads are CRC-checked (CRC_SPI appended to every non-burst read, spec §1.5–§1.6); a mismatch is retried
/// `configuration.crcRetries` times, counted in `statistics`, then thrown.
public struct ADE9000<Bus: SPIDevice> {
    public var bus: Bus
    public var delay: any Delay
    /// RESET (active low). Without it, `reset()` uses CONFIG1.SWRST.
    public var resetLine: (any GPIOOutput)?
    /// IRQ0 (active low): EGYRDY is enabled on it by the init sequence.
    public var irq0: (any GPIOInput)?
    /// IRQ1 (active low): RSTDONE after reset.
    public var irq1: (any GPIOInput)?
    public var logger: Logger
    public private(set) var configuration: ADE9000Configuration
    /// The calibration written at start-up and after every detected reset.
    public private(set) var calibration: Calibration
    public private(set) var statistics = ADE9000Statistics()
    /// PART_ID and VERSION read at the last (re-)initialisation.
    public private(set) var identity: (partID: UInt32, version: UInt16)?

    /// Energy since the driver started, fed with the energy registers of every complete cycle.
    public private(set) var energyAccumulator = EnergyAccumulator()
    /// CONFIG1 as written (shadow; BURST_EN decides how snapshots are read).
    private var config1Shadow = Config1()
    /// CRC_RSLT captured after the driver's own configuration writes; `nil` until captured.
    public private(set) var configurationCRC: UInt16?

    public init(
        bus: Bus, delay: any Delay, configuration: ADE9000Configuration = .init(),
        calibration: Calibration = .identity, resetLine: (any GPIOOutput)? = nil, irq0: (any GPIOInput)? = nil,
        irq1: (any GPIOInput)? = nil, logger: Logger = Logger(label: "emeter.ade9000")
    ) {
        self.bus = bus
        self.delay = delay
        self.configuration = configuration
        self.calibration = calibration
        self.resetLine = resetLine
        self.irq0 = irq0
        self.irq1 = irq1
        self.logger = logger
    }

    /// Energy per phase (A, B, C) since the driver started, in accumulator counts.
    public var energyCounts: [EnergyCounts] { energyAccumulator.counts }

    // MARK: - Register access

    private mutating func transact(_ operations: [SPIOperation]) throws(ADE9000Error) -> [UInt8] {
        do {
            return try bus.transaction(operations).first ?? []
        } catch {
            throw .bus(error)
        }
    }

    /// Reads `register` with CRC_SPI check; the number of bytes follows from `Value`.
    ///
    /// - Throws: `.crcMismatch` after `configuration.crcRetries` retries, `.bus`, `.truncatedReply`.
    public mutating func read<Value, Access>(_ register: TypedRegister<Value, Access>) throws(ADE9000Error) -> Value {
        try read(register, retries: configuration.crcRetries, quiet: false)
    }

    private mutating func read<Value, Access>(_ register: TypedRegister<Value, Access>, retries: Int, quiet: Bool)
        throws(ADE9000Error) -> Value
    {
        var received: UInt16 = 0
        var computed: UInt16 = 0
        for attempt in 0...max(0, retries) {
            let reply = try transact(Framing.readOperations(register))
            switch Framing.checkReply(reply, as: Value.self) {
            case .valid(let value):
                if attempt > 0 {
                    statistics.crcRecoveries += 1
                    logger.notice(
                        "CRC_SPI recovered on retry",
                        metadata: ["register": "\(register)", "attempt": "\(attempt + 1)"])
                }
                return value
            case .crcMismatch(let r, let c):
                received = r
                computed = c
                if !quiet {
                    statistics.crcMismatches += 1
                    logger.warning(
                        "CRC_SPI mismatch",
                        metadata: [
                            "register": "\(register)", "received": "\(hex(UInt32(r), digits: 4))",
                            "computed": "\(hex(UInt32(c), digits: 4))", "attempt": "\(attempt + 1)",
                        ])
                }
            case .truncated(let count):
                throw .truncatedReply(register: register.description, expected: Value.bitWidth / 8 + 2, received: count)
            }
        }
        if !quiet { statistics.crcFailures += 1 }
        throw .crcMismatch(
            register: register.description, received: received, computed: computed, attempts: retries + 1)
    }

    /// Writes `register`: header then 2 or 4 big-endian data bytes (no CRC on writes). Only read-write and
    /// write-1-to-clear registers are accepted: `write(.irms(.a), 1)` does not compile.
    public mutating func write<Value, Access: WritableAccess>(_ register: TypedRegister<Value, Access>, _ value: Value)
        throws(ADE9000Error)
    {
        _ = try transact(Framing.writeOperations(register, value))
        if register.address == Register<UInt16>.config1.address {
            config1Shadow = Config1(rawValue: UInt16(truncatingIfNeeded: value))
        }
    }

    /// Performs one table entry.
    public mutating func write(_ entry: RegisterWrite) throws(ADE9000Error) {
        if entry.address.isSixteenBit {
            try write(Register<UInt16>(entry), UInt16(truncatingIfNeeded: entry.value))
        } else {
            try write(Register<UInt32>(entry), entry.value)
        }
    }

    /// Reads back a written entry and compares (VLEVEL: bits 23:0 only; write-1-to-clear registers are skipped).
    private mutating func verify(_ entry: RegisterWrite) throws(ADE9000Error) {
        if entry.access == .writeOneToClear { return }
        let readBack: UInt32 =
            entry.address.isSixteenBit
            ? UInt32(try read(Register<UInt16>(entry))) : try read(Register<UInt32>(entry))
        let mask: UInt32 = entry.address == Register<UInt32>.vlevel.address ? 0x00FF_FFFF : 0xFFFF_FFFF
        guard readBack & mask == entry.value & mask else {
            throw .writeVerifyFailed(register: entry.name, wrote: entry.value, readBack: readBack)
        }
    }

    /// Reads `count` consecutive 32-bit registers from a burst region in one transaction (no CRC in a burst).
    ///
    /// Needs CONFIG1.BURST_EN = 1 (set by the init sequence when `configuration.burstReads`).
    public mutating func readBurst(from start: RegisterAddress, count: Int) throws(ADE9000Error) -> [UInt32] {
        let reply = try transact(Framing.burstReadOperations(from: start, count: count))
        guard reply.count == 4 * count else {
            throw .truncatedReply(register: RegisterMap.name(of: start), expected: 4 * count, received: reply.count)
        }
        return Framing.decodeBurst(reply)
    }

    /// Reads STATUS0 and clears exactly the bits it saw set.
    public mutating func takeStatus0() throws(ADE9000Error) -> Status0 {
        let status = Status0(rawValue: try read(Status0.register))
        if !status.isEmpty { try write(Status0.register, status.rawValue) }
        return status
    }

    /// Reads STATUS1 and clears exactly the bits it saw set.
    public mutating func takeStatus1() throws(ADE9000Error) -> Status1 {
        let status = Status1(rawValue: try read(Status1.register))
        if !status.isEmpty { try write(Status1.register, status.rawValue) }
        return status
    }

    /// Reads any register of the table by its row (for `emeter ade9000 regs`): width from the table, CRC-checked;
    /// registers in a burst region are read as a one-word burst while CONFIG1.BURST_EN is set (no CRC there).
    public mutating func read(_ info: RegisterInfo) throws(ADE9000Error) -> UInt32 {
        if config1Shadow.burstEnabled && Framing.isBurstCapable(info.address) {
            return try readBurst(from: info.address, count: 1)[0]
        }
        if info.address.isSixteenBit {
            return UInt32(try read(ReadOnlyRegister<UInt16>(info)))
        }
        return try read(ReadOnlyRegister<UInt32>(info))
    }

    /// Writes any register of the table by its row, with the table's width.
    /// - Throws: `.invalidConfiguration` for a read-only register or a value wider than the register.
    public mutating func write(_ info: RegisterInfo, _ value: UInt32) throws(ADE9000Error) {
        guard info.access != .readOnly else { throw .invalidConfiguration("\(info.name) is read-only") }
        if info.address.isSixteenBit {
            guard let narrow = UInt16(exactly: value) else {
                throw .invalidConfiguration("\(info.name) is 16-bit; 0x\(hex(value, digits: 8)) does not fit")
            }
            try write(Register<UInt16>(info), narrow)
        } else {
            try write(Register<UInt32>(info), value)
        }
    }

    /// Reads every register in `rows` (default: the whole table, burst aliases included) in address order.
    public mutating func dumpRegisters(_ rows: [RegisterInfo] = RegisterMap.all) throws(ADE9000Error)
        -> [(info: RegisterInfo, value: UInt32)]
    {
        var result: [(info: RegisterInfo, value: UInt32)] = []
        for info in rows { result.append((info, try read(info))) }
        return result
    }

    // MARK: - Start-up

    /// Resets the chip, waits for RSTDONE, identifies it, writes configuration and calibration, sets RUN = 1.
    public mutating func start() throws(ADE9000Error) {
        if let message = configuration.validationError() { throw .invalidConfiguration(message) }
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
            try write(Config1.register, value.rawValue)
            logger.info("ADE9000 software reset (CONFIG1.SWRST)")
        }
        config1Shadow = Config1()
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
                let status = Status1(rawValue: try read(Status1.register, retries: 0, quiet: true))
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

    /// Identifies the chip (CONFIG5 = 0x0063 and PART_ID bit 20, spec §12.1), writes the configuration and the
    /// calibration, verifies them, clears STATUS0/1 and sets RUN = 1. Energy baselines restart at the chip's
    /// (reset) registers.
    public mutating func initialise() throws(ADE9000Error) {
        let config5 = try read(Register<UInt16>.config5)
        let partID = try read(Register<UInt32>.partID)
        guard config5 == 0x0063, partID & (1 << 20) != 0 else { throw .wrongChip(config5: config5, partID: partID) }
        let version = try read(Register<UInt16>.version)
        identity = (partID, version)
        logger.info(
            "ADE9000 identified",
            metadata: ["PART_ID": "0x\(hex(partID, digits: 8))", "VERSION": "0x\(hex(UInt32(version), digits: 4))"])

        let writes = configuration.configurationWrites + calibration.writes
        for entry in writes { try write(entry) }
        if configuration.verifyWrites {
            for entry in writes { try verify(entry) }
        }
        for entry in ADE9000Configuration.startWrites { try write(entry) }
        if configuration.verifyWrites, let run = ADE9000Configuration.startWrites.last { try verify(run) }
        energyAccumulator.rebaseline(try readEnergyRegisters())
        try captureConfigurationCRC()
    }

    /// Takes the configuration CRC (CRC_RSLT, spec §1.6) as the reference for detecting configuration changes
    /// the driver did not make: clears CRC_DONE, forces a CRC pass (CRC_FORCE.FORCE_CRC_UPDATE), waits for
    /// CRC_DONE (a pass takes 10.8 ms; up to 100 ms), reads CRC_RSLT and clears CRC_CHG/CRC_DONE.
    /// Called after initialisation and `applyCalibration`; call it after deliberate raw register writes too.
    public mutating func captureConfigurationCRC() throws(ADE9000Error) {
        let flags = Status1([.configurationCRCDone, .configurationCRCChanged])
        try write(Status1.register, flags.rawValue)
        try write(Register<UInt16>.crcForce, 0x0001)
        var done = false
        for _ in 0..<50 {
            delay.delay(.milliseconds(2))
            if Status1(rawValue: try read(Status1.register)).contains(.configurationCRCDone) {
                done = true
                break
            }
        }
        guard done else {
            logger.warning("CRC_DONE not seen after CRC_FORCE; configuration-change detection disabled")
            configurationCRC = nil
            return
        }
        configurationCRC = try read(Register<UInt16>.crcResult)
        try write(Status1.register, flags.rawValue)
    }

    /// Writes `calibration` (all phases), verifies it and keeps it for re-initialisation after a chip reset.
    public mutating func applyCalibration(_ newCalibration: Calibration) throws(ADE9000Error) {
        for entry in newCalibration.writes { try write(entry) }
        if configuration.verifyWrites {
            for entry in newCalibration.writes { try verify(entry) }
        }
        calibration = newCalibration
        try captureConfigurationCRC()
        logger.info("calibration applied")
    }

    /// Reads the calibration registers currently in the chip.
    public mutating func readCalibration() throws(ADE9000Error) -> Calibration {
        var result = Calibration()
        for phase in Phase.allCases {
            result[phase] = PhaseCalibration(
                voltageGain: Int32(bitPattern: try read(.voltageGain(phase))),
                currentGain: Int32(bitPattern: try read(.currentGain(phase))),
                powerGain: Int32(bitPattern: try read(.powerGain(phase))),
                phaseCalibration: Int32(bitPattern: try read(.phaseCalibration(phase))),
                voltageRMSOffset: Int32(bitPattern: try read(.voltageRMSOffset(phase))),
                currentRMSOffset: Int32(bitPattern: try read(.currentRMSOffset(phase))),
                activePowerOffset: Int32(bitPattern: try read(.activePowerOffset(phase))))
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
        let status = Status1(rawValue: try read(Status1.register))
        if !status.contains(.resetDone), status.contains(.configurationCRCChanged) {
            let crc = try read(Register<UInt16>.crcResult)
            if let expected = configurationCRC, crc != expected {
                statistics.configurationChanges += 1
                logger.error(
                    "ADE9000 configuration changed behind the driver (CRC_RSLT); re-initialising",
                    metadata: [
                        "expected": "0x\(hex(UInt32(expected), digits: 4))",
                        "found": "0x\(hex(UInt32(crc), digits: 4))",
                    ])
                try initialise()
                statistics.reinitialisations += 1
                throw .configurationChanged(reinitialised: true)
            }
            try write(Status1.register, Status1.configurationCRCChanged.rawValue)
        }
        guard status.contains(.resetDone) else { return }
        statistics.chipResets += 1
        logger.error("ADE9000 reset detected during operation (STATUS1.RSTDONE); re-initialising")
        try initialise()
        statistics.reinitialisations += 1
        logger.notice("ADE9000 re-initialised after reset", metadata: ["resets": "\(statistics.chipResets)"])
        throw .chipResetDetected(reinitialised: true)
    }

    // MARK: - Measurements

    /// Reads one snapshot: per-phase RMS, powers, power factor, frequency and angles, neutral current, and the
    /// energy registers (accumulated into `energyCounts`). Checks for a chip reset (and a configuration change)
    /// first and again at the end, so a reset during the snapshot never yields a reading.
    ///
    /// With `configuration.burstReads` the 61 words 0x680–0x6BC come in one transaction; otherwise each
    /// register is read with CRC. Periods, angles and energy registers are outside the burst regions and are
    /// always read with CRC.
    public mutating func readSnapshot() throws(ADE9000Error) -> Readings {
        try checkForChipReset()
        var (raw, neutral) = try readMeasurementCodes()
        for phase in Phase.allCases {
            raw[phase.rawValue].period = try read(.period(phase))
            raw[phase.rawValue].currentAngle = try read(.voltageToCurrentAngle(phase))
        }
        raw[1].voltageAngle = try read(Register<UInt16>.angleVAtoVB)
        raw[2].voltageAngle = try read(Register<UInt16>.angleVAtoVC)
        let energyValues = try readEnergyRegisters()
        // A reset that completed during this snapshot would have zeroed what we read: check again, then commit.
        try checkForChipReset()
        energyAccumulator.add(energyValues)
        return Conversions.readings(
            raw: raw, neutral: neutral, energy: energyAccumulator.counts, configuration.frontEnd)
    }

    /// The measurement codes, plausibility-checked: a burst (no CRC) when configured and enabled in the chip,
    /// else single CRC-checked reads. A rejected burst is counted in `statistics.implausibleBursts`.
    private mutating func readMeasurementCodes() throws(ADE9000Error) -> (phases: [RawPhaseCodes], neutral: Int32) {
        let burst = configuration.burstReads && config1Shadow.burstEnabled
        let codes: (phases: [RawPhaseCodes], neutral: Int32)
        if burst {
            let words = try readBurst(from: RegisterAddress(rawValue: BurstByPhase.base), count: BurstByPhase.wordCount)
            codes = try BurstByPhase.measurementCodes(words)
        } else {
            var phases = [RawPhaseCodes](repeating: RawPhaseCodes(), count: Phase.allCases.count)
            for phase in Phase.allCases {
                phases[phase.rawValue].irms = Int32(bitPattern: try read(.irms(phase)))
                phases[phase.rawValue].vrms = Int32(bitPattern: try read(.vrms(phase)))
                phases[phase.rawValue].active = Int32(bitPattern: try read(.activePower(phase)))
                phases[phase.rawValue].reactive = Int32(bitPattern: try read(.reactivePower(phase)))
                phases[phase.rawValue].apparent = Int32(bitPattern: try read(.apparentPower(phase)))
                phases[phase.rawValue].powerFactor = Int32(bitPattern: try read(.powerFactor(phase)))
            }
            codes = (phases, Int32(bitPattern: try read(.neutralIRMS)))
        }
        do {
            try Plausibility.check(codes.phases, neutral: codes.neutral)
        } catch {
            if burst {
                statistics.implausibleBursts += 1
                logger.warning("burst snapshot rejected", metadata: ["reason": "\(error)"])
            }
            throw error
        }
        return codes
    }

    /// Pure conversion of one phase's codes (`Conversions.phaseReading`).
    public static func convert(_ codes: RawPhaseCodes, phase: Phase, _ frontEnd: FrontEnd) -> PhaseReading {
        Conversions.phaseReading(codes, phase: phase, frontEnd)
    }

    /// Plausibility of snapshot codes (`Plausibility.check`).
    static func checkPlausible(_ raw: [RawPhaseCodes], neutral: Int32) throws(ADE9000Error) {
        try Plausibility.check(raw, neutral: neutral)
    }

    // MARK: - Energy

    /// Reads one 45-bit accumulator consistently: HI, LO, HI again; if HI moved (an EGYRDY update in between),
    /// LO is read again.
    /// - Returns: The HI and LO words of one consistent pair.
    private mutating func readEnergy(_ quantity: EnergyQuantity, _ phase: Phase) throws(ADE9000Error)
        -> (high: UInt32, low: UInt32)
    {
        let high = quantity.high(phase)
        var first = try read(high)
        for _ in 0..<3 {
            let low = try read(quantity.low(phase))
            let second = try read(high)
            if second == first { return (first, low) }
            first = second
        }
        throw .implausibleReading(register: high.description, value: Int64(first), reason: "kept changing while read")
    }

    /// Difference of two 45-bit accumulator values across a wrap (`EnergyAccumulator.delta`).
    public static func accumulatorDelta(from old: Int64, to new: Int64) -> Int64 {
        EnergyAccumulator.delta(from: old, to: new)
    }

    /// Reads the active, reactive and apparent energy registers of all phases and adds their increments since
    /// the previous read to `energyCounts`. Active and reactive increments are split by sign (import/export).
    ///
    /// STATUS1 is checked before and after the reads (`checkForChipReset()`): a reset that happened in between
    /// voids the cycle (its registers would read as zero), so nothing is committed and the error is thrown.
    public mutating func updateEnergy() throws(ADE9000Error) {
        try checkForChipReset()
        let values = try readEnergyRegisters()
        try checkForChipReset()
        energyAccumulator.add(values)
    }

    /// Reads the active, reactive and apparent energy registers of all phases.
    private mutating func readEnergyRegisters() throws(ADE9000Error) -> EnergyRegisterValues {
        var values = EnergyRegisterValues()
        for phase in Phase.allCases {
            for quantity in EnergyQuantity.allCases {
                let pair = try readEnergy(quantity, phase)
                values.set(phase, quantity, high: pair.high, low: pair.low)
            }
        }
        return values
    }

    // MARK: - Interrupts

    /// Waits on IRQ0 (active low) until one of `wanted` (default EGYRDY) is pending in STATUS0, then clears
    /// the STATUS0 bits it saw and returns them.
    ///
    /// - Stale edge events (left from earlier cycles, e.g. after polling) are drained first; the line level and
    ///   STATUS0 decide, never an old event.
    /// - If IRQ0 is low, STATUS0 is read at once.
    /// - If no edge comes within `timeout` (per wait), STATUS0 is polled once: a pending bit is returned and
    ///   counted in `statistics.missedInterrupts` (logged: edge missed or line stuck high); otherwise
    ///   `.interruptTimedOut`.
    /// - If IRQ0 stays low while no enabled bit is pending (after clearing), `.interruptLineStuck`.
    public mutating func waitForInterrupt0(_ wanted: Status0 = .energyReady, timeout: Duration) throws(ADE9000Error)
        -> Status0
    {
        guard irq0 != nil else { throw .missingLine("IRQ0") }
        let enabled = Status0.energyReady  // MASK0 as written by the init sequence
        for _ in 0..<16 {
            do {
                var drained = 0
                while drained < 64, try irq0?.waitForEdge(timeout: .zero) != nil { drained += 1 }
            } catch {
                throw .gpio(error)
            }
            let asserted: Bool
            do { asserted = !(try irq0?.get() ?? true) } catch { throw .gpio(error) }
            if asserted {
                let status = try takeStatus0()
                if !status.intersection(wanted).isEmpty { return status }
                if status.intersection(enabled).isEmpty {
                    // Nothing enabled was pending; after the clear the line must be released.
                    let stillLow: Bool
                    do { stillLow = !(try irq0?.get() ?? true) } catch { throw .gpio(error) }
                    if stillLow {
                        logger.error("IRQ0 stuck low", metadata: ["STATUS0": "0x\(hex(status.rawValue, digits: 8))"])
                        throw .interruptLineStuck(line: "IRQ0", status: status.rawValue)
                    }
                }
                continue
            }
            let event: GPIOEdgeEvent?
            do { event = try irq0?.waitForEdge(timeout: timeout) } catch { throw .gpio(error) }
            if event == nil {
                let status = try takeStatus0()
                if !status.intersection(wanted).isEmpty {
                    statistics.missedInterrupts += 1
                    logger.warning(
                        "IRQ0 edge missed; STATUS0 polled after timeout (line stuck high?)",
                        metadata: ["missed": "\(statistics.missedInterrupts)"])
                    return status
                }
                throw .interruptTimedOut(line: "IRQ0", after: timeout, status: status.rawValue)
            }
        }
        throw .interruptLineStuck(line: "IRQ0", status: try read(Status0.register))
    }
}
