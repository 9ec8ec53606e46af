import CivilTime

/// One P1 telegram as the firmware uses it: absolute meter registers plus levels, in integer SI units, and the
/// meter's identity. Every payload of a P1 reading (stdout, MQTT, HTTP, `emeter p1 parse`) is rendered from this.
///
/// Made from a `P1Reading` by ``init(reading:receivedAt:)``; the loop never sees telegram text.
public struct P1Sample: Equatable, Sendable {
    /// When the telegram arrived, by the board's wall clock (not the meter's).
    public var time: UnixTime
    /// Absolute import registers `1-0:1.8.1` / `1-0:1.8.2` (or `1-0:1.8.0` as tariff 1 when the meter sends only
    /// a total), Wh.
    public var importWh: (tariff1: Int64, tariff2: Int64)
    /// Absolute export registers `1-0:2.8.1` / `1-0:2.8.2`, Wh.
    public var exportWh: (tariff1: Int64, tariff2: Int64)
    /// `1-0:1.7.0` and `1-0:2.7.0`, W.
    public var powerImportW: Int64
    public var powerExportW: Int64
    /// Per-phase voltages present in the telegram (`1-0:32/52/72.7.0`), 0.1 V.
    public var voltagesDecivolts: PhaseValues
    /// Absolute gas and water meter readings (M-Bus), litres; `nil` when the meter has none.
    public var gasLitres: Int64?
    public var waterLitres: Int64?
    /// Belgian capacity tariff as reported by the meter: `1-0:1.4.0` (running quarter-hour average) and
    /// `1-0:1.6.0` (month peak), W.
    public var quarterHourDemandW: Int64?
    public var monthPeakDemandW: Int64?
    /// The meter's timestamp of the month peak (`1-0:1.6.0`, the end of its quarter-hour), to the second.
    public var monthPeakTime: UnixTime?
    /// What the meter says about itself and the rest of the telegram.
    public var details = Details()
    /// Whether the telegram had an import register (false for a heat- or water-only meter: the registers above
    /// are then 0 and payloads write them as `null`).
    public var metersEnergy = true
    /// Which of the values above the meter actually sent (a register it does not send is 0 here).
    public var sent: Sent = .all

    /// What a telegram carried, beyond what the optionals above already say: a meter that sends only totals
    /// (Smarty `1-0:1.8.0`), no export registers (DSMR 2.2 without PV wiring) or no power levels.
    public struct Sent: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// `1-0:1.8.1`/`1-0:1.8.2`: the import split by tariff (else tariff 1 holds the total).
        public static let importTariffs = Sent(rawValue: 1 << 0)
        /// Any export register (`1-0:2.8.x`).
        public static let export = Sent(rawValue: 1 << 1)
        /// `1-0:2.8.1`/`1-0:2.8.2`: the export split by tariff.
        public static let exportTariffs = Sent(rawValue: 1 << 2)
        /// `1-0:1.7.0` and `1-0:2.7.0`.
        public static let powerImport = Sent(rawValue: 1 << 3)
        public static let powerExport = Sent(rawValue: 1 << 4)
        public static let all: Sent = [.importTariffs, .export, .exportTariffs, .powerImport, .powerExport]
    }

    /// The rest of a telegram, for payloads: identity, tariff, per-phase currents and powers, M-Bus devices.
    public struct Details: Equatable, Sendable {
        /// `BE`, `NL`, `LU`, … (detected from the header and content).
        public var country: String?
        /// `1-3:0.2.8` / `0-0:96.1.4`.
        public var p1Version: String?
        /// The meter's own timestamp of the reading (`0-0:1.0.0`), to the second.
        public var meterTime: UnixTime?
        /// `0-0:96.1.1` / `0-0:96.1.0`.
        public var equipmentID: String?
        /// `0-0:96.14.0` and its name in the meter's country (`day`, `normal`, …).
        public var tariff: Int?
        public var tariffName: String?
        /// Per-phase currents present (`1-0:31/51/71.7.0`), mA.
        public var currentsMilliamps: PhaseValues = []
        /// Per-phase active powers present (`1-0:21/41/61.7.0`, `1-0:22/42/62.7.0`), W.
        public var phasePowerImportW: PhaseValues = []
        public var phasePowerExportW: PhaseValues = []
        /// `0-0:96.7.21` and `0-0:96.7.9`.
        public var powerFailures: Int?
        public var longPowerFailures: Int?
        /// When the gas and water meters captured their readings (the M-Bus timestamp of `0-n:24.2.x`), to the
        /// second.
        public var gasTime: UnixTime?
        public var waterTime: UnixTime?
        /// Every M-Bus device the meter lists.
        public var mbus: [MBus] = []
        /// `0-0:98.1.0`: the meter's own peaks of past months (Belgium), oldest first.
        public var peakHistory: [MonthPeak] = []

        public init() {}
    }

    /// One month's peak quarter-hour demand as the meter states it.
    public struct MonthPeak: Equatable, Sendable {
        /// Start of the month (1st, 00:00 local).
        public var monthStart: UnixTime
        public var peakW: Int64

        public init(monthStart: UnixTime, peakW: Int64) {
            self.monthStart = monthStart
            self.peakW = peakW
        }
    }

    /// One M-Bus device: `value` in thousandths of `unit` (m³ → litres), exact.
    public struct MBus: Equatable, Sendable {
        public var channel: Int
        /// `gas`, `water`, `heat`, `cold`, `electricity`, `other`.
        public var medium: String
        public var identifier: String?
        public var valueMilli: Int64?
        public var unit: String?
        /// When the device captured `valueMilli` (the M-Bus timestamp of `0-n:24.2.x`), to the second.
        public var captureTime: UnixTime?

        public init(
            channel: Int, medium: String, identifier: String?, valueMilli: Int64?, unit: String?, captureTime: UnixTime?
        ) {
            self.channel = channel
            self.medium = medium
            self.identifier = identifier
            self.valueMilli = valueMilli
            self.unit = unit
            self.captureTime = captureTime
        }
    }

    public init(
        time: UnixTime, importWh: (tariff1: Int64, tariff2: Int64), exportWh: (tariff1: Int64, tariff2: Int64),
        powerImportW: Int64, powerExportW: Int64, voltagesDecivolts: PhaseValues = [], gasLitres: Int64? = nil,
        waterLitres: Int64? = nil, quarterHourDemandW: Int64? = nil, monthPeakDemandW: Int64? = nil,
        monthPeakTime: UnixTime? = nil, details: Details = Details()
    ) {
        self.time = time
        self.importWh = importWh
        self.exportWh = exportWh
        self.powerImportW = powerImportW
        self.powerExportW = powerExportW
        self.voltagesDecivolts = voltagesDecivolts
        self.gasLitres = gasLitres
        self.waterLitres = waterLitres
        self.quarterHourDemandW = quarterHourDemandW
        self.monthPeakDemandW = monthPeakDemandW
        self.monthPeakTime = monthPeakTime
        self.details = details
    }

    /// Total imported energy over both tariffs, Wh.
    public var totalImportWh: Int64 { importWh.tariff1 + importWh.tariff2 }
    public var totalExportWh: Int64 { exportWh.tariff1 + exportWh.tariff2 }

    public static func == (a: P1Sample, b: P1Sample) -> Bool {
        a.time == b.time && a.importWh == b.importWh && a.exportWh == b.exportWh
            && a.powerImportW == b.powerImportW && a.powerExportW == b.powerExportW
            && a.voltagesDecivolts == b.voltagesDecivolts && a.gasLitres == b.gasLitres
            && a.waterLitres == b.waterLitres && a.quarterHourDemandW == b.quarterHourDemandW
            && a.monthPeakDemandW == b.monthPeakDemandW && a.monthPeakTime == b.monthPeakTime
            && a.details == b.details && a.metersEnergy == b.metersEnergy && a.sent == b.sent
    }
}

/// One ADE9000 snapshot as the loop uses it: the driver's accumulated energies and the RMS/power levels.
public struct ADESample: Equatable, Sendable {
    /// When the snapshot was read, by the board's wall clock (the tick's time).
    public var time: UnixTime
    /// Per phase A, B, C: energy imported and exported since the driver started, mWh. Integers, so that the whole
    /// Wh attributed to consecutive records add up exactly; the driver's counters resolve far finer than 1 mWh.
    public var importMilliwattHours: [Int64]
    public var exportMilliwattHours: [Int64]
    /// Per phase active power, W (+ import).
    public var powerW: [Double]
    /// Per phase voltage RMS, V.
    public var voltageV: [Double]
    /// Per phase current RMS, A.
    public var currentA: [Double]
    /// Per phase power factor (xPF), −1 … 1; empty when not read.
    public var powerFactor: [Double]
    /// Per phase line frequency (from xPERIOD), Hz; empty when not read.
    public var frequencyHz: [Double]

    public init(
        time: UnixTime, importMilliwattHours: [Int64], exportMilliwattHours: [Int64], powerW: [Double],
        voltageV: [Double], currentA: [Double] = [], powerFactor: [Double] = [], frequencyHz: [Double] = []
    ) {
        self.time = time
        self.importMilliwattHours = importMilliwattHours
        self.exportMilliwattHours = exportMilliwattHours
        self.powerW = powerW
        self.voltageV = voltageV
        self.currentA = currentA
        self.powerFactor = powerFactor
        self.frequencyHz = frequencyHz
    }

    public var totalPowerW: Double { powerW.reduce(0, +) }
    /// Energy imported and exported over the three phases, mWh.
    public var totalImportMilliwattHours: Int64 { importMilliwattHours.reduce(0, +) }
    public var totalExportMilliwattHours: Int64 { exportMilliwattHours.reduce(0, +) }
}

/// Up to three per-phase values (L1, L2, L3 in the order the meter sent them), stored inline. A P1 sample is made
/// for every telegram and carries four such lists: as arrays they were four heap allocations per sample.
public struct PhaseValues: RandomAccessCollection, ExpressibleByArrayLiteral, Hashable, Sendable {
    /// Three phases: no meter has more.
    public static var capacity: Int { 3 }
    private var values: (Int64, Int64, Int64) = (0, 0, 0)
    public private(set) var count = 0

    public init() {}

    /// A literal in code; more than ``capacity`` values is a programmer error and traps.
    public init(arrayLiteral elements: Int64...) {
        precondition(elements.count <= Self.capacity, "PhaseValues holds at most \(Self.capacity) values")
        for element in elements { append(element) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> Int64 {
        precondition(position >= 0 && position < count, "PhaseValues index \(position) out of 0..<\(count)")
        switch position {
        case 0: return values.0
        case 1: return values.1
        default: return values.2
        }
    }

    /// Appends `value`; a fourth value is dropped and `false` returned (the callers add one per phase of a
    /// three-phase reading).
    @discardableResult
    public mutating func append(_ value: Int64) -> Bool {
        switch count {
        case 0: values.0 = value
        case 1: values.1 = value
        case 2: values.2 = value
        default: return false
        }
        count += 1
        return true
    }

    public static func == (a: PhaseValues, b: PhaseValues) -> Bool { a.elementsEqual(b) }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for value in self { hasher.combine(value) }
    }
}
