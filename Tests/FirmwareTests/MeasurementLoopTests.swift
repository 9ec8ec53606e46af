import CivilTime
import Firmware
import Logging
import Testing

/// Collects what the loop outputs.
actor Collector: LoopOutput {
    var records: [IntervalRecord] = []
    var live: [LiveReading] = []
    var liveCount: Int { live.count }
    var healths: [Health] = []
    func live(_ reading: LiveReading) { live.append(reading) }
    func closed(_ record: IntervalRecord) { records.append(record) }
    func health(_ health: Health) { healths.append(health) }
}

/// A synthetic three-phase house: power per second from a deterministic profile, energy its exact integral.
struct House {
    /// Net power at second `t` (held for the second that follows), W per phase.
    static func power(_ t: Int64) -> [Double] {
        let minute = Double(t / 60)
        return [
            800 + 600 * sinLike(minute / 37),
            400 + 300 * sinLike(minute / 11 + 1),
            1200 + 900 * sinLike(minute / 90 + 2),
        ]
    }
    /// A cheap smooth periodic function in [-1, 1] (no Foundation in tests needed).
    static func sinLike(_ x: Double) -> Double {
        let f = x - (x / 2).rounded(.down) * 2  // [0, 2)
        return f < 1 ? 4 * f * (1 - f) * 2 - 1 : 1 - 4 * (f - 1) * (2 - f) * 2
    }
}

/// Replays the house into ADE samples (Wh accumulators) and P1 samples (integer Wh registers).
struct HouseReplay {
    var importWh: [Double] = [1000, 2000, 3000]
    var p1ImportMilliWh: Int64 = 5_000_000_000  // 5 MWh already on the meter
    mutating func step(from t: Int64) {
        let p = House.power(t)
        for phase in 0..<3 { importWh[phase] += p[phase] / 3600 }
        p1ImportMilliWh += Int64((p.reduce(0, +) / 3.6).rounded())
    }
    func adeSample(at t: Int64) -> ADESample {
        ADESample(
            time: UnixTime(seconds: t), importMilliwattHours: importWh.map { Int64(($0 * 1000).rounded(.down)) },
            exportMilliwattHours: [0, 0, 0], powerW: House.power(t),
            voltageV: [230.1, 229.5, 231.2])
    }
    func p1Sample(at t: Int64) -> P1Sample {
        let wh = p1ImportMilliWh / 1000
        return P1Sample(
            time: UnixTime(seconds: t), importWh: (wh / 2, wh - wh / 2), exportWh: (0, 0),
            powerImportW: Int64(House.power(t).reduce(0, +)), powerExportW: 0, voltagesDecivolts: [2301, 2295, 2312],
            gasLitres: 1_234_000 + t / 100)
    }
}

/// An ADE sampler over the replay (the loop test does not need the chip simulator).
struct ReplaySampler: ADESampler {
    var replay: HouseReplay
    var lastTime: Int64
    var spiCRCErrors: Int { 0 }
    var chipResets: Int { 0 }
    mutating func sample(at time: UnixTime) throws(SourceError) -> ADESample {
        while lastTime < time.seconds {
            replay.step(from: lastTime)
            lastTime += 1
        }
        return replay.adeSample(at: time.seconds)
    }
}

// 31 March 2025 12:00:00 UTC: the run crosses into April (local midnight at 22:00 UTC), so the month peak restarts.
let runStart: Int64 = 1_743_422_400

@Test func twentyFourHoursOfOperationGiveEveryAlignedRecordWithExactEnergy() async {
    let collector = Collector()
    var loop = MeasurementLoop(
        ade: ReplaySampler(replay: HouseReplay(), lastTime: runStart), intervalLength: 60,
        output: collector, logger: Logger(label: "test"), healthEvery: 3600)
    var p1Replay = HouseReplay()
    var sent: [P1Sample] = []
    for t in runStart...(runStart + 86_400) {
        await loop.handle(.tick(Tick(index: t - runStart, wallTime: UnixTime(seconds: t))))
        if t % 10 == 5 {  // a DSMR 4 meter: one telegram every 10 s, mid-second
            sent.append(p1Replay.p1Sample(at: t))
            await loop.handle(.p1(.sample(sent[sent.count - 1])))
        }
        p1Replay.step(from: t)
    }
    let records = await collector.records
    #expect(records.count == 1440)
    #expect(records.first?.start == UnixTime(seconds: runStart))
    for (index, record) in records.enumerated() {
        #expect(record.start == UnixTime(seconds: runStart + Int64(index) * 60))
        #expect(record.end == record.start + .seconds(60))
        #expect(record.start.seconds % 60 == 0)
        #expect(record.p1 != nil && record.ade9000 != nil)
    }
    // P1: the deltas add up exactly to the register difference up to the last telegram before the last boundary.
    let p1Sum = records.reduce(Int64(0)) { $0 + ($1.p1.map { $0.importTariff1Wh + $0.importTariff2Wh } ?? 0) }
    let lastBeforeEnd = sent.last { $0.time < UnixTime(seconds: runStart + 86_400) }!
    #expect(p1Sum == lastBeforeEnd.totalImportWh - sent[0].totalImportWh)
    #expect(p1Sum > 50_000)  // about 2.4 kW for a day
    let gasSum = records.reduce(Int64(0)) { $0 + ($1.p1?.gasLitres ?? 0) }
    #expect(gasSum == lastBeforeEnd.gasLitres! - sent[0].gasLitres!)
    // ADE9000: whole Wh attributed per record; their sum is the floor difference of the accumulators.
    var ade = HouseReplay()
    let adeStart = ade.adeSample(at: runStart).importMilliwattHours.map { $0 / 1000 }
    for t in runStart..<(runStart + 86_400) { ade.step(from: t) }
    let adeEnd = ade.adeSample(at: runStart + 86_400).importMilliwattHours.map { $0 / 1000 }
    let adeSum = records.reduce(Int64(0)) { sum, record in
        sum + (record.ade9000.map { $0.phaseA.importWh + $0.phaseB.importWh + $0.phaseC.importWh } ?? 0)
    }
    #expect(adeSum == zip(adeEnd, adeStart).reduce(0) { $0 + $1.0 - $1.1 })
    let health = loop.health
    #expect(health.ticks == 86_401)
    #expect(health.telegramsAccepted == 8640)
    #expect(health.deadlinesMissed == 0)
}

@Test func quarterHourAveragesAndMonthPeakMatchAnIndependentComputation() async {
    let collector = Collector()
    var loop = MeasurementLoop(
        ade: ReplaySampler(replay: HouseReplay(), lastTime: runStart), intervalLength: 60,
        output: collector, logger: Logger(label: "test"), healthEvery: 0)
    for t in runStart...(runStart + 86_400) {
        await loop.handle(.tick(Tick(index: t - runStart, wallTime: UnixTime(seconds: t))))
    }
    // Independent: exact energy per quarter-hour from the profile, × 4 → W.
    var quarterAverages: [(end: Int64, watts: Int64)] = []
    var energy = 0.0
    for t in runStart..<(runStart + 86_400) {
        energy += House.power(t).reduce(0, +) / 3600
        if (t + 1) % 900 == 0 {
            quarterAverages.append((t + 1, Int64((energy * 4).rounded())))
            energy = 0
        }
    }
    let tracked = loop.aggregator.adeDemandView.recentQuarters
    let lastTracked = Array(tracked.suffix(min(tracked.count, 96)))
    let expectedTail = Array(quarterAverages.suffix(lastTracked.count))
    #expect(lastTracked.count == 96)
    for (got, want) in zip(lastTracked, expectedTail) {
        #expect(got.end == UnixTime(seconds: want.end))
        #expect(abs(got.averageW - want.watts) <= 1, "quarter ending \(want.end)")
    }
    // April began at 1743458400 (00:00 CEST): the peak is the largest April quarter.
    let april = quarterAverages.filter { $0.end - 900 >= 1_743_458_400 }
    let peak = april.max { $0.watts < $1.watts }!
    #expect(abs(loop.aggregator.adeDemandView.monthPeakW - peak.watts) <= 1)
    #expect(
        loop.aggregator.adeDemandView.monthPeakTime
            == UnixTime(seconds: april.first { abs($0.watts - loop.aggregator.adeDemandView.monthPeakW) <= 1 }!.end))
    // The records carry the running demand and the peak.
    let records = await collector.records
    #expect(records.last?.ade9000?.monthPeakDemandW == loop.aggregator.adeDemandView.monthPeakW)
}

@Test func intervalsWithoutSamplesAreClosedAsGapsAndEnergyIsKept() async {
    let collector = Collector()
    var loop = MeasurementLoop<ReplaySampler>(
        ade: nil, intervalLength: 60, output: collector,
        logger: Logger(label: "test"), healthEvery: 0)
    func sample(_ t: Int64, _ wh: Int64) -> P1Sample {
        P1Sample(time: UnixTime(seconds: t), importWh: (wh, 0), exportWh: (0, 0), powerImportW: 100, powerExportW: 0)
    }
    // The ticker keeps ticking every second while the cable is out (without ticks, events minutes apart would be a
    // clock step or a stall: one record spans those).
    for t in (runStart + 1)...(runStart + 300) {
        if t == runStart + 1 { await loop.handle(.p1(.sample(sample(t, 1000)))) }
        if t == runStart + 30 {
            await loop.handle(.p1(.sample(sample(t, 1003))))
            // The cable is unplugged for three minutes.
            await loop.handle(.p1(.portError("unplugged")))
        }
        if t == runStart + 250 { await loop.handle(.p1(.sample(sample(t, 1020)))) }
        await loop.handle(.tick(Tick(index: t - runStart, wallTime: UnixTime(seconds: t) + .milliseconds(500))))
    }
    let records = await collector.records
    #expect(records.count == 5)
    #expect(records.map { $0.p1?.importTariff1Wh ?? -1 } == [3, 0, 0, 0, 17])
    #expect(records[1].flags.contains(.gap))
}

@Test func glitchedZeroAndBackwardsReadingsAreRefused() async {
    let collector = Collector()
    var loop = MeasurementLoop<ReplaySampler>(
        ade: nil, intervalLength: 60, output: collector,
        logger: Logger(label: "test"), healthEvery: 0)
    func sample(_ t: Int64, _ wh: Int64) -> P1Sample {
        P1Sample(time: UnixTime(seconds: t), importWh: (wh, 0), exportWh: (0, 0), powerImportW: 100, powerExportW: 0)
    }
    await loop.handle(.p1(.sample(sample(runStart + 1, 0))))  // all-zero first reading: glitch
    await loop.handle(.p1(.sample(sample(runStart + 2, 5000))))
    await loop.handle(.p1(.sample(sample(runStart + 3, 0))))  // glitch
    await loop.handle(.p1(.sample(sample(runStart + 4, 4990))))  // backwards
    await loop.handle(.p1(.sample(sample(runStart + 50, 5002))))
    await loop.handle(.tick(Tick(index: 1, wallTime: UnixTime(seconds: runStart + 60))))
    let records = await collector.records
    #expect(records.count == 1)
    #expect(records[0].p1?.importTariff1Wh == 2)
    #expect(records[0].flags.contains(.sourceError))
    #expect(loop.aggregator.rejectedSamples == 3)
    // One glitch policy: what the records refuse, no sink sees live either (stdout, MQTT, HTTP get `live`).
    let published = await collector.live.compactMap { reading -> Int64? in
        if case .p1(let sample, _) = reading { return sample.importWh.tariff1 }
        return nil
    }
    #expect(published == [5000, 5002])
    #expect(loop.health.telegramsAccepted == 2)
    #expect(loop.health.rejectionReasons == ["implausible": 3])
}

/// A register that is genuinely 0 (no PV: export stays 0; a new gas meter) is a value, not a glitch: it is
/// published from the first telegram on, and its record deltas are 0.
@Test func registersThatAreGenuinelyZeroArePublished() async throws {
    let collector = Collector()
    var loop = MeasurementLoop<ReplaySampler>(
        ade: nil, intervalLength: 60, output: collector,
        logger: Logger(label: "test"), healthEvery: 0)
    for (offset, wh) in [(1, 1000), (10, 1001), (20, 1003)] as [(Int64, Int64)] {
        await loop.handle(
            .p1(
                .sample(
                    P1Sample(
                        time: UnixTime(seconds: runStart + offset), importWh: (wh, 0), exportWh: (0, 0),
                        powerImportW: 300,
                        powerExportW: 0, gasLitres: 0))))
    }
    let live = await collector.live
    #expect(live.count == 3)
    let line = try #require(live.last.map { String(decoding: Payloads.live($0, device: "d"), as: UTF8.self) })
    #expect(line.contains(#""export_t1_wh":0,"export_t2_wh":0"#))
    #expect(line.contains(#""gas_l":0"#))
}
