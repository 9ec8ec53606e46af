import CivilTime
import Firmware
import P1
import TestSupport
import Testing

@testable import emeter

/// The live page's history: 1-minute means from the samples' own times, a bounded ring, the local day.
@Suite struct PowerHistoryTests {
    /// 2025-01-06 19:00:00 UTC, Unix ms.
    static let t0: Int64 = 1_736_190_000_000

    @Test func samplesOfOneMinuteMakeOnePointTheirMean() {
        var history = PowerHistory()
        #expect(history.points().isEmpty)
        #expect(history.newestMinute == nil)
        history.add(time: UnixTime(milliseconds: Self.t0), powerW: 100)
        history.add(time: UnixTime(milliseconds: Self.t0 + 30_000), powerW: 201)
        history.add(time: UnixTime(milliseconds: Self.t0 + 59_999), powerW: 300)
        #expect(history.points() == [.init(minute: UnixTime(seconds: Self.t0 / 1000), powerW: 200)])
        #expect(history.closedCount == 0)
        history.add(time: UnixTime(milliseconds: Self.t0 + 60_000), powerW: -50)
        #expect(
            history.points() == [
                .init(minute: UnixTime(seconds: Self.t0 / 1000), powerW: 200),
                .init(minute: UnixTime(seconds: Self.t0 / 1000 + 60), powerW: -50),
            ])
        #expect(history.closedCount == 1)
        #expect(history.newestMinute == UnixTime(seconds: Self.t0 / 1000 + 60))
    }

    @Test func aSampleOlderThanTheMinuteInProgressIsDropped() {
        var history = PowerHistory()
        history.add(time: UnixTime(milliseconds: Self.t0 + 120_000), powerW: 10)
        history.add(time: UnixTime(milliseconds: Self.t0), powerW: 1000)
        #expect(history.points() == [.init(minute: UnixTime(seconds: Self.t0 / 1000 + 120), powerW: 10)])
    }

    @Test func theRingKeepsTheNewestMinutesOnly() {
        var history = PowerHistory(capacity: 3)
        for minute in 0..<10 {
            history.add(time: UnixTime(milliseconds: Self.t0 + Int64(minute) * 60_000), powerW: Int64(minute))
        }
        #expect(history.closedCount == 3)
        #expect(history.points().map(\.powerW) == [6, 7, 8, 9])
        #expect(history.points(since: UnixTime(seconds: Self.t0 / 1000 + 8 * 60)).map(\.powerW) == [8, 9])
    }

    @Test func fortyEightHoursOfSamplesHold2880ClosedMinutes() {
        var history = PowerHistory()
        for minute in 0..<(3 * 1440) {
            history.add(time: UnixTime(milliseconds: Self.t0 + Int64(minute) * 60_000), powerW: 1)
        }
        #expect(history.closedCount == PowerHistory.capacity)
        #expect(PowerHistory.capacity == 2880)
        #expect(history.points().count == 2881)
    }

    @Test func meansRoundHalvesAwayFromZero() {
        #expect(PowerHistory.mean(3, 2) == 2)
        #expect(PowerHistory.mean(-3, 2) == -2)
        #expect(PowerHistory.mean(10, 4) == 3)
        #expect(PowerHistory.mean(7, 0) == 0)
    }

    @Test func theDayStartsAtLocalMidnight() {
        // 2025-01-06 19:00 UTC is 20:00 CET: the day began 2025-01-05 23:00 UTC.
        #expect(
            PowerHistory.dayStart(containing: UnixTime(seconds: Self.t0 / 1000), in: .centralEurope)
                == UnixTime(seconds: 1_736_118_000))
        #expect(
            PowerHistory.dayStart(containing: UnixTime(seconds: Self.t0 / 1000), in: .utc)
                == UnixTime(seconds: 1_736_121_600))
        // 2025-07-01 00:30 CEST (22:30 UTC the day before): the day began 2025-06-30 22:00 UTC.
        #expect(
            PowerHistory.dayStart(containing: UnixTime(seconds: 1_751_322_600), in: .centralEurope)
                == UnixTime(seconds: 1_751_320_800))
        // The day summer time starts (2025-03-30, 23 h long) and the day it ends (2025-10-26, 25 h).
        #expect(
            PowerHistory.dayStart(containing: UnixTime(seconds: 1_743_328_800), in: .centralEurope)
                == UnixTime(seconds: 1_743_289_200))
        #expect(
            PowerHistory.dayStart(containing: UnixTime(seconds: 1_761_476_400), in: .centralEurope)
                == UnixTime(seconds: 1_761_429_600))
    }

    @Test func historyAndStatusAnswerBeforeTheFirstReadingAndAfterIt() throws {
        let state = APIState(localTime: .centralEurope)
        #expect(
            String(decoding: LivePage.history(state), as: UTF8.self)
                == #"{"day_start":null,"newest":null,"points":[]}"#)
        #expect(
            String(decoding: LivePage.status(state, device: "d"), as: UTF8.self)
                == #"{"live":null,"health":null,"forwarders":[]}"#)
        var sample = try #require(Self.sample)
        sample.time = UnixTime(milliseconds: Self.t0 + 5000)
        state.live(.p1(sample, demand: DemandView(quarterHourDemandW: 1, monthPeakDemandW: 2, monthPeakTime: nil)))
        let watts = sample.powerImportW - sample.powerExportW
        #expect(
            String(decoding: LivePage.history(state), as: UTF8.self)
                == #"{"day_start":1736118000,"newest":1736190000,"points":[[1736190000,\#(watts)]]}"#)
        let status = String(decoding: LivePage.status(state, device: "d"), as: UTF8.self)
        #expect(status.hasPrefix(#"{"live":{"type":"p1","device":"d","#))
        #expect(status.contains(#""quarter_hour_demand_w":1,"month_peak_demand_w":2,"#))
    }

    @Test func thePageFollowsTheP1MeterAndTheADE9000OnlyWithoutOne() throws {
        let demand = DemandView(quarterHourDemandW: 0, monthPeakDemandW: 0, monthPeakTime: nil)
        func ade(_ watts: Double) -> LiveReading {
            .ade9000(
                ADESample(
                    time: UnixTime(milliseconds: Self.t0), importMilliwattHours: [0, 0, 0],
                    exportMilliwattHours: [0, 0, 0],
                    powerW: [watts, 0, 0], voltageV: [230, 230, 230]), demand: demand)
        }
        let adeOnly = APIState(localTime: .utc)
        adeOnly.live(ade(100.4))
        #expect(
            adeOnly.history { _ in .distantPast }.points == [
                .init(minute: UnixTime(seconds: Self.t0 / 1000), powerW: 100)
            ])

        var sample = try #require(Self.sample)
        sample.time = UnixTime(milliseconds: Self.t0)
        let both = APIState(localTime: .utc)
        both.live(.p1(sample, demand: demand))
        both.live(ade(100_000))
        let watts = sample.powerImportW - sample.powerExportW
        #expect(
            both.history { _ in .distantPast }.points == [
                .init(minute: UnixTime(seconds: Self.t0 / 1000), powerW: watts)
            ])
        guard case .p1 = both.current.reading else {
            Issue.record("the page's reading is not the P1 meter's")
            return
        }
    }

    static let sample: P1Sample? = {
        guard let bytes = try? Fixtures.bytes("be_fluvius_emucs171_gas_water.txt"),
            let telegram = try? P1Telegram.parse(bytes)
        else {
            return nil
        }
        return try? P1Sample(reading: telegram.reading, receivedAt: UnixTime(milliseconds: t0))
    }()
}
