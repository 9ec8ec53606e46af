import HAL

/// A byte-level model of the ADE9000 on SPI (STYLE §B.4), written from the datasheet facts on its own: the
/// register table, full-scale codes, CRC_SPI and framing are in `ADE9000Sheet` (this target imports nothing from
/// the driver). It decodes the command header, enforces register widths (strict mode throws), keeps read-only
/// registers read-only, clears status bits written with 1, computes measurement codes from a `Scenario` with the
/// calibration registers applied as the chip does, and accumulates energy exactly as `VirtualTime` advances.
///
/// What the model does as the datasheet says (and a driver must cope with):
/// - **CRC_SPI** follows the data of a read only while CONFIG1.BURST_EN = 0. With BURST_EN = 1 *no* read carries
///   a CRC (the datasheet's CONFIG1 description; spec §1.7 correction): the burst regions stream the next
///   registers, every other register is followed by zeros for as long as the host clocks.
/// - **Energy**: EGYRDY every EGY_TIME + 1 samples (or half line cycles) latches (EGY_LD_ACCUM = 1) or adds
///   (= 0) the internal accumulators into the 45-bit user registers; RD_RST_EN = 1 clears xHR_HI when it is
///   read (xHR_LO keeps its 13 bits). EGYRDY drives IRQ0 when enabled in MASK0.
/// - **Overflow of the 45-bit user registers** is not documented; `energyOverflow` chooses, and the default is
///   `.saturate` — the pessimistic choice: a driver that lets the registers run freely stops counting after
///   ~2.5 h at 1.15 kW per phase on the spec board, instead of silently getting away with a wrap.
/// - **RSTDONE** (STATUS1 b16) after every reset drives IRQ1 regardless of MASK1.
/// - **WR_LOCK**: 0x3C64 locks, 0x4AD1 unlocks, reads 1 while locked; writes to any other register are ignored
///   while locked (recorded in `ignoredWrites`, not a violation: the chip just drops them).
/// - **STATUS0/STATUS1** are write-1-to-clear.
/// - **PM0/PM1** (`connect(pm0:pm1:)`): PSM0 = both low. In PSM2 and PSM3 the SPI port is dead (MISO pulled
///   up, writes lost); leaving PSM3 re-runs the power-up sequence (reset, RSTDONE). A PM line that its owner
///   released floats to `pmReleasedLevel` (high: the Raspberry Pi's default pull-ups on GPIO5/6), so releasing
///   both lines puts the chip in PSM3.
/// - LAST_CMD, LAST_DATA_16/32 and CRC_SPI record the last transaction (LAST_DATA_x are not updated by reads of
///   the LAST_* registers themselves or by bursts, spec §1.5).
///
/// Not simulated: DREADY, PWRRDY, THD_PF_RDY, zero crossings, no-load, dip/swell, the waveform buffer, CF pulses,
/// temperature. xPHCAL0 acts as a phase advance of the current channel, computed by inverting the datasheet's
/// xPHCAL0 formula in closed form (see `phaseAdvanceDegrees(phcal:hertz:)`), within the TRM range only.
///
/// A `final class`: the driver holds it as its bus while the test keeps a handle to inject faults and change the
/// load, and the fake IRQ lines call back into it. Not `Sendable`: confined to one task like any bus.
public final class ADE9000Simulator: SPIDevice {
    /// Faults the simulator can inject.
    public enum Fault: Equatable, Sendable {
        /// The next `reads` CRC-carrying reads return an inverted CRC_SPI.
        case corruptCRC(reads: Int)
        /// MISO reads 0xFF on every byte (a broken line, or the chip unpowered) until `clearFaults()`.
        case misoStuckHigh
        /// A spontaneous chip reset now: registers return to reset values, energy is lost, RSTDONE follows after
        /// `resetDelay`.
        case chipReset
        /// IRQ0 held low until `clearFaults()`.
        case irq0StuckLow
        /// IRQ0 never asserted until `clearFaults()`.
        case irq0StuckHigh
        /// The next `transactions` transactions fail with `error` (as a failing spidev ioctl would).
        case busError(HALError, transactions: Int)
        /// A configuration register changes by itself (a glitch, another master): CRC_RSLT changes, CRC_CHG set.
        case corruptRegister(address: UInt16, value: UInt32)
    }

    public let time: VirtualTime
    /// Device name used in `HALError.device`.
    public let name: String
    /// Strict mode: wrong-width, read-only, unknown-register and over-long accesses throw `HALError`
    /// (`.invalidArgument`). Non-strict: the chip's inferred behaviour (spec §1.4): a register commits at its
    /// own width, extra clocks are ignored, illegal writes are dropped. Violations are recorded either way.
    public var strict: Bool
    /// The inputs. Assigning a new scenario changes the load from now on (already accumulated energy stays).
    public var scenario: Scenario { didSet { codeCache.removeAll() } }
    /// Time from reset release (or SWRST) to RSTDONE.
    public var resetDelay: Duration
    /// VERSION register value (the ADE9000 value is unknown, spec §12.1; 0x0040 is the ADE9078's).
    public var version: UInt16 = 0x0040
    /// What the 45-bit energy user registers do at their limits (undocumented; see the type's description).
    public var energyOverflow: EnergyOverflow = .saturate
    /// The level a released PM0/PM1 line floats to (`true`: pulled up, as GPIO5/6 on a Raspberry Pi).
    public var pmReleasedLevel = true

    /// The behaviour of a 45-bit user energy register at −2⁴⁴ and 2⁴⁴ − 1, which the datasheet does not give.
    public enum EnergyOverflow: Sendable, Equatable {
        /// It stops at the limit (energy is no longer counted): the default, the safe assumption for a driver.
        case saturate
        /// Two's-complement wrap-around.
        case wrap
    }

    /// The ADE9000 power-saving modes, from the PM1 and PM0 pins (spec §12.5).
    public enum PowerMode: Int, Sendable, Equatable {
        /// PM1 = 0, PM0 = 0: normal operation.
        case psm0 = 0
        /// PM1 = 0, PM0 = 1: reduced (tamper) mode; SPI works.
        case psm1 = 1
        /// PM1 = 1, PM0 = 0: current peak detect; SPI not available.
        case psm2 = 2
        /// PM1 = 1, PM0 = 1: idle; SPI not available.
        case psm3 = 3
    }

    /// Writes the chip dropped because WR_LOCK was set, e.g. "VGAIN (0x00B) while WR_LOCK".
    public private(set) var ignoredWrites: [String] = []
    /// Transactions that found the SPI port dead (PSM2/PSM3).
    public private(set) var transactionsWhileAsleep = 0
    /// Bytes clocked on the bus (MOSI = MISO length), all transactions.
    public private(set) var bytesTransferred = 0

    /// Every access rule violation seen (also in non-strict mode), e.g. "32-bit write to 16-bit RUN (0x480)".
    public private(set) var violations: [String] = []
    /// Transactions handled.
    public private(set) var transactionCount = 0
    /// Resets performed (power-on, hardware, software, injected).
    public private(set) var resetCount = 0

    private var registers: [UInt16: UInt32] = [:]
    private var status0: UInt32 = 0
    private var status1: UInt32 = 0
    private var writeLocked = false
    private var lastCRC: UInt16 = 0
    private var lastCommand: UInt16 = 0
    private var configCRC: UInt16 = 0

    /// Chip in reset: RESET held low, or waiting for RSTDONE.
    private var resetLineLow = false
    private var resetCompleteAt: Duration?

    /// Energy: [phase][quantity] with quantities WATT, VAR, VA, FWATT, FVAR, FVA. 45-bit user registers
    /// (two's complement, kept in −2⁴⁴…2⁴⁴−1) and the internal accumulators.
    private var userEnergy = [[Int64]](repeating: [Int64](repeating: 0, count: 6), count: 3)
    private var internalEnergy = [[Int64]](repeating: [Int64](repeating: 0, count: 6), count: 3)
    /// Next sample to integrate (absolute 8 kSPS index from time zero).
    private var processedSample: Int64 = 0
    /// Sample index at which the next EGYRDY happens; `nil` while accumulation is off.
    private var nextEnergyReady: Int64?

    private var crcCorruptions = 0
    private var misoStuckHigh = false
    private var irq0Stuck: Bool?  // true = stuck high, false = stuck low
    private var busFailure: (error: HALError, remaining: Int)?
    private var scheduledFaults: [(at: Duration, fault: Fault)] = []
    private var crcDoneAt: Duration?
    private var registerVersion = 0
    var codeCache: [Int: [PhaseCodes]] = [:]

    private weak var resetLine: SimulatedGPIOLine?
    private weak var irq0: SimulatedGPIOLine?
    private weak var irq1: SimulatedGPIOLine?
    /// The PM lines: `nil` when the board ties them low (never connected); a connected line the driver
    /// released (deallocated) floats to `pmReleasedLevel`.
    private var pmLines: (pm0: WeakLine, pm1: WeakLine)?
    private var lastPowerMode = PowerMode.psm0
    private var lastData16: UInt16 = 0
    private var lastData32: UInt32 = 0

    private struct WeakLine {
        weak var line: SimulatedGPIOLine?
    }

    /// - Parameters:
    ///   - scenario: The inputs; `scenario.resetDelay` (seconds) sets `resetDelay` (default 50 ms).
    ///   - time: The shared clock. The chip powers up at `time.now` and sets RSTDONE `resetDelay` later.
    ///   - strict: See `strict`.
    public init(scenario: Scenario, time: VirtualTime, strict: Bool = true, name: String = "ade9000") {
        self.scenario = scenario
        self.time = time
        self.strict = strict
        self.name = name
        self.resetDelay = .milliseconds(Int64(((scenario.resetDelay ?? 0.05) * 1000).rounded()))
        processedSample = Self.sample(at: time.now)
        performReset()
    }

    // MARK: - Wiring

    /// Connects fake lines: RESET (the simulator watches it), IRQ0 and IRQ1 (the simulator drives them, and
    /// answers their `waitForEdge` by advancing `time` to the next event).
    public func connect(reset: SimulatedGPIOLine? = nil, irq0: SimulatedGPIOLine? = nil, irq1: SimulatedGPIOLine? = nil)
    {
        if let reset {
            resetLine = reset
            reset.onSet = { [weak self] high in self?.resetLineChanged(high: high) }
        }
        if let irq0 {
            self.irq0 = irq0
            irq0.waitHandler = { [weak self, weak irq0] timeout in
                guard let self, let irq0 else { return }
                self.waitForEdge(on: irq0, timeout: timeout)
            }
        }
        if let irq1 {
            self.irq1 = irq1
            irq1.waitHandler = { [weak self, weak irq1] timeout in
                guard let self, let irq1 else { return }
                self.waitForEdge(on: irq1, timeout: timeout)
            }
        }
        updateLines()
    }

    /// Connects the power-mode lines the driver drives (PM0, PM1). Without this call the pins count as tied
    /// low (PSM0). After it, a line whose last owner released it floats to `pmReleasedLevel`.
    public func connect(pm0: SimulatedGPIOLine, pm1: SimulatedGPIOLine) {
        pmLines = (WeakLine(line: pm0), WeakLine(line: pm1))
        for line in [pm0, pm1] {
            let previous = line.onSet
            line.onSet = { [weak self] high in
                previous?(high)
                self?.powerModeMayHaveChanged()
            }
        }
        powerModeMayHaveChanged()
    }

    /// The power mode the PM pins select now.
    public var powerMode: PowerMode {
        guard let pmLines else { return .psm0 }
        let pm0 = pmLines.pm0.line?.level ?? pmReleasedLevel
        let pm1 = pmLines.pm1.line?.level ?? pmReleasedLevel
        return PowerMode(rawValue: (pm1 ? 2 : 0) + (pm0 ? 1 : 0)) ?? .psm0
    }

    /// Leaving PSM3 runs the power-up sequence again (spec §7.4: RSTDONE is set after PSM3 → PSM0).
    private func powerModeMayHaveChanged() {
        let mode = powerMode
        defer { lastPowerMode = mode }
        if lastPowerMode == .psm3, mode != .psm3 { performReset() }
    }

    // MARK: - Faults

    public func inject(_ fault: Fault) {
        synchronize()
        applyFault(fault, at: time.now)
        updateLines()
    }

    private func applyFault(_ fault: Fault, at instant: Duration) {
        switch fault {
        case .corruptCRC(let reads): crcCorruptions += reads
        case .misoStuckHigh: misoStuckHigh = true
        case .chipReset: performReset(at: instant)
        case .irq0StuckLow: irq0Stuck = false
        case .irq0StuckHigh: irq0Stuck = true
        case .busError(let error, let transactions): busFailure = (error, transactions)
        case .corruptRegister(let address, let value):
            registers[address] = value
            registerVersion += 1
            codeCache.removeAll()
            updateConfigurationCRC()
        }
    }

    /// Injects `fault` when virtual time reaches `instant` (checked whenever the simulator synchronises:
    /// on every transaction and IRQ wait).
    public func schedule(_ fault: Fault, at instant: Duration) {
        scheduledFaults.append((instant, fault))
        scheduledFaults.sort { $0.at < $1.at }
    }

    /// Removes every persistent fault (stuck MISO, stuck IRQ, pending CRC corruptions and bus errors).
    public func clearFaults() {
        crcCorruptions = 0
        misoStuckHigh = false
        irq0Stuck = nil
        busFailure = nil
        scheduledFaults.removeAll()
        updateLines()
    }

    // MARK: - Inspection (no side effects)

    /// The value a read of `address` would return now, without CRC, side effects or fault injection.
    public func peek(_ address: UInt16) -> UInt32 {
        synchronize()
        guard address <= 0xFFF else { return 0 }
        return value(at: address)
    }

    /// The 45-bit active-energy register of `phase` (0 = A, 1 = B, 2 = C; HI·2¹³ + LO), as the chip holds it.
    public func activeEnergyRegister(phase: Int) -> Int64 {
        synchronize()
        return userEnergy[phase][0]
    }

    /// Sets the 45-bit user register of `quantity` (0 WATT, 1 VAR, 2 VA, 3 FWATT, 4 FVAR, 5 FVA) on `phase`, as
    /// if that much energy had accumulated (for overflow tests without simulating hours).
    public func preloadEnergyRegister(phase: Int, quantity: Int, to value: Int64) {
        synchronize()
        userEnergy[phase][quantity] = limit45(value)
    }

    /// Whether the chip is held in or still coming out of reset.
    public var isInReset: Bool {
        synchronize()
        return resetLineLow || resetCompleteAt != nil
    }

    // MARK: - SPIDevice

    public func transaction(_ operations: [SPIOperation]) throws(HALError) -> [[UInt8]] {
        transactionCount += 1
        powerModeMayHaveChanged()
        if let failure = busFailure {
            busFailure = failure.remaining > 1 ? (failure.error, failure.remaining - 1) : nil
            throw failure.error
        }
        synchronize()
        var mosi: [UInt8] = []
        var slots: [Range<Int>] = []
        for operation in operations {
            switch operation {
            case .write(let bytes): mosi += bytes
            case .read(let count):
                guard count >= 0 else { throw fault("read(count: \(count)) is negative") }
                slots.append(mosi.count..<(mosi.count + count))
                mosi += [UInt8](repeating: 0, count: count)
            case .transfer(let bytes):
                slots.append(mosi.count..<(mosi.count + bytes.count))
                mosi += bytes
            case .delay(let duration): time.advance(by: duration)
            }
        }
        bytesTransferred += mosi.count
        let miso: [UInt8]
        if powerMode == .psm2 || powerMode == .psm3 {
            // SPI is not available in PSM2/PSM3: nothing is decoded, MISO floats to its pull-up.
            transactionsWhileAsleep += 1
            miso = [UInt8](repeating: 0xFF, count: mosi.count)
        } else {
            miso = try respond(to: mosi)
        }
        updateLines()
        return slots.map { Array(miso[$0]) }
    }

    private func fault(_ detail: String) -> HALError {
        HALError(.invalidArgument, subsystem: "sim:ade9000", device: name, operation: "SPI_IOC_MESSAGE", detail: detail)
    }

    private func violation(_ detail: String) throws(HALError) {
        violations.append(detail)
        if strict { throw fault(detail) }
    }

    /// The chip's answer to one CS-low frame: MISO has the same length as MOSI.
    private func respond(to mosi: [UInt8]) throws(HALError) -> [UInt8] {
        var miso = [UInt8](repeating: 0, count: mosi.count)
        guard mosi.count >= 2 else {
            try violation("frame of \(mosi.count) byte(s) is shorter than the 16-bit command header")
            return [UInt8](repeating: 0xFF, count: mosi.count)
        }
        let inReset = resetLineLow || resetCompleteAt != nil
        if inReset {
            // In reset the SPI port does not answer; MISO floats to its pull-up, writes are lost.
            return [UInt8](repeating: 0xFF, count: mosi.count)
        }
        let header = ADE9000Sheet.decodeHeader(mosi[0], mosi[1])
        let address = header.address
        let bits = ADE9000Sheet.bits(address)
        let width = bits / 8
        let row = ADE9000Sheet.rows[address]
        let label = "\(row?.name ?? "register") (\(Self.hex(address, digits: 3)))"
        lastCommand = UInt16(mosi[0]) << 8 | UInt16(mosi[1])
        let payload = mosi.count - 2

        if !header.read {
            if payload != width {
                try violation("\(payload * 8)-bit write to \(bits)-bit \(label)")
                guard payload >= width else { return miso }  // register commits only after all its bits
            }
            let data = mosi[2..<(2 + width)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            if width == 4 { lastData32 = data } else { lastData16 = UInt16(truncatingIfNeeded: data) }
            try write(address, data, label: label, row: row)
            return misoStuckHigh ? [UInt8](repeating: 0xFF, count: mosi.count) : miso
        }

        var stream: [UInt8] = []
        let burstEnabled = stored(ADE9000Sheet.config1) & ADE9000Sheet.burstEnableBit != 0
        if burstEnabled && ADE9000Sheet.streams(address) {
            if payload % 4 != 0 {
                try violation("burst read of \(payload) bytes from \(label) is not whole 32-bit words")
            }
            var next = address
            while stream.count < payload {
                stream += Self.bytes(next <= 0xFFF ? value(at: next) : 0, width: 4)
                next &+= 1
            }
        } else {
            // With BURST_EN = 1 no CRC follows the data (CONFIG1 description); the model then drives zeros.
            let crcBytes = burstEnabled ? 0 : 2
            if payload != width && payload != width + crcBytes {
                try violation(
                    "\(payload)-byte read of \(bits)-bit \(label) (expected \(width) data bytes"
                        + (burstEnabled ? ", no CRC while CONFIG1.BURST_EN = 1)" : ", optionally + 2 CRC bytes)"))
            }
            let raw = value(at: address)
            let data = Self.bytes(raw, width: width)
            var crc = ADE9000Sheet.crc(data)
            lastCRC = crc
            if ![ADE9000Sheet.lastData16, ADE9000Sheet.lastData32, ADE9000Sheet.lastCommand].contains(address) {
                if width == 4 { lastData32 = raw } else { lastData16 = UInt16(truncatingIfNeeded: raw) }
            }
            if burstEnabled {
                stream = data + [UInt8](repeating: 0, count: max(0, payload - width))
            } else {
                if payload >= width + 2, crcCorruptions > 0 {
                    crcCorruptions -= 1
                    crc = ~crc
                }
                stream = data + Self.bytes(UInt32(crc), width: 2)
            }
            readSideEffects(address)
        }
        while stream.count < payload { stream.append(0xFF) }  // MISO pull-up after the frame
        for index in 0..<payload { miso[2 + index] = stream[index] }
        return misoStuckHigh ? [UInt8](repeating: 0xFF, count: mosi.count) : miso
    }

    // MARK: - Writes

    private func write(_ a: UInt16, _ data: UInt32, label: String, row: SheetRow?) throws(HALError) {
        guard let row else {
            try violation("write to unknown register \(label)")
            return
        }
        switch row.access {
        case .read:
            try violation("write to read-only \(label)")
            return
        case .writeOneToClear:
            if a == ADE9000Sheet.status0 { status0 &= ~data } else { status1 &= ~data }
            return
        case .readWrite:
            break
        }
        if a == ADE9000Sheet.writeLock {
            if data == ADE9000Sheet.lockKey { writeLocked = true }
            if data == ADE9000Sheet.unlockKey { writeLocked = false }
            return
        }
        if writeLocked {
            ignoredWrites.append("\(label) while WR_LOCK")
            return
        }
        let value = row.bits == 16 ? data & 0xFFFF : data
        if a == ADE9000Sheet.accMode, stored(ADE9000Sheet.run) & 1 == 1 {
            // TRM p.16: RUN must be 0 while SELFREQ (and the wiring) change, then set back to 1.
            try violation("write to \(label) while RUN = 1")
        }
        if a == ADE9000Sheet.config1, value & ADE9000Sheet.softwareResetBit != 0 {
            performReset()
            return
        }
        if a == ADE9000Sheet.crcForce {
            // FORCE_CRC_UPDATE: one configuration-CRC pass, then CRC_DONE (spec §1.6).
            if value & 1 == 1 { crcDoneAt = time.now + ADE9000Sheet.configurationCRCPass }
            return
        }
        registers[a] = value
        registerVersion += 1
        codeCache.removeAll()
        if a == ADE9000Sheet.run || a == ADE9000Sheet.epConfig || a == ADE9000Sheet.energyTime {
            accumulationSettingsChanged()
        }
        updateConfigurationCRC()
    }

    private func readSideEffects(_ address: UInt16) {
        // RD_RST_EN: reading xHR_HI clears the 32 MSBs; xHR_LO keeps its 13 bits (spec §5.5).
        guard stored(ADE9000Sheet.epConfig) & ADE9000Sheet.readResetBit != 0 else { return }
        for phase in 0..<3 {
            for quantity in 0..<6 where address == 0x2E7 + UInt16(phase) * 0x3C + UInt16(quantity) * 0x0A {
                userEnergy[phase][quantity] &= 0x1FFF
            }
        }
    }

    private func updateConfigurationCRC() {
        var bytes: [UInt8] = []
        for row in ADE9000Sheet.crcCovered { bytes += Self.bytes(stored(row.address), width: row.bits / 8) }
        let crc = ADE9000Sheet.crc(bytes)
        if crc != configCRC {
            configCRC = crc
            status1 |= ADE9000Sheet.configurationCRCChanged
        }
    }

    /// `value` as `width` big-endian bytes (its low bytes).
    static func bytes(_ value: UInt32, width: Int) -> [UInt8] {
        (0..<width).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    static func hex(_ value: UInt16, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    // MARK: - Reset

    private func performReset(at instant: Duration? = nil) {
        resetCount += 1
        registers.removeAll()
        status0 = 0
        status1 = 0
        writeLocked = false
        lastCRC = 0
        lastCommand = 0
        lastData16 = 0
        lastData32 = 0
        userEnergy = [[Int64]](repeating: [Int64](repeating: 0, count: 6), count: 3)
        internalEnergy = userEnergy
        nextEnergyReady = nil
        crcDoneAt = nil
        registerVersion += 1
        codeCache.removeAll()
        resetCompleteAt = (instant ?? time.now) + resetDelay
        configCRC = 0
        updateConfigurationCRC()
        status1 = 0
    }

    private func resetLineChanged(high: Bool) {
        synchronize()
        if !high {
            if !resetLineLow { performReset() }
            resetLineLow = true
            resetCompleteAt = nil
        } else if resetLineLow {
            resetLineLow = false
            resetCompleteAt = time.now + resetDelay
        }
        updateLines()
    }

    // MARK: - Time

    private static func sample(at instant: Duration) -> Int64 {
        let (seconds, attoseconds) = instant.components
        return seconds * 8000 + attoseconds / 125_000_000_000_000
    }

    private static func instant(ofSample sample: Int64) -> Duration {
        .seconds(sample / 8000) + .nanoseconds((sample % 8000) * 125_000)
    }

    /// Brings the simulated chip up to `time.now`: finishes a pending reset, integrates energy sample by
    /// sample (analytically, per constant stretch), raises EGYRDY, and updates the IRQ lines.
    public func synchronize() {
        while let first = scheduledFaults.first, first.at <= time.now {
            scheduledFaults.removeFirst()
            advanceState(to: first.at)
            applyFault(first.fault, at: first.at)
        }
        advanceState(to: time.now)
        updateLines()
    }

    private func advanceState(to instant: Duration) {
        if let done = crcDoneAt, instant >= done, resetCompleteAt == nil, !resetLineLow {
            crcDoneAt = nil
            status1 |= ADE9000Sheet.configurationCRCDone
        }
        if let done = resetCompleteAt, !resetLineLow, instant >= done {
            // Energy integration is off during reset; skip the samples up to the completion.
            processedSample = max(processedSample, Self.sample(at: done))
            resetCompleteAt = nil
            status1 |= ADE9000Sheet.resetDone
        }
        integrate(upTo: Self.sample(at: instant))
    }

    private var accumulating: Bool {
        stored(ADE9000Sheet.run) & 1 == 1
            && stored(ADE9000Sheet.epConfig) & ADE9000Sheet.energyEnableBit != 0
            && !resetLineLow && resetCompleteAt == nil
    }

    private var energyPeriodSamples: Int64 {
        let count = Int64(stored(ADE9000Sheet.energyTime) & 0x1FFF) + 1
        if stored(ADE9000Sheet.epConfig) & ADE9000Sheet.halfCycleModeBit != 0 {
            let frequency = scenario.load(atSample: processedSample).frequency
            return max(1, Int64((Double(count) * 4000 / frequency).rounded()))
        }
        return count
    }

    private func accumulationSettingsChanged() {
        if accumulating {
            if nextEnergyReady == nil { nextEnergyReady = processedSample + energyPeriodSamples }
        } else {
            nextEnergyReady = nil
            internalEnergy = [[Int64]](repeating: [Int64](repeating: 0, count: 6), count: 3)
        }
    }

    private func integrate(upTo target: Int64) {
        while processedSample < target {
            guard accumulating, let next = nextEnergyReady else {
                processedSample = target
                return
            }
            let load = scenario.load(atSample: processedSample)
            let end = min(target, next, load.end)
            let count = end - processedSample
            let codes = phaseCodes(atSample: processedSample)
            let mode = stored(ADE9000Sheet.accMode)
            for phase in 0..<3 {
                let perSample = codes[phase].energyCodes
                for quantity in 0..<6 {
                    var code = perSample[quantity]
                    // ACCMODE.WATTACC[1:0] and VARACC[3:2]: 00 signed, 01 absolute, 10 positive, 11 negative.
                    let accumulationMode = quantity == 1 || quantity == 4 ? (mode >> 2) & 0b11 : mode & 0b11
                    if quantity != 2 && quantity != 5 {
                        switch accumulationMode {
                        case 0b01: code = abs(code)
                        case 0b10: code = max(code, 0)
                        case 0b11: code = min(code, 0)
                        default: break
                        }
                    }
                    internalEnergy[phase][quantity] += code * count
                }
            }
            processedSample = end
            if processedSample == next {
                let latch = stored(ADE9000Sheet.epConfig) & ADE9000Sheet.loadAccumulatorBit != 0
                for phase in 0..<3 {
                    for quantity in 0..<6 {
                        let base = latch ? 0 : userEnergy[phase][quantity]
                        userEnergy[phase][quantity] = limit45(base + internalEnergy[phase][quantity])
                        internalEnergy[phase][quantity] = 0
                    }
                }
                status0 |= ADE9000Sheet.energyReady
                nextEnergyReady = next + energyPeriodSamples
            }
        }
    }

    /// Brings a value into the 45-bit two's-complement range −2⁴⁴…2⁴⁴−1 as `energyOverflow` says.
    func limit45(_ value: Int64) -> Int64 {
        switch energyOverflow {
        case .saturate: min(max(value, -(1 << 44)), (1 << 44) - 1)
        case .wrap: Self.wrap45(value)
        }
    }

    /// Wraps to the 45-bit two's-complement range −2⁴⁴…2⁴⁴−1.
    static func wrap45(_ value: Int64) -> Int64 {
        let modulus: Int64 = 1 << 45
        var wrapped = value % modulus
        if wrapped >= modulus / 2 { wrapped -= modulus }
        if wrapped < -modulus / 2 { wrapped += modulus }
        return wrapped
    }

    // MARK: - IRQ lines

    private func updateLines() {
        if let irq0 {
            switch irq0Stuck {
            case .some(true): irq0.drive(true)
            case .some(false): irq0.drive(false)
            case nil: irq0.drive(status0 & stored(ADE9000Sheet.mask0) == 0)
            }
        }
        if let irq1 {
            let enabled = stored(ADE9000Sheet.mask1) | ADE9000Sheet.resetDone
            irq1.drive(status1 & enabled == 0)
        }
    }

    private func waitForEdge(on line: SimulatedGPIOLine, timeout: Duration) {
        let deadline = time.now + timeout
        synchronize()
        var candidates: [Duration] = []
        if let done = resetCompleteAt, !resetLineLow { candidates.append(done) }
        if let next = nextEnergyReady {
            var sample = next
            while candidates.count < 64 {
                let instant = Self.instant(ofSample: sample)
                if instant > deadline { break }
                candidates.append(instant)
                sample += energyPeriodSamples
            }
        }
        for instant in candidates.sorted() where instant <= deadline {
            time.advance(to: instant)
            synchronize()
            if !line.pendingEdges.isEmpty { return }
        }
        time.advance(to: deadline)
        synchronize()
    }

    // MARK: - Register values

    func stored(_ address: UInt16) -> UInt32 {
        if let value = registers[address] { return value }
        return ADE9000Sheet.rows[address]?.reset ?? 0
    }

    private func value(at a: UInt16) -> UInt32 {
        if let source = ADE9000Sheet.aliasSource(a) { return value(at: source) }
        let running = stored(ADE9000Sheet.run) & 1 == 1
        switch a {
        case ADE9000Sheet.status0: return status0
        case ADE9000Sheet.status1: return status1
        case ADE9000Sheet.writeLock: return writeLocked ? 1 : 0
        case ADE9000Sheet.crcSPI: return UInt32(lastCRC)
        case ADE9000Sheet.lastCommand: return UInt32(lastCommand)
        case ADE9000Sheet.lastData16: return UInt32(lastData16)
        case ADE9000Sheet.lastData32: return lastData32
        case ADE9000Sheet.crcResult: return UInt32(configCRC)
        case ADE9000Sheet.version: return UInt32(version)
        case ADE9000Sheet.config1: return stored(a) & ~ADE9000Sheet.softwareResetBit  // SWRST self-clears
        default: break
        }
        // Measurements: per-phase block 0x20A–0x21D (stride 0x20).
        if (0x20A...0x25D).contains(a) {
            let offset = (a - 0x20A) % 0x20
            let phase = Int((a - 0x20A) / 0x20)
            guard offset <= 0x13, running else { return 0 }
            return UInt32(bitPattern: phaseCodes(atSample: processedSample)[phase].register(0x20A + offset))
        }
        if (0x265...0x269).contains(a) {
            guard running else { return 0 }
            let codes = phaseCodes(atSample: processedSample)
            switch a {
            case 0x266, 0x267, 0x268: return UInt32(bitPattern: codes[0].neutral)
            default: return 0
            }
        }
        // Energy blocks 0x2E5–0x3A2 (stride 0x3C, quantity stride 0x0A: _ACC, HR_LO, HR_HI).
        if (0x2E5..<0x399).contains(a) {
            let phase = Int((a - 0x2E5) / 0x3C)
            let within = Int((a - 0x2E5) % 0x3C)
            let quantity = within / 0x0A
            guard phase < 3, quantity < 6 else { return 0 }
            let value = userEnergy[phase][quantity]
            switch within % 0x0A {
            case 1: return UInt32(value & 0x1FFF)
            case 2: return UInt32(bitPattern: Int32(truncatingIfNeeded: value >> 13))
            default: return 0
            }
        }
        if (0x418...0x41B).contains(a) {
            guard running else { return ADE9000Sheet.periodNoSignal }
            return ADE9000Sheet.periodCode(hertz: scenario.load(atSample: processedSample).frequency)
        }
        if (0x482...0x487).contains(a) {
            guard running else { return 0 }
            let codes = phaseCodes(atSample: processedSample)
            switch a {
            case 0x482: return UInt32(codes[1].voltageAngleFromA)
            case 0x484: return UInt32(codes[2].voltageAngleFromA)
            case 0x483:
                return UInt32(
                    Self.ticks(
                        degrees: codes[1].voltageAngleDegrees - codes[2].voltageAngleDegrees,
                        frequency: codes[0].frequency))
            default: return UInt32(codes[Int(a - 0x485)].currentAngle)
            }
        }
        return stored(a)
    }

    static func ticks(degrees: Double, frequency: Double) -> UInt16 {
        var angle = degrees.truncatingRemainder(dividingBy: 360)
        if angle < 0 { angle += 360 }
        return UInt16(clamping: Int((angle / (360 * frequency / ADE9000Sheet.angleTicksPerSecond)).rounded()))
    }
}
