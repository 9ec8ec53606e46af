import CivilTime
import Firmware
import Logging
import Synchronization
import Testing

/// Keeps every log message (warning and above) for tests that count log lines.
final class CapturedLog: Sendable {
    let messages = Mutex<[String]>([])

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .warning
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            log.messages.withLock { $0.append("\(event.message)") }
        }
    }

    var logger: Logger { Logger(label: "test") { _ in Handler(log: self) } }
}

/// Feeds the meter second by second with the board's wall clock at `wall(t)` (Unix seconds for true second `t`);
/// stops cleanly at the end.
func runWithWallClock(
    seconds: Int64, from start: Int64 = runStart, meter initial: ContinuityMeter = ContinuityMeter(),
    logger: Logger = Logger(label: "test"), wall: (Int64) -> Int64
) async -> (records: [IntervalRecord], first: P1Sample, last: P1Sample, loop: MeasurementLoop<ReplaySampler>) {
    var meter = initial
    let ring = ContinuityRing()
    var loop = MeasurementLoop<ReplaySampler>(
        ade: nil, intervalLength: 60, output: ring, logger: logger, healthEvery: 0)
    var first: P1Sample?
    var last: P1Sample?
    for t in start..<(start + seconds) {
        var sample = meter.sample(at: t)
        sample.time = UnixTime(seconds: wall(t)) + .milliseconds(300)
        await loop.handle(.p1(.sample(sample)))
        first = first ?? sample
        last = sample
        await loop.handle(.tick(Tick(index: t, wallTime: UnixTime(seconds: wall(t)) + .milliseconds(500))))
        meter.run(second: t)
    }
    await loop.stop(at: UnixTime(seconds: wall(start + seconds)))
    return (await ring.records, first!, last!, loop)
}

@Test func aForwardClockStepOfADayGivesOneRecordThatKeepsTheEnergy() async {
    let stepAt = runStart + 300
    let (records, first, last, loop) = await runWithWallClock(seconds: 600) { t in
        t < stepAt ? t : t + 86_400
    }
    // Before: one empty gap record per missed minute (1440 ring commits for a day, tens of millions from 1970).
    #expect(records.count < 15)
    let steps = records.filter { $0.flags.contains(.clockStep) }
    #expect(steps.count == 1)
    // From the start of the interval that was open when the clock jumped to the boundary before the new time.
    #expect(steps.first?.start == UnixTime(seconds: stepAt - 60))
    #expect(steps.first?.end == UnixTime(seconds: stepAt + 86_400))
    #expect(RegisterTotals(records: records) == RegisterTotals(from: first, to: last))
    for (earlier, later) in zip(records, records.dropFirst()) { #expect(later.start == earlier.end) }
    #expect(loop.health.clockSteps == 1)
}

@Test func aBackwardClockStepClosesAtTheStepNeverOverlapsAndMakesNoFalsePeak() async {
    let stepAt = runStart + 1230  // 20.5 minutes in
    let (records, first, last, loop) = await runWithWallClock(seconds: 2 * 3600) { t in
        t < stepAt ? t : t - 3600
    }
    #expect(RegisterTotals(records: records) == RegisterTotals(from: first, to: last))
    #expect(records.allSatisfy { $0.end > $0.start })
    for (earlier, later) in zip(records, records.dropFirst()) {
        #expect(later.start >= earlier.end, "\(earlier.start)–\(earlier.end) then \(later.start)–\(later.end)")
    }
    // The open record closes at the step.
    #expect(records.contains { $0.end == UnixTime(seconds: stepAt - 1) && $0.flags.contains(.clockStep) })
    // No quarter-hour holds the energy of the hour the clock went back: the peak is at most the real one.
    var truth = ContinuityMeter()
    var perSecond: [Int64] = []
    for t in runStart..<(runStart + 2 * 3600) {
        let before = truth.importMilliWh.reduce(0, +)
        truth.run(second: t)
        perSecond.append(truth.importMilliWh.reduce(0, +) - before)
    }
    var window = perSecond.prefix(900).reduce(0, +)
    var highest = window
    for index in 900..<perSecond.count {
        window += perSecond[index] - perSecond[index - 900]
        highest = max(highest, window)
    }
    let realPeakW = highest * 4 / 1000
    let demand = loop.aggregator.p1DemandView
    #expect(demand.monthPeakW > 0)
    #expect(demand.monthPeakW <= realPeakW + 2, "peak \(demand.monthPeakW) W, real at most \(realPeakW) W")
    #expect(demand.incompleteQuarters >= 2)
}

@Test func aMergedRecordNeverEndsBeforeItStarts() {
    let later = IntervalRecord(start: UnixTime(seconds: 1000), end: UnixTime(seconds: 1060))
    // Before the fix: start 1000, end 960.
    let earlierInTime = IntervalRecord(start: UnixTime(seconds: 900), end: UnixTime(seconds: 960))
    let merged = later.merged(with: earlierInTime)
    #expect(merged.end >= merged.start)
    #expect(merged.start == UnixTime(seconds: 900) && merged.end == UnixTime(seconds: 1060))
}

@Test func meterClockSkewIsCountedAndLoggedOnceAnHour() async {
    var meter = ContinuityMeter()
    meter.meterClockOffset = -25
    let log = CapturedLog()
    let (_, _, _, loop) = await runWithWallClock(seconds: 2 * 3600 + 60, meter: meter, logger: log.logger) { $0 }
    #expect(loop.health.clockSkewTelegrams == 2 * 3600 + 60)
    let lines = log.messages.withLock { $0.filter { $0.contains("clock") } }
    #expect(lines.count == 3, "\(lines)")
}

@Test func monthPeakHistoryAndTheQuarterInProgressSurviveARestart() async {
    // 21:20 UTC on 31 March: April starts (local midnight) at 22:00 UTC, 40 minutes in.
    let start = runStart + 9 * 3600 + 20 * 60
    let ring = ContinuityRing()
    var meter = ContinuityMeter()
    var loop = MeasurementLoop<ReplaySampler>(
        ade: nil, intervalLength: 60, checkpoint: RAMCheckpointStorage(), output: ring,
        logger: Logger(label: "test"), healthEvery: 0)
    var registers: [Int64: Int64] = [:]
    var t = start
    while t < start + 70 * 60 + 20 {  // killed at 22:30:20 UTC, mid-quarter
        registers[t] = meter.sample(at: t).totalImportWh
        await loop.handle(.p1(.sample(meter.sample(at: t))))
        meter.run(second: t)
        t += 1
    }
    let before = loop.aggregator.p1DemandView
    #expect(before.monthHistory.count == 1)
    #expect(before.monthPeakW > 0)
    let storage = loop.checkpointStorage
    for _ in 0..<40 {  // 40 s down
        meter.run(second: t)
        t += 1
    }
    var again = MeasurementLoop<ReplaySampler>(
        ade: nil, intervalLength: 60, checkpoint: storage, output: ring, logger: Logger(label: "test"),
        healthEvery: 0)
    again.resume(ringLastEnd: await ring.lastEnd)
    let restored = again.aggregator.p1DemandView
    #expect(restored.monthPeakW == before.monthPeakW)
    #expect(restored.monthPeakTime == before.monthPeakTime)
    #expect(restored.monthHistory == before.monthHistory)
    while t < start + 90 * 60 {
        registers[t] = meter.sample(at: t).totalImportWh
        await again.handle(.p1(.sample(meter.sample(at: t))))
        meter.run(second: t)
        t += 1
    }
    // The quarter 22:30–22:45 began before the restart and is counted whole, not from the restart on.
    let quarterEnd = start + 85 * 60
    let truthW = ((registers[quarterEnd] ?? 0) - (registers[quarterEnd - 900] ?? 0)) * 4
    let closed = again.aggregator.p1DemandView.recentQuarters.first { $0.end == UnixTime(seconds: quarterEnd) }
    #expect(closed != nil)
    #expect(abs((closed?.averageW ?? 0) - truthW) <= 10, "\(closed?.averageW ?? 0) W, truth \(truthW) W")
}

@Test func adeDemandNetsAcrossThePhasesByDefaultAndCanSumImports() {
    func run(_ mode: ADEDemandMode) -> DemandTracker {
        var aggregator = IntervalAggregator(length: 60, adeDemandMode: mode)
        // Phase A draws 3 kW while a single-phase PV inverter on phase B exports 2.5 kW: the meter sees 500 W.
        for t in Int64(0)...1800 {
            let sample = ADESample(
                time: UnixTime(seconds: runStart + t), importMilliwattHours: [t * 3_000_000 / 3600, 0, 0],
                exportMilliwattHours: [0, t * 2_500_000 / 3600, 0], powerW: [3000, -2500, 0],
                voltageV: [230, 230, 230])
            aggregator.add(sample)
        }
        return aggregator.adeDemandView
    }
    #expect(abs(run(.net).monthPeakW - 500) <= 1)
    #expect(abs(run(.importSum).monthPeakW - 3000) <= 1)
    #expect(IntervalAggregator().adeDemandMode == .net)
}

@Test func aStopWhileTheClockIsStillBehindTheStepKeepsTheEnergy() async {
    let stepAt = runStart + 300
    let (records, first, last, _) = await runWithWallClock(seconds: 600) { t in t < stepAt ? t : t - 3600 }
    #expect(RegisterTotals(records: records) == RegisterTotals(from: first, to: last))
    for (earlier, later) in zip(records, records.dropFirst()) { #expect(later.start >= earlier.end) }
    // The last record ends where it starts: its time is not known, its energy is.
    let stop = records.last
    #expect(stop?.flags.isSuperset(of: [.partial, .clockStep]) == true)
    #expect(stop.map { $0.end == $0.start } == true)
}
