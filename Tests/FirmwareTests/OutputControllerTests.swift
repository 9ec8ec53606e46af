import CivilTime
import P1
import Simulator
import Testing

@testable import Firmware

// Issue "Act on the readings": relay rules as scenario tests in virtual time.

/// An EV charger on solar surplus, driven by a simulated house with PV over a virtual summer day (telegram time, no
/// wall clock; a DSMR 4.2 meter, one telegram per 10 s): on during the PV hump, off after it, never flapping.
@Test func surplusSwitchesOnDuringThePVHumpAndOffAfterIt() throws {
    let start = CivilTime.seconds(year: 2025, month: 6, day: 16, hour: 4, minute: 0, second: 0)  // 06:00 CEST
    var meter = try P1MeterSimulator(
        profile: .dsmr42, load: P1LoadProfile(jitterW: 0), startEpoch: start, seed: 7)
    var controller = OutputController(
        name: "ev", rule: .surplus(onExportW: 1400, onAfter: 300, offImportW: 500, offAfter: 120),
        minimumOn: 900, minimumOff: 600)
    var events: [ControlEvent] = []
    for _ in 0..<(16 * 360) {  // 06:00 → 22:00
        let reading = try P1Telegram.parse(meter.nextTelegram()).reading
        let sample = try P1Sample(reading: reading, receivedAt: UnixTime(seconds: meter.counters.time.utcSeconds))
        let input = ControlInput(
            time: UnixTime(seconds: meter.counters.time.utcSeconds),
            netPowerW: sample.powerImportW - sample.powerExportW)
        if let event = controller.update(input) { events.append(event) }
    }
    let switches = events.compactMap { event -> (Bool, Int64)? in
        if case .switched(_, let on, let time, _) = event { (on, time.seconds) } else { nil }
    }
    #expect(switches.count == 2, "\(events)")
    let on = try #require(switches.first)
    let off = try #require(switches.last)
    #expect(on.0 == true && off.0 == false)
    // 13:00 local is the PV peak (3.2 kW against ~0.35 kW load): on in the morning, off in the afternoon.
    let localHour = { (time: Int64) in (time - start) / 3600 + 6 }
    #expect((8...12).contains(localHour(on.1)), "on at \(localHour(on.1)) h")
    #expect((14...19).contains(localHour(off.1)), "off at \(localHour(off.1)) h")
    if case .switched(_, _, _, let reason) = events[0] { #expect(reason.hasPrefix("surplus: export")) }
}

@Test func surplusWaitsItsDelaysAndMinimumTimes() {
    var controller = OutputController(
        name: "boiler", rule: .surplus(onExportW: 1000, onAfter: 60, offImportW: 200, offAfter: 30),
        minimumOn: 300, minimumOff: 120)
    func step(_ time: Int64, _ net: Int64) -> ControlEvent? {
        controller.update(ControlInput(time: UnixTime(seconds: time), netPowerW: net))
    }
    #expect(step(0, -1500) == nil)
    #expect(step(30, -900) == nil)  // a dip below the threshold restarts the delay
    #expect(step(40, -1500) == nil)
    #expect(step(99, -1500) == nil)
    #expect(
        step(100, -1500)
            == .switched(
                output: "boiler", on: true, time: UnixTime(seconds: 100),
                reason: "surplus: export 1500 W ≥ 1000 W for 60 s"))
    // Import right away, but the boiler stays on for its minimum time (300 s after 100).
    #expect(step(110, 800) == nil)
    #expect(step(200, 800) == nil)
    #expect(step(399, 800) == nil)
    #expect(controller.isOn)
    guard case .switched(_, false, UnixTime(seconds: 400), _)? = step(400, 800) else {
        Issue.record("not switched off at the end of the minimum on time")
        return
    }
    // Off now: surplus again at once, but minimum off time 120 s.
    #expect(step(401, -3000) == nil)
    #expect(step(470, -3000) == nil)
    #expect(step(519, -3000) == nil)
    guard case .switched(_, true, UnixTime(seconds: 520), _)? = step(520, -3000) else {
        Issue.record("not on again after the minimum off time")
        return
    }
}

/// A heat pump shed when the running quarter-hour would set a new month peak, restored in the next quarter-hour.
@Test func peakGuardShedsBeforeANewPeakAndRestoresInTheNextQuarterHour() {
    var controller = OutputController(
        name: "heatpump", rule: .peakGuard(limitW: nil, marginW: 100, hysteresisW: 300), initiallyOn: true)
    let quarter: Int64 = 1_750_000_500 - 1_750_000_500 % 900
    // Month peak 3000 W: limit 3000, shed above 2900 W projected.
    func input(_ offset: Int64, demand: Int64, import power: Int64) -> ControlInput {
        ControlInput(
            time: UnixTime(seconds: quarter + offset), netPowerW: power, quarterHourDemandW: demand,
            monthPeakDemandW: 3000)
    }
    #expect(input(450, demand: 2000, import: 3000).projectedQuarterHourDemandW == 2500)
    #expect(controller.update(input(450, demand: 2000, import: 3000)) == nil)
    guard case .switched(_, false, _, let reason)? = controller.update(input(600, demand: 2600, import: 4000)) else {
        Issue.record("not shed")
        return
    }
    #expect(reason.contains("projected quarter-hour demand 3066 W > 2900 W"))
    // Same quarter-hour: not restored even when the import drops.
    #expect(controller.update(input(800, demand: 2600, import: 100)) == nil)
    // Next quarter-hour, low projection: restored.
    guard case .switched(_, true, _, _)? = controller.update(input(905, demand: 500, import: 500)) else {
        Issue.record("not restored")
        return
    }
    // The billed floor: a month peak below 2.5 kW still lets the load run up to 2.5 kW.
    var floor = OutputController(
        name: "hp", rule: .peakGuard(limitW: nil, marginW: 0, hysteresisW: 0), initiallyOn: true)
    #expect(
        floor.update(
            ControlInput(
                time: UnixTime(seconds: quarter + 450), netPowerW: 2400, quarterHourDemandW: 2400, monthPeakDemandW: 800
            )) == nil)
}

@Test func scheduleFollowsWindowsPastMidnightAndTariffs() {
    let nights = ScheduleWindow(weekdays: [1, 2, 3, 4, 5], fromMinute: 22 * 60, toMinute: 6 * 60)
    #expect(nights.contains(minute: 23 * 60, weekday: 5))  // Friday 23:00
    #expect(nights.contains(minute: 5 * 60, weekday: 6))  // Saturday 05:00 belongs to Friday night
    #expect(!nights.contains(minute: 5 * 60, weekday: 1))  // Monday 05:00 belongs to Sunday night
    #expect(!nights.contains(minute: 12 * 60, weekday: 3))
    var controller = OutputController(name: "dhw", rule: .schedule(windows: [nights], tariffs: [2]))
    #expect(
        controller.update(
            ControlInput(time: UnixTime(seconds: 0), netPowerW: 0, tariff: 1, minuteOfDay: 12 * 60, weekday: 3)) == nil)
    #expect(
        controller.update(
            ControlInput(time: UnixTime(seconds: 60), netPowerW: 0, tariff: 2, minuteOfDay: 12 * 60, weekday: 3))
            == .switched(output: "dhw", on: true, time: UnixTime(seconds: 60), reason: "schedule: tariff 2"))
    #expect(
        controller.update(
            ControlInput(time: UnixTime(seconds: 120), netPowerW: 0, tariff: 1, minuteOfDay: 12 * 60, weekday: 3))
            == .switched(
                output: "dhw", on: false, time: UnixTime(seconds: 120),
                reason: "schedule: outside every window and tariff"))
    #expect(
        controller.update(
            ControlInput(time: UnixTime(seconds: 180), netPowerW: 0, tariff: 1, minuteOfDay: 23 * 60, weekday: 1))
            == .switched(output: "dhw", on: true, time: UnixTime(seconds: 180), reason: "schedule: inside 22:00–06:00"))
}

/// Relays and contactors wear: at most N switches an hour, whatever the rule or the commands want; the refusal is
/// reported once per hour, not per reading.
@Test func aSwitchBudgetPerHourProtectsTheRelay() {
    var controller = OutputController(name: "relay", rule: .manual, maxSwitchesPerHour: 3)
    var switched = 0
    var suppressed = 0
    for minute: Int64 in 0..<30 {
        switch controller.command(minute % 2 == 0, at: UnixTime(seconds: minute * 60), from: "mqtt") {
        case .switched?: switched += 1
        case .suppressed?: suppressed += 1
        case nil: break
        }
    }
    #expect(switched == 3 && suppressed == 1)
    // An hour after the first switch the budget has room again.
    #expect(controller.command(!controller.isOn, at: UnixTime(seconds: 3600), from: "mqtt") != nil)
}

/// A restart in the middle: the saved state keeps the output on and its minimum off time counted from the saved
/// switch; a damaged state file is refused, not guessed.
@Test func stateSurvivesARestartInTheMiddle() {
    var before = OutputController(name: "ev", rule: .manual, minimumOff: 600)
    _ = before.command(true, at: UnixTime(seconds: 1000), from: "api")
    _ = before.command(false, at: UnixTime(seconds: 1100), from: "api")
    let text = before.state.text
    #expect(text == "off 1000,1100")
    let restored = OutputController.State(text: text)
    var after = OutputController(name: "ev", rule: .manual, minimumOff: 600, restoring: restored)
    #expect(!after.isOn)
    #expect(after.command(true, at: UnixTime(seconds: 1200), from: "api") == nil)  // still within the minimum off time
    #expect(after.command(true, at: UnixTime(seconds: 1700), from: "api") != nil)
    for bad in ["", "maybe", "on x", "on 1,2 3"] { #expect(OutputController.State(text: bad) == nil, "\(bad)") }
}

/// Issue "Act on the readings": gas in the right hour. An hourly DSMR 4.2 meter's gas reading captured at 15:00
/// arrives in a telegram a little later; the record that receives the delta carries the capture time, through the
/// ring and in the payload, so a backend books the gas in the hour before 15:00, not after it.
@Test func gasDeltasCarryTheirMBusCaptureTime() throws {
    let start = CivilTime.seconds(year: 2025, month: 1, day: 6, hour: 13, minute: 50, second: 0)  // 14:50 CET
    var meter = try P1MeterSimulator(profile: .dsmr42, load: P1LoadProfile(jitterW: 0), startEpoch: start, seed: 3)
    var aggregator = IntervalAggregator(length: 60, localTime: .centralEurope)
    var records: [IntervalRecord] = []
    for _ in 0..<(20 * 6) {  // 20 minutes of telegrams every 10 s
        let reading = try P1Telegram.parse(meter.nextTelegram()).reading
        let sample = try P1Sample(reading: reading, receivedAt: UnixTime(seconds: meter.counters.time.utcSeconds + 7))
        records += aggregator.add(sample).closed
    }
    let withGas = records.filter { ($0.p1?.gasLitres ?? 0) > 0 }
    #expect(withGas.count == 1, "\(records.map { ($0.start, $0.p1?.gasLitres ?? 0) })")
    let record = try #require(withGas.first)
    // 15:00 CET.
    let capture = UnixTime(seconds: CivilTime.seconds(year: 2025, month: 1, day: 6, hour: 14, minute: 0, second: 0))
    #expect(record.p1?.gasTime == capture)
    #expect(record.start >= capture)  // it arrived after the hour it belongs to
    // Through the ring's encoding and the payload.
    var ring = try ReadingRing(storage: RAMRingStorage(), nominalInterval: 60)
    for stored in records { try ring.append(stored) }
    let reloaded = try #require(ring.records.first { ($0.p1?.gasLitres ?? 0) > 0 })
    #expect(reloaded.p1?.gasTime == capture)
    let json = String(decoding: Payloads.record(reloaded, device: "d"), as: UTF8.self)
    #expect(json.contains(#""gas_time_utc":"2025-01-06T14:00:00Z""#))
}

/// Issue "Act on the readings", meter swap: the grid operator replaces the meter (a new 0-0:96.1.1, registers
/// starting near 0). The glitch guard refused every telegram of the new meter as "going backwards" forever. Now the
/// new meter is a new baseline: what the old one counted in the interval is kept, the new one counts from its first
/// reading, no delta is negative, and the record is flagged `gap` (between the two telegrams nothing was measured).
@Test func aReplacedMeterIsANewBaselineAndLosesNothingCounted() {
    var aggregator = IntervalAggregator(length: 60, localTime: .utc)
    let start: Int64 = 1_750_000_020 - 1_750_000_020 % 60
    func sample(_ offset: Int64, id: String, importWh: Int64) -> P1Sample {
        var sample = P1Sample(
            time: UnixTime(seconds: start + offset), importWh: (importWh, 0), exportWh: (0, 0), powerImportW: 600,
            powerExportW: 0)
        sample.details.equipmentID = id
        return sample
    }
    var records: [IntervalRecord] = []
    for (offset, id, wh) in [
        (1, "OLD", 2_000_000), (20, "OLD", 2_000_004), (30, "NEW", 100), (50, "NEW", 103), (61, "NEW", 105),
        (121, "NEW", 115),
    ] as [(Int64, String, Int64)] {
        let (closed, accepted) = aggregator.add(sample(offset, id: id, importWh: wh))
        #expect(accepted, "telegram at +\(offset) s refused")
        records += closed
    }
    #expect(records.count == 2)
    let swapped: Int64? = records[0].p1?.importTariff1Wh
    #expect(swapped == 7)  // the old meter's 4 Wh, then the new one's 100 → 103
    #expect(records[0].flags.contains(.gap))
    #expect(records[1].p1?.importTariff1Wh == 2 && !records[1].flags.contains(.gap))  // 103 → 105
}
