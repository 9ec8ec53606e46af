import CivilTime
import P1
import Testing

@testable import Firmware

@Test func civilDatesRoundTrip() {
    #expect(CivilTime.seconds(year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0) == 0)
    #expect(CivilTime.seconds(year: 2025, month: 3, day: 30, hour: 0, minute: 0, second: 0) == 1_743_292_800)
    #expect(CivilTime.civil(unixSeconds: 1_743_292_800) == (2025, 3, 30))
    #expect(CivilTime.civil(unixSeconds: -1) == (1969, 12, 31))
}

/// `(a - b + 1) / b` overflowed for `a` near `Int64.min`: a hostile time must not trap.
@Test func floorDivisionIsDefinedAtTheInt64Extremes() {
    #expect(CivilTime.floorDiv(.min, 1000) == -9_223_372_036_854_776)
    #expect(CivilTime.floorDiv(.max, 1000) == 9_223_372_036_854_775)
    #expect(CivilTime.floorDiv(-86_400, 86_400) == -1)
    #expect(CivilTime.floorDiv(-86_401, 86_400) == -2)
    #expect(CivilTime.floorDiv(-1, 86_400) == -1)
}

@Test func europeanSummerTimeSwitchesAtOneUTC() {
    let cet = LocalTime.centralEurope
    // 2025: summer time from 30 March 01:00 UTC to 26 October 01:00 UTC.
    #expect(cet.offset(at: 1_743_296_400 - 1) == 3600)
    #expect(cet.offset(at: 1_743_296_400) == 7200)
    #expect(cet.offset(at: 1_761_440_400 - 1) == 7200)
    #expect(cet.offset(at: 1_761_440_400) == 3600)
    #expect(LocalTime.utc.offset(at: 1_743_296_400) == 0)
}

@Test func localMonthStartsAtLocalMidnight() {
    let cet = LocalTime.centralEurope
    // 1 April 2025 00:00 CEST = 31 March 22:00 UTC.
    let aprilStart: Int64 = 1_743_458_400
    #expect(cet.monthStart(containing: aprilStart) == aprilStart)
    #expect(cet.monthStart(containing: aprilStart + 86400 * 10) == aprilStart)
    #expect(cet.monthStart(containing: aprilStart - 1) == 1_740_783_600)  // 1 March 00:00 CET = 28 Feb 23:00 UTC
}
