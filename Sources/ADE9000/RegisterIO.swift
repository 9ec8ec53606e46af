import HAL
import Logging

/// The register I/O of the ADE9000 (spec §1): SPI transactions, the CRC_SPI check with retries, burst reads and
/// the consistent reads of multi-register values. It moves register values and knows nothing about what they
/// mean; `ADE9000` orchestrates it, `Conversions` and `EnergyAccumulator` interpret what it fetched.
///
/// Reads are CRC-checked (CRC_SPI appended to every non-burst read, spec §1.5–§1.6); a mismatch is retried
/// `crcRetries` times, counted, then thrown.
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
            switch Framing.checkReply(reply, as: Value.self) {
            case .valid(let value):
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
    /// transaction (no CRC: check them with `Plausibility`); otherwise one CRC-checked read per register.
    mutating func readMeasurementCodes(burst: Bool) throws(ADE9000Error) -> (phases: [RawPhaseCodes], neutral: Int32) {
        if burst {
            let words = try readBurst(from: RegisterAddress(rawValue: BurstByPhase.base), count: BurstByPhase.wordCount)
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

    // MARK: - Energy registers

    /// Reads one 45-bit accumulator consistently: HI, LO, HI again; if HI moved (an EGYRDY update in between),
    /// LO is read again.
    /// - Returns: The HI and LO words of one consistent pair.
    mutating func readEnergy(_ quantity: EnergyQuantity, _ phase: Phase) throws(ADE9000Error)
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

    /// Reads the active, reactive and apparent energy registers of all phases.
    mutating func readEnergyRegisters() throws(ADE9000Error) -> EnergyRegisterValues {
        var values = EnergyRegisterValues()
        for phase in Phase.allCases {
            for quantity in EnergyQuantity.allCases {
                let pair = try readEnergy(quantity, phase)
                values.set(phase, quantity, high: pair.high, low: pair.low)
            }
        }
        return values
    }
}
