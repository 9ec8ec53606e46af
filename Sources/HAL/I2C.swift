/// One message of an I2C transaction. Messages of one `I2CDevice.transaction(address:_:)` call are
/// joined by repeated starts: `S addr+W data… Sr addr+R data… P`.
public enum I2COperation: Equatable, Sendable {
    /// Write the bytes after the address.
    case write([UInt8])
    /// Read `count` bytes; the controller ACKs all but the last (NMAK).
    case read(count: Int)
}

/// An I2C bus adapter (`/dev/i2c-1`) as seen by a driver.
///
/// Not `Sendable`: an adapter is confined to the task that owns it.
public protocol I2CDevice {
    /// Runs `operations` against the 7-bit `address` as one transaction with repeated starts.
    ///
    /// - Returns: The bytes received by each `.read`, in order.
    /// - Throws: `HALError`; a missing device is `.noAcknowledge(address: true)`.
    ///
    /// On Linux the corresponding ioctl is `I2C_RDWR`.
    mutating func transaction(address: UInt8, _ operations: [I2COperation]) throws(HALError) -> [[UInt8]]

    /// SMBus "read byte data": command byte, repeated start, one byte.
    /// The default implementation uses `transaction`; the Linux backend calls `i2c_smbus_read_byte_data`.
    mutating func smbusReadByte(address: UInt8, command: UInt8) throws(HALError) -> UInt8

    /// SMBus "write byte data": command byte and one data byte.
    /// The default implementation uses `transaction`; the Linux backend calls `i2c_smbus_write_byte_data`.
    mutating func smbusWriteByte(address: UInt8, command: UInt8, value: UInt8) throws(HALError)
}

extension I2CDevice {
    /// Writes `bytes` to `address` in one message.
    public mutating func write(address: UInt8, _ bytes: [UInt8]) throws(HALError) {
        _ = try transaction(address: address, [.write(bytes)])
    }

    /// Writes `bytes`, then reads `count` bytes after a repeated start.
    public mutating func writeRead(address: UInt8, _ bytes: [UInt8], count: Int) throws(HALError) -> [UInt8] {
        try transaction(address: address, [.write(bytes), .read(count: count)]).first ?? []
    }

    public mutating func smbusReadByte(address: UInt8, command: UInt8) throws(HALError) -> UInt8 {
        try writeRead(address: address, [command], count: 1).first ?? 0
    }

    public mutating func smbusWriteByte(address: UInt8, command: UInt8, value: UInt8) throws(HALError) {
        try write(address: address, [command, value])
    }

    /// SMBus "quick write": the address alone, used to poll for an ACK (e.g. EEPROM write cycle done).
    public mutating func probe(address: UInt8) throws(HALError) {
        _ = try transaction(address: address, [.write([])])
    }
}
