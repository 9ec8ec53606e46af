/// A unit as printed after `*` in a P1 value (`(001581.123*kWh)`). Units not listed here are kept as `.other`.
public enum P1Unit: Hashable, Sendable, CustomStringConvertible, Codable {
    case kWh, Wh, kW, W, kvarh, varh, kvar, `var`, kVA, VA, V, A, m3, GJ, s, Hz
    case other(String)

    /// Maps the unit text; `m³` (sent by one meter in UTF-8) is read as `m3`.
    public init(symbol: String) {
        switch symbol {
        case "kWh": self = .kWh
        case "Wh": self = .Wh
        case "kW": self = .kW
        case "W": self = .W
        case "kvarh": self = .kvarh
        case "varh": self = .varh
        case "kvar": self = .kvar
        case "var": self = .var
        case "kVA": self = .kVA
        case "VA": self = .VA
        case "V": self = .V
        case "A": self = .A
        case "m3", "m³", "M3": self = .m3
        case "GJ": self = .GJ
        case "s", "S": self = .s
        case "Hz": self = .Hz
        default: self = .other(symbol)
        }
    }

    /// Maps unit bytes without building a string for the common units (the parser's hot path).
    init(bytes: UnsafeBufferPointer<UInt8>) {
        switch bytes.count {
        case 1:
            switch bytes[0] {
            case UInt8(ascii: "W"): self = .W
            case UInt8(ascii: "V"): self = .V
            case UInt8(ascii: "A"): self = .A
            case UInt8(ascii: "s"): self = .s
            default: self.init(symbol: Self.text(bytes))
            }
        case 2:
            switch (bytes[0], bytes[1]) {
            case (UInt8(ascii: "k"), UInt8(ascii: "W")): self = .kW
            case (UInt8(ascii: "m"), UInt8(ascii: "3")): self = .m3
            case (UInt8(ascii: "W"), UInt8(ascii: "h")): self = .Wh
            case (UInt8(ascii: "G"), UInt8(ascii: "J")): self = .GJ
            case (UInt8(ascii: "H"), UInt8(ascii: "z")): self = .Hz
            default: self.init(symbol: Self.text(bytes))
            }
        case 3 where bytes[0] == UInt8(ascii: "k") && bytes[1] == UInt8(ascii: "W") && bytes[2] == UInt8(ascii: "h"):
            self = .kWh
        default:
            self.init(symbol: Self.text(bytes))
        }
    }

    /// UTF-8 when valid (`m³` as C2 B3), else ISO 8859-1 (`m³` as a single B3 byte, as one meter sends it).
    static func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var scalars = String.UnicodeScalarView()
        for byte in bytes { scalars.append(Unicode.Scalar(byte)) }
        return String(scalars)
    }

    /// The symbol as it is printed: `kWh`, `m3`.
    public var symbol: String {
        if case .other(let text) = self { return text }
        return staticSymbol.map { "\($0)" } ?? ""
    }

    /// The symbol of a known unit as a compile-time string (`nil` for `.other`): payload writers copy it without
    /// building a `String` per value.
    public var staticSymbol: StaticString? {
        switch self {
        case .kWh: "kWh"
        case .Wh: "Wh"
        case .kW: "kW"
        case .W: "W"
        case .kvarh: "kvarh"
        case .varh: "varh"
        case .kvar: "kvar"
        case .var: "var"
        case .kVA: "kVA"
        case .VA: "VA"
        case .V: "V"
        case .A: "A"
        case .m3: "m3"
        case .GJ: "GJ"
        case .s: "s"
        case .Hz: "Hz"
        case .other: nil
        }
    }

    public var description: String { symbol }

    /// For energy and power units: the power of ten that converts a value in this unit to the base unit
    /// (Wh, W, varh, var, VA): 3 for the `k` units, 0 for the base units, `nil` otherwise.
    public var kiloExponent: Int? {
        switch self {
        case .kWh, .kW, .kvarh, .kvar, .kVA: 3
        case .Wh, .W, .varh, .var, .VA: 0
        default: nil
        }
    }

    /// Whether a value printed in `self` can be converted to `other` by a power of ten (kWh ↔ Wh, kW ↔ W).
    public func isCompatible(with other: P1Unit) -> Bool {
        if self == other { return true }
        switch (self, other) {
        case (.kWh, .Wh), (.Wh, .kWh), (.kW, .W), (.W, .kW), (.kvarh, .varh), (.varh, .kvarh), (.kvar, .var),
            (.var, .kvar), (.kVA, .VA), (.VA, .kVA):
            return true
        default:
            return false
        }
    }

    /// Encodes as the symbol (`"kWh"`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(symbol)
    }

    public init(from decoder: any Decoder) throws {
        self.init(symbol: try decoder.singleValueContainer().decode(String.self))
    }
}
