import ADE9000
import HAL
import Logging

/// libFuzzer entry point (built with `-sanitize=fuzzer,address`, run by `scripts/fuzz`).
///
/// The ADE9000 driver talks to ``FuzzedSPIDevice``: a register file that behaves like the chip where the driver
/// depends on it (``RegisterFile``) answers every transaction, and the input decides which answers are replaced
/// by its own bytes (with or without a correct CRC-16), bit-flipped, truncated, lengthened, or turned into a bus
/// error. Delays do not sleep (``NoDelay``). A quarter of the inputs (option bits 4 and 5) start the driver
/// themselves (reset, RSTDONE, identification, configuration writes and their verification, configuration CRC);
/// the others go on from a driver started once (``ADE9000Fuzz/started``). Then up to 6 cycles the input picks:
/// snapshots (burst or single reads, plausibility checks), energy updates, reset checks (re-initialisation),
/// calibration read-back, status reads, rarely a restart. Every failure must be an `ADE9000Error` thrown,
/// never a trap; energy counts must never decrease.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    ADE9000Fuzz.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// The fuzz input read front to back; `nil` once it is used up.
final class FuzzInput {
    private let bytes: [UInt8]
    private var index = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isEmpty: Bool { index >= bytes.count }

    func next() -> UInt8? {
        guard index < bytes.count else { return nil }
        defer { index += 1 }
        return bytes[index]
    }

    /// `count` bytes, padded with `0xFF` (MISO idles high) when the input runs out.
    func take(_ count: Int) -> [UInt8] { (0..<count).map { _ in next() ?? 0xFF } }
}

/// The register file behind a bus the input disturbs. Transactions pass through untouched until a countdown
/// (an input byte) runs out; then one is disturbed as the next input byte says, and a new countdown is read.
struct FuzzedSPIDevice: SPIDevice {
    var chip = RegisterFile()
    private(set) var input: FuzzInput
    private var countdown: Int

    init(input: FuzzInput) {
        self.input = input
        countdown = input.next().map(Int.init) ?? .max
    }

    /// Disturbs the following transactions as `input` says (the register file keeps its contents).
    mutating func attach(_ input: FuzzInput) {
        self.input = input
        countdown = input.next().map(Int.init) ?? .max
    }

    mutating func transaction(_ operations: [SPIOperation]) throws(HALError) -> [[UInt8]] {
        let replies = chip.transaction(operations)
        guard countdown == 0 else {
            countdown -= 1
            return replies
        }
        guard let kind = input.next() else {
            countdown = .max
            return replies
        }
        defer { countdown = input.next().map(Int.init) ?? .max }
        switch kind % 6 {
        case 0: return replies.map { withCRC(input.take($0.count)) }
        case 1: return replies.map { input.take($0.count) }
        case 2:
            return replies.map { reply in
                guard !reply.isEmpty, let position = input.next() else { return reply }
                var flipped = reply
                flipped[Int(position) % reply.count] ^= 1 << (position % 8)
                return flipped
            }
        case 3: return replies.map { Array($0.prefix(Int(input.next() ?? 0) % ($0.count + 1))) }
        case 4: return replies.map { $0 + input.take(Int(input.next() ?? 0) % 8) } + (kind & 0x80 != 0 ? [[]] : [])
        default:
            throw HALError(.io, subsystem: "spi", device: "fuzz", operation: "SPI_IOC_MESSAGE", detail: "fuzzed")
        }
    }

    /// A CRC read reply (2 or 4 data bytes + CRC-16) gets a correct CRC, so the driver takes the data.
    private func withCRC(_ reply: [UInt8]) -> [UInt8] {
        guard reply.count == 4 || reply.count == 6 else { return reply }
        var reply = reply
        let crc = ChipCRC16.checksum(reply[0..<(reply.count - 2)])
        reply[reply.count - 2] = UInt8(crc >> 8)
        reply[reply.count - 1] = UInt8(truncatingIfNeeded: crc)
        return reply
    }
}

enum ADE9000Fuzz {
    /// The driver logs every reset and rejected burst: printing that would dominate the run time.
    static let silent = Logger(label: "fuzz.ade9000") { _ in SwiftLogNoOpLogHandler() }

    /// Started drivers (burst reads off, on), made once on an undisturbed bus: most inputs go on from one of them
    /// instead of running the start-up again (a hundred-odd transactions); those with option bits 4 and 5 set run
    /// the start-up themselves, disturbed. Only this (single-threaded) fuzz process touches them.
    nonisolated(unsafe) static let started: [ADE9000<FuzzedSPIDevice>] = [false, true].map { burst in
        var meter = ADE9000(
            bus: FuzzedSPIDevice(input: FuzzInput([])), delay: NoDelay(),
            configuration: ADE9000Configuration(burstReads: burst), logger: silent)
        do {
            try meter.start()
        } catch {
            check(false, "the driver does not start on an undisturbed bus: \(error)")
        }
        return meter
    }

    static func run(_ bytes: [UInt8]) {
        let input = FuzzInput(bytes)
        let options = input.next() ?? 0
        var meter: ADE9000<FuzzedSPIDevice>
        if options & 0x30 == 0x30 {
            let configuration = ADE9000Configuration(
                burstReads: options & 0x01 != 0, crcRetries: Int(options >> 1) % 3, verifyWrites: options & 0x08 == 0)
            meter = ADE9000(
                bus: FuzzedSPIDevice(input: input), delay: NoDelay(), configuration: configuration, logger: silent)
            do {
                try meter.start()
            } catch {
                _ = error.description
            }
        } else {
            meter = started[Int(options & 0x01)]
            meter.bus.attach(input)
        }
        var previous = meter.energyCounts
        for _ in 0..<6 {
            guard let action = input.next() else { break }
            do {
                switch action % 8 {
                case 0, 1, 2: _ = try meter.readSnapshot()
                case 3: try meter.updateEnergy()
                case 4: try meter.checkForChipReset()
                case 5: _ = try meter.readCalibration()
                case 6: _ = try meter.takeStatus0()
                default:
                    // A restart costs a hundred-odd transactions: rare (0xF7, 0xFF), the rest read a snapshot.
                    if action >= 0xF0 { try meter.start() } else { _ = try meter.readSnapshot() }
                }
            } catch {
                _ = error.description
            }
            let counts = meter.energyCounts
            for (old, new) in zip(previous, counts) {
                check(
                    new.activeImport >= old.activeImport && new.activeExport >= old.activeExport
                        && new.apparent >= old.apparent,
                    "energy counts decreased: \(old) → \(new)")
            }
            previous = counts
        }
        _ = meter.statistics
    }

    /// Traps on a broken invariant: libFuzzer records the input as a crash.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("ADE9000 fuzz invariant broken: \(message())") }
    }
}

/// A delay that returns at once: the driver's polling loops count virtual time only.
struct NoDelay: Delay {
    mutating func delay(_ duration: Duration) {}
}

/// The chip as far as the driver's start-up depends on it, and no further: registers keep what is written
/// (16-bit ones masked), CONFIG5 and PART_ID identify an ADE9000, STATUS0/1 are write-1-to-clear, RSTDONE is set
/// at power-up and by CONFIG1.SWRST (which restores the reset values), CRC_FORCE sets CRC_DONE, WR_LOCK reads 1
/// while locked. Reads answer
/// with a CRC-16 when the driver clocks 2 more bytes; a burst answers consecutive 32-bit registers. Measurement
/// and energy registers read 0 unless written: their interesting values come from the input (``FuzzedSPIDevice``).
struct RegisterFile {
    static let status0 = Status0.register.address.rawValue
    static let status1 = Status1.register.address.rawValue
    static let config1 = Config1.register.address.rawValue
    static let crcForce = Register<UInt16>.crcForce.address.rawValue
    static let writeLock = Register<UInt16>.writeLock.address.rawValue
    /// Every register, indexed by its 12-bit address (a flat array: a dictionary's hashing under the sanitizers
    /// was a tenth of the run time).
    static let powerUp: [UInt32] = {
        var registers = [UInt32](repeating: 0, count: 0x1000)
        registers[Int(Register<UInt16>.config5.address.rawValue)] = 0x0063
        registers[Int(ReadOnlyRegister<UInt32>.partID.address.rawValue)] = 1 << 20
        registers[Int(status1)] = Status1.resetDone.rawValue
        return registers
    }()

    private var registers = Self.powerUp

    mutating func transaction(_ operations: [SPIOperation]) -> [[UInt8]] {
        var address: UInt16?
        var replies: [[UInt8]] = []
        replies.reserveCapacity(1)
        for operation in operations {
            switch operation {
            case .write(let bytes):
                guard bytes.count >= 2 else { continue }
                let command = Framing.decodeCommandWord(bytes[0], bytes[1])
                if command.read {
                    address = command.address.rawValue
                } else {
                    write(command.address.rawValue, bytes[2...])
                }
            case .read(let count):
                replies.append(read(address ?? 0, count: count))
            case .transfer(let bytes):
                replies.append([UInt8](repeating: 0, count: bytes.count))
            case .delay:
                break
            }
        }
        return replies
    }

    private mutating func write(_ address: UInt16, _ data: ArraySlice<UInt8>) {
        let value = data.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let slot = Int(address & 0xFFF)
        switch address {
        case Self.status0, Self.status1: registers[slot] &= ~value
        case Self.config1 where value & 1 == 1:
            registers = Self.powerUp
        case Self.crcForce where value & 1 == 1:
            registers[Int(Self.status1)] |= Status1.configurationCRCDone.rawValue
        case Self.writeLock:
            // WR_LOCK reads 1 while locked (0x3C64 written), 0 after the unlock key 0x4AD1; other values do nothing.
            if value & 0xFFFF == 0x3C64 { registers[slot] = 1 } else if value & 0xFFFF == 0x4AD1 { registers[slot] = 0 }
        default: registers[slot] = data.count == 2 ? value & 0xFFFF : value
        }
    }

    private func read(_ address: UInt16, count: Int) -> [UInt8] {
        var reply = [UInt8](repeating: 0, count: count)
        if count == 4 || count == 6 {
            let value = registers[Int(address & 0xFFF)]
            for index in 0..<(count - 2) {
                reply[index] = UInt8(truncatingIfNeeded: value >> (8 * (count - 3 - index)))
            }
            let crc = ChipCRC16.checksum(reply[0..<(count - 2)])
            reply[count - 2] = UInt8(crc >> 8)
            reply[count - 1] = UInt8(truncatingIfNeeded: crc)
            return reply
        }
        for word in 0..<(count / 4) {
            let value = registers[Int((address &+ UInt16(word)) & 0xFFF)]
            for index in 0..<4 { reply[4 * word + index] = UInt8(truncatingIfNeeded: value >> (8 * (3 - index))) }
        }
        return reply
    }
}

/// CRC_SPI (CRC-16/CCITT-FALSE) as the chip computes it, table-driven. The harness's own: the driver's
/// `CRC16CCITTFalse.checksum` is generic and from another module, so here it ran unspecialized (CRC-16 was 5 % of
/// the target's time, unspecialized everywhere). Being independent of the driver's, it also checks that one.
enum ChipCRC16 {
    static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }

    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0xFFFF
        for byte in bytes { crc = crc << 8 ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)] }
        return crc
    }
}
