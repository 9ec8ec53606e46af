import SystemPackage

/// The one error type every HAL backend (Linux, simulator, scripted double) throws.
///
/// `description` reads like `spidev /dev/spidev0.0: open failed: No such file or directory (ENOENT)`,
/// so a user sees which device, which operation and what the kernel said.
public struct HALError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What generic code may react to, whatever backend produced the error
    /// (errno mapped as linux-embedded-hal does, after the kernel's I2C fault-codes document).
    public enum Kind: Equatable, Sendable {
        /// No acknowledge from the target; `address` is true when the address phase was not acknowledged.
        ///
        /// Two errno values mean this: `ENXIO`, which the kernel's I2C fault-codes document prescribes for an address
        /// NACK, and `EREMOTEIO`, the older code some adapters still return for a NACK in any phase — notably
        /// `i2c-bcm2835` on every Raspberry Pi. `EREMOTEIO` cannot tell the address phase from a data byte, so it is
        /// reported as an address NACK, the common case (no device, or an EEPROM busy in its write cycle); a
        /// transaction with no data bytes (an ACK poll, ``I2CDevice/probe(address:)``) can only fail there anyway.
        case noAcknowledge(address: Bool)
        /// The device or bus is in use (EBUSY), e.g. a tty opened exclusively by another process.
        case busy
        /// The operation did not complete within its timeout (ETIMEDOUT, or a read timeout).
        case timedOut
        /// I2C arbitration was lost (EAGAIN on i2c-dev).
        case arbitrationLost
        /// The device does not exist or went away (ENOENT, ENODEV, ENXIO on open; a tty hung up).
        case unavailable
        /// The caller may not use the device (EACCES, EPERM).
        case permissionDenied
        /// The device rejected a parameter (EINVAL, ENOTTY, EOPNOTSUPP).
        case invalidArgument
        /// A bus-level I/O failure (EIO, EPROTO).
        case io
        /// Anything else.
        case other
    }

    public var kind: Kind
    /// The kind of device: `spidev`, `tty`, `gpiod`, `i2c-dev`, `sim:ade9000`, …
    public var subsystem: String
    /// The device path or name: `/dev/spidev0.0`, `gpiochip0 line 17`.
    public var device: String
    /// The operation that failed, named after the C call or ioctl: `open`, `SPI_IOC_MESSAGE(2)`.
    public var operation: String
    /// The errno the kernel returned; `nil` when a simulator, a double or our own checks made the error.
    public var errno: Errno?
    /// Extra words when there is no errno (e.g. `no data within 2 s`).
    public var detail: String?

    public init(
        _ kind: Kind, subsystem: String, device: String, operation: String,
        errno: Errno? = nil, detail: String? = nil
    ) {
        self.kind = kind
        self.subsystem = subsystem
        self.device = device
        self.operation = operation
        self.errno = errno
        self.detail = detail
    }

    /// An error from a failed system call, its kind derived from `errno`.
    public init(subsystem: String, device: String, operation: String, errno: Errno) {
        self.init(Self.kind(for: errno), subsystem: subsystem, device: device, operation: operation, errno: errno)
    }

    public var description: String {
        var text = "\(subsystem) \(device): \(operation) failed"
        if let errno {
            text += ": \(Self.message(for: errno)) (\(Self.name(for: errno)))"
        }
        if let detail { text += errno == nil ? ": \(detail)" : "; \(detail)" }
        return text
    }

    /// Maps an errno to a `Kind` (kernel Documentation/i2c/fault-codes.rst, linux-embedded-hal `kind()`).
    public static func kind(for errno: Errno) -> Kind {
        switch errno.rawValue {
        case 2, 19: .unavailable  // ENOENT, ENODEV
        case 6, 121: .noAcknowledge(address: true)  // ENXIO; EREMOTEIO (i2c-bcm2835 and other older adapters)
        case 16: .busy  // EBUSY
        case 11: .arbitrationLost  // EAGAIN
        case 110: .timedOut  // ETIMEDOUT
        case 13, 1: .permissionDenied  // EACCES, EPERM
        case 22, 25, 95: .invalidArgument  // EINVAL, ENOTTY, EOPNOTSUPP
        case 5, 71: .io  // EIO, EPROTO
        default: .other
        }
    }

    /// The symbolic name of the errno values a HAL backend meets (`ENOENT`); `errno N` otherwise.
    public static func name(for errno: Errno) -> String {
        errnoNames[errno.rawValue]?.0 ?? "errno \(errno.rawValue)"
    }

    /// The C library's message for the errno values a HAL backend meets.
    public static func message(for errno: Errno) -> String {
        errnoNames[errno.rawValue]?.1 ?? "Unknown error \(errno.rawValue)"
    }

    // Linux generic errno values (asm-generic/errno-base.h, errno.h) with glibc's strerror text.
    private static let errnoNames: [CInt: (String, String)] = [
        1: ("EPERM", "Operation not permitted"),
        2: ("ENOENT", "No such file or directory"),
        4: ("EINTR", "Interrupted system call"),
        5: ("EIO", "Input/output error"),
        6: ("ENXIO", "No such device or address"),
        9: ("EBADF", "Bad file descriptor"),
        11: ("EAGAIN", "Resource temporarily unavailable"),
        12: ("ENOMEM", "Cannot allocate memory"),
        13: ("EACCES", "Permission denied"),
        16: ("EBUSY", "Device or resource busy"),
        19: ("ENODEV", "No such device"),
        20: ("ENOTDIR", "Not a directory"),
        21: ("EISDIR", "Is a directory"),
        22: ("EINVAL", "Invalid argument"),
        24: ("EMFILE", "Too many open files"),
        25: ("ENOTTY", "Inappropriate ioctl for device"),
        28: ("ENOSPC", "No space left on device"),
        30: ("EROFS", "Read-only file system"),
        32: ("EPIPE", "Broken pipe"),
        71: ("EPROTO", "Protocol error"),
        95: ("EOPNOTSUPP", "Operation not supported"),
        110: ("ETIMEDOUT", "Connection timed out"),
        111: ("ECONNREFUSED", "Connection refused"),
        121: ("EREMOTEIO", "Remote I/O error"),
    ]
}
