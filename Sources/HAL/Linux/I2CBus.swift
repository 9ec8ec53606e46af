#if canImport(CI2C)
    import CI2C
    import Glibc
    import SystemPackage

    /// An I2C adapter behind i2c-dev (`/dev/i2c-1`), with libi2c for the SMBus calls.
    ///
    /// `transaction` is one `I2C_RDWR` ioctl (repeated starts between messages). libi2c's `i2c_smbus_*` return
    /// `-errno`, while the ioctls return -1 and set errno: `smbusResult` handles both in one place.
    /// The descriptor is closed in `deinit`. Not `Sendable`.
    public final class I2CBus: I2CDevice {
        public let path: String
        private let fd: CInt

        /// The corresponding C function is `open`.
        public init(path: String) throws(HALError) {
            self.path = path
            self.fd = try openDevice(path, flags: O_RDWR, subsystem: "i2c-dev")
        }

        deinit { closeDescriptor(fd) }

        public func transaction(address: UInt8, _ operations: [I2COperation]) throws(HALError) -> [[UInt8]] {
            guard address < 0x80 else {
                throw HALError(
                    .invalidArgument, subsystem: "i2c-dev", device: path, operation: "I2C_RDWR",
                    detail: "address 0x\(String(address, radix: 16)) is not a 7-bit address")
            }
            guard !operations.isEmpty else { return [] }
            let buffers: [UnsafeMutableBufferPointer<UInt8>] = operations.map { operation in
                switch operation {
                case .write(let bytes):
                    let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
                    _ = buffer.initialize(from: bytes)
                    return buffer
                case .read(let count):
                    let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(count, 1))
                    buffer.initialize(repeating: 0)
                    return buffer
                }
            }
            defer { for buffer in buffers { buffer.deallocate() } }
            var messages: [i2c_msg] = zip(operations, buffers).map { operation, buffer in
                switch operation {
                case .write(let bytes):
                    i2c_msg(addr: UInt16(address), flags: 0, len: UInt16(bytes.count), buf: buffer.baseAddress)
                case .read(let count):
                    i2c_msg(addr: UInt16(address), flags: CI2C_I2C_M_RD(), len: UInt16(count), buf: buffer.baseAddress)
                }
            }
            let fd = self.fd
            do {
                _ = try messages.withUnsafeMutableBufferPointer { pointer in
                    var data = i2c_rdwr_ioctl_data(msgs: pointer.baseAddress, nmsgs: UInt32(pointer.count))
                    return retryingOnInterrupt { CI2C_rdwr(fd, &data) }
                }.get()
            } catch {
                throw HALError(
                    subsystem: "i2c-dev", device: "\(path) @0x\(String(address, radix: 16))",
                    operation: "I2C_RDWR", errno: error)
            }
            var replies: [[UInt8]] = []
            for (operation, buffer) in zip(operations, buffers) {
                if case .read(let count) = operation { replies.append(Array(buffer.prefix(count))) }
            }
            return replies
        }

        private func select(_ address: UInt8, for operation: String) throws(HALError) {
            let fd = self.fd
            do {
                _ = try retryingOnInterrupt { CI2C_setSlave(fd, Int(address)) }.get()
            } catch {
                throw HALError(
                    subsystem: "i2c-dev", device: "\(path) @0x\(String(address, radix: 16))",
                    operation: "I2C_SLAVE", errno: error)
            }
        }

        /// The corresponding C function is `i2c_smbus_read_byte_data` (libi2c).
        public func smbusReadByte(address: UInt8, command: UInt8) throws(HALError) -> UInt8 {
            try select(address, for: "i2c_smbus_read_byte_data")
            let result = try Self.smbusResult(
                i2c_smbus_read_byte_data(fd, command),
                device: "\(path) @0x\(String(address, radix: 16))", operation: "i2c_smbus_read_byte_data")
            return UInt8(truncatingIfNeeded: result)
        }

        /// The corresponding C function is `i2c_smbus_write_byte_data` (libi2c).
        public func smbusWriteByte(address: UInt8, command: UInt8, value: UInt8) throws(HALError) {
            try select(address, for: "i2c_smbus_write_byte_data")
            _ = try Self.smbusResult(
                i2c_smbus_write_byte_data(fd, command, value),
                device: "\(path) @0x\(String(address, radix: 16))", operation: "i2c_smbus_write_byte_data")
        }

        /// libi2c returns `-errno` on failure (not -1 with errno set); maps that to `HALError`.
        static func smbusResult(_ result: Int32, device: String, operation: String) throws(HALError) -> Int32 {
            if result < 0 {
                throw HALError(
                    subsystem: "i2c-dev", device: device, operation: operation, errno: Errno(rawValue: -result))
            }
            return result
        }
    }
#endif
