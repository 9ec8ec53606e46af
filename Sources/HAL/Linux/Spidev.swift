#if canImport(CLinuxHAL)
    import CLinuxHAL
    import Glibc
    import SystemPackage

    /// Settings of one spidev device, applied at open.
    public struct SpidevConfiguration: Equatable, Sendable {
        public var mode: SPIMode
        public var bitsPerWord: UInt8
        public var maxSpeedHz: UInt32

        public init(mode: SPIMode = .mode0, bitsPerWord: UInt8 = 8, maxSpeedHz: UInt32 = 1_000_000) {
            self.mode = mode
            self.bitsPerWord = bitsPerWord
            self.maxSpeedHz = maxSpeedHz
        }
    }

    /// One SPI peripheral behind a Linux spidev node (`/dev/spidev0.0`), CS managed by the kernel.
    ///
    /// Each `transaction` is a single `SPI_IOC_MESSAGE(n)` ioctl with one `spi_ioc_transfer` per operation
    /// (a `.delay` is attached to the transfer before it), so CS stays asserted for the whole transaction.
    /// The descriptor is closed in `deinit`. Confined to the task that owns it (not `Sendable`).
    public final class Spidev: SPIDevice {
        public let path: String
        public let configuration: SpidevConfiguration
        private let fd: CInt

        /// Opens `path` and applies `configuration`.
        ///
        /// The corresponding calls are `open`, then the ioctls `SPI_IOC_WR_MODE`, `SPI_IOC_WR_BITS_PER_WORD`
        /// and `SPI_IOC_WR_MAX_SPEED_HZ`.
        /// - Throws: `HALError` naming the device and the step that failed.
        public init(path: String, configuration: SpidevConfiguration = SpidevConfiguration()) throws(HALError) {
            self.path = path
            self.configuration = configuration
            let fd = try openDevice(path, flags: O_RDWR, subsystem: "spidev")
            self.fd = fd
            var mode = UInt8(configuration.mode.rawValue)
            var bits = configuration.bitsPerWord
            var speed = configuration.maxSpeedHz
            try setting("SPI_IOC_WR_MODE", CLinuxHAL_SPI_IOC_WR_MODE(), &mode)
            try setting("SPI_IOC_WR_BITS_PER_WORD", CLinuxHAL_SPI_IOC_WR_BITS_PER_WORD(), &bits)
            try setting("SPI_IOC_WR_MAX_SPEED_HZ", CLinuxHAL_SPI_IOC_WR_MAX_SPEED_HZ(), &speed)
        }

        deinit { closeDescriptor(fd) }

        private func setting<T>(_ name: String, _ request: UInt, _ value: inout T) throws(HALError) {
            let fd = self.fd
            do {
                _ = try withUnsafeMutablePointer(to: &value) { pointer in
                    retryingOnInterrupt { CLinuxHAL_ioctl_ptr(fd, request, pointer) }
                }.get()
            } catch {
                throw HALError(subsystem: "spidev", device: path, operation: name, errno: error)
            }
        }

        public func transaction(_ operations: [SPIOperation]) throws(HALError) -> [[UInt8]] {
            let plan = try SpidevPlan(operations, device: path)
            guard !plan.transfers.isEmpty else { return [] }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(plan.bufferSize, 1), alignment: 8)
            defer { buffer.deallocate() }
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            var transfers = plan.transfers
            for index in transfers.indices {
                let slice = plan.slices[index]
                if let tx = slice.tx {
                    let bytes = plan.txBytes[index]
                    for (offset, byte) in bytes.enumerated() { buffer[tx + offset] = byte }
                    transfers[index].tx_buf = UInt64(UInt(bitPattern: buffer.baseAddress! + tx))
                }
                if let rx = slice.rx {
                    transfers[index].rx_buf = UInt64(UInt(bitPattern: buffer.baseAddress! + rx))
                }
            }
            let fd = self.fd
            let request = CLinuxHAL_SPI_IOC_MESSAGE(UInt32(transfers.count))
            do {
                _ = try transfers.withUnsafeMutableBufferPointer { pointer in
                    retryingOnInterrupt { CLinuxHAL_ioctl_ptr(fd, request, pointer.baseAddress) }
                }.get()
            } catch {
                throw HALError(
                    subsystem: "spidev", device: path, operation: "SPI_IOC_MESSAGE(\(transfers.count))", errno: error)
            }
            return plan.slices.compactMap { slice in
                slice.rx.map { start in Array(buffer[start..<start + slice.length]) }
            }
        }
    }

    /// How a list of `SPIOperation`s maps onto `spi_ioc_transfer`s and one scratch buffer (pure; tested).
    struct SpidevPlan {
        struct Slice {
            var tx: Int?
            var rx: Int?
            var length: Int
        }
        var transfers: [spi_ioc_transfer] = []
        var slices: [Slice] = []
        var txBytes: [[UInt8]] = []
        var bufferSize = 0

        init(_ operations: [SPIOperation], device: String) throws(HALError) {
            for operation in operations {
                var transfer = spi_ioc_transfer()
                switch operation {
                case .write(let bytes):
                    transfer.len = UInt32(bytes.count)
                    slices.append(Slice(tx: bufferSize, rx: nil, length: bytes.count))
                    txBytes.append(bytes)
                    bufferSize += bytes.count
                case .read(let count):
                    guard count >= 0 else {
                        throw HALError(
                            .invalidArgument, subsystem: "spidev", device: device, operation: "transaction",
                            detail: "read of \(count) bytes")
                    }
                    transfer.len = UInt32(count)
                    slices.append(Slice(tx: nil, rx: bufferSize, length: count))
                    txBytes.append([])
                    bufferSize += count
                case .transfer(let bytes):
                    transfer.len = UInt32(bytes.count)
                    slices.append(Slice(tx: bufferSize, rx: bufferSize + bytes.count, length: bytes.count))
                    txBytes.append(bytes)
                    bufferSize += 2 * bytes.count
                case .delay(let duration):
                    let micros =
                        duration.components.seconds * 1_000_000
                        + (duration.components.attoseconds + 999_999_999_999) / 1_000_000_000_000
                    guard micros >= 0, micros <= Int64(UInt16.max) else {
                        throw HALError(
                            .invalidArgument, subsystem: "spidev", device: device, operation: "transaction",
                            detail: "delay \(duration) exceeds spidev's 65535 µs delay_usecs")
                    }
                    if !transfers.isEmpty, transfers[transfers.count - 1].delay_usecs == 0 {
                        transfers[transfers.count - 1].delay_usecs = UInt16(micros)
                        continue
                    }
                    transfer.delay_usecs = UInt16(micros)
                    slices.append(Slice(tx: nil, rx: nil, length: 0))
                    txBytes.append([])
                }
                transfers.append(transfer)
            }
        }
    }
#endif
