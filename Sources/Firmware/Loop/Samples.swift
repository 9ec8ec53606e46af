/// One P1 telegram as the measurement loop uses it: absolute meter registers plus levels, in integer SI units.
///
/// Made from a `P1Reading` at the composition root; the loop never sees telegram text.
public struct P1Sample: Equatable, Sendable {
    /// When the telegram arrived, Unix milliseconds (the board's clock, not the meter's).
    public var time: Int64
    /// Absolute import registers `1-0:1.8.1` / `1-0:1.8.2` (or `1-0:1.8.0` as tariff 1 when the meter sends only
    /// a total), Wh.
    public var importWh: (tariff1: Int64, tariff2: Int64)
    /// Absolute export registers `1-0:2.8.1` / `1-0:2.8.2`, Wh.
    public var exportWh: (tariff1: Int64, tariff2: Int64)
    /// `1-0:1.7.0` and `1-0:2.7.0`, W.
    public var powerImportW: Int64
    public var powerExportW: Int64
    /// Per-phase voltages present in the telegram (`1-0:32/52/72.7.0`), 0.1 V.
    public var voltagesDecivolts: [Int64]
    /// Absolute gas and water meter readings (M-Bus), litres; `nil` when the meter has none.
    public var gasLitres: Int64?
    public var waterLitres: Int64?
    /// Belgian capacity tariff as reported by the meter: `1-0:1.4.0` (running quarter-hour average) and
    /// `1-0:1.6.0` (month peak and its time, Unix seconds), W.
    public var quarterHourDemandW: Int64?
    public var monthPeakDemandW: Int64?
    public var monthPeakTime: Int64?

    public init(
        time: Int64, importWh: (tariff1: Int64, tariff2: Int64), exportWh: (tariff1: Int64, tariff2: Int64),
        powerImportW: Int64, powerExportW: Int64, voltagesDecivolts: [Int64] = [], gasLitres: Int64? = nil,
        waterLitres: Int64? = nil, quarterHourDemandW: Int64? = nil, monthPeakDemandW: Int64? = nil,
        monthPeakTime: Int64? = nil
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
    }
}

/// One ADE9000 snapshot as the loop uses it: the driver's accumulated energies and the RMS/power levels.
public struct ADESample: Equatable, Sendable {
    /// When the snapshot was read, Unix milliseconds.
    public var time: Int64
    /// Per phase A, B, C: energy imported and exported since the driver started, Wh (fractional; the driver
    /// accumulates the 45-bit registers across rollovers).
    public var importWh: [Double]
    public var exportWh: [Double]
    /// Per phase active power, W (+ import).
    public var powerW: [Double]
    /// Per phase voltage RMS, V.
    public var voltageV: [Double]
    /// Per phase current RMS, A.
    public var currentA: [Double]

    public init(
        time: Int64, importWh: [Double], exportWh: [Double], powerW: [Double], voltageV: [Double],
        currentA: [Double] = []
    ) {
        self.time = time
        self.importWh = importWh
        self.exportWh = exportWh
        self.powerW = powerW
        self.voltageV = voltageV
        self.currentA = currentA
    }

    public var totalPowerW: Double { powerW.reduce(0, +) }
    public var totalImportWh: Double { importWh.reduce(0, +) }
}
