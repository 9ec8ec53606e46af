import HAL
import SystemPackage

/// A simulated AT24C04 / 24C04 serial EEPROM (4 Kbit = 512 bytes) on an I2C bus, at the byte level.
///
/// Modelled after the Microchip AT24C04C datasheet:
/// - Two 256-byte blocks answer at device addresses `base` and `base | 1` (0x50/0x51): the address LSB is the
///   block select (the ninth word-address bit, "P0").
/// - A write sets the 8-bit word address pointer; data bytes after it go to the 16-byte page buffer and
///   **wrap within the page** ("roll over"): byte 17 of a page write lands on the first byte of the page.
/// - Random read (write word address, repeated start, read) and current-address read; a sequential read
///   increments the 9-bit address and rolls over from the last byte of the memory to the first.
/// - After a page write the chip is in its internal write cycle (t_WR, 5 ms max) and does **not acknowledge
///   its address** (`HALError` `.noAcknowledge(address: true)`), which is what ACK polling detects. A NACK is
///   reported the way a Linux adapter reports it: as an errno (``NACKErrno``: `ENXIO` by default, `EREMOTEIO` like
///   the Raspberry Pi's `i2c-bcm2835`) turned into a `HALError` by `HALError.kind(for:)`, the mapping the i2c-dev
///   backend uses, so a test on the simulator exercises the same errno path as the hardware.
///   Virtual time: the busy period is counted in address phases (`busyAddressPhases` NACKs), no real sleep.
/// - Power loss hook: ``cutPower(afterBytes:partial:)`` stops programming after a given number of bytes
///   (in the middle of a page write), optionally garbling the byte being programmed; the chip then stays
///   unpowered until ``restorePower()``.
/// - Wear: ``writesPerCell`` counts every byte programmed.
///
/// Not `Sendable`-constrained by the protocol; it is a plain value, so tests copy it to "power-cycle" it.
public struct EEPROM24C04: I2CDevice, Sendable {
    public static let size = 512
    public static let pageSize = 16
    public static let blockSize = 256

    /// The errno an I2C adapter's Linux driver returns when the chip does not acknowledge its address.
    public enum NACKErrno: Sendable, CaseIterable {
        /// `ENXIO` (6): what the kernel's I2C fault-codes document prescribes; most adapters.
        case enxio
        /// `EREMOTEIO` (121): `i2c-bcm2835`, the adapter of every Raspberry Pi, for a NACK in any phase.
        case eremoteio

        /// The errno value.
        public var errno: Errno {
            switch self {
            case .enxio: Errno(rawValue: 6)
            case .eremoteio: Errno(rawValue: 121)
            }
        }
    }

    /// The memory array (erased state 0xFF).
    public var memory: [UInt8]
    /// Bytes programmed into each cell so far.
    public private(set) var writesPerCell: [Int]
    /// 7-bit address of block 0 (0x50 with A2 = 0); block 1 answers at `baseAddress | 1`.
    public let baseAddress: UInt8
    /// Address phases NACKed after each page write: the simulated write cycle.
    public var busyAddressPhases: Int
    /// NACKs left in the current write cycle.
    public private(set) var busyRemaining = 0
    /// Address phases NACKed because the chip was busy, in total.
    public private(set) var busyNacks = 0
    /// Page write transactions accepted.
    public private(set) var pageWrites = 0
    /// `false` after a simulated power loss, until ``restorePower()``.
    public private(set) var isPowered = true
    /// 9-bit word address pointer.
    public private(set) var addressPointer = 0
    /// How a NACK is reported (the adapter the chip is wired to).
    public var nackErrno: NACKErrno

    private var cut: (afterBytes: Int, partial: UInt8?)?

    /// - Parameters:
    ///   - baseAddress: 0x50 by default (A2 low).
    ///   - busyAddressPhases: How many address phases the chip NACKs after each write (default 3).
    ///   - contents: Initial memory, 512 bytes; erased (0xFF) by default.
    ///   - nackErrno: The errno a NACK is reported with: `.enxio` (default, most adapters) or `.eremoteio`
    ///     (the Raspberry Pi's `i2c-bcm2835`).
    public init(
        baseAddress: UInt8 = 0x50, busyAddressPhases: Int = 3, contents: [UInt8]? = nil, nackErrno: NACKErrno = .enxio
    ) {
        self.baseAddress = baseAddress & 0x7E
        self.busyAddressPhases = busyAddressPhases
        self.nackErrno = nackErrno
        if let contents, contents.count == Self.size {
            memory = contents
        } else {
            memory = Array(repeating: 0xFF, count: Self.size)
        }
        writesPerCell = Array(repeating: 0, count: Self.size)
    }

    /// Power fails after `afterBytes` more data bytes have been programmed, counted across the following page
    /// writes: the page write that reaches the count is cut off there. If `partial` is given, the byte being
    /// programmed at the cut is left half-programmed as `old & partial`. The chip then ignores the bus (every
    /// transaction throws `.unavailable`) until ``restorePower()``. A cut that is never reached stays armed.
    public mutating func cutPower(afterBytes: Int, partial: UInt8? = nil) {
        cut = (afterBytes, partial)
    }

    /// `true` while a ``cutPower(afterBytes:partial:)`` has not been reached yet.
    public var isPowerCutArmed: Bool { cut != nil }

    /// Power comes back: the write cycle is over, the pointer is 0, a pending cut is cancelled.
    public mutating func restorePower() {
        isPowered = true
        busyRemaining = 0
        addressPointer = 0
        cut = nil
    }

    /// The most writes any one cell has seen.
    public var maxWritesPerCell: Int { writesPerCell.max() ?? 0 }

    public mutating func transaction(address: UInt8, _ operations: [I2COperation]) throws(HALError) -> [[UInt8]] {
        let device = "0x" + String(address, radix: 16)
        guard isPowered else {
            throw HALError(
                .unavailable, subsystem: "sim:24c04", device: device, operation: "I2C_RDWR", detail: "no power")
        }
        guard address & 0x7E == baseAddress else { throw nack(device) }
        if busyRemaining > 0 {
            busyRemaining -= 1
            busyNacks += 1
            var error = nack(device)
            error.detail = "write cycle in progress"
            throw error
        }
        let block = Int(address & 1)
        var replies: [[UInt8]] = []
        for operation in operations {
            switch operation {
            case .write(let bytes):
                guard let word = bytes.first else { continue }  // quick write: address ACK only
                addressPointer = block * Self.blockSize + Int(word)
                if bytes.count > 1 { try programPage(Array(bytes.dropFirst()), device: device) }
            case .read(let count):
                var out: [UInt8] = []
                out.reserveCapacity(count)
                for _ in 0..<max(count, 0) {
                    out.append(memory[addressPointer])
                    addressPointer = (addressPointer + 1) % Self.size
                }
                replies.append(out)
            }
        }
        return replies
    }

    /// A NACK of the address phase as the adapter reports it: an errno, mapped like the i2c-dev backend maps it.
    private func nack(_ device: String) -> HALError {
        HALError(subsystem: "sim:24c04", device: device, operation: "I2C_RDWR", errno: nackErrno.errno)
    }

    private mutating func programPage(_ data: [UInt8], device: String) throws(HALError) {
        let pageStart = addressPointer - addressPointer % Self.pageSize
        var column = addressPointer % Self.pageSize
        pageWrites += 1
        for byte in data {
            let cell = pageStart + column
            if let pending = cut {
                if pending.afterBytes == 0 {
                    if let partial = pending.partial {
                        memory[cell] &= partial
                        writesPerCell[cell] += 1
                    }
                    cut = nil
                    isPowered = false
                    throw HALError(
                        .unavailable, subsystem: "sim:24c04", device: device, operation: "I2C_RDWR",
                        detail: "power lost during page write")
                }
                cut = (pending.afterBytes - 1, pending.partial)
            }
            memory[cell] = byte
            writesPerCell[cell] += 1
            column = (column + 1) % Self.pageSize
        }
        addressPointer = pageStart + column
        busyRemaining = busyAddressPhases
    }
}
