/// A 12-bit ADE9000 register address (0x000–0xFFF). A struct, not an enum: per-phase addresses are computed.
public struct RegisterAddress: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16

    /// - Precondition: `rawValue <= 0xFFF` (an out-of-range address literal is a programmer error).
    public init(rawValue: UInt16) {
        precondition(rawValue <= 0xFFF, "ADE9000 register addresses are 12 bits; got 0x\(String(rawValue, radix: 16))")
        self.rawValue = rawValue
    }

    /// Like `init(rawValue:)` but returns `nil` for addresses wider than 12 bits (for decoding untrusted input).
    public init?(validating value: UInt16) {
        guard value <= 0xFFF else { return nil }
        self.rawValue = value
    }

    /// Datasheet width rule (spec §1.3): 0x480–0x4FE inclusive are 16-bit, every other address is 32-bit.
    public var isSixteenBit: Bool { (0x480...0x4FE).contains(rawValue) }

    /// Width on the wire in bits (16 or 32), from the datasheet rule.
    public var bitWidth: Int { isSixteenBit ? 16 : 32 }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// `0x20C`.
    public var description: String {
        let hex = String(rawValue, radix: 16, uppercase: true)
        return "0x" + String(repeating: "0", count: max(0, 3 - hex.count)) + hex
    }
}

/// How the host may access a register, as a type: the phantom `Access` parameter of `TypedRegister`.
/// `ReadOnlyAccess`, `ReadWriteAccess` and `WriteOneToClearAccess` are the three the ADE9000 has.
public protocol RegisterAccessKind: Sendable {
    /// The access as a value (for the register map and the CLI).
    static var access: RegisterAccess { get }
}

/// The access kinds the host may write. The driver's `write` takes only registers with one of these, so writing
/// a read-only register does not compile.
public protocol WritableAccess: RegisterAccessKind {}

/// Read-only (R): measurements, periods, identification.
public enum ReadOnlyAccess: RegisterAccessKind {
    public static var access: RegisterAccess { .readOnly }
}

/// Read-write (RW): configuration and calibration.
public enum ReadWriteAccess: WritableAccess {
    public static var access: RegisterAccess { .readWrite }
}

/// Status registers (R/W1C): reading returns the latched bits, writing 1s clears them.
public enum WriteOneToClearAccess: WritableAccess {
    public static var access: RegisterAccess { .writeOneToClear }
}

/// A register with its wire width and access in its type: `Value` is `UInt16` or `UInt32` (STYLE §B.3), `Access`
/// one of the `RegisterAccessKind` types. Each register is declared once, as a static member with its datasheet
/// mnemonic, address, reset value and signedness (RegisterDeclarations.swift); `RegisterMap` is derived from
/// those declarations.
///
/// Spell the types with the aliases: `Register<UInt32>` (read-write), `ReadOnlyRegister<UInt32>`,
/// `WriteOneToClearRegister<UInt32>`. Two registers are equal when their addresses are.
public struct TypedRegister<
    Value: FixedWidthInteger & UnsignedInteger & Sendable, Access: RegisterAccessKind
>: Hashable, Sendable, CustomStringConvertible {
    public let address: RegisterAddress
    /// The datasheet mnemonic (`AIRMS`).
    public let name: String
    /// Value after reset (spec §12.1; zero where the spec says 0 or 0*).
    public let resetValue: Value
    /// Two's-complement quantity (for display).
    public let isSigned: Bool

    /// A declaration (RegisterDeclarations.swift).
    ///
    /// - Precondition: the address is 12 bits and `Value.bitWidth` matches the datasheet width of the address
    ///   (spec §1.3: 0x480–0x4FE are 16-bit, everything else 32-bit). A mismatch is a programmer error.
    init(_ name: String, _ address: UInt16, reset: Value = 0, signed: Bool = false) {
        let checked = RegisterAddress(rawValue: address)
        precondition(
            checked.bitWidth == Value.bitWidth,
            "register \(name) (\(checked)) is \(checked.bitWidth)-bit; declared as \(Value.bitWidth)-bit")
        self.address = checked
        self.name = name
        self.resetValue = reset
        self.isSigned = signed
    }

    /// The member `phase` of a per-phase family: mnemonic `A`/`B`/`C` + `mnemonic`, address `base` + the
    /// phase's offset in `stride`.
    init(
        _ mnemonic: String, _ base: UInt16, _ phase: Phase, stride: PhaseStride, reset: Value = 0,
        signed: Bool = false
    ) {
        self.init(phase.description + mnemonic, base + stride.offset(phase), reset: reset, signed: signed)
    }

    /// The register of a map row, without a width check (the caller checked `info.bitWidth`).
    init(_ info: RegisterInfo) {
        self.address = info.address
        self.name = info.name
        self.resetValue = Value(truncatingIfNeeded: info.resetValue)
        self.isSigned = info.isSigned
    }

    /// The register of an initialisation-table entry (made from a writable declaration of this width).
    init(_ entry: RegisterWrite) {
        self.address = entry.address
        self.name = entry.name
        self.resetValue = 0
        self.isSigned = false
    }

    /// How the host may access this register.
    public static var access: RegisterAccess { Access.access }
    /// How the host may access this register.
    public var access: RegisterAccess { Access.access }

    /// The datasheet mnemonic (`AIRMS`), or the address for a register made with `init(uncheckedWidth:)` that the
    /// map does not know.
    public var description: String { name }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.address == rhs.address }
    public func hash(into hasher: inout Hasher) { hasher.combine(address) }
}

/// A read-write register (configuration, calibration).
public typealias Register<Value: FixedWidthInteger & UnsignedInteger & Sendable> = TypedRegister<Value, ReadWriteAccess>
/// A read-only register (measurements, periods, identification).
public typealias ReadOnlyRegister<Value: FixedWidthInteger & UnsignedInteger & Sendable> =
    TypedRegister<Value, ReadOnlyAccess>
/// A write-1-to-clear status register.
public typealias WriteOneToClearRegister<Value: FixedWidthInteger & UnsignedInteger & Sendable> =
    TypedRegister<Value, WriteOneToClearAccess>

extension TypedRegister where Access == ReadWriteAccess {
    /// A read-write register at any address, without the width check and whatever the datasheet says about its
    /// access. Only for tests and tools that must reproduce a protocol violation on purpose (e.g. the Linux
    /// driver's 32-bit write of RUN, or a write to a read-only register that the simulator must flag).
    public init(uncheckedWidth address: UInt16) {
        let checked = RegisterAddress(rawValue: address)
        self.address = checked
        self.name = RegisterMap.name(of: checked)
        self.resetValue = 0
        self.isSigned = false
    }
}

/// How the blocks of a per-phase register family repeat (spec §2).
enum PhaseStride: Sendable {
    /// Calibration and measurement blocks: B = A + 0x20, C = A + 0x40.
    case block
    /// Energy and accumulated-power blocks: B = A + 0x3C, C = A + 0x78.
    case energy
    /// Adjacent registers: B = A + 1, C = A + 2 (xPERIOD, ANGL_Vx_Ix, OIx, DIPx, SWELLx).
    case adjacent

    /// The address offset of `phase` from phase A.
    func offset(_ phase: Phase) -> UInt16 {
        switch self {
        case .block: phase.offset
        case .energy: phase.energyOffset
        case .adjacent: UInt16(phase.rawValue)
        }
    }
}

/// One of the three measurement phases.
public enum Phase: Int, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case a, b, c

    /// Per-phase calibration and measurement blocks repeat with a 0x20 stride: B = A + 0x20, C = A + 0x40.
    public var offset: UInt16 { UInt16(rawValue) * 0x20 }
    /// Energy/accumulated-power blocks repeat with a 0x3C stride: A 0x2E5, B 0x321, C 0x35D (spec §2.3).
    public var energyOffset: UInt16 { UInt16(rawValue) * 0x3C }
    /// `A`, `B`, `C`.
    public var description: String {
        switch self {
        case .a: "A"
        case .b: "B"
        case .c: "C"
        }
    }
}

/// One entry of an initialisation table (the kernel's `reg_sequence`): a writable register and its value.
/// Made with `.u16(register, value)` or `.u32(register, value)`, which take only writable registers.
public struct RegisterWrite: Equatable, Sendable, CustomStringConvertible {
    public let address: RegisterAddress
    /// The datasheet mnemonic of the register.
    public let name: String
    /// Read-write or write-1-to-clear.
    public let access: RegisterAccess
    /// The value, zero-extended for a 16-bit register.
    public let value: UInt32

    /// A write of a 16-bit register.
    public static func u16<Access: WritableAccess>(_ register: TypedRegister<UInt16, Access>, _ value: UInt16) -> Self {
        Self(address: register.address, name: register.name, access: Access.access, value: UInt32(value))
    }

    /// A write of a 32-bit register.
    public static func u32<Access: WritableAccess>(_ register: TypedRegister<UInt32, Access>, _ value: UInt32) -> Self {
        Self(address: register.address, name: register.name, access: Access.access, value: value)
    }

    /// `RUN (0x480) ← 0x0001`.
    public var description: String {
        "\(name) (\(address)) ← 0x\(hex(value, digits: address.bitWidth / 4))"
    }
}

func hex(_ value: UInt32, digits: Int) -> String {
    let text = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}
