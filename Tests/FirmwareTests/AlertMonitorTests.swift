import CivilTime
import P1
import TestSupport
import Testing

@testable import Firmware

// Issue "Act on the readings": data-quality alerts as scenario tests in virtual time.

private let t0: Int64 = 1_750_000_000 - 1_750_000_000 % 3600  // an hour boundary (UTC)

private func p1(
    _ time: Int64, importWh: Int64 = 1_000_000, exportWh: Int64 = 0, id: String = "METER1", meterTime: Int64? = nil
)
    -> LiveReading
{
    var details = P1Sample.Details()
    details.equipmentID = id
    details.meterTime = UnixTime(seconds: meterTime ?? time)
    return .p1(
        P1Sample(
            time: UnixTime(seconds: time), importWh: (importWh, 0), exportWh: (exportWh, 0), powerImportW: 500,
            powerExportW: 0,
            details: details),
        demand: DemandView(quarterHourDemandW: 0, monthPeakDemandW: 0, monthPeakTime: nil))
}

private func ade(_ time: Int64, power: [Double], importMilliwattHours: Int64 = 0) -> LiveReading {
    .ade9000(
        ADESample(
            time: UnixTime(seconds: time), importMilliwattHours: [importMilliwattHours, 0, 0],
            exportMilliwattHours: [0, 0, 0],
            powerW: power, voltageV: [230, 230, 230]),
        demand: DemandView(quarterHourDemandW: 0, monthPeakDemandW: 0, monthPeakTime: nil))
}

@Test func aSilentP1MeterRaisesOnceAndClearsOnce() {
    var settings = AlertMonitor.Settings()
    settings.p1MissingAfter = 60
    var monitor = AlertMonitor(settings: settings)
    var events: [AlertMonitor.Event] = []
    for second in 0..<900 as Range<Int64> {
        let now = t0 + second
        // Telegrams for 100 s, silence for 200 s, telegrams again.
        if second < 100 || second >= 300 { events += monitor.observe(p1(now)) }
        events += monitor.tick(now: UnixTime(seconds: now))
    }
    #expect(events.map(\.active) == [true, false])
    // The last telegram at 99, 60 s later.
    #expect(events.first?.kind == .p1Missing && events.first?.time == UnixTime(seconds: t0 + 159))
    #expect(events.last?.time == UnixTime(seconds: t0 + 600))  // telegrams from 300, clear after 300 s
    #expect(monitor.raisedCount[.p1Missing] == 1)
}

@Test func aConditionShorterThanTheRaiseDelayNeverAlerts() {
    var settings = AlertMonitor.Settings()
    settings.importOnlyPhases = [1]
    var monitor = AlertMonitor(settings: settings)
    var events: [AlertMonitor.Event] = []
    for second in 0..<3600 as Range<Int64> {
        // Reversed for 30 s, normal for 30 s: a noisy reading, never 60 s in a row.
        let reversed = (second / 30) % 2 == 0
        events += monitor.observe(ade(t0 + second, power: [reversed ? -300 : 300, 0, 0]))
    }
    #expect(events.isEmpty)
}

@Test func aReversedCTAndNightProductionAreRaisedWithTheirPhases() {
    var settings = AlertMonitor.Settings()
    settings.importOnlyPhases = [2]
    settings.pvPhases = [1]
    var monitor = AlertMonitor(settings: settings, localTime: .utc)
    let night = CivilTime.seconds(year: 2025, month: 6, day: 16, hour: 2, minute: 0, second: 0)
    var events: [AlertMonitor.Event] = []
    for second in 0..<120 as Range<Int64> {
        events += monitor.observe(ade(night + second, power: [-800, -400, 100]))
    }
    #expect(Set(events.map(\.kind)) == [.reversedCT, .nightProduction])
    #expect(events.first { $0.kind == .reversedCT }?.detail == "negative power on import-only phase(s) 2")
    // Production at noon on the PV phase is what PV does.
    var day = AlertMonitor(settings: settings, localTime: .utc)
    var dayEvents: [AlertMonitor.Event] = []
    for second in 0..<120 as Range<Int64> {
        dayEvents += day.observe(ade(night + 10 * 3600 + second, power: [-800, 5, 0]))
    }
    #expect(dayEvents.isEmpty)
}

@Test func aMeterSwapIsRaisedAtOnceAndAClockSkewAfterItHeld() {
    var settings = AlertMonitor.Settings()
    settings.clockSkewLimit = 30
    var monitor = AlertMonitor(settings: settings)
    var events: [AlertMonitor.Event] = []
    events += monitor.observe(p1(t0, id: "METER1"))
    events += monitor.observe(p1(t0 + 1, id: "METER2"))
    #expect(events.map(\.kind) == [.meterSwapped] && events.first?.detail == "equipment id METER1 → METER2")
    events = []
    for second in 2..<400 as Range<Int64> {
        events += monitor.observe(p1(t0 + second, id: "METER2", meterTime: t0 + second + 45))
    }
    #expect(events.filter { $0.active }.map(\.kind) == [.clockSkew])
    #expect(events.first { $0.kind == .clockSkew }?.detail == "meter clock +45 s from the board's")
    #expect(events.contains { $0.kind == .meterSwapped && !$0.active })  // cleared after 300 s
}

@Test func aForwarderWithRecordsWaitingThatDeliversNothingIsStalled() {
    var monitor = AlertMonitor(settings: AlertMonitor.Settings())
    #expect(monitor.tick(now: UnixTime(seconds: t0), forwarders: [("mqtt", 5, UnixTime(seconds: t0))]).isEmpty)
    #expect(monitor.tick(now: UnixTime(seconds: t0 + 899), forwarders: [("mqtt", 5, UnixTime(seconds: t0))]).isEmpty)
    let raised = monitor.tick(now: UnixTime(seconds: t0 + 900), forwarders: [("mqtt", 5, UnixTime(seconds: t0))])
    #expect(raised.map(\.detail) == ["mqtt: 5 records waiting"])
    // Nothing waiting is not a stall, however long ago the last delivery was.
    var idle = AlertMonitor(settings: AlertMonitor.Settings())
    #expect(idle.tick(now: UnixTime(seconds: t0 + 5000), forwarders: [("mqtt", 0, UnixTime(seconds: t0))]).isEmpty)
}

@Test func p1AndADE9000DisagreeingOverAnHourIsRaisedAtTheHour() {
    var settings = AlertMonitor.Settings()
    settings.disagreementPercent = 5
    var monitor = AlertMonitor(settings: settings)
    var events: [AlertMonitor.Event] = []
    // Over the hour the P1 meter counts 1000 Wh and the CTs 1200 Wh (20 %).
    for minute in 0...60 as ClosedRange<Int64> {
        let now = t0 + minute * 60
        events += monitor.observe(p1(now, importWh: 1_000_000 + minute * 1000 / 60))
        events += monitor.observe(ade(now, power: [1200, 0, 0], importMilliwattHours: minute * 1_200_000 / 60))
    }
    #expect(events.map(\.kind) == [.meterDisagreement])
    #expect(events.first?.detail == "P1 1000 Wh, ADE9000 1200 Wh over the last hour")
}

/// Issue "Act on the readings", capacity tariff: `peak_warning` as soon as the running quarter-hour's projection
/// would set a new month peak (never for one under the 2.5 kW billed anyway), gone as soon as it would not.
@Test func aPeakWarningFollowsTheProjectionOfTheQuarterHour() {
    var settings = AlertMonitor.Settings()
    settings.peakWarningWhenMeterReportsDemand = true
    var monitor = AlertMonitor(settings: settings)
    let quarter = t0 + 900
    func reading(_ offset: Int64, average: Int64, importW: Int64, peak: Int64) -> LiveReading {
        var sample = P1Sample(
            time: UnixTime(seconds: quarter + offset), importWh: (1_000_000, 0), exportWh: (0, 0),
            powerImportW: importW,
            powerExportW: 0, quarterHourDemandW: average)
        sample.details.equipmentID = "METER1"
        let projected = DemandView.projection(average: average, importW: importW, time: sample.time)
        return .p1(
            sample,
            demand: DemandView(
                quarterHourDemandW: average, monthPeakDemandW: peak, monthPeakTime: nil,
                projectedQuarterHourDemandW: projected))
    }
    #expect(monitor.observe(reading(300, average: 1000, importW: 2000, peak: 3000)).isEmpty)  // 1667 W projected
    let raised = monitor.observe(reading(450, average: 3000, importW: 4000, peak: 3000))  // 3500 W
    #expect(raised.map(\.kind) == [.peakWarning] && raised.first?.active == true)
    #expect(raised.first?.detail.hasPrefix("projected quarter-hour demand 3500 W would pass 3000 W") == true)
    #expect(monitor.observe(reading(460, average: 3000, importW: 4000, peak: 3000)).isEmpty)  // raised once
    let cleared = monitor.observe(reading(920, average: 500, importW: 500, peak: 3000))  // the next quarter-hour
    #expect(cleared.map(\.active) == [false])
    // Under the 2.5 kW floor a new month peak costs nothing: no warning.
    #expect(monitor.observe(reading(1400, average: 2000, importW: 2400, peak: 1000)).isEmpty)
    // A meter that does not report the capacity tariff gets no warning unless a margin is set.
    var dutch = AlertMonitor(settings: settings)
    guard case .p1(var sample, let demand) = reading(450, average: 3000, importW: 4000, peak: 3000) else { return }
    sample.quarterHourDemandW = nil
    #expect(dutch.observe(.p1(sample, demand: demand)).isEmpty)
}

@Test func theBilledCapacityIsTheMeanOfTwelveMonthlyPeaksEachAtLeast2500W() {
    var state = DemandTracker.State()
    state.monthHistory = [1000, 4000, 3000, 2000, 5000, 2500, 2600, 2700, 2800, 2900, 3100, 3200, 9999].enumerated().map
    {
        DemandTracker.MonthPeak(
            monthStart: UnixTime(seconds: Int64($0.offset) * 2_678_400), peakW: Int64($0.element), peakTime: nil)
    }
    let tracker = DemandTracker(localTime: .utc, state: state)
    // This month's 1800 W counts as 2500; the 11 latest months, floored: 3000, 2500 (2000), 5000, … 9999.
    let months: [Int64] = [2500, 3000, 2500, 5000, 2500, 2600, 2700, 2800, 2900, 3100, 3200, 9999]
    #expect(tracker.billedPeakW(currentMonthPeakW: 1800) == months.reduce(0, +) / 12)
    #expect(DemandTracker(localTime: .utc).billedPeakW(currentMonthPeakW: 4000) == 4000)
}

/// The meter's 13-month history (0-0:98.1.0, parsed from a real Fluvius telegram) is reconciled with the months
/// emeter tracked: a month that differs by more than 5 % is reported, agreeing and unknown months are not.
@Test func theMetersPeakHistoryIsReconciledWithTheTrackedMonths() throws {
    let telegram = try P1Telegram.parse(try Fixtures.bytes("be_fluvius_emucs171_gas_water.txt"))
    let history = try P1Sample(reading: telegram.reading, receivedAt: .epoch).details.peakHistory
    try #require(history.count >= 2, "the fixture's 0-0:98.1.0 has past months")
    let agreeing = DemandTracker.MonthPeak(
        monthStart: history[0].monthStart, peakW: history[0].peakW + 50, peakTime: nil)
    let differing = DemandTracker.MonthPeak(
        monthStart: history[1].monthStart, peakW: history[1].peakW * 2 + 200, peakTime: nil)
    let unknown = DemandTracker.MonthPeak(monthStart: UnixTime(seconds: 1), peakW: 9999, peakTime: nil)
    let found = DemandTracker.disagreeing(meter: history, tracked: [agreeing, differing, unknown])
    #expect(found.map(\.meter) == [history[1]])
    #expect(found.first?.trackedW == history[1].peakW * 2 + 200)
}
