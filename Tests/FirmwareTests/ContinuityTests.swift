import CivilTime
import Firmware
import Logging
import Testing

/// A Belgian-style P1 meter for the restart tests: one telegram a second, exact registers (mWh inside, whole Wh in
/// the telegram as a meter truncates them), two tariffs, export in the afternoon, gas and water.
struct ContinuityMeter {
    var importMilliWh: [Int64] = [1_234_567_000, 2_345_678_000]
    var exportMilliWh: [Int64] = [345_678_000, 123_456_000]
    var gasLitres: Int64 = 4_321_000
    var waterLitres: Int64 = 87_654
    /// The meter's clock minus the board's, seconds (0-0:1.0.0).
    var meterClockOffset: Int64 = 0

    /// The meter runs through second `t`.
    mutating func run(second t: Int64) {
        let tariff = Int((t / 3600) % 2)
        let net = House.power(t).reduce(0, +) - ((t / 600) % 3 == 0 ? 4500 : 0)
        if net >= 0 {
            importMilliWh[tariff] += Int64((net / 3.6).rounded())
        } else {
            exportMilliWh[tariff] += Int64((-net / 3.6).rounded())
        }
        if t % 7 == 0 { gasLitres += 1 }
        if t % 31 == 0 { waterLitres += 1 }
    }

    func sample(at t: Int64) -> P1Sample {
        var details = P1Sample.Details()
        details.meterTime = UnixTime(seconds: t + meterClockOffset)
        return P1Sample(
            time: UnixTime(seconds: t) + .milliseconds(300),
            importWh: (importMilliWh[0] / 1000, importMilliWh[1] / 1000),
            exportWh: (exportMilliWh[0] / 1000, exportMilliWh[1] / 1000), powerImportW: 1000, powerExportW: 0,
            voltagesDecivolts: [2301], gasLitres: gasLitres, waterLitres: waterLitres, details: details)
    }
}

/// Per register: what the records hold and what the meter's registers moved.
struct RegisterTotals: Equatable, CustomStringConvertible {
    var importT1: Int64 = 0
    var importT2: Int64 = 0
    var exportT1: Int64 = 0
    var exportT2: Int64 = 0
    var gas: Int64 = 0
    var water: Int64 = 0

    init() {}
    init(records: [IntervalRecord]) {
        for record in records {
            guard let p1 = record.p1 else { continue }
            importT1 += p1.importTariff1Wh
            importT2 += p1.importTariff2Wh
            exportT1 += p1.exportTariff1Wh
            exportT2 += p1.exportTariff2Wh
            gas += p1.gasLitres
            water += p1.waterLitres
        }
    }
    init(from first: P1Sample, to last: P1Sample) {
        importT1 = last.importWh.tariff1 - first.importWh.tariff1
        importT2 = last.importWh.tariff2 - first.importWh.tariff2
        exportT1 = last.exportWh.tariff1 - first.exportWh.tariff1
        exportT2 = last.exportWh.tariff2 - first.exportWh.tariff2
        gas = (last.gasLitres ?? 0) - (first.gasLitres ?? 0)
        water = (last.waterLitres ?? 0) - (first.waterLitres ?? 0)
    }
    var description: String {
        "import \(importT1)/\(importT2) Wh, export \(exportT1)/\(exportT2) Wh, gas \(gas) l, water \(water) l"
    }
}

/// The ring for these tests: keeps what it is given, and can lose the next record as a power cut between the
/// checkpoint's save and the ring's commit would.
actor ContinuityRing: LoopOutput {
    private(set) var records: [IntervalRecord] = []
    private var loseNext = false
    func live(_ reading: LiveReading) {}
    func closed(_ record: IntervalRecord) {
        if loseNext {
            loseNext = false
            return
        }
        records.append(record)
    }
    func health(_ health: Health) {}
    func loseNextRecord() { loseNext = true }
    var lastEnd: UnixTime? { records.last?.end }
}

/// How one run of emeter ends.
enum RunEnd {
    /// SIGTERM / SIGINT: the open interval is closed as `partial`.
    case stop
    /// SIGKILL: nothing more happens.
    case kill
    /// Power fails after the checkpoint of the next record was saved, before the ring stored it.
    case powerCutDuringCommit
}

/// Runs the meter and emeter through virtual time: `runs` gives each run's length and how it ends, with the
/// downtime after it; the meter keeps counting while emeter is down.
func runWithRestarts(
    _ runs: [(seconds: Int64, end: RunEnd, downtime: Int64)], meter initial: ContinuityMeter = ContinuityMeter(),
    start: Int64 = runStart + 17
) async -> (records: [IntervalRecord], first: P1Sample, last: P1Sample, health: [Health]) {
    var meter = initial
    let ring = ContinuityRing()
    var storage: any CheckpointStorage = RAMCheckpointStorage()
    var t = start
    var first: P1Sample?
    var last: P1Sample?
    var healths: [Health] = []
    for run in runs {
        var loop = MeasurementLoop<ReplaySampler>(
            ade: nil, intervalLength: 60, checkpoint: storage, output: ring, logger: Logger(label: "test"),
            healthEvery: 0)
        loop.resume(ringLastEnd: await ring.lastEnd)
        let runEnd = t + run.seconds
        var cut = false
        while t < runEnd {
            let sample = meter.sample(at: t)
            await loop.handle(.p1(.sample(sample)))
            first = first ?? sample
            last = sample
            await loop.handle(.tick(Tick(index: t, wallTime: UnixTime(seconds: t) + .milliseconds(500))))
            meter.run(second: t)
            t += 1
            if case .powerCutDuringCommit = run.end, (t + 1) % 60 == 0 {
                await ring.loseNextRecord()
                cut = true
            }
            if cut && t % 60 == 1 { break }  // the record was closed (and lost): the power is gone
        }
        if case .stop = run.end { await loop.stop(at: UnixTime(seconds: t)) }
        healths.append(loop.health)
        storage = loop.checkpointStorage ?? RAMCheckpointStorage()
        for _ in 0..<run.downtime {
            meter.run(second: t)
            t += 1
        }
    }
    return (await ring.records, first!, last!, healths)
}

@Test func energyAddsUpExactlyAcrossStopsKillsAndPowerCuts() async {
    let (records, first, last, _) = await runWithRestarts([
        (seconds: 600, end: .kill, downtime: 437),
        (seconds: 300, end: .stop, downtime: 30),
        (seconds: 900, end: .powerCutDuringCommit, downtime: 3 * 3600),
        (seconds: 45, end: .kill, downtime: 5),
        (seconds: 200, end: .kill, downtime: 86_400 + 13),
        (seconds: 1000, end: .stop, downtime: 0),
    ])
    // Σ record energies = register(last) − register(first), per register, exactly.
    let summed = RegisterTotals(records: records)
    #expect(summed == RegisterTotals(from: first, to: last), "\(summed)")
    #expect(summed.exportT1 + summed.exportT2 > 0 && summed.importT1 > 0 && summed.importT2 > 0)
    // Records cover the time without holes or overlaps, and none ends before it starts.
    for (earlier, later) in zip(records, records.dropFirst()) {
        #expect(later.start == earlier.end, "\(earlier.start)–\(earlier.end) then \(later.start)–\(later.end)")
    }
    #expect(records.allSatisfy { $0.end > $0.start })
    // Five restarts: each first record is flagged, and spans the downtime.
    #expect(records.filter { $0.flags.contains(.restart) }.count == 5)
    #expect(records.filter { $0.flags.contains(.partial) }.count == 2)
    #expect(records.last?.flags.contains(.partial) == true)
}

@Test func theFirstRecordAfterARestartSpansTheDowntimeToTheFirstReading() async {
    let (records, _, _, _) = await runWithRestarts([
        (seconds: 125, end: .kill, downtime: 600),
        (seconds: 100, end: .kill, downtime: 0),
    ])
    // Run 1: 17 s into a minute; records end at the two boundaries, the open interval starts at +120 s.
    let restart = records.first { $0.flags.contains(.restart) }
    #expect(restart?.start == UnixTime(seconds: runStart + 120))
    // The first new telegram arrives at +742 s (17 + 125 + 600).
    #expect(restart?.end == UnixTime(seconds: runStart + 742))
    #expect(restart.map { $0.p1!.importTariff1Wh + $0.p1!.importTariff2Wh > 0 } == true)
    #expect(restart?.flags.contains(.gap) == false)
    // The next record runs to the next boundary.
    let next = records.first { $0.start == UnixTime(seconds: runStart + 742) }
    #expect(next?.end == UnixTime(seconds: runStart + 780))
}

@Test func aPowerCutBetweenCheckpointAndRingCountsTheLostRecordAgain() async {
    var meter = ContinuityMeter()
    let ring = ContinuityRing()
    var loop = MeasurementLoop<ReplaySampler>(
        ade: nil, intervalLength: 60, checkpoint: RAMCheckpointStorage(), output: ring,
        logger: Logger(label: "test"), healthEvery: 0)
    let first = meter.sample(at: runStart)
    for t in runStart..<(runStart + 119) {
        await loop.handle(.p1(.sample(meter.sample(at: t))))
        meter.run(second: t)
    }
    await ring.loseNextRecord()
    await loop.handle(.p1(.sample(meter.sample(at: runStart + 119))))
    meter.run(second: runStart + 119)
    await loop.handle(.p1(.sample(meter.sample(at: runStart + 120))))  // closes 60–120: saved, then lost
    #expect(await ring.records.count == 1)
    let storage = loop.checkpointStorage
    var again = MeasurementLoop<ReplaySampler>(
        ade: nil, intervalLength: 60, checkpoint: storage, output: ring, logger: Logger(label: "test"),
        healthEvery: 0)
    let point = again.resume(ringLastEnd: await ring.lastEnd)
    #expect(point?.time == UnixTime(seconds: runStart + 60))
    meter.run(second: runStart + 120)
    let last = meter.sample(at: runStart + 200)
    await again.handle(.p1(.sample(last)))
    await again.stop(at: UnixTime(seconds: runStart + 200) + .milliseconds(500))
    #expect(RegisterTotals(records: await ring.records) == RegisterTotals(from: first, to: last))
}

@Test func theADE9000RestartIsAFlaggedGapNeverAGuess() async {
    let ring = ContinuityRing()
    var storage: any CheckpointStorage = RAMCheckpointStorage()
    var expected: Int64 = 0
    var t = runStart
    for downtime: Int64 in [300, 0] {
        // The driver's accumulators start from zero at every start of emeter.
        var sampler = ReplaySampler(replay: HouseReplay(), lastTime: t)
        sampler.replay.importWh = [0, 0, 0]
        var loop = MeasurementLoop(
            ade: sampler, intervalLength: 60, checkpoint: storage, output: ring, logger: Logger(label: "test"),
            healthEvery: 0)
        loop.resume(ringLastEnd: await ring.lastEnd)
        let startSample = try? sampler.sample(at: UnixTime(seconds: t))
        for second in t..<(t + 600) {
            await loop.handle(.tick(Tick(index: second, wallTime: UnixTime(seconds: second))))
        }
        var end = sampler
        let endSample = try? end.sample(at: UnixTime(seconds: t + 599))
        expected += zip(endSample!.importMilliwattHours, startSample!.importMilliwattHours).reduce(0) {
            $0 + $1.0 / 1000 - $1.1 / 1000
        }
        await loop.stop(at: UnixTime(seconds: t + 599) + .milliseconds(500))
        storage = loop.checkpointStorage ?? RAMCheckpointStorage()
        t += 600 + downtime
    }
    let records = await ring.records
    let restart = records.first { $0.flags.contains(.restart) }
    #expect(restart?.flags.contains(.gap) == true)
    #expect(restart?.start == UnixTime(seconds: runStart + 599))
    #expect(restart?.end == UnixTime(seconds: runStart + 900))
    // Only what the ADE9000 measured while emeter ran: the downtime adds nothing, and nothing negative.
    let summed = records.reduce(Int64(0)) { sum, record in
        sum + (record.ade9000.map { $0.phaseA.importWh + $0.phaseB.importWh + $0.phaseC.importWh } ?? 0)
    }
    #expect(summed == expected)
}

@Test func aCheckpointSurvivesItsTextAndADamagedOneIsNamed() throws {
    var demand = DemandTracker.State()
    demand.lastTime = UnixTime(milliseconds: 1_000_000)
    demand.monthPeakW = 4321
    demand.monthHistory = [
        DemandTracker.MonthPeak(
            monthStart: UnixTime(seconds: 1_740_000_000), peakW: 5000, peakTime: UnixTime(seconds: 1_740_100_000))
    ]
    let checkpoint = LoopCheckpoint(
        before: .init(time: UnixTime(seconds: 100), p1: nil),
        after: .init(
            time: UnixTime(seconds: 160),
            p1: .init(
                importTariff1Wh: 1, importTariff2Wh: 2, exportTariff1Wh: 3, exportTariff2Wh: 4, gasLitres: nil,
                waterLitres: 6)),
        p1Demand: demand, adeDemand: DemandTracker.State())
    let bytes = checkpoint.encoded()
    #expect(try LoopCheckpoint(decoding: bytes, source: "cp") == checkpoint)
    var damaged = bytes
    damaged[30] ^= 0x01
    #expect(throws: CheckpointError.self) { try LoopCheckpoint(decoding: damaged, source: "cp") }
    let edited = Array(String(decoding: bytes, as: UTF8.self).replacing("after.time 160", with: "after.time x").utf8)
    do {
        _ = try LoopCheckpoint(decoding: edited, source: "cp")
        Issue.record("an edited checkpoint was accepted")
    } catch {
        #expect(error.message.contains("crc"))
    }
    // The ring decides which point: the record after `before` reached it, or not.
    #expect(checkpoint.resume(ringLastEnd: UnixTime(seconds: 100)).time == UnixTime(seconds: 100))
    #expect(checkpoint.resume(ringLastEnd: UnixTime(seconds: 160)).time == UnixTime(seconds: 160))
    #expect(checkpoint.resume(ringLastEnd: nil).time == UnixTime(seconds: 160))
}
