/// The country (or meter family) a telegram comes from; decides tariff names and some layouts.
///
/// Detection heuristic (`P1Country.detect`), first match wins:
/// 1. **Belgium** (e-MUCS): a `0-0:96.1.4` version line, an M-Bus `0-n:24.2.3` gas reading, a `0-0:98.1.0` in the
///    e-MUCS layout, or a header from manufacturer `FLU` (Fluvius-branded Sagemcom).
/// 2. By the header's 3-letter manufacturer flag: `Lux` → Luxembourg, `ESO` → Lithuania, `EST` → Austria
///    (Energienetze Steiermark T210-D-r), `SAG` → Hungary (E.ON `/SAG5SAG-METER`), `ESY` → Germany (EasyMeter);
///    an Iskra `MIE5T` header without `0-0:96.1.4` → Ireland.
/// 3. The Dutch manufacturers of DSMR meters (`ISk`/`ISK`, `KFM`, `XMX`, `KMP`, `KAM`, `Ene`, `NWA`) → Netherlands.
/// 4. Otherwise `.unknown` (tariffs are then named "tariff 1", "tariff 2").
public enum P1Country: String, Sendable, Hashable, Codable, CaseIterable {
    case netherlands = "NL"
    case belgium = "BE"
    case luxembourg = "LU"
    case austria = "AT"
    case hungary = "HU"
    case lithuania = "LT"
    case ireland = "IE"
    case germany = "DE"
    case unknown = "unknown"

    /// Applies the heuristic documented on the type.
    public static func detect(_ telegram: P1Telegram) -> P1Country {
        let lines = telegram.lines
        for index in lines.indices {  // in place: no copy of each line
            switch lines[index].field {
            case .belgianVersion, .mbusReadingBelgiumGas: return .belgium
            case .maximumDemandHistory: if case .peakHistory = lines[index].value { return .belgium }
            default: break
            }
        }
        // The first 3 bytes, ASCII upper-cased, in a stack buffer (no heap allocation per telegram).
        let maker = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 3) { makerBytes in
            var count = 0
            for byte in telegram.header.utf8.prefix(3) {
                makerBytes[count] = byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte  // upper-case ASCII
                count += 1
            }
            return String(decoding: UnsafeBufferPointer(rebasing: makerBytes[..<count]), as: UTF8.self)
        }
        switch maker {
        case "FLU": return .belgium
        case "LUX": return .luxembourg
        case "ESO": return .lithuania
        case "EST": return .austria
        case "SAG": return .hungary
        case "ESY": return .germany
        default: break
        }
        if containsASCII(telegram.header, "MIE5T") { return .ireland }
        if ["ISK", "KFM", "XMX", "KMP", "KAM", "ENE", "NWA"].contains(maker) { return .netherlands }
        return .unknown
    }

    /// Whether the UTF-8 of `text` contains the ASCII bytes of `needle`. For an ASCII needle in a header (one
    /// scalar per byte, U+0000…U+00FF, none of which combines with a neighbour) this is exactly substring search,
    /// without the heap allocations and locale machinery of Foundation's `contains`, which a plain
    /// `header.contains(…)` resolved to here.
    private static func containsASCII(_ text: String, _ needle: StaticString) -> Bool {
        let pattern = UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount)
        var text = text
        return text.withUTF8 { bytes in
            guard bytes.count >= pattern.count, !pattern.isEmpty else { return pattern.isEmpty }
            for start in 0...(bytes.count - pattern.count)
            where UnsafeBufferPointer(rebasing: bytes[start..<(start + pattern.count)]).elementsEqual(pattern) {
                return true
            }
            return false
        }
    }

    /// The name of tariff register `n` (1.8.n / 2.8.n, and the tariff indicator 96.14.0).
    /// Belgium: 1 = day, 2 = night (e-MUCS); Netherlands: 1 = low (night/weekend), 2 = normal (day) (DSMR).
    public func tariffName(_ tariff: Int) -> String {
        switch (self, tariff) {
        case (.belgium, 1): "day"
        case (.belgium, 2): "night"
        case (.netherlands, 1): "low"
        case (.netherlands, 2): "normal"
        default: "tariff \(tariff)"
        }
    }
}

/// The normalised content of a telegram: energies in Wh, powers in W (exact decimals), per phase, M-Bus devices by
/// medium, capacity-tariff demand, country and tariff names. Build with `P1Reading(telegram)` or
/// `telegram.reading`.
public struct P1Reading: Sendable, Hashable, Codable {
    /// An energy register set: total and tariffs 1…4, in Wh.
    public struct Registers: Sendable, Hashable, Codable {
        /// `1-0:x.8.0` when the meter sends it, else the exact sum of the tariff registers.
        public var total: P1Decimal?
        /// Whether `total` was sent by the meter (true) or summed here (false).
        public var totalSent: Bool = false
        /// Tariff registers 1…4 (`1-0:x.8.1` … `x.8.4`); index 0 is tariff 1.
        public var tariffs: [P1Decimal?] = [nil, nil, nil, nil]

        public init() {}

        /// Register of tariff `n` (1-based).
        public subscript(tariff n: Int) -> P1Decimal? { (1...4).contains(n) ? tariffs[n - 1] : nil }
    }

    /// Instantaneous values of one phase.
    public struct Phase: Sendable, Hashable, Codable {
        public var voltageV: P1Decimal?
        public var currentA: P1Decimal?
        public var powerImportW: P1Decimal?
        public var powerExportW: P1Decimal?
        public init() {}
    }

    /// Belgian capacity-tariff registers (e-MUCS 1.7.1), in W.
    public struct Demand: Sendable, Hashable, Codable {
        /// `1-0:1.4.0`: average import power of the running 15-minute period.
        public var currentAverageW: P1Decimal?
        /// `1-0:1.6.0`: highest 15-minute average of the running month …
        public var monthMaximumW: P1Decimal?
        /// … and when it occurred.
        public var monthMaximumTime: P1Timestamp?
        /// `0-0:98.1.0`: monthly peaks (values as sent, in kW).
        public var history: [P1MonthlyPeak] = []
        public init() {}
    }

    /// What an M-Bus device measures (EN 13757-3 device type, as used by DSMR parsers and Home Assistant).
    public enum Medium: String, Sendable, Hashable, Codable {
        case electricity, gas, heat, warmWater, water, heatCooling, cooling, other
        public init(deviceType: Int?) {
            switch deviceType {
            case 2: self = .electricity
            case 3: self = .gas
            case 4: self = .heat
            case 6: self = .warmWater
            case 7: self = .water
            case 10, 11: self = .cooling
            case 12, 13: self = .heatCooling
            default: self = .other
            }
        }
    }

    /// One M-Bus channel (0-n, n = 1…4), identified by its `0-n:24.1.0` device type whatever its position.
    public struct MBusDevice: Sendable, Hashable, Codable {
        public var channel: Int
        public var deviceType: Int?
        public var medium: Medium
        /// `0-n:96.1.0` (NL) or `0-n:96.1.1` (BE), hex as sent.
        public var identifier: String?
        /// Last reading (`24.2.1`, BE gas `24.2.3`, DSMR 2.2/3 `24.3.0`).
        public var value: P1Decimal?
        public var unit: P1Unit?
        /// Capture time of `value`; `nil` for placeholder dates.
        public var captureTime: P1Timestamp?
        /// `0-n:24.4.0` valve position (1 = open).
        public var valvePosition: Int?
        /// True for Belgian `24.2.3` gas (not temperature-converted), false for `24.2.1`.
        public var notTemperatureConverted: Bool = false

        public init(channel: Int) {
            self.channel = channel
            medium = .other
        }
    }

    public var header: String
    public var country: P1Country
    /// `1-3:0.2.8` (`42`, `50`) or the Belgian `0-0:96.1.4` (`50217`).
    public var p1Version: String?
    public var meterTime: P1Timestamp?
    /// `0-0:96.1.1` (else `0-0:96.1.0`), decoded from hex when it is printable hex text, else as sent.
    public var equipmentId: String?
    /// `0-0:96.14.0` as a number (`0002` → 2).
    public var tariff: Int?
    /// The country's name for `tariff` (BE: day/night, NL: low/normal).
    public var tariffName: String?
    public var importWh = Registers()
    public var exportWh = Registers()
    public var powerImportW: P1Decimal?
    public var powerExportW: P1Decimal?
    /// L1, L2, L3.
    public var phases = [Phase(), Phase(), Phase()]
    /// Present when any of `1-0:1.4.0`, `1-0:1.6.0`, `0-0:98.1.0` (e-MUCS layout) was sent.
    public var demand: Demand?
    /// `0-0:17.0.0`, with its unit (kW in BE/HU, kVA in LU, A in DSMR 3).
    public var limiterThreshold: P1Decimal?
    public var limiterThresholdUnit: P1Unit?
    /// `1-0:31.4.0` in A.
    public var fuseThresholdA: P1Decimal?
    /// `0-0:96.3.10` (1 = connected).
    public var breakerState: Int?
    public var powerFailures: Int?
    public var longPowerFailures: Int?
    public var powerFailureLog: [P1PowerFailure] = []
    /// `0-0:96.13.0`, decoded from hex.
    public var textMessage: String?
    /// M-Bus devices ordered by channel.
    public var mbus: [MBusDevice] = []

    /// The first M-Bus device measuring `medium`.
    public func device(_ medium: Medium) -> MBusDevice? { mbus.first { $0.medium == medium } }

    /// Builds the reading from a telegram in one pass over its lines.
    public init(_ telegram: P1Telegram) {
        header = telegram.header
        country = P1Country.detect(telegram)
        var devices: [MBusDevice] = []
        var equipment: String?
        var serial: String?
        func energy(_ value: P1Value) -> P1Decimal? { Self.base(value, defaultKilo: true) }
        // Read in place: `for line in telegram.lines` copied every line and its value (retains and releases,
        // 3 % of `emeter p1 parse --format json`).
        let lines = telegram.lines
        for index in lines.indices {
            guard let field = lines[index].field else { continue }
            let value = lines[index].value
            let channel = lines[index].channel
            switch field {
            case .p1Version: p1Version = value.text
            case .belgianVersion: p1Version = value.text.map { P1Value.decodeHexDigitsIfText($0) }
            case .timestamp: if case .timestamp(let time) = value { meterTime = time }
            case .equipmentIdentifier: equipment = value.text
            case .serialNumber: serial = value.text
            case .importTotal:
                importWh.total = energy(value)
                importWh.totalSent = importWh.total != nil
            case .importTariff1: importWh.tariffs[0] = energy(value)
            case .importTariff2: importWh.tariffs[1] = energy(value)
            case .importTariff3: importWh.tariffs[2] = energy(value)
            case .importTariff4: importWh.tariffs[3] = energy(value)
            case .exportTotal:
                exportWh.total = energy(value)
                exportWh.totalSent = exportWh.total != nil
            case .exportTariff1: exportWh.tariffs[0] = energy(value)
            case .exportTariff2: exportWh.tariffs[1] = energy(value)
            case .exportTariff3: exportWh.tariffs[2] = energy(value)
            case .exportTariff4: exportWh.tariffs[3] = energy(value)
            case .tariffIndicator:
                tariff = value.text.flatMap { Int($0) } ?? value.decimal.map { Int($0.roundedInteger) }
            case .powerImport: powerImportW = energy(value)
            case .powerExport: powerExportW = energy(value)
            case .powerFailures: powerFailures = value.decimal.map { Int($0.roundedInteger) }
            case .longPowerFailures: longPowerFailures = value.decimal.map { Int($0.roundedInteger) }
            case .powerFailureLog: if case .failureLog(let entries) = value { powerFailureLog = entries }
            case .textMessage:
                if case .hexText(let hex) = value { textMessage = P1Value.decodeHex(hex) ?? hex }
            case .voltageL1: phases[0].voltageV = value.decimal
            case .voltageL2: phases[1].voltageV = value.decimal
            case .voltageL3: phases[2].voltageV = value.decimal
            case .currentL1: phases[0].currentA = value.decimal
            case .currentL2: phases[1].currentA = value.decimal
            case .currentL3: phases[2].currentA = value.decimal
            case .powerImportL1: phases[0].powerImportW = energy(value)
            case .powerImportL2: phases[1].powerImportW = energy(value)
            case .powerImportL3: phases[2].powerImportW = energy(value)
            case .powerExportL1: phases[0].powerExportW = energy(value)
            case .powerExportL2: phases[1].powerExportW = energy(value)
            case .powerExportL3: phases[2].powerExportW = energy(value)
            case .currentAverageDemand:
                var d = demand ?? Demand()
                d.currentAverageW = energy(value)
                demand = d
            case .maximumDemandThisMonth:
                var d = demand ?? Demand()
                d.monthMaximumW = energy(value)
                if case .captured(let time, _, _) = value { d.monthMaximumTime = time }
                demand = d
            case .maximumDemandHistory:
                if case .peakHistory(let entries) = value {
                    var d = demand ?? Demand()
                    d.history = entries
                    demand = d
                }
            case .limiterThreshold:
                limiterThreshold = value.decimal
                limiterThresholdUnit = value.unit
            case .fuseSupervisionL1: fuseThresholdA = value.decimal
            case .breakerState: breakerState = value.decimal.map { Int($0.roundedInteger) }
            case .mbusDeviceType, .mbusIdentifier, .mbusIdentifierBelgium, .mbusReading, .mbusReadingBelgiumGas,
                .mbusLegacyReading, .mbusValve:
                let channel = Int(channel)
                // The device is updated in place in `devices` (appended on its first line).
                let slot: Int
                if let existing = devices.firstIndex(where: { $0.channel == channel }) {
                    slot = existing
                } else {
                    if devices.isEmpty { devices.reserveCapacity(4) }  // DSMR: channels 1…4, one allocation
                    devices.append(MBusDevice(channel: channel))
                    slot = devices.count - 1
                }
                switch field {
                case .mbusDeviceType:
                    let deviceType = value.decimal.map { Int($0.roundedInteger) }
                    devices[slot].deviceType = deviceType
                    devices[slot].medium = Medium(deviceType: deviceType)
                case .mbusIdentifier, .mbusIdentifierBelgium: devices[slot].identifier = value.text
                case .mbusValve: devices[slot].valvePosition = value.decimal.map { Int($0.roundedInteger) }
                default:
                    if case .captured(let time, let number, let unit) = value {
                        devices[slot].value = number
                        devices[slot].unit = unit
                        devices[slot].captureTime = time
                    } else if let number = value.decimal {
                        devices[slot].value = number
                        devices[slot].unit = value.unit
                    }
                    devices[slot].notTemperatureConverted = field == .mbusReadingBelgiumGas
                }
            default:
                break
            }
        }
        if let equipment = equipment ?? serial {
            equipmentId = P1Value.decodeHex(equipment).flatMap { Self.isPrintable($0) ? $0 : nil } ?? equipment
        }
        if let tariff { tariffName = country.tariffName(tariff) }
        if importWh.total == nil { importWh.total = Self.sum(importWh.tariffs) }
        if exportWh.total == nil { exportWh.total = Self.sum(exportWh.tariffs) }
        // Devices without any data are left out; order by channel. Meters send their channels in order and only
        // with data, so usually `devices` is already the answer and no new array is needed.
        func hasData(_ device: MBusDevice) -> Bool {
            device.deviceType != nil || device.identifier != nil || device.value != nil
        }
        let ordered = zip(devices, devices.dropFirst()).allSatisfy { $0.channel < $1.channel }
        if ordered && devices.allSatisfy(hasData) {
            mbus = devices
        } else {
            mbus = devices.filter(hasData).sorted { $0.channel < $1.channel }
        }
    }

    /// The exact sum of the registers present; `nil` when none is.
    static func sum(_ values: [P1Decimal?]) -> P1Decimal? {
        var total: P1Decimal?
        for case let value? in values { total = total.map { P1Decimal.sum($0, value) ?? $0 } ?? value }
        return total
    }

    /// A value in the base unit (Wh, W, varh, var, VA): `k` units are shifted by 10³; a unit-less value of an
    /// energy/power field is taken as the DSMR default (kWh/kW) when `defaultKilo`.
    static func base(_ value: P1Value, defaultKilo: Bool) -> P1Decimal? {
        guard let number = value.decimal else { return nil }
        if let exponent = value.unit?.kiloExponent { return number.shifted(by: exponent) }
        if value.unit == nil && defaultKilo { return number.shifted(by: 3) }
        return number
    }

    static func isPrintable(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }
    }
}

extension P1Value {
    /// e-MUCS version: one Iskra sends `0-0:96.1.4` hex-encoded (`3231313130` = "21110"); others in clear (`50217`).
    /// Decodes only when the result is all digits.
    static func decodeHexDigitsIfText(_ text: String) -> String {
        if text.count >= 10, let decoded = decodeHex(text), decoded.allSatisfy({ $0.isASCII && $0.isNumber }) {
            return decoded
        }
        return text
    }
}
