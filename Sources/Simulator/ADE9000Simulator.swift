import ADE9000
import HAL

/// A byte-level simulation of the ADE9000 on SPI (STYLE §B.4): it decodes the command header, enforces register
/// widths (strict mode throws), keeps read-only registers read-only, clears status bits written with 1, appends
/// CRC_SPI to non-burst reads, streams the burst alias blocks when CONFIG1.BURST_EN is set, sets RSTDONE a fixed
/// virtual time after a reset (RESET line or CONFIG1.SWRST), computes measurement codes from a `Scenario` with
/// the calibration registers applied as the chip does, and accumulates energy exactly as `VirtualTime` advances.
///
/// Status bits simulated: EGYRDY (STATUS0, every EGY_TIME + 1 samples, or half line cycles) on IRQ0 when
/// enabled in MASK0; RSTDONE, CRC_CHG and CRC_DONE (STATUS1), with RSTDONE driving IRQ1 regardless of MASK1.
/// Not simulated: DREADY, PWRRDY, THD_PF_RDY, zero crossings, no-load, dip/swell, the waveform buffer, CF pulses,
/// temperature. xPHCAL0 is applied as the exact inverse of the spec §6.3 formula
/// (`CalibrationMath.phaseCorrection(forPHCAL:lineFrequency:)`), so the simulator agrees with the calibration
/// arithmetic by construction; the formula itself is pinned by the worked example tests.
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
        guard let checked = RegisterAddress(validating: address) else { return 0 }
        return value(at: checked)
    }

    /// The 45-bit active-energy register of `phase` (HI·2¹³ + LO), as the chip holds it.
    public func activeEnergyRegister(_ phase: Phase) -> Int64 {
        synchronize()
        return userEnergy[phase.rawValue][0]
    }

    /// Whether the chip is held in or still coming out of reset.
    public var isInReset: Bool {
        synchronize()
        return resetLineLow || resetCompleteAt != nil
    }

    // MARK: - SPIDevice

    public func transaction(_ operations: [SPIOperation]) throws(HALError) -> [[UInt8]] {
        transactionCount += 1
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
        let miso = try respond(to: mosi)
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
        let header = Framing.decodeCommandWord(mosi[0], mosi[1])
        let address = header.address
        let width = address.bitWidth / 8
        let info = RegisterMap.info(address)
        let label = "\(info?.name ?? "register") (\(address))"
        lastCommand = UInt16(mosi[0]) << 8 | UInt16(mosi[1])
        let payload = mosi.count - 2

        if !header.read {
            if payload != width {
                try violation("\(payload * 8)-bit write to \(address.bitWidth)-bit \(label)")
                guard payload >= width else { return miso }  // register commits only after all its bits
            }
            let data = Framing.decodeBigEndian(mosi[2..<(2 + width)], as: UInt32.self)
            try write(address, data, label: label, info: info)
            return misoStuckHigh ? [UInt8](repeating: 0xFF, count: mosi.count) : miso
        }

        var stream: [UInt8] = []
        let burstEnabled = Config1(rawValue: UInt16(truncatingIfNeeded: stored(0x481))).burstEnabled
        if burstEnabled && Framing.isBurstCapable(address) {
            if payload % 4 != 0 {
                try violation("burst read of \(payload) bytes from \(label) is not whole 32-bit words")
            }
            var next = address.rawValue
            while stream.count < payload {
                stream += Framing.bigEndianBytes(next <= 0xFFF ? value(at: RegisterAddress(rawValue: next)) : 0)
                next &+= 1
            }
        } else {
            if payload != width && payload != width + Framing.crcByteCount {
                try violation(
                    "\(payload)-byte read of \(address.bitWidth)-bit \(label) (expected \(width) data bytes, "
                        + "optionally + 2 CRC bytes)")
            }
            let raw = value(at: address)
            let data: [UInt8] =
                width == 2
                ? Framing.bigEndianBytes(UInt16(truncatingIfNeeded: raw)) : Framing.bigEndianBytes(raw)
            var crc = CRC16CCITTFalse.checksum(data)
            lastCRC = crc
            if payload >= width + Framing.crcByteCount, crcCorruptions > 0 {
                crcCorruptions -= 1
                crc = ~crc
            }
            stream = data + Framing.bigEndianBytes(crc)
            readSideEffects(address)
        }
        while stream.count < payload { stream.append(0xFF) }  // MISO pull-up after the frame
        for index in 0..<payload { miso[2 + index] = stream[index] }
        return misoStuckHigh ? [UInt8](repeating: 0xFF, count: mosi.count) : miso
    }

    // MARK: - Writes

    private func write(_ address: RegisterAddress, _ data: UInt32, label: String, info: RegisterInfo?) throws(HALError)
    {
        guard let info else {
            try violation("write to unknown register \(label)")
            return
        }
        let a = address.rawValue
        switch info.access {
        case .readOnly:
            try violation("write to read-only \(label)")
            return
        case .writeOneToClear:
            if a == 0x402 { status0 &= ~data } else { status1 &= ~data }
            return
        case .readWrite:
            break
        }
        if a == 0x4BF {
            if data == UInt32(WriteLockKey.lock) { writeLocked = true }
            if data == UInt32(WriteLockKey.unlock) { writeLocked = false }
            return
        }
        if writeLocked {
            violations.append("write to \(label) ignored: WR_LOCK is set")
            return
        }
        let value = address.isSixteenBit ? data & 0xFFFF : data
        if a == 0x481, Config1(rawValue: UInt16(truncatingIfNeeded: value)).softwareReset {
            performReset()
            return
        }
        if a == 0x4B4 {
            // FORCE_CRC_UPDATE: one configuration-CRC pass takes 10.8 ms, then CRC_DONE (spec §1.6).
            if value & 1 == 1 { crcDoneAt = time.now + .microseconds(10_800) }
            return
        }
        registers[a] = value
        registerVersion += 1
        codeCache.removeAll()
        if a == 0x480 || a == 0x4B0 || a == 0x4B2 { accumulationSettingsChanged() }
        updateConfigurationCRC()
    }

    private func readSideEffects(_ address: RegisterAddress) {
        // RD_RST_EN: reading xHR_HI clears the 32 MSBs; xHR_LO keeps its 13 bits (spec §5.5).
        guard EnergyPowerConfig(rawValue: UInt16(truncatingIfNeeded: stored(0x4B0))).resetOnRead else { return }
        for phase in Phase.allCases {
            for quantity in 0..<6 where address.rawValue == 0x2E7 + phase.energyOffset + UInt16(quantity) * 0x0A {
                userEnergy[phase.rawValue][quantity] &= 0x1FFF
            }
        }
    }

    private func updateConfigurationCRC() {
        var bytes: [UInt8] = []
        // Our stand-in for the chip's fixed register set: every RW configuration register except RUN, CRC_FORCE
        // and WR_LOCK (the real set is not documented in what we read; any change detection works alike).
        for info in RegisterMap.all
        where info.access == .readWrite && ![0x480, 0x4B4, 0x4BF].contains(info.address.rawValue) {
            let value = stored(info.address.rawValue)
            bytes +=
                info.address.isSixteenBit
                ? Framing.bigEndianBytes(UInt16(truncatingIfNeeded: value)) : Framing.bigEndianBytes(value)
        }
        let crc = CRC16CCITTFalse.checksum(bytes)
        if crc != configCRC {
            configCRC = crc
            status1 |= Status1.configurationCRCChanged.rawValue
        }
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
            status1 |= Status1.configurationCRCDone.rawValue
        }
        if let done = resetCompleteAt, !resetLineLow, instant >= done {
            // Energy integration is off during reset; skip the samples up to the completion.
            processedSample = max(processedSample, Self.sample(at: done))
            resetCompleteAt = nil
            status1 |= Status1.resetDone.rawValue
        }
        integrate(upTo: Self.sample(at: instant))
    }

    private var accumulating: Bool {
        stored(0x480) & 1 == 1
            && EnergyPowerConfig(rawValue: UInt16(truncatingIfNeeded: stored(0x4B0))).enabled
            && !resetLineLow && resetCompleteAt == nil
    }

    private var energyPeriodSamples: Int64 {
        let count = Int64(stored(0x4B2) & 0x1FFF) + 1
        if EnergyPowerConfig(rawValue: UInt16(truncatingIfNeeded: stored(0x4B0))).countsHalfLineCycles {
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
            let mode = AccumulationMode(rawValue: UInt16(truncatingIfNeeded: stored(0x492)))
            for phase in 0..<3 {
                let perSample = codes[phase].energyCodes
                for quantity in 0..<6 {
                    var code = perSample[quantity]
                    let accumulationMode =
                        quantity == 1 || quantity == 4
                        ? (mode.rawValue >> 2) & 0b11 : mode.activeAccumulation
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
                let latch = EnergyPowerConfig(rawValue: UInt16(truncatingIfNeeded: stored(0x4B0))).latchesAtEnergyReady
                for phase in 0..<3 {
                    for quantity in 0..<6 {
                        let base = latch ? 0 : userEnergy[phase][quantity]
                        userEnergy[phase][quantity] = Self.wrap45(base + internalEnergy[phase][quantity])
                        internalEnergy[phase][quantity] = 0
                    }
                }
                status0 |= Status0.energyReady.rawValue
                nextEnergyReady = next + energyPeriodSamples
            }
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
            case nil: irq0.drive(status0 & stored(0x405) == 0)
            }
        }
        if let irq1 {
            let enabled = stored(0x406) | Status1.resetDone.rawValue
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
        return RegisterMap.info(RegisterAddress(rawValue: address))?.resetValue ?? 0
    }

    private func value(at address: RegisterAddress) -> UInt32 {
        if let source = burstAliasSource(address) { return value(at: source) }
        let a = address.rawValue
        let running = stored(0x480) & 1 == 1
        switch a {
        case 0x402: return status0
        case 0x403: return status1
        case 0x4BF: return writeLocked ? 1 : 0
        case 0x4A9: return UInt32(lastCRC)
        case 0x4AE: return UInt32(lastCommand)
        case 0x4A8: return UInt32(configCRC)
        case 0x4FE: return UInt32(version)
        case 0x481: return stored(a) & ~1  // SWRST self-clears
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
            guard running else { return 0x00A0_0000 }
            return Conversions.periodCode(frequency: scenario.load(atSample: processedSample).frequency)
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
        return UInt16(clamping: Int((angle / (360 * frequency / FullScale.angleClock)).rounded()))
    }
}
