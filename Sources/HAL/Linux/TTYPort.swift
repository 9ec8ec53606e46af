#if canImport(CLinuxHAL)
    import CLinuxHAL
    import Glibc
    import SystemPackage

    /// A serial tty (`/dev/ttyUSB0`, `/dev/ttyAMA0`, a pseudo-terminal) in raw mode.
    ///
    /// Opened non-blocking with `O_NOCTTY`, made exclusive with `TIOCEXCL` (a second opener gets `EBUSY`),
    /// configured with termios (raw, data bits, parity, stop bits, no flow control) and read with `poll` + `read`.
    /// A hang-up (USB cable unplugged, pty master closed) surfaces as `HALError.Kind.unavailable`.
    /// The descriptor is closed in `deinit`. Confined to the task that owns it (not `Sendable`).
    public final class TTYPort: SerialPort {
        public let path: String
        public let configuration: SerialConfiguration
        private let fd: CInt

        /// Opens and configures `path`.
        ///
        /// The corresponding calls are `open`, `ioctl(TIOCEXCL)`, `tcgetattr`, `tcsetattr` and `tcflush`.
        /// - Parameters:
        ///   - path: The tty, e.g. `/dev/ttyUSB0` or a `/dev/serial/by-id/…` link.
        ///   - configuration: Speed, data bits, parity and stop bits.
        ///   - exclusive: Refuse other openers while this port is open (`TIOCEXCL`).
        /// - Throws: `HALError` naming the tty and the step that failed.
        public init(path: String, configuration: SerialConfiguration, exclusive: Bool = true) throws(HALError) {
            self.path = path
            self.configuration = configuration
            let fd = try openDevice(path, flags: O_RDWR | O_NOCTTY | O_NONBLOCK, subsystem: "tty")
            self.fd = fd
            guard isatty(fd) == 1 else {
                throw HALError(subsystem: "tty", device: path, operation: "isatty", errno: Errno(rawValue: ENOTTY))
            }
            if exclusive {
                do {
                    _ = try retryingOnInterrupt { CLinuxHAL_ioctl_none(fd, CLinuxHAL_TIOCEXCL()) }.get()
                } catch {
                    throw HALError(subsystem: "tty", device: path, operation: "TIOCEXCL", errno: error)
                }
            }
            try apply(configuration)
            _ = tcflush(fd, TCIFLUSH)
        }

        deinit { closeDescriptor(fd) }

        private func apply(_ configuration: SerialConfiguration) throws(HALError) {
            var attributes = termios()
            let fd = self.fd
            do {
                _ = try retryingOnInterrupt { tcgetattr(fd, &attributes) }.get()
            } catch {
                throw HALError(subsystem: "tty", device: path, operation: "tcgetattr", errno: error)
            }
            let parity: CChar =
                switch configuration.parity {
                case .none: CChar(UInt8(ascii: "N"))
                case .even: CChar(UInt8(ascii: "E"))
                case .odd: CChar(UInt8(ascii: "O"))
                }
            guard
                CLinuxHAL_configure(
                    &attributes, CInt(configuration.baudRate), CInt(configuration.dataBits), parity,
                    CInt(configuration.stopBits)) == 0
            else {
                throw HALError(
                    .invalidArgument, subsystem: "tty", device: path, operation: "termios",
                    detail:
                        "unsupported line settings \(configuration) (baud: \(SerialConfiguration.supportedBaudRates.map(String.init).joined(separator: ", ")); 5–8 data bits; N/E/O; 1 or 2 stop bits)"
                )
            }
            do {
                _ = try retryingOnInterrupt { tcsetattr(fd, TCSANOW, &attributes) }.get()
            } catch {
                throw HALError(subsystem: "tty", device: path, operation: "tcsetattr", errno: error)
            }
        }

        /// The termios settings as the kernel holds them now (`tcgetattr`), for diagnostics and tests.
        public func attributes() throws(HALError) -> termios {
            var attributes = termios()
            let fd = self.fd
            do {
                _ = try retryingOnInterrupt { tcgetattr(fd, &attributes) }.get()
            } catch {
                throw HALError(subsystem: "tty", device: path, operation: "tcgetattr", errno: error)
            }
            return attributes
        }

        public func read(maxCount: Int, timeout: Duration) throws(HALError) -> [UInt8] {
            try readAvailable(fd: fd, maxCount: maxCount, timeout: timeout, subsystem: "tty", device: path)
        }

        public func write(_ bytes: [UInt8]) throws(HALError) {
            try writeAll(fd: fd, bytes, subsystem: "tty", device: path)
        }

        public func setRTS(_ asserted: Bool) throws(HALError) {
            try modemLine(CLinuxHAL_TIOCM_RTS(), asserted, name: "RTS")
        }

        public func setDTR(_ asserted: Bool) throws(HALError) {
            try modemLine(CLinuxHAL_TIOCM_DTR(), asserted, name: "DTR")
        }

        private func modemLine(_ bit: CInt, _ asserted: Bool, name: String) throws(HALError) {
            var bits = bit
            let fd = self.fd
            let request = asserted ? CLinuxHAL_TIOCMBIS() : CLinuxHAL_TIOCMBIC()
            do {
                _ = try retryingOnInterrupt { CLinuxHAL_ioctl_ptr(fd, request, &bits) }.get()
            } catch {
                throw HALError(
                    subsystem: "tty", device: path, operation: asserted ? "TIOCMBIS(\(name))" : "TIOCMBIC(\(name))",
                    errno: error)
            }
        }
    }

    /// Waits up to `timeout` for `fd` to become readable, then reads at most `maxCount` bytes.
    /// A hang-up or end of file is `.unavailable`; nothing within the timeout is an empty array.
    func readAvailable(fd: CInt, maxCount: Int, timeout: Duration, subsystem: String, device: String) throws(HALError)
        -> [UInt8]
    {
        guard maxCount > 0 else { return [] }
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = pollMilliseconds(timeout)
        let ready: CInt
        do {
            ready = try retryingOnInterrupt { poll(&descriptor, 1, milliseconds) }.get()
        } catch {
            throw HALError(subsystem: subsystem, device: device, operation: "poll", errno: error)
        }
        if ready == 0 { return [] }
        if descriptor.revents & Int16(POLLNVAL) != 0 {
            throw HALError(subsystem: subsystem, device: device, operation: "poll", errno: .badFileDescriptor)
        }
        var buffer = [UInt8](repeating: 0, count: maxCount)
        let count: Int
        do {
            count = try buffer.withUnsafeMutableBytes { raw in
                retryingOnInterrupt { Glibc.read(fd, raw.baseAddress, maxCount) }
            }.get()
        } catch {
            if error == .resourceTemporarilyUnavailable { return [] }
            if error == .ioError {  // a tty whose other end hung up reads EIO
                throw HALError(
                    .unavailable, subsystem: subsystem, device: device, operation: "read", errno: error,
                    detail: "the device hung up (unplugged?)")
            }
            throw HALError(subsystem: subsystem, device: device, operation: "read", errno: error)
        }
        if count == 0 {
            throw HALError(
                .unavailable, subsystem: subsystem, device: device, operation: "read",
                detail: "end of file: the device hung up (unplugged or closed by the other side)")
        }
        buffer.removeLast(maxCount - count)
        return buffer
    }

    /// Writes all of `bytes`, waiting for room when the descriptor is non-blocking.
    func writeAll(fd: CInt, _ bytes: [UInt8], subsystem: String, device: String) throws(HALError) {
        var offset = 0
        while offset < bytes.count {
            let written: Int
            do {
                written = try bytes.withUnsafeBytes { raw in
                    retryingOnInterrupt { Glibc.write(fd, raw.baseAddress! + offset, bytes.count - offset) }
                }.get()
            } catch {
                if error == .resourceTemporarilyUnavailable {
                    var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    let ready = poll(&descriptor, 1, 1000)
                    if ready == 0 {
                        throw HALError(
                            .timedOut, subsystem: subsystem, device: device, operation: "write",
                            detail: "no room to write for 1 s")
                    }
                    continue
                }
                let kind: HALError.Kind =
                    error == .ioError || error == .brokenPipe ? .unavailable : HALError.kind(for: error)
                throw HALError(kind, subsystem: subsystem, device: device, operation: "write", errno: error)
            }
            offset += written
        }
    }
#endif
