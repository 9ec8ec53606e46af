import HAL

/// The one error type of the offline ring and its storage backends.
///
/// `description` names the device or file, what was done and what was expected, e.g.
/// `ring storage eeprom 24C04@0x50: write page 0x0A0 failed: i2c-dev …`.
public struct RingError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// The storage medium failed (I2C error, file I/O error, write-cycle polling timed out).
        case storage
        /// A record to append is out of the stored range (negative energy, end before start, time beyond 2106…).
        case invalidRecord
        /// The ring is full and no pair of records may be merged (every pair is pinned by a consumer in flight).
        case full
        /// The consumer id is out of range or not registered.
        case unknownConsumer
        /// An acknowledgement does not match a record boundary handed out to that consumer.
        case invalidAcknowledgement
        /// An internal consistency check failed (a bug; the ring rolled back and the stored image is intact), or a
        /// stored image's records do not decode or are out of range (see ``ReadingRing/loadProblems``).
        case corrupt
    }

    public var kind: Kind
    /// What failed and what was expected, naming the device, file or field.
    public var message: String
    /// The HAL error underneath a `.storage` failure on an I2C EEPROM.
    public var underlying: HALError?
    /// The errno of a failed file system call.
    public var errno: Int32?

    public init(_ kind: Kind, _ message: String, underlying: HALError? = nil, errno: Int32? = nil) {
        self.kind = kind
        self.message = message
        self.underlying = underlying
        self.errno = errno
    }

    public var description: String {
        var text = "ring: \(message)"
        if let underlying { text += ": \(underlying)" }
        if let errno { text += " (errno \(errno))" }
        return text
    }
}
