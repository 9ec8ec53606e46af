/// Byte-level faults a real P1 line produces (dsmr_parser and ESPHome issue threads: CRC failures from transport
/// problems, ser2net 0xFF bytes, cut-off telegrams after reconnects).
public enum P1Fault: Sendable, Hashable {
    /// Flip one random bit in each of `count` random bytes between `/` and `!`.
    case bitFlips(count: Int)
    /// Remove `count` random bytes between `/` and `!`.
    case droppedBytes(count: Int)
    /// Prepend `count` random bytes (never `/`), as after connecting mid-stream.
    case garbage(count: Int)
    /// Change the CRC digits after `!`.
    case wrongCRC
    /// Insert a run of `length` 0xFF bytes at a random position between `/` and `!` (line noise, telnet IAC).
    case lineNoise(length: Int)
    /// Keep only the first `fraction` (0…1) of the telegram.
    case truncated(fraction: Double)
}

/// Applies `P1Fault`s to telegram bytes, reproducibly (seeded).
public struct P1FaultInjector: Sendable {
    public var random: P1SeededRandom

    public init(seed: UInt64) { random = P1SeededRandom(seed: seed) }

    /// The telegram with `fault` applied.
    public mutating func apply(_ fault: P1Fault, to telegram: [UInt8]) -> [UInt8] {
        var bytes = telegram
        let start = (bytes.firstIndex(of: UInt8(ascii: "/")) ?? 0) + 1
        let bang = bytes.lastIndex(of: UInt8(ascii: "!")) ?? bytes.count
        guard bang > start else { return bytes }
        switch fault {
        case .bitFlips(let count):
            for _ in 0..<count {
                let index = Int.random(in: start..<bang, using: &random)
                var flipped = bytes[index] ^ (1 << UInt8.random(in: 0...6, using: &random))
                // keep the framing characters out so the fault stays a CRC fault
                if flipped == UInt8(ascii: "/") || flipped == UInt8(ascii: "!") || flipped == UInt8(ascii: "\n") {
                    flipped ^= 0x40
                }
                bytes[index] = flipped
            }
        case .droppedBytes(let count):
            for _ in 0..<min(count, bang - start) {
                let end = bytes.lastIndex(of: UInt8(ascii: "!")) ?? bytes.count
                guard end > start else { break }
                bytes.remove(at: Int.random(in: start..<end, using: &random))
            }
        case .garbage(let count):
            let noise = (0..<count).map { _ in
                var byte = UInt8.random(in: 0...255, using: &random)
                if byte == UInt8(ascii: "/") { byte = 0 }
                return byte
            }
            bytes = noise + bytes
        case .wrongCRC:
            if bang + 1 < bytes.count, let digit = P1FaultInjector.hexValue(bytes[bang + 1]) {
                bytes[bang + 1] = Array("0123456789ABCDEF".utf8)[Int((digit + 1) % 16)]
            } else {
                bytes.insert(contentsOf: Array("0000".utf8), at: bang + 1)
            }
        case .lineNoise(let length):
            let index = Int.random(in: start..<bang, using: &random)
            bytes.insert(contentsOf: [UInt8](repeating: 0xFF, count: length), at: index)
        case .truncated(let fraction):
            let kept = fraction.isNaN ? 0 : min(max(fraction, 0), 1)
            bytes = Array(bytes.prefix(Int(Double(bytes.count) * kept)))
        }
        return bytes
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
