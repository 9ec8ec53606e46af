/// How a field's parenthesised value groups are interpreted.
public enum P1ValueKind: Hashable, Sendable {
    /// One decimal number with an optional `*unit` (DSMR `Fn(x,y)`, `In`).
    case number
    /// Text kept exactly as sent (versions, identifiers, the tariff indicator `0001`).
    case string
    /// An octet string printed as hex (`96.13.0` text messages); decoded to text for display.
    case hexText
    /// `YYMMDDhhmmssX` (DSMR `TST`).
    case timestamp
    /// A value with its capture time, in either group order: M-Bus `0-n:24.2.1(TST)(value*unit)`, Belgian
    /// `1-0:1.6.0(TST)(kW)`, Iskra's `1-0:1.6.0(kW)(TST)`.
    case capturedValue
    /// DSMR 2.2/3 profile generic `0-n:24.3.0(TST12)(status)(period)(count)(OBIS)(unit)` with the value on the next
    /// line `(value)`.
    case legacyProfile
    /// `1-0:99.97.0(z)(0-0:96.7.19)(TST)(seconds*s)…` (DSMR 5.0.2 §6.11).
    case failureLog
    /// Belgian e-MUCS `0-0:98.1.0(n)(1-0:1.6.0)(1-0:1.6.0)[(month TST)(occurred TST)(kW)]×n`.
    case peakHistory
}

/// The fixed facts of one field: OBIS code, a stable snake_case name, the expected unit and the value kind.
public struct P1FieldDefinition: Hashable, Sendable {
    public var obis: ObisCode
    public var name: String
    /// `nil` when the unit varies between meters or there is none.
    public var unit: P1Unit?
    public var kind: P1ValueKind
    /// For M-Bus fields the code is declared with channel (value group B) 1 and matches channels 1…max.
    public var perChannel: Bool

    init(_ obis: ObisCode, _ name: String, _ unit: P1Unit?, _ kind: P1ValueKind, perChannel: Bool = false) {
        self.obis = obis
        self.name = name
        self.unit = unit
        self.kind = kind
        self.perChannel = perChannel
    }
}

/// Every P1 field this library understands, declared once (DSMR 2.2–5.0.2, e-MUCS 1.7.1, Smarty v1.1.3 and the
/// country variants in the P1 companion standards of each country). Lines with other OBIS codes are kept,
/// generically parsed.
public enum P1Field: Int, CaseIterable, Hashable, Sendable {
    case p1Version, belgianVersion, timestamp, equipmentIdentifier, serialNumber, logicalDeviceName
    case importTotal, importTariff1, importTariff2, importTariff3, importTariff4
    case exportTotal, exportTariff1, exportTariff2, exportTariff3, exportTariff4
    case reactiveImportTotal, reactiveExportTotal
    case tariffIndicator
    case powerImport, powerExport, reactivePowerImport, reactivePowerExport, apparentPowerImport, apparentPowerExport
    case powerFailures, longPowerFailures, powerFailureLog
    case voltageSagsL1, voltageSagsL2, voltageSagsL3, voltageSwellsL1, voltageSwellsL2, voltageSwellsL3
    case textMessageCode, textMessage
    case voltageL1, voltageL2, voltageL3, currentL1, currentL2, currentL3
    case powerImportL1, powerImportL2, powerImportL3, powerExportL1, powerExportL2, powerExportL3
    case frequency, powerFactor
    case currentAverageDemand, maximumDemandThisMonth, maximumDemandHistory
    case limiterThreshold, breakerState, fuseSupervisionL1
    case mbusDeviceType, mbusIdentifier, mbusIdentifierBelgium, mbusReading, mbusReadingBelgiumGas
    case mbusLegacyReading, mbusValve, mbusRelay

    /// The field's OBIS code, name, unit and kind (from `declaration`, computed once per field).
    public var definition: P1FieldDefinition { Self.definitions[rawValue] }

    private static let definitions: [P1FieldDefinition] = allCases.map(\.declaration)

    /// The one place each field is declared.
    private var declaration: P1FieldDefinition {
        switch self {
        case .p1Version: .init("1-3:0.2.8", "p1_version", nil, .string)
        case .belgianVersion: .init("0-0:96.1.4", "emucs_version", nil, .string)
        case .timestamp: .init("0-0:1.0.0", "timestamp", nil, .timestamp)
        case .equipmentIdentifier: .init("0-0:96.1.1", "equipment_identifier", nil, .string)
        case .serialNumber: .init("0-0:96.1.0", "serial_number", nil, .string)
        case .logicalDeviceName: .init("0-0:42.0.0", "logical_device_name", nil, .string)
        case .importTotal: .init("1-0:1.8.0", "energy_import_total", .kWh, .number)
        case .importTariff1: .init("1-0:1.8.1", "energy_import_tariff_1", .kWh, .number)
        case .importTariff2: .init("1-0:1.8.2", "energy_import_tariff_2", .kWh, .number)
        case .importTariff3: .init("1-0:1.8.3", "energy_import_tariff_3", .kWh, .number)
        case .importTariff4: .init("1-0:1.8.4", "energy_import_tariff_4", .kWh, .number)
        case .exportTotal: .init("1-0:2.8.0", "energy_export_total", .kWh, .number)
        case .exportTariff1: .init("1-0:2.8.1", "energy_export_tariff_1", .kWh, .number)
        case .exportTariff2: .init("1-0:2.8.2", "energy_export_tariff_2", .kWh, .number)
        case .exportTariff3: .init("1-0:2.8.3", "energy_export_tariff_3", .kWh, .number)
        case .exportTariff4: .init("1-0:2.8.4", "energy_export_tariff_4", .kWh, .number)
        case .reactiveImportTotal: .init("1-0:3.8.0", "reactive_energy_import_total", .kvarh, .number)
        case .reactiveExportTotal: .init("1-0:4.8.0", "reactive_energy_export_total", .kvarh, .number)
        case .tariffIndicator: .init("0-0:96.14.0", "tariff_indicator", nil, .string)
        case .powerImport: .init("1-0:1.7.0", "power_import", .kW, .number)
        case .powerExport: .init("1-0:2.7.0", "power_export", .kW, .number)
        case .reactivePowerImport: .init("1-0:3.7.0", "reactive_power_import", .kvar, .number)
        case .reactivePowerExport: .init("1-0:4.7.0", "reactive_power_export", .kvar, .number)
        case .apparentPowerImport: .init("1-0:9.7.0", "apparent_power_import", .kVA, .number)
        case .apparentPowerExport: .init("1-0:10.7.0", "apparent_power_export", .kVA, .number)
        case .powerFailures: .init("0-0:96.7.21", "power_failures", nil, .number)
        case .longPowerFailures: .init("0-0:96.7.9", "long_power_failures", nil, .number)
        case .powerFailureLog: .init("1-0:99.97.0", "power_failure_log", nil, .failureLog)
        case .voltageSagsL1: .init("1-0:32.32.0", "voltage_sags_l1", nil, .number)
        case .voltageSagsL2: .init("1-0:52.32.0", "voltage_sags_l2", nil, .number)
        case .voltageSagsL3: .init("1-0:72.32.0", "voltage_sags_l3", nil, .number)
        case .voltageSwellsL1: .init("1-0:32.36.0", "voltage_swells_l1", nil, .number)
        case .voltageSwellsL2: .init("1-0:52.36.0", "voltage_swells_l2", nil, .number)
        case .voltageSwellsL3: .init("1-0:72.36.0", "voltage_swells_l3", nil, .number)
        case .textMessageCode: .init("0-0:96.13.1", "text_message_code", nil, .hexText)
        case .textMessage: .init("0-0:96.13.0", "text_message", nil, .hexText)
        case .voltageL1: .init("1-0:32.7.0", "voltage_l1", .V, .number)
        case .voltageL2: .init("1-0:52.7.0", "voltage_l2", .V, .number)
        case .voltageL3: .init("1-0:72.7.0", "voltage_l3", .V, .number)
        case .currentL1: .init("1-0:31.7.0", "current_l1", .A, .number)
        case .currentL2: .init("1-0:51.7.0", "current_l2", .A, .number)
        case .currentL3: .init("1-0:71.7.0", "current_l3", .A, .number)
        case .powerImportL1: .init("1-0:21.7.0", "power_import_l1", .kW, .number)
        case .powerImportL2: .init("1-0:41.7.0", "power_import_l2", .kW, .number)
        case .powerImportL3: .init("1-0:61.7.0", "power_import_l3", .kW, .number)
        case .powerExportL1: .init("1-0:22.7.0", "power_export_l1", .kW, .number)
        case .powerExportL2: .init("1-0:42.7.0", "power_export_l2", .kW, .number)
        case .powerExportL3: .init("1-0:62.7.0", "power_export_l3", .kW, .number)
        case .frequency: .init("1-0:14.7.0", "frequency", .Hz, .number)
        case .powerFactor: .init("1-0:13.7.0", "power_factor", nil, .number)
        case .currentAverageDemand: .init("1-0:1.4.0", "current_average_demand", .kW, .number)
        case .maximumDemandThisMonth: .init("1-0:1.6.0", "maximum_demand_this_month", .kW, .capturedValue)
        case .maximumDemandHistory: .init("0-0:98.1.0", "maximum_demand_history", nil, .peakHistory)
        case .limiterThreshold: .init("0-0:17.0.0", "limiter_threshold", nil, .number)
        case .breakerState: .init("0-0:96.3.10", "breaker_state", nil, .number)
        case .fuseSupervisionL1: .init("1-0:31.4.0", "fuse_supervision_threshold_l1", .A, .number)
        case .mbusDeviceType: .init("0-1:24.1.0", "mbus_device_type", nil, .number, perChannel: true)
        case .mbusIdentifier: .init("0-1:96.1.0", "mbus_equipment_identifier", nil, .string, perChannel: true)
        case .mbusIdentifierBelgium:
            .init("0-1:96.1.1", "mbus_equipment_identifier_be", nil, .string, perChannel: true)
        case .mbusReading: .init("0-1:24.2.1", "mbus_reading", nil, .capturedValue, perChannel: true)
        case .mbusReadingBelgiumGas:
            .init("0-1:24.2.3", "mbus_reading_gas_not_converted", nil, .capturedValue, perChannel: true)
        case .mbusLegacyReading: .init("0-1:24.3.0", "mbus_reading_dsmr3", nil, .legacyProfile, perChannel: true)
        case .mbusValve: .init("0-1:24.4.0", "mbus_valve_position", nil, .number, perChannel: true)
        case .mbusRelay: .init("0-1:96.3.10", "mbus_relay_state", nil, .number, perChannel: true)
        }
    }

    public var obis: ObisCode { definition.obis }
    public var name: String { definition.name }
    public var unit: P1Unit? { Self.units[rawValue] }
    public var kind: P1ValueKind { Self.kinds[rawValue] }

    /// `kind` and `unit` of every field in tables of their own: the parser reads them for every line, without
    /// copying the whole definition (name string included).
    private static let kinds: [P1ValueKind] = definitions.map(\.kind)
    private static let units: [P1Unit?] = definitions.map(\.unit)

    /// Highest M-Bus channel matched by the per-channel fields (DSMR: 1…4; accepted up to 9).
    public static let maximumChannel: UInt8 = 9

    /// The field for a code as it appears on a line, with its M-Bus channel (0 for the meter's own fields).
    /// `0-3:24.2.1` is `.mbusReading` on channel 3; `0-0:96.1.1` is the meter's `.equipmentIdentifier`.
    public static func lookup(_ obis: ObisCode) -> (field: P1Field, channel: UInt8)? {
        if let field = find(obis.packed) {
            return (field, perChannel[field.rawValue] ? obis.b : 0)
        }
        if obis.a == 0, obis.b > 1, obis.b <= maximumChannel, let field = find(obis.onChannel(1).packed),
            perChannel[field.rawValue]
        {
            return (field, obis.b)
        }
        return nil
    }

    private static let perChannel: [Bool] = allCases.map(\.definition.perChannel)

    /// log2 of the number of slots of `hashTable`: 256 slots for the ~65 fields keeps probe chains short.
    private static var hashBits: Int { 8 }

    /// An open-addressing hash table (linear probing) from packed OBIS code to field, cheaper than a binary search
    /// on the parser's hot path (one or two probes per line). Each slot holds `packed << 8 | (rawValue + 1)`
    /// (`packed` is 48 bits wide), 0 for an empty slot.
    private static let hashTable: [UInt64] = {
        precondition(allCases.count < 255 && allCases.count * 2 < 1 << hashBits, "P1Field hash table too small")
        var table = [UInt64](repeating: 0, count: 1 << hashBits)
        for field in allCases {
            var slot = hashSlot(field.obis.packed)
            while table[slot] != 0 { slot = (slot + 1) & (table.count - 1) }
            table[slot] = field.obis.packed << 8 | UInt64(field.rawValue + 1)
        }
        return table
    }()

    /// Fibonacci hashing of the packed code onto `hashBits` bits.
    @inline(__always)
    private static func hashSlot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - hashBits))
    }

    private static func find(_ key: UInt64) -> P1Field? {
        hashTable.withUnsafeBufferPointer { table in
            var slot = hashSlot(key)
            while true {
                let entry = table[slot]
                if entry == 0 { return nil }
                if entry >> 8 == key { return P1Field(rawValue: Int(entry & 0xFF) - 1) }
                slot = (slot + 1) & (table.count - 1)
            }
        }
    }
}
