/// An exact decimal number as a P1 meter prints it: `mantissa × 10^-scale`.
///
/// DSMR values are fixed-point (`F9(3,3)` → `000123.456`); keeping them as an integer mantissa and a decimal scale
/// means no binary rounding ever happens while parsing, sums of energy registers are exact, and the JSON output
/// prints the decimals exactly as the meter sent them (`0.000` stays `0.000`). Convert to `Double` only at the edges.
public struct P1Decimal: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The digits as an integer (sign included).
    public var mantissa: Int64
    /// How many of the digits are decimals (0…18).
    public var scale: Int

    public init(mantissa: Int64, scale: Int = 0) {
        self.mantissa = mantissa
        self.scale = scale
    }

    public init(_ integer: Int64) { self.init(mantissa: integer, scale: 0) }

    /// Parses `[+-]digits[.digits]` as printed by a meter (leading zeros allowed, at most 18 digits).
    /// - Returns: `nil` when the text is not of that form or has more than 18 significant digits.
    public init?(parsing text: some StringProtocol) {
        guard let value = Self.parse(Array(text.utf8)[...]) else { return nil }
        self = value
    }

    /// Parses the ASCII bytes of a number; the framer and line parser call this on slices of the line buffer.
    @inlinable
    public static func parse(_ bytes: some Collection<UInt8>) -> P1Decimal? {
        var mantissa: Int64 = 0
        var scale = 0
        var negative = false
        var sawDigit = false
        var sawPoint = false
        var index = bytes.startIndex
        if index != bytes.endIndex, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
            negative = bytes[index] == UInt8(ascii: "-")
            index = bytes.index(after: index)
        }
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte >= 0x30 && byte <= 0x39 {
                let (times10, overflow1) = mantissa.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(Int64(byte &- 0x30))
                if overflow1 || overflow2 { return nil }
                mantissa = sum
                if sawPoint { scale += 1 }
                sawDigit = true
            } else if byte == UInt8(ascii: "."), !sawPoint {
                sawPoint = true
            } else {
                return nil
            }
            index = bytes.index(after: index)
        }
        guard sawDigit, scale <= 18 else { return nil }
        return P1Decimal(mantissa: negative ? -mantissa : mantissa, scale: scale)
    }

    /// The value as `Double` (for display and arithmetic at the edges only).
    public var doubleValue: Double {
        var divisor = 1.0
        for _ in 0..<scale { divisor *= 10 }
        return Double(mantissa) / divisor
    }

    /// The same value with `newScale` decimals; `nil` if digits would be lost or the mantissa overflows.
    public func rescaled(to newScale: Int) -> P1Decimal? {
        if newScale == scale { return self }
        if newScale > scale {
            var m = mantissa
            for _ in scale..<newScale {
                let (r, o) = m.multipliedReportingOverflow(by: 10)
                if o { return nil }
                m = r
            }
            return P1Decimal(mantissa: m, scale: newScale)
        }
        var m = mantissa
        for _ in newScale..<scale {
            if m % 10 != 0 { return nil }
            m /= 10
        }
        return P1Decimal(mantissa: m, scale: newScale)
    }

    /// Multiplies by 10^`power` exactly by moving the decimal point (kWh → Wh is `shifted(by: 3)`). A result
    /// beyond Int64 saturates at `Int64.max`/`Int64.min` (never wraps into a plausible value), so range checks
    /// downstream refuse it.
    public func shifted(by power: Int) -> P1Decimal {
        if power <= scale { return P1Decimal(mantissa: mantissa, scale: scale - power) }
        var m = mantissa
        for _ in 0..<(power - scale) {
            let (product, overflow) = m.multipliedReportingOverflow(by: 10)
            if overflow { return P1Decimal(mantissa: m < 0 ? .min : .max, scale: 0) }
            m = product
        }
        return P1Decimal(mantissa: m, scale: 0)
    }

    /// Rounds half away from zero to an integer.
    public var roundedInteger: Int64 {
        guard scale > 0 else { return mantissa }
        var divisor: Int64 = 1
        for _ in 0..<scale { divisor *= 10 }
        let (q, r) = mantissa.quotientAndRemainder(dividingBy: divisor)
        if abs(r) * 2 >= divisor { return mantissa < 0 ? q - 1 : q + 1 }
        return q
    }

    /// Exact sum (the larger scale is kept); `nil` on overflow.
    public static func sum(_ a: P1Decimal, _ b: P1Decimal) -> P1Decimal? {
        let s = max(a.scale, b.scale)
        guard let x = a.rescaled(to: s), let y = b.rescaled(to: s) else { return nil }
        let (r, o) = x.mantissa.addingReportingOverflow(y.mantissa)
        return o ? nil : P1Decimal(mantissa: r, scale: s)
    }

    /// Exact difference (the larger scale is kept); `nil` on overflow.
    public static func difference(_ a: P1Decimal, _ b: P1Decimal) -> P1Decimal? {
        sum(a, P1Decimal(mantissa: -b.mantissa, scale: b.scale))
    }

    public static func < (lhs: P1Decimal, rhs: P1Decimal) -> Bool {
        let s = max(lhs.scale, rhs.scale)
        if let x = lhs.rescaled(to: s), let y = rhs.rescaled(to: s) { return x.mantissa < y.mantissa }
        return lhs.doubleValue < rhs.doubleValue
    }

    /// Numeric equality (`1.10 == 1.1`); use `mantissa`/`scale` to compare the printed form.
    public static func == (lhs: P1Decimal, rhs: P1Decimal) -> Bool {
        let s = max(lhs.scale, rhs.scale)
        guard let x = lhs.rescaled(to: s), let y = rhs.rescaled(to: s) else { return false }
        return x.mantissa == y.mantissa
    }

    public func hash(into hasher: inout Hasher) {
        var m = mantissa
        var s = scale
        while s > 0 && m % 10 == 0 {
            m /= 10
            s -= 1
        }
        hasher.combine(m)
        hasher.combine(s)
    }

    /// The exact decimal text with the scale as sent and leading zeros removed: `000004.426` → `4.426`,
    /// `0230.0` → `230.0`, `-0.926` → `-0.926`. Valid as a JSON number.
    public var description: String {
        let magnitude = mantissa.magnitude
        var digits = String(magnitude)
        if scale > 0 {
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        }
        return mantissa < 0 ? "-" + digits : digits
    }

    /// Encodes as the exact decimal string (`"4.426"`), so no precision is lost through `Codable`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = P1Decimal(parsing: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "P1Decimal: expected a decimal number like 4.426, got \(text)")
        }
        self = value
    }
}
