/// How the host may access a register.
public enum RegisterAccess: String, Sendable, Codable {
    case readOnly = "R"
    case readWrite = "RW"
    /// Status registers: reading returns the latched bits, writing 1s clears them.
    case writeOneToClear = "R/W1C"
}

/// One row of the register table: mnemonic, address, width, access and reset value (spec §2, §12.1).
public struct RegisterInfo: Sendable, Hashable {
    public let name: String
    public let address: RegisterAddress
    public let access: RegisterAccess
    /// Value after reset (spec §12.1; zero where the spec says 0 or 0*).
    public let resetValue: UInt32
    /// Two's-complement quantity (for display).
    public let isSigned: Bool

    /// 16 or 32, from the datasheet rule (spec §1.3).
    public var bitWidth: Int { address.bitWidth }

    init(name: String, address: RegisterAddress, access: RegisterAccess, resetValue: UInt32, isSigned: Bool) {
        self.name = name
        self.address = address
        self.access = access
        self.resetValue = resetValue
        self.isSigned = isSigned
    }

    /// The row of a declared register.
    public init<Value, Access>(_ register: TypedRegister<Value, Access>) {
        self.init(
            name: register.name, address: register.address, access: Access.access,
            resetValue: UInt32(register.resetValue), isSigned: register.isSigned)
    }
}

/// The register table this driver and the simulator know, keyed by address (spec §2 and §12.1), derived from the
/// register declarations (RegisterDeclarations.swift): nothing about a register is stated here.
public enum RegisterMap {
    /// Every register, sorted by address.
    public static let all: [RegisterInfo] = build().sorted { $0.address < $1.address }

    /// First row per address (the map tests check there is only one).
    private static let byAddress: [RegisterAddress: RegisterInfo] = Dictionary(
        all.map { ($0.address, $0) }, uniquingKeysWith: { first, _ in first })

    /// The row for `address`, or `nil` for an address not in the table (reserved or not modelled).
    public static func info(_ address: RegisterAddress) -> RegisterInfo? { byAddress[address] }

    /// The row named `name` (case-insensitive datasheet mnemonic, e.g. `airms`).
    public static func info(named name: String) -> RegisterInfo? {
        let wanted = name.uppercased()
        return all.first { $0.name == wanted }
    }

    /// The mnemonic for `address`, or its hex form.
    public static func name(of address: RegisterAddress) -> String { byAddress[address]?.name ?? address.description }

    /// The declared registers (RegisterDeclarations.swift) and the burst aliases that mirror them: `<source>_1`
    /// for 0x600–0x63C, `<source>_2` for 0x680–0x6BC, read-only.
    private static func build() -> [RegisterInfo] {
        var rows = declaredRows()
        let names = Dictionary(rows.map { ($0.address, $0.name) }, uniquingKeysWith: { first, _ in first })
        func alias(_ address: UInt16, suffix: String) {
            let alias = RegisterAddress(rawValue: address)
            guard let source = burstAliasSource(alias) else { return }
            rows.append(
                RegisterInfo(
                    name: (names[source] ?? "?") + suffix, address: alias, access: .readOnly, resetValue: 0,
                    isSigned: true))
        }
        for index in BurstByQuantity.wordSources.indices { alias(BurstByQuantity.base + UInt16(index), suffix: "_1") }
        for index in 0..<BurstByPhase.wordCount { alias(BurstByPhase.base + UInt16(index), suffix: "_2") }
        return rows
    }
}
