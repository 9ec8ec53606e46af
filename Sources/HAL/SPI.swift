/// One step of an SPI transaction. CS stays asserted across every operation
/// passed to a single `SPIDevice.transaction(_:)` call.
public enum SPIOperation: Equatable, Sendable {
    /// Clock the bytes out on MOSI; what arrives on MISO is discarded.
    case write([UInt8])
    /// Clock out `count` filler bytes (0x00) and keep what arrives on MISO.
    case read(count: Int)
    /// Full duplex: clock the bytes out and keep the same number of bytes received.
    case transfer([UInt8])
    /// Keep CS asserted with SCK idle for this long.
    case delay(Duration)
}

/// One peripheral on a (possibly shared) SPI bus, selected by its own CS line.
///
/// The implementation owns chip-select and bus locking; drivers never touch CS.
/// Mode, bits per word and maximum clock are the device's configuration, not the driver's.
/// Not `Sendable`: a device is confined to the task that owns it.
public protocol SPIDevice {
    /// Runs `operations` as one CS-asserted transaction.
    ///
    /// - Returns: The bytes received by each `.read` and `.transfer`, in order.
    /// - Throws: `HALError`. CS is deasserted before the error propagates.
    ///
    /// On Linux the corresponding ioctl is `SPI_IOC_MESSAGE(n)`, one transfer per operation.
    mutating func transaction(_ operations: [SPIOperation]) throws(HALError) -> [[UInt8]]
}

extension SPIDevice {
    /// Writes `command`, then reads `count` bytes, with CS held across both.
    public mutating func writeThenRead(_ command: [UInt8], count: Int) throws(HALError) -> [UInt8] {
        let replies = try transaction([.write(command), .read(count: count)])
        return replies.first ?? []
    }

    /// Writes `bytes` in one transaction.
    public mutating func write(_ bytes: [UInt8]) throws(HALError) {
        _ = try transaction([.write(bytes)])
    }
}

/// SPI clock polarity and phase (CPOL, CPHA).
public enum SPIMode: Int, Sendable, Codable, CaseIterable {
    case mode0 = 0, mode1 = 1, mode2 = 2, mode3 = 3
}
