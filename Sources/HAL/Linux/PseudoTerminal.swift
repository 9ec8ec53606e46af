#if canImport(CLinuxHAL)
    import CLinuxHAL
    import Glibc
    import SystemPackage

    /// A pseudo-terminal pair: the simulator writes on the master side, the real tty code opens `slavePath`.
    ///
    /// The slave starts in raw mode (so CR LF pass unchanged before a reader configures it) and this object keeps
    /// one slave descriptor open, so the line settings a reader applies can be read back (`slaveConfiguration()`)
    /// and data written before a reader opens is kept. `close()` (or `deinit`) hangs the pair up: a reader then sees
    /// `.unavailable`, like an unplugged USB cable. The corresponding C function is `openpty`.
    public final class PseudoTerminal {
        /// `/dev/pts/N`.
        public let slavePath: String
        private var master: CInt
        private var slave: CInt

        public init() throws(HALError) {
            var master: CInt = -1
            var slave: CInt = -1
            var name = [CChar](repeating: 0, count: 128)
            let result = name.withUnsafeMutableBufferPointer { CLinuxHAL_openpty(&master, &slave, $0.baseAddress, 128) }
            if result != 0 {
                throw HALError(
                    subsystem: "pty", device: "/dev/ptmx", operation: "openpty", errno: Errno(rawValue: errno))
            }
            self.master = master
            self.slave = slave
            self.slavePath = String(
                decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            var attributes = termios()
            if tcgetattr(slave, &attributes) == 0 {
                cfmakeraw(&attributes)
                _ = tcsetattr(slave, TCSANOW, &attributes)
            }
            _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        }

        deinit { close() }

        /// Whether `close()` has been called.
        public var isClosed: Bool { master < 0 }

        /// Writes `bytes` to the master side: they arrive at whoever reads the slave.
        public func write(_ bytes: [UInt8]) throws(HALError) {
            guard master >= 0 else {
                throw HALError(.unavailable, subsystem: "pty", device: slavePath, operation: "write", detail: "closed")
            }
            try writeAll(fd: master, bytes, subsystem: "pty", device: slavePath)
        }

        /// Reads what the slave side wrote (e.g. a reader's request bytes), waiting up to `timeout`.
        public func read(maxCount: Int, timeout: Duration) throws(HALError) -> [UInt8] {
            guard master >= 0 else {
                throw HALError(.unavailable, subsystem: "pty", device: slavePath, operation: "read", detail: "closed")
            }
            return try readAvailable(
                fd: master, maxCount: maxCount, timeout: timeout, subsystem: "pty", device: slavePath)
        }

        /// The line settings currently applied to the slave (by the reader), decoded from `tcgetattr`.
        /// - Returns: `nil` when the settings are not representable (e.g. an unknown speed).
        public func slaveConfiguration() -> SerialConfiguration? {
            guard slave >= 0 else { return nil }
            var attributes = termios()
            guard tcgetattr(slave, &attributes) == 0 else { return nil }
            return SerialConfiguration(termios: attributes)
        }

        /// Hangs up: closes both sides held here. Readers of the slave see a hang-up.
        public func close() {
            closeDescriptor(master)
            closeDescriptor(slave)
            master = -1
            slave = -1
        }
    }

    extension SerialConfiguration {
        /// Decodes speed, character size, parity and stop bits from a `termios`.
        ///
        /// A pty forces `CS8` and clears `PARENB` whatever the reader asked for, so 7-bit data is also read from
        /// `ISTRIP` and parity from `INPCK`, which `TTYPort` sets together with `CS7`/`PARENB`.
        public init?(termios attributes: termios) {
            var copy = attributes
            let speed = cfgetispeed(&copy)
            guard let baud = SerialConfiguration.supportedBaudRates.first(where: { CLinuxHAL_speed(CInt($0)) == speed })
            else { return nil }
            let size = attributes.c_cflag & tcflag_t(CSIZE)
            guard var bits = (5...8).first(where: { CLinuxHAL_csize(CInt($0)) == size }) else { return nil }
            if bits == 8 && attributes.c_iflag & tcflag_t(ISTRIP) != 0 { bits = 7 }
            let parityEnabled =
                attributes.c_cflag & tcflag_t(PARENB) != 0 || attributes.c_iflag & tcflag_t(INPCK) != 0
            let parity: SerialParity =
                !parityEnabled ? .none : (attributes.c_cflag & tcflag_t(PARODD) != 0 ? .odd : .even)
            let stop = attributes.c_cflag & tcflag_t(CSTOPB) != 0 ? 2 : 1
            self.init(baudRate: baud, dataBits: bits, parity: parity, stopBits: stop)
        }
    }
#endif
