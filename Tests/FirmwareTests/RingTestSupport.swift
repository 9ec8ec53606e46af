import CivilTime
import HAL
import Simulator

@testable import Firmware

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Deterministic PRNG (RingRandom) so every test run sees the same "house".
struct RingRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: ClosedRange<Int64>) -> Int64 {
        range.lowerBound + Int64(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
}

/// 2026-01-01T00:00:00Z.
let ringNewYear2026: Int64 = 1_767_225_600

/// One-minute records of a typical three-phase house with gas (the reference load): average power
/// 0–3000 W, so import T1 0–50 Wh per minute (from a Wh register that carries fractions), max import
/// 500–2500 W above average, voltages 228.0–236.0 V, gas 0–20 l, quarter-hour demand 1000–2000 W and a month
/// peak of 5000 W set on 1 January at 07:15 that does not change.
func typicalRingRecords(_ count: Int, start: Int64 = ringNewYear2026 + 86_400, seed: UInt64 = 42) -> [IntervalRecord] {
    var random = RingRandom(state: seed)
    var wattMinutes: Int64 = 0
    var records: [IntervalRecord] = []
    for index in 0..<count {
        let power = random.int(0...3000)
        let before = wattMinutes / 60
        wattMinutes += power
        let voltageMin = random.int(2280...2320)
        let p1 = P1Interval(
            importTariff1Wh: wattMinutes / 60 - before, averagePowerW: power,
            maxImportPowerW: power + random.int(500...2500),
            voltageMinDecivolts: voltageMin, voltageMaxDecivolts: voltageMin + random.int(0...40),
            gasLitres: random.int(0...20), quarterHourDemandW: random.int(1000...2000),
            monthPeakDemandW: 5000, monthPeakTime: UnixTime(seconds: ringNewYear2026 + 7 * 3600 + 900))
        let begin = start + 60 * Int64(index)
        records.append(IntervalRecord(start: UnixTime(seconds: begin), end: UnixTime(seconds: begin + 60), p1: p1))
    }
    return records
}

/// A record with every field set, for round trips.
func fullRingRecord(start: Int64 = ringNewYear2026 + 3600, seed: UInt64 = 7) -> IntervalRecord {
    var random = RingRandom(state: seed)
    let p1 = P1Interval(
        importTariff1Wh: random.int(0...5000), importTariff2Wh: random.int(1...5000),
        exportTariff1Wh: random.int(1...5000), exportTariff2Wh: random.int(1...5000),
        averagePowerW: random.int(-9000...9000), maxImportPowerW: random.int(1...17000),
        maxExportPowerW: random.int(1...9000), voltageMinDecivolts: 2195, voltageMaxDecivolts: 2466,
        gasLitres: random.int(1...900), waterLitres: random.int(1...300), quarterHourDemandW: random.int(1...9000),
        monthPeakDemandW: 7321, monthPeakTime: UnixTime(seconds: start - 86_400 * 3 + 4500))
    let ade = ADE9000Interval(
        phaseA: PhaseEnergy(importWh: random.int(1...900), exportWh: random.int(1...900)),
        phaseB: PhaseEnergy(importWh: random.int(1...900), exportWh: 0),
        phaseC: PhaseEnergy(importWh: 0, exportWh: random.int(1...900)),
        averagePowerW: random.int(-5000...5000), maxPowerW: -random.int(1...5000),
        voltageMinDecivolts: 2250, voltageMaxDecivolts: 2410, quarterHourDemandW: random.int(1...9000),
        monthPeakDemandW: 6100 + random.int(0...1), monthPeakTime: UnixTime(seconds: start - 86_400 * 2))
    return IntervalRecord(
        start: UnixTime(seconds: start), end: UnixTime(seconds: start + 900), flags: [.sourceError, .clockStep], p1: p1,
        ade9000: ade)
}

/// Energy and volume totals over records, to check that merging never loses or invents any.
struct RingTotals: Equatable, CustomStringConvertible {
    var importT1: Int64 = 0, importT2: Int64 = 0, exportT1: Int64 = 0, exportT2: Int64 = 0
    var gas: Int64 = 0, water: Int64 = 0, adeImport: Int64 = 0, adeExport: Int64 = 0

    init() {}
    init<S: Sequence>(_ records: S) where S.Element == IntervalRecord {
        for record in records { add(record) }
    }
    mutating func add(_ record: IntervalRecord) {
        if let p1 = record.p1 {
            importT1 += p1.importTariff1Wh
            importT2 += p1.importTariff2Wh
            exportT1 += p1.exportTariff1Wh
            exportT2 += p1.exportTariff2Wh
            gas += p1.gasLitres
            water += p1.waterLitres
        }
        if let ade = record.ade9000 {
            for phase in [ade.phaseA, ade.phaseB, ade.phaseC] {
                adeImport += phase.importWh
                adeExport += phase.exportWh
            }
        }
    }
    var description: String {
        "T1 \(importT1) T2 \(importT2) exp \(exportT1)/\(exportT2) gas \(gas) water \(water) "
            + "ade \(adeImport)/\(adeExport)"
    }
}

/// A `Delay` that only adds up the time asked for.
struct RingVirtualDelay: Delay {
    var total: Duration = .zero
    var calls = 0
    mutating func delay(_ duration: Duration) {
        total += duration
        calls += 1
    }
}

/// Storage that records every image stored, to replay the committed states of an operation.
struct RingRecordingStorage: RingStorage {
    var inner = RAMRingStorage()
    var images: [[UInt8]] = []
    mutating func load() throws(RingError) -> [UInt8]? { try inner.load() }
    mutating func store(_ image: [UInt8], changed: [Range<Int>]) throws(RingError) {
        images.append(image)
        try inner.store(image, changed: changed)
    }
}

/// An I2C device that forwards to another and logs every transaction.
struct RingLoggingI2C<Inner: I2CDevice>: I2CDevice {
    var inner: Inner
    var log: [(address: UInt8, operations: [I2COperation])] = []
    mutating func transaction(address: UInt8, _ operations: [I2COperation]) throws(HALError) -> [[UInt8]] {
        log.append((address, operations))
        return try inner.transaction(address: address, operations)
    }
}

/// The records a ring image decodes to (`nil` when it holds no valid image).
func decodedRingRecords(_ image: [UInt8]) -> [IntervalRecord]? {
    ReadingRing<RAMRingStorage>.decode(image)?.entries.map(\.record)
}

// MARK: Files

func ringTemporaryPath(_ name: String) -> String {
    let directory = "/tmp/emeter-ring-tests-\(getpid())"
    mkdir(directory, 0o755)
    return "\(directory)/\(name)-\(RingRandom(state: UInt64(UInt32.random(in: 0...UInt32.max))).state)"
}

func ringReadFile(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else { return [] }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes += buffer[..<count]
    }
    return bytes
}

func ringWriteFile(_ path: String, _ bytes: [UInt8]) {
    guard let file = fopen(path, "wb") else { return }
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, bytes.count, file) }
    fclose(file)
}
