/// An OBIS code (IEC 62056-61) `A-B:C.D.E*F` as used on the P1 port: `1-0:1.8.1`, `0-1:24.2.1`, EasyMeter's
/// `1-0:1.8.0*255`. Value group F defaults to 255 ("not used"), so `1-0:1.8.0*255` equals `1-0:1.8.0`.
public struct ObisCode: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// Media (0 abstract, 1 electricity).
    public var a: UInt8
    /// Channel (0 = the meter itself, 1…4 = M-Bus devices).
    public var b: UInt8
    public var c: UInt8
    public var d: UInt8
    public var e: UInt8
    public var f: UInt8

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, _ e: UInt8, _ f: UInt8 = 255) {
        (self.a, self.b, self.c, self.d, self.e, self.f) = (a, b, c, d, e, f)
    }

    /// Parses `A-B:C.D.E` or `A-B:C.D.E*F`. Each group is 0…255.
    public init?(parsing text: some StringProtocol) {
        guard let code = Self.parse(Array(text.utf8)[...]) else { return nil }
        self = code
    }

    /// A literal in source code; an invalid literal is a programmer error and traps.
    public init(stringLiteral value: String) {
        guard let code = ObisCode(parsing: value) else { preconditionFailure("invalid OBIS literal \(value)") }
        self = code
    }

    /// Parses the ASCII bytes of a complete OBIS code.
    @inlinable
    public static func parse(_ bytes: some Collection<UInt8>) -> ObisCode? {
        var groups: (Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 255)
        var group = 0
        var current = -1
        // separators expected after groups 0…4, and optionally `*` after group 4
        for byte in bytes {
            if byte >= 0x30 && byte <= 0x39 {
                current = (current < 0 ? 0 : current) * 10 + Int(byte &- 0x30)
                if current > 255 { return nil }
                continue
            }
            guard current >= 0 else { return nil }
            let expected: UInt8
            switch group {
            case 0: expected = UInt8(ascii: "-")
            case 1: expected = UInt8(ascii: ":")
            case 2, 3: expected = UInt8(ascii: ".")
            case 4: expected = UInt8(ascii: "*")
            default: return nil
            }
            guard byte == expected else { return nil }
            Self.store(current, group, &groups)
            group += 1
            current = -1
        }
        guard current >= 0, group == 4 || group == 5 else { return nil }
        Self.store(current, group, &groups)
        return ObisCode(
            UInt8(groups.0), UInt8(groups.1), UInt8(groups.2), UInt8(groups.3), UInt8(groups.4), UInt8(groups.5))
    }

    /// Parses a complete OBIS code from a byte buffer: the parser's hot path (every data line starts with one).
    /// Accepts exactly what the generic `parse(_:)` accepts: five groups separated by `-`, `:`, `.`, `.`, an
    /// optional `*F`, each group one or more digits (leading zeros allowed) with a value of at most 255.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> ObisCode? {
        var index = 0
        /// One group's digits; `nil` when there is none or the value exceeds 255.
        func group() -> UInt8? {
            var value = 0
            let first = index
            while index < bytes.count, bytes[index] &- 0x30 < 10 {
                value = value * 10 + Int(bytes[index] &- 0x30)
                if value > 255 { return nil }
                index += 1
            }
            return index > first ? UInt8(value) : nil
        }
        /// Consumes `separator` if it is the next byte.
        func separator(_ separator: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == separator else { return false }
            index += 1
            return true
        }
        guard let a = group(), separator(UInt8(ascii: "-")), let b = group(), separator(UInt8(ascii: ":")),
            let c = group(), separator(UInt8(ascii: ".")), let d = group(), separator(UInt8(ascii: ".")),
            let e = group()
        else { return nil }
        if index == bytes.count { return ObisCode(a, b, c, d, e) }
        guard separator(UInt8(ascii: "*")), let f = group(), index == bytes.count else { return nil }
        return ObisCode(a, b, c, d, e, f)
    }

    @usableFromInline
    static func store(_ value: Int, _ group: Int, _ groups: inout (Int, Int, Int, Int, Int, Int)) {
        switch group {
        case 0: groups.0 = value
        case 1: groups.1 = value
        case 2: groups.2 = value
        case 3: groups.3 = value
        case 4: groups.4 = value
        default: groups.5 = value
        }
    }

    /// The same code on channel `b`.
    public func onChannel(_ channel: UInt8) -> ObisCode { ObisCode(a, channel, c, d, e, f) }

    var packed: UInt64 {
        UInt64(a) << 40 | UInt64(b) << 32 | UInt64(c) << 24 | UInt64(d) << 16 | UInt64(e) << 8 | UInt64(f)
    }

    public static func < (lhs: ObisCode, rhs: ObisCode) -> Bool { lhs.packed < rhs.packed }

    public static func == (lhs: ObisCode, rhs: ObisCode) -> Bool { lhs.packed == rhs.packed }

    public func hash(into hasher: inout Hasher) { hasher.combine(packed) }

    /// `1-0:1.8.1`; `*F` is appended only when F is not 255.
    public var description: String {
        let base = "\(a)-\(b):\(c).\(d).\(e)"
        return f == 255 ? base : base + "*\(f)"
    }
}
