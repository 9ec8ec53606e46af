import HAL
import Logging

/// The register I/O of the ADE9000 (spec §1): SPI transactions, the CRC_SPI check with retries, burst reads and
/// the consistent reads of multi-register values. It moves register values and knows nothing about what they
/// mean; `ADE9000` orchestrates it, `Conversions` and `EnergyAccumulator` interpret what it fetched.
///
/// Reads are CRC-checked (CRC_SPI appended to every read while CONFIG1.BURST_EN = 0, spec §1.5–§1.6); a mismatch
/// is retried `crcRetries` times, counted, then thrown. BURST_EN is 0 except for the duration of a burst
/// (`readBurstWindow`), because while it is 1 the chip appends no CRC to any read (datasheet, CONFIG1).
struct RegisterIO<Bus: SPIDevice> {
    var bus: Bus
    /// Retries after a CRC_SPI mismatch before a read fails.
    let crcRetries: Int
    var logger: Logger
    /// Single reads whose CRC_SPI did not match (each attempt counts).
    private(set) var crcMismatches = 0
    /// Reads that succeeded on a retry after a CRC mismatch.
    private(set) var crcRecoveries = 0
    /// Reads given up after all retries.
    private(set) var crcFailures = 0
    /// CONFIG1 as last written (shadow; BURST_EN decides how `read(_ info:)` reads a register in a burst region).
    private(set) var config1 = Config1()
    /// Reset-on-read registers whose value was recovered from LAST_DATA_32 after a CRC mismatch.
    private(set) var lastDataRecoveries = 0

    init(bus: Bus, crcRetries: Int, logger: Logger) {
        self.bus = bus
        self.crcRetries = crcRetries
        self.logger = logger
    }

    /// The chip was reset: its CONFIG1 is back to 0 (no bursts).
    mutating func chipWasReset() {
        config1 = Config1()
    }

    private mutating func transact(_ operations: [SPIOperation]) throws(ADE9000Error) -> [UInt8] {
        do {
            return try bus.transaction(operations).first ?? []
        } catch {
            throw .bus(error)
        }
    }

    // MARK: - Single registers

    /// Reads `register` with CRC_SPI check; the number of bytes follows from `Value`.
    ///
    /// - Parameters:
    ///   - retries: Retries after a CRC mismatch (default `crcRetries`).
    ///   - quiet: Neither count nor log mismatches (polling a chip that may still be in reset).
    /// - Throws: `.crcMismatch` after the retries, `.bus`, `.truncatedReply`.
    mutating func read<Value, Access>(
        _ register: TypedRegister<Value, Access>, retries: Int? = nil, quiet: Bool = false
    ) throws(ADE9000Error) -> Value {
        let retries = retries ?? crcRetries
        var received: UInt16 = 0
        var computed: UInt16 = 0
        for attempt in 0...max(0, retries) {
            let reply = try transact(Framing.readOperations(register))
            switch Framing.checkReply(reply, dataCount: Value.bitWidth / 8) {
            case .valid(let word):
                let value = Value(truncatingIfNeeded: word)
                if attempt > 0 {
                    crcRecoveries += 1
                    logger.notice(
                        "CRC_SPI recovered on retry",
                        metadata: ["register": "\(register)", "attempt": "\(attempt + 1)"])
                }
                return value
            case .crcMismatch(let r, let c):
                received = r
                computed = c
                if !quiet {
                    crcMismatches += 1
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
        if !quiet { crcFailures += 1 }
        throw .crcMismatch(
            register: register.description, received: received, computed: computed, attempts: retries + 1)
    }

    /// Writes `register`: header then 2 or 4 big-endian data bytes (no CRC on writes). Only writable registers.
    mutating func write<Value, Access: WritableAccess>(_ register: TypedRegister<Value, Access>, _ value: Value)
        throws(ADE9000Error)
    {
        _ = try transact(Framing.writeOperations(register, value))
        if register.address == Config1.register.address {
            config1 = Config1(rawValue: UInt16(truncatingIfNeeded: value))
        }
    }

    /// Performs one table entry at the register's width.
    mutating func write(_ entry: RegisterWrite) throws(ADE9000Error) {
        if entry.address.isSixteenBit {
            try write(Register<UInt16>(entry), UInt16(truncatingIfNeeded: entry.value))
        } else {
            try write(Register<UInt32>(entry), entry.value)
        }
    }

    /// Reads back the register of a table entry, zero-extended.
    mutating func readBack(_ entry: RegisterWrite) throws(ADE9000Error) -> UInt32 {
        entry.address.isSixteenBit ? UInt32(try read(Register<UInt16>(entry))) : try read(Register<UInt32>(entry))
    }

    // MARK: - Bursts and map rows

    /// Reads `count` consecutive 32-bit registers from a burst region in one transaction (no CRC in a burst).
    /// Needs CONFIG1.BURST_EN = 1.
    mutating func readBurst(from start: RegisterAddress, count: Int) throws(ADE9000Error) -> [UInt32] {
        let reply = try transact(Framing.burstReadOperations(from: start, count: count))
        guard reply.count == 4 * count else {
            throw .truncatedReply(register: RegisterMap.name(of: start), expected: 4 * count, received: reply.count)
        }
        return Framing.decodeBurst(reply)
    }

    /// Reads any register of the map by its row: width from the row, CRC-checked; a register in a burst region
    /// is read as a one-word burst while CONFIG1.BURST_EN is set (no CRC there).
    mutating func read(_ info: RegisterInfo) throws(ADE9000Error) -> UInt32 {
        if config1.burstEnabled && Framing.isBurstCapable(info.address) {
            return try readBurst(from: info.address, count: 1)[0]
        }
        if info.address.isSixteenBit {
            return UInt32(try read(ReadOnlyRegister<UInt16>(info)))
        }
        return try read(ReadOnlyRegister<UInt32>(info))
    }

    /// Writes any register of the map by its row, at the row's width.
    /// - Throws: `.invalidConfiguration` for a read-only register or a value wider than the register.
    mutating func write(_ info: RegisterInfo, _ value: UInt32) throws(ADE9000Error) {
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

    // MARK: - Snapshot groups

    /// The per-phase RMS, power and power-factor codes and NIRMS: with `burst`, the 61 words 0x680–0x6BC in one
    /// transaction with BURST_EN set around it (no CRC: check them with `Plausibility`); otherwise one
    /// CRC-checked read per register. `locked`: WR_LOCK is engaged and must be released for the CONFIG1 writes.
    mutating func readMeasurementCodes(burst: Bool, locked: Bool) throws(ADE9000Error)
        -> (phases: [RawPhaseCodes], neutral: Int32)
    {
        if burst {
            let words = try readBurstWindow(
                from: RegisterAddress(rawValue: BurstByPhase.base), count: BurstByPhase.wordCount, locked: locked)
            return try BurstByPhase.measurementCodes(words)
        }
        var codes = [RawPhaseCodes](repeating: RawPhaseCodes(), count: Phase.allCases.count)
        for phase in Phase.allCases {
            codes[phase.rawValue].irms = Int32(bitPattern: try read(.irms(phase)))
            codes[phase.rawValue].vrms = Int32(bitPattern: try read(.vrms(phase)))
            codes[phase.rawValue].active = Int32(bitPattern: try read(.activePower(phase)))
            codes[phase.rawValue].reactive = Int32(bitPattern: try read(.reactivePower(phase)))
            codes[phase.rawValue].apparent = Int32(bitPattern: try read(.apparentPower(phase)))
            codes[phase.rawValue].powerFactor = Int32(bitPattern: try read(.powerFactor(phase)))
        }
        return (codes, Int32(bitPattern: try read(.neutralIRMS)))
    }

    /// Adds xPERIOD, ANGL_Vx_Ix and the voltage angles ANGL_VA_VB, ANGL_VA_VC to `codes` (CRC-checked: these are
    /// outside the burst regions).
    mutating func readTiming(into codes: inout [RawPhaseCodes]) throws(ADE9000Error) {
        for phase in Phase.allCases {
            codes[phase.rawValue].period = try read(.period(phase))
            codes[phase.rawValue].currentAngle = try read(.voltageToCurrentAngle(phase))
        }
        codes[Phase.b.rawValue].voltageAngle = try read(Register<UInt16>.angleVAtoVB)
        codes[Phase.c.rawValue].voltageAngle = try read(Register<UInt16>.angleVAtoVC)
    }

    // MARK: - Bursts with BURST_EN set only around them

    /// One burst of `count` words from `start` with CONFIG1.BURST_EN set for just this transaction: WR_LOCK
    /// released, CONFIG1 ← BURST_EN, the burst, CONFIG1 ← the configured value, WR_LOCK engaged again when it
    /// was engaged (`locked`). The CONFIG1 writes are not read back (a read-back while BURST_EN = 1 carries no CRC).
    mutating func readBurstWindow(from start: RegisterAddress, count: Int, locked: Bool) throws(ADE9000Error)
        -> [UInt32]
    {
        let restore = config1
        var burst = restore
        burst.burstEnabled = true
        if locked { try write(Register<UInt16>.writeLock, WriteLockKey.unlock) }
        try write(Config1.register, burst.rawValue)
        let words: [UInt32]
        do {
            words = try readBurst(from: start, count: count)
        } catch {
            try? write(Config1.register, restore.rawValue)
            if locked { try? write(Register<UInt16>.writeLock, WriteLockKey.lock) }
            throw error
        }
        try write(Config1.register, restore.rawValue)
        if locked { try write(Register<UInt16>.writeLock, WriteLockKey.lock) }
        return words
    }

    /// What the measurement loop uses, per phase: xIRMS, xVRMS, xWATT, xPF and xPERIOD, each CRC-checked (15
    /// reads); no reactive or apparent power, angles or neutral current.
    mutating func readLoopCodes() throws(ADE9000Error) -> [RawPhaseCodes] {
        var codes = [RawPhaseCodes](repeating: RawPhaseCodes(), count: Phase.allCases.count)
        for phase in Phase.allCases {
            codes[phase.rawValue].irms = Int32(bitPattern: try read(.irms(phase)))
            codes[phase.rawValue].vrms = Int32(bitPattern: try read(.vrms(phase)))
            codes[phase.rawValue].active = Int32(bitPattern: try read(.activePower(phase)))
            codes[phase.rawValue].powerFactor = Int32(bitPattern: try read(.powerFactor(phase)))
            codes[phase.rawValue].period = try read(.period(phase))
        }
        return codes
    }

    // MARK: - Energy registers (read-with-reset)

    /// Reads a register that clears when read (xHR_HI with RD_RST_EN = 1). A retry after a CRC mismatch would
    /// return the already-cleared register, so the value is recovered instead from LAST_DATA_32 (0x423), which
    /// holds the data of the last 32-bit transaction and is not changed by reading it (spec §1.5).
    mutating func readClearing(_ register: ReadOnlyRegister<UInt32>) throws(ADE9000Error) -> UInt32 {
        do {
            return try read(register, retries: 0)
        } catch .crcMismatch {
            let value = try read(ReadOnlyRegister<UInt32>.lastData32)
            lastDataRecoveries += 1
            crcRecoveries += 1
            logger.notice(
                "CRC_SPI mismatch on a reset-on-read register; value recovered from LAST_DATA_32",
                metadata: ["register": "\(register)"])
            return value
        }
    }

    /// Reads xHR_HI of `quantities` on all phases: with RD_RST_EN each is the energy since its previous read.
    mutating func readEnergyIncrements(_ quantities: [EnergyQuantity] = EnergyQuantity.allCases) throws(ADE9000Error)
        -> EnergyRegisterValues
    {
        var values = EnergyRegisterValues()
        for phase in Phase.allCases {
            for quantity in quantities {
                values.set(phase, quantity, high: try readClearing(quantity.high(phase)))
            }
        }
        return values
    }
}
