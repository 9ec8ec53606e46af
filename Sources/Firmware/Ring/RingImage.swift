/// The byte layout of the 512-byte ring image (pure; no I/O). Little-endian throughout.
///
/// ```
/// 0x000 ..< 0x040   header slot 0 (64 bytes = 4 pages)
/// 0x040 ..< 0x080   header slot 1 (64 bytes = 4 pages)
/// 0x080 ..< 0x200   data area (384 bytes), a circular byte buffer of encoded records (`RecordCoding`)
/// ```
/// Header slot, version 2 (the context is the state after the last record removed, which the oldest record is
/// coded against):
/// ```
///  0  "ER" magic (0x45 0x52)        2     20  context: last sequence before the oldest   u32
///  2  version = 2                   1     24  context: end before the oldest, Unix s     u32
///  3  slot index (0/1)              1     28  context: P1 month peak W, time          2 × u32
///  4  generation                  u32     36  context: ADE9000 month peak W, time     2 × u32
///  8  record count                u16     44  consumer 0…3 position: how many of the stored records it
/// 10  run 1 offset, length    2 × u16         acknowledged                       4 × u8 (0xFF: no consumer)
/// 14  run 2 offset, length    2 × u16     48  consumer 0…3 name: FNV-1a 32 of the UTF-8 name, xor-folded to
/// 18  nominal interval, s         u16         16 bits (``ConsumerID/nameHash``)                   4 × u16
///                                         56  storage epoch (random, drawn when the ring starts empty)  u32
///                                         60  CRC-32 (IEEE) of bytes 0..<60 followed by the live bytes
///                                             of run 1 and run 2
/// ```
/// Within its slot the header is stored rotated: header byte `i` is at slot byte `(i + r) % 64`, with `r`
/// (``rotation(for:)``) moving on by one every 256 generations, so the bytes every commit rewrites do not wear the
/// same EEPROM cells year after year. Images from before the rotation have `r` = 0 and load unchanged.
/// Records are stored oldest first in at most two *runs* (contiguous, possibly wrapping stretches of the data
/// area); normally there is one, a second appears only for the instant between the two commits of a merge.
/// The slot with the highest generation (serial-number arithmetic) whose CRC matches is the current image.
/// A consumer slot belongs to the consumer whose name hashes to the stored value, so the order of the forwarders
/// in the configuration does not matter. A position is a record count, not a sequence number, so four positions,
/// four names and the epoch fit where version 1 had four sequence numbers: the data area keeps its 384 bytes.
/// The ring holds at most ``maxRecords`` records, so a position always fits its byte.
///
/// **Version 1** (before consumer names and the epoch) differs only in bytes 44..<60: four acknowledged *sequence
/// numbers* (u32, 0xFFFFFFFF: none), for consumers known by their place in the configuration. A version-1 image is
/// migrated when loaded (``ReadingRing``): records and context are kept, the positions are not (nobody knows whose
/// they were), a new epoch is drawn, and the next commit writes a version-2 header into the other slot as usual
/// (the version-1 slot stays valid until then, so migrating is as crash-safe as any commit).
enum RingImage {
    static let size = 512
    static let slotSize = 64
    static let slotCount = 2
    static let dataStart = slotSize * slotCount
    static let dataSize = size - dataStart
    static let magic: (UInt8, UInt8) = (0x45, 0x52)
    static let version: UInt8 = 2
    static let noConsumer = UInt32.max
    static let noPosition: UInt8 = 0xFF
    static let maxConsumers = 4
    /// A position is one byte (0xFF: none), so the ring never holds more records than this.
    static let maxRecords = 254
    static let crcOffset = 60

    struct Run: Equatable {
        var offset: Int
        var length: Int
    }

    struct Header: Equatable {
        var slot: Int
        var generation: UInt32
        var count: Int
        var runs: [Run]  // exactly two; unused ones have length 0
        var nominalInterval: Int64
        var context: RecordCoding.Context
        /// Per consumer slot: how many of the stored records it acknowledged; `nil` for a free slot.
        var positions: [Int?]  // maxConsumers entries
        /// Per consumer slot: the 16-bit name hash (meaningful where the position is set).
        var names: [UInt16] = Array(repeating: 0, count: RingImage.maxConsumers)
        /// The storage epoch (``ReadingRing/epoch``).
        var epoch: UInt32 = 1
        /// The version the slot was read in (written slots are always ``RingImage/version``).
        var version: UInt8 = RingImage.version
        /// Version 1 only: the acknowledged sequence numbers of consumers 0…3 (by place in the configuration).
        var version1Cursors: [UInt32?] = []
    }

    static func slotRange(_ slot: Int) -> Range<Int> { slot * slotSize..<(slot + 1) * slotSize }

    /// Writes `header` into its slot of `image` (version 2), with the CRC over the header and the live data.
    static func write(_ header: Header, into image: inout [UInt8]) {
        var bytes: [UInt8] = [magic.0, magic.1, version, UInt8(header.slot)]
        bytes.appendRingLE(header.generation, 4)
        bytes.appendRingLE(UInt32(header.count), 2)
        for run in header.runs {
            bytes.appendRingLE(UInt32(run.offset), 2)
            bytes.appendRingLE(UInt32(run.length), 2)
        }
        bytes.appendRingLE(UInt32(header.nominalInterval), 2)
        bytes.appendRingLE(header.context.lastSequence, 4)
        bytes.appendRingLE(UInt32(header.context.end), 4)
        bytes.appendRingLE(UInt32(header.context.peakW), 4)
        bytes.appendRingLE(UInt32(header.context.peakTime), 4)
        bytes.appendRingLE(UInt32(header.context.adePeakW), 4)
        bytes.appendRingLE(UInt32(header.context.adePeakTime), 4)
        for position in header.positions {
            bytes.append(position.map { UInt8(clamping: min($0, maxRecords)) } ?? noPosition)
        }
        for (name, position) in zip(header.names, header.positions) {
            bytes.appendRingLE(position == nil ? 0 : UInt32(name), 2)
        }
        bytes.appendRingLE(header.epoch, 4)
        var crc = RingCRC32()
        crc.update(bytes)
        for run in header.runs { crc.update(dataBytes(image, run)) }
        bytes.appendRingLE(crc.value, 4)
        let base = header.slot * slotSize
        let rotation = rotation(for: header.generation)
        for index in bytes.indices { image[base + (index + rotation) % slotSize] = bytes[index] }
    }

    /// Where the header's byte 0 sits in its slot (the slot holds the 64 header bytes rotated by this much): moves on by
    /// one byte every 256 generations, so the bytes rewritten at every commit (generation, CRC, run offset, context
    /// end and sequence) wander over the whole slot instead of wearing the same EEPROM cells. An image written before
    /// rotation existed has rotation 0 at any generation, which ``readHeader(_:slot:)`` finds like any other.
    static func rotation(for generation: UInt32) -> Int { Int((generation >> 8) % UInt32(slotSize)) }

    /// Reads and checks one header slot (version 2, or version 1 to migrate); `nil` when the magic, version,
    /// layout or CRC is wrong.
    /// The slot is searched at every rotation (``rotation(for:)``); a rotation whose bytes hold the magic, a known
    /// version and the slot's index is checked further, and the one with the highest generation that passes wins.
    static func readHeader(_ image: [UInt8], slot: Int) -> Header? {
        guard image.count == size else { return nil }
        let base = slot * slotSize
        var best: Header?
        for rotation in 0..<slotSize
        where image[base + rotation] == magic.0 && image[base + (rotation + 1) % slotSize] == magic.1 {
            let bytes = (0..<slotSize).map { image[base + ($0 + rotation) % slotSize] }
            guard let header = readHeader(bytes, slot: slot, image: image) else { continue }
            if let found = best, Int32(bitPattern: found.generation &- header.generation) >= 0 { continue }
            best = header
        }
        return best
    }

    /// Reads and checks one header, `bytes` being its 64 bytes in order (un-rotated); the data it describes are in
    /// `image`.
    private static func readHeader(_ bytes: [UInt8], slot: Int, image: [UInt8]) -> Header? {
        func le(_ offset: Int, _ count: Int) -> UInt32 {
            (0..<count).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
        }
        guard bytes[0] == magic.0, bytes[1] == magic.1, bytes[2] == version || bytes[2] == 1,
            bytes[3] == UInt8(slot)
        else { return nil }
        let runs = [
            Run(offset: Int(le(10, 2)), length: Int(le(12, 2))), Run(offset: Int(le(14, 2)), length: Int(le(16, 2))),
        ]
        guard runs.allSatisfy({ $0.offset < dataSize && $0.length <= dataSize }),
            runs[0].length + runs[1].length <= dataSize
        else { return nil }
        var crc = RingCRC32()
        crc.update(bytes[0..<crcOffset])
        for run in runs { crc.update(dataBytes(image, run)) }
        guard crc.value == le(crcOffset, 4) else { return nil }
        let nominal = Int64(le(18, 2))
        guard nominal > 0 else { return nil }
        let context = RecordCoding.Context(
            end: Int64(le(24, 4)), peakW: Int64(le(28, 4)), peakTime: Int64(le(32, 4)), lastSequence: le(20, 4),
            adePeakW: Int64(le(36, 4)), adePeakTime: Int64(le(40, 4)))
        var header = Header(
            slot: slot, generation: le(4, 4), count: Int(le(8, 2)), runs: runs, nominalInterval: nominal,
            context: context, positions: Array(repeating: nil, count: maxConsumers))
        if bytes[2] == 1 {
            header.version = 1
            header.epoch = 0
            header.version1Cursors = (0..<maxConsumers).map { index in
                let value = le(44 + 4 * index, 4)
                return value == noConsumer ? nil : value
            }
        } else {
            header.positions = (0..<maxConsumers).map { index in
                let value = bytes[44 + index]
                return value == noPosition ? nil : Int(value)
            }
            header.names = (0..<maxConsumers).map { UInt16(le(48 + 2 * $0, 2)) }
            header.epoch = le(56, 4)
        }
        return header
    }

    /// The bytes of `run`, unwrapped from the circular data area.
    static func dataBytes(_ image: [UInt8], _ run: Run) -> [UInt8] {
        (0..<run.length).map { image[dataStart + (run.offset + $0) % dataSize] }
    }
}

/// CRC-32/ISO-HDLC (the zlib/Ethernet CRC): reflected polynomial 0xEDB88320, init and final XOR 0xFFFFFFFF.
/// Check value: CRC-32 of "123456789" is 0xCBF43926.
struct RingCRC32: Sendable {
    private var state: UInt32 = 0xFFFF_FFFF
    init() {}
    var value: UInt32 { state ^ 0xFFFF_FFFF }

    /// The byte-wise lookup table of the reflected polynomial.
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1 }
        return value
    }

    mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let table = Self.table
        for byte in bytes { state = table[Int((state ^ UInt32(byte)) & 0xFF)] ^ (state >> 8) }
    }

    static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc = RingCRC32()
        crc.update(bytes)
        return crc.value
    }
}

extension [UInt8] {
    mutating func appendRingLE(_ value: UInt32, _ count: Int) {
        for index in 0..<count { append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }
    mutating func appendRingLE64(_ value: UInt64) {
        for index in 0..<8 { append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }
}
