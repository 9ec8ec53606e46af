/// CRC-16/ARC: reflected polynomial 0xA001 (x¹⁶+x¹⁵+x²+1), initial value 0, no final XOR.
///
/// DSMR 4.x/5.x P1 Companion Standard §6.2 (and the Luxmetering Smarty spec, which calls it "IBM CRC16, poly 0x8005")
/// compute it over every byte from `/` through `!` inclusive. Check value: "123456789" → 0xBB3D.
/// The framer feeds it one byte at a time as bytes arrive, so no telegram is ever buffered for the check.
public struct CRC16: Sendable, Hashable {
    public private(set) var value: UInt16

    public init(value: UInt16 = 0) { self.value = value }

    static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
        return crc
    }

    /// Adds one byte.
    public mutating func update(_ byte: UInt8) {
        value = (value >> 8) ^ Self.table[Int(UInt8(truncatingIfNeeded: value) ^ byte)]
    }

    /// Adds one byte using a table the caller hoisted out of its loop (the framer's hot path).
    @inline(__always)
    mutating func update(_ byte: UInt8, table: UnsafeBufferPointer<UInt16>) {
        value = (value >> 8) ^ table[Int(UInt8(truncatingIfNeeded: value) ^ byte)]
    }

    /// Adds every byte of `bytes`.
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        for byte in bytes { update(byte) }
    }

    /// The CRC of `bytes` in one call.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc = CRC16()
        crc.update(bytes)
        return crc.value
    }
}
