/// Where a ``ReadingRing`` keeps its 512-byte image: RAM, a file, or an AT24C04 EEPROM.
///
/// Synchronous and `throws(RingError)`, like the HAL: every backend is a short blocking write.
///
/// The ring is designed so that *every* `store` writes data bytes only where the previous committed image has
/// no live data, and writes its header (the commit point) last, into the header slot that is not the current
/// one. A backend that programs bytes in the order given therefore never destroys the previous image when it
/// is cut off half-way; that is what makes the EEPROM backend crash-safe without spare space.
public protocol RingStorage {
    /// Reads the stored image.
    /// - Returns: The 512 bytes last stored (or whatever the medium holds, for an EEPROM), or `nil` when the
    ///   medium holds no image yet (new file, new RAM store). The ring validates the content itself.
    /// - Throws: `RingError` of kind `.storage` when the medium cannot be read.
    mutating func load() throws(RingError) -> [UInt8]?

    /// Stores `image`.
    /// - Parameters:
    ///   - image: The complete new image, ``ReadingRing/imageSize`` bytes.
    ///   - changed: The byte ranges that differ from the previous image, in the order they must reach the
    ///     medium (data first, the header slot last). A backend may write more than these, never fewer.
    /// - Throws: `RingError` of kind `.storage`; the medium then holds the previous or the new image (plus, in
    ///   space neither uses, any of the bytes written). Before its next `store` the ring calls ``load()`` to see what
    ///   the medium holds, so `changed` is then exact again.
    mutating func store(_ image: [UInt8], changed: [Range<Int>]) throws(RingError)
}

/// Keeps the image in memory: no persistence across restarts. For tests and for boards without storage.
public struct RAMRingStorage: RingStorage, Sendable {
    /// The image last stored, `nil` before the first store.
    public private(set) var image: [UInt8]?
    /// Number of `store` calls (one per ring commit).
    public private(set) var storeCount = 0
    /// Bytes written over all stores (sum of the changed ranges).
    public private(set) var bytesWritten = 0

    public init(image: [UInt8]? = nil) { self.image = image }

    public mutating func load() throws(RingError) -> [UInt8]? { image }

    public mutating func store(_ image: [UInt8], changed: [Range<Int>]) throws(RingError) {
        self.image = image
        storeCount += 1
        bytesWritten += changed.reduce(0) { $0 + $1.count }
    }
}
