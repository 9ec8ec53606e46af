#if canImport(CLinuxHAL)
    import CLinuxHAL
    import Glibc
    import SystemPackage

    /// A P1 telegram stream over TCP (`tcp://host:port`), as ser2net and network P1 dongles expose it.
    ///
    /// It conforms to `SerialPort` so the same reader code serves both. There are no modem lines over raw TCP:
    /// `setRTS`/`setDTR` do nothing (the dongle drives the meter's data-request line itself).
    /// The socket is closed in `deinit`. Confined to the task that owns it (not `Sendable`).
    public final class TCPStream: SerialPort {
        public let host: String
        public let port: UInt16
        private let fd: CInt
        private var device: String { "tcp://\(host):\(port)" }

        /// Connects to `host:port`, waiting at most `timeout`.
        /// The corresponding calls are `getaddrinfo`, `socket`, `connect` and `poll`.
        public init(host: String, port: UInt16, timeout: Duration = .seconds(5)) throws(HALError) {
            self.host = host
            self.port = port
            let device = "tcp://\(host):\(port)"
            var hints = addrinfo()
            hints.ai_family = AF_UNSPEC
            hints.ai_socktype = CInt(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(host, String(port), &hints, &list)
            guard status == 0, let first = list else {
                let reason = String(cString: gai_strerror(status))
                throw HALError(.unavailable, subsystem: "tcp", device: device, operation: "getaddrinfo", detail: reason)
            }
            defer { freeaddrinfo(list) }
            var lastError = Errno.noSuchAddressOrDevice
            var entry: UnsafeMutablePointer<addrinfo>? = first
            while let info = entry {
                entry = info.pointee.ai_next
                let fd = socket(
                    info.pointee.ai_family,
                    info.pointee.ai_socktype | CInt(SOCK_NONBLOCK.rawValue)
                        | CInt(SOCK_CLOEXEC.rawValue), info.pointee.ai_protocol)
                if fd < 0 {
                    lastError = Errno(rawValue: errno)
                    continue
                }
                if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 || errno == EINPROGRESS {
                    var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    let ready = poll(&descriptor, 1, pollMilliseconds(timeout))
                    var soError: CInt = 0
                    var length = socklen_t(MemoryLayout<CInt>.size)
                    if ready == 1, getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length) == 0, soError == 0 {
                        self.fd = fd
                        return
                    }
                    lastError = ready == 0 ? .timedOut : Errno(rawValue: soError != 0 ? soError : errno)
                } else {
                    lastError = Errno(rawValue: errno)
                }
                closeDescriptor(fd)
            }
            var error = HALError(subsystem: "tcp", device: device, operation: "connect", errno: lastError)
            if lastError == .connectionRefused || lastError == .timedOut { error.kind = .unavailable }
            throw error
        }

        deinit { closeDescriptor(fd) }

        public func read(maxCount: Int, timeout: Duration) throws(HALError) -> [UInt8] {
            try readAvailable(fd: fd, maxCount: maxCount, timeout: timeout, subsystem: "tcp", device: device)
        }

        public func write(_ bytes: [UInt8]) throws(HALError) {
            try writeAll(fd: fd, bytes, subsystem: "tcp", device: device)
        }

        public func setRTS(_ asserted: Bool) throws(HALError) {}
        public func setDTR(_ asserted: Bool) throws(HALError) {}
    }
#endif
