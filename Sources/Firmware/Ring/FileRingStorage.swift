#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Keeps the ring image in a file, crash-safe: two image slots A and B, each
/// `magic "ERFS" | generation u64 | CRC-32 u32 | 512-byte image` (528 bytes, little-endian), at file offsets
/// 0 and 4096 so they never share a file-system block.
///
/// `store` writes the whole new image into the slot that does *not* hold the newest image, with
/// generation + 1, then `fsync`s. `load` reads both slots and returns the image of the valid slot (magic and
/// CRC-32 over generation and image) with the highest generation. A torn or lost write can only damage the
/// slot being written, so `load` returns the previous image or the new one, never a mix.
/// The first `store` creates the file (mode 0644) and `fsync`s its directory as well.
public struct FileRingStorage: RingStorage, Sendable {
    public let path: String
    /// Generation of the newest valid slot, 0 when none.
    public private(set) var generation: UInt64 = 0
    /// Slot index (0 = A, 1 = B) of the newest valid image, `nil` when none.
    public private(set) var currentSlot: Int?

    static let magic: [UInt8] = Array("ERFS".utf8)
    static let slotOffsets = [0, 4096]
    static let slotSize = 4 + 8 + 4 + 512

    public init(path: String) { self.path = path }

    public mutating func load() throws(RingError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let code = errno
            if code == ENOENT { return nil }
            throw RingError(.storage, "ring file \(path): open for reading failed", errno: code)
        }
        defer { close(fd) }
        var best: (generation: UInt64, slot: Int, image: [UInt8])?
        for (slot, offset) in Self.slotOffsets.enumerated() {
            let bytes = try readFully(fd, count: Self.slotSize, at: offset)
            guard let (generation, image) = Self.parseSlot(bytes) else { continue }
            if let current = best, current.generation >= generation { continue }
            best = (generation, slot, image)
        }
        generation = best?.generation ?? 0
        currentSlot = best?.slot
        return best?.image
    }

    public mutating func store(_ image: [UInt8], changed: [Range<Int>]) throws(RingError) {
        guard image.count == RingImage.size else {
            throw RingError(.storage, "ring file \(path): image is \(image.count) bytes, expected \(RingImage.size)")
        }
        let slot = currentSlot.map { 1 - $0 } ?? 0
        let nextGeneration = generation &+ 1
        let bytes = Self.slotBytes(generation: nextGeneration, image: image)
        let existed = access(path, F_OK) == 0
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RingError(.storage, "ring file \(path): open for writing failed", errno: errno) }
        defer { close(fd) }
        try writeFully(fd, bytes, at: Self.slotOffsets[slot])
        try retryingInterrupts("fsync") { fsync(fd) }
        if !existed { syncDirectory() }
        generation = nextGeneration
        currentSlot = slot
    }

    static func slotBytes(generation: UInt64, image: [UInt8]) -> [UInt8] {
        var bytes = magic
        bytes.appendRingLE64(generation)
        var crc = RingCRC32()
        crc.update(bytes[4..<12])
        crc.update(image)
        bytes.appendRingLE(crc.value, 4)
        return bytes + image
    }

    static func parseSlot(_ bytes: [UInt8]) -> (UInt64, [UInt8])? {
        guard bytes.count == slotSize, Array(bytes[0..<4]) == magic else { return nil }
        let generation = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[4 + $1]) << (8 * $1) }
        let stored = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[12 + $1]) << (8 * $1) }
        let image = Array(bytes[16...])
        var crc = RingCRC32()
        crc.update(bytes[4..<12])
        crc.update(image)
        guard crc.value == stored else { return nil }
        return (generation, image)
    }

    /// Reads up to `count` bytes at `offset`; a short file gives a short result (an unwritten slot).
    private func readFully(_ fd: Int32, count: Int, at offset: Int) throws(RingError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let result = buffer.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress.map { $0 + done }, count - done, off_t(offset + done))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw RingError(.storage, "ring file \(path): pread at \(offset + done) failed", errno: errno)
            }
            if result == 0 { break }
            done += result
        }
        return Array(buffer[..<done])
    }

    private func writeFully(_ fd: Int32, _ bytes: [UInt8], at offset: Int) throws(RingError) {
        var done = 0
        while done < bytes.count {
            let result = bytes.withUnsafeBytes { raw in
                pwrite(fd, raw.baseAddress.map { $0 + done }, bytes.count - done, off_t(offset + done))
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw RingError(.storage, "ring file \(path): pwrite at \(offset + done) failed", errno: errno)
            }
            done += result
        }
    }

    private func retryingInterrupts(_ operation: String, _ call: () -> Int32) throws(RingError) {
        while call() != 0 {
            if errno == EINTR { continue }
            throw RingError(.storage, "ring file \(path): \(operation) failed", errno: errno)
        }
    }

    /// Makes the new directory entry durable; best effort (some file systems refuse to fsync a directory).
    private func syncDirectory() {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}
