import HAL

/// CRC_SPI: CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR) over the
/// data bytes of one read, most significant byte first (spec §1.6, §12.9).
///
/// Vectors: `"123456789"` → 0x29B1; `00 80` → 0x8C87; `00 00 00 00` → 0x84C0.
public enum CRC16CCITTFalse {
    public static func checksum<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt16 {
        var crc: UInt16 = 0xFFFF
        for byte in bytes {
            crc = crc << 8 ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    /// The CRC register after shifting `index` through it from zero: one lookup per byte instead of 8 shifts
    /// (every read of the driver is checked).
    static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}

/// Pure SPI framing of the ADE9000 (spec §1.2–§1.7). No I/O here; the driver passes these frames to its bus.
public enum Framing {
    /// Bytes of the trailing CRC_SPI on a non-burst read.
    public static let crcByteCount = 2

    /// The 16-bit command header, big-endian: address in bits 15:4, read flag in bit 3, bits 2:0 zero.
    public static func commandWord(_ address: RegisterAddress, read: Bool) -> [UInt8] {
        let word = address.rawValue << 4 | (read ? 0x0008 : 0)
        return [UInt8(truncatingIfNeeded: word >> 8), UInt8(truncatingIfNeeded: word)]
    }

    /// Decodes a command header: the address and whether bit 3 (read) is set.
    public static func decodeCommandWord(_ high: UInt8, _ low: UInt8) -> (address: RegisterAddress, read: Bool) {
        let word = UInt16(high) << 8 | UInt16(low)
        return (RegisterAddress(rawValue: word >> 4), word & 0x0008 != 0)
    }

    /// `value` as `Value.bitWidth / 8` big-endian bytes.
    public static func bigEndianBytes<Value: FixedWidthInteger & UnsignedInteger>(_ value: Value) -> [UInt8] {
        stride(from: Value.bitWidth - 8, through: 0, by: -8).map { UInt8(truncatingIfNeeded: value >> $0) }
    }

    /// Big-endian bytes → integer (the first `Value.bitWidth / 8` bytes are used).
    public static func decodeBigEndian<Value: FixedWidthInteger & UnsignedInteger>(
        _ bytes: some Collection<UInt8>, as _: Value.Type = Value.self
    ) -> Value {
        bytes.prefix(Value.bitWidth / 8).reduce(0) { $0 << 8 | Value($1) }
    }

    /// One write transaction: header (bit 3 clear) then 2 or 4 data bytes. Writes carry no CRC (spec §1.4).
    public static func writeOperations<Value, Access: WritableAccess>(
        _ register: TypedRegister<Value, Access>, _ value: Value
    ) -> [SPIOperation] {
        // Writes are rare (configuration, calibration): the plain form, unlike the per-read check below.
        [.write(commandWord(register.address, read: false) + bigEndianBytes(value))]
    }

    /// One read transaction: header (bit 3 set), then the data bytes and, when `withCRC`, the 2 CRC_SPI bytes.
    public static func readOperations<Value, Access>(_ register: TypedRegister<Value, Access>, withCRC: Bool = true)
        -> [SPIOperation]
    {
        [
            .write(commandWord(register.address, read: true)),
            .read(count: Value.bitWidth / 8 + (withCRC ? crcByteCount : 0)),
        ]
    }

    /// One burst read of `count` consecutive 32-bit registers starting at `start` (no CRC in a burst, spec §1.7).
    public static func burstReadOperations(from start: RegisterAddress, count: Int) -> [SPIOperation] {
        [.write(commandWord(start, read: true)), .read(count: 4 * count)]
    }

    /// The result of checking a CRC-carrying reply.
    public enum ReplyCheck<Value: Sendable & Equatable>: Equatable, Sendable {
        case valid(Value)
        /// Data and CRC disagree: `received` is the CRC on the wire, `computed` the CRC of the data bytes.
        case crcMismatch(received: UInt16, computed: UInt16)
        /// Fewer bytes than expected came back.
        case truncated(count: Int)
    }

    /// Splits a reply of `Value.bitWidth / 8 + 2` bytes into data and CRC and checks the CRC (registers of up to
    /// 8 data bytes; ADE9000 registers have 2 or 4).
    public static func checkReply<Value: FixedWidthInteger & UnsignedInteger & Sendable>(
        _ reply: [UInt8], as _: Value.Type = Value.self
    ) -> ReplyCheck<Value> {
        switch checkReply(reply, dataCount: Value.bitWidth / 8) {
        case .valid(let word): .valid(Value(truncatingIfNeeded: word))
        case .crcMismatch(let received, let computed): .crcMismatch(received: received, computed: computed)
        case .truncated(let count): .truncated(count: count)
        }
    }

    /// ``checkReply(_:as:)`` by data byte count, without generic code: the driver is generic over its bus, so the
    /// generic version often ran unspecialized (a generic `reduce` over a slice per read, with metadata looked up
    /// at run time), which was a seventh of the ADE9000 fuzz target's time. `dataCount` comes from a register's
    /// declared width (1…8), never from the wire.
    static func checkReply(_ reply: [UInt8], dataCount: Int) -> ReplyCheck<UInt64> {
        precondition((1...8).contains(dataCount), "register width of \(dataCount) bytes")
        guard reply.count >= dataCount + crcByteCount else { return .truncated(count: reply.count) }
        var word: UInt64 = 0
        for index in 0..<dataCount { word = word << 8 | UInt64(reply[index]) }
        let received = UInt16(reply[dataCount]) << 8 | UInt16(reply[dataCount + 1])
        let computed = CRC16CCITTFalse.checksum(reply[0..<dataCount])
        guard received == computed else { return .crcMismatch(received: received, computed: computed) }
        return .valid(word)
    }

    /// Splits a burst reply into big-endian 32-bit words.
    public static func decodeBurst(_ reply: [UInt8]) -> [UInt32] {
        stride(from: 0, to: reply.count - reply.count % 4, by: 4).map {
            decodeBigEndian(reply[$0..<($0 + 4)], as: UInt32.self)
        }
    }

    /// Whether `address` lies in a region that bursts when CONFIG1.BURST_EN = 1 (0x500–0x63C, 0x680–0x6BC).
    public static func isBurstCapable(_ address: RegisterAddress) -> Bool {
        (0x500...0x63C).contains(address.rawValue) || (0x680...0x6BC).contains(address.rawValue)
    }

    /// The 45-bit energy accumulator from xHR_HI (signed 32 MSBs) and xHR_LO (13 LSBs in bits 12:0), spec §12.3:
    /// value = HI (as Int32) · 2¹³ + (LO & 0x1FFF).
    public static func energyAccumulator(high: UInt32, low: UInt32) -> Int64 {
        Int64(Int32(bitPattern: high)) * 8192 + Int64(low & 0x1FFF)
    }
}
