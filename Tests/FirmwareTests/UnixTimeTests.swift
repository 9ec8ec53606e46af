import CivilTime
import Testing

@Test func unixTimeSecondsRoundTowardsMinusInfinity() {
    #expect(UnixTime(milliseconds: 1_999).seconds == 1)
    #expect(UnixTime(milliseconds: 0).seconds == 0)
    #expect(UnixTime(milliseconds: -1).seconds == -1)
    #expect(UnixTime(milliseconds: -1_000).seconds == -1)
    #expect(UnixTime(milliseconds: -1_001).seconds == -2)
    #expect(UnixTime(milliseconds: .min).seconds == -9_223_372_036_854_776)
    #expect(UnixTime(milliseconds: .max).seconds == 9_223_372_036_854_775)
    #expect(UnixTime(seconds: -2).milliseconds == -2_000)
    #expect(UnixTime(seconds: 1_743_292_800).milliseconds == 1_743_292_800_000)
}

@Test func unixTimeFromSecondsSaturates() {
    #expect(UnixTime(seconds: .max) == .distantFuture)
    #expect(UnixTime(seconds: .min) == .distantPast)
    #expect(UnixTime(seconds: Int64.max / 1000).milliseconds == Int64.max / 1000 * 1000)
}

@Test func unixTimeArithmeticSaturatesAtTheInt64Extremes() {
    let late = UnixTime(milliseconds: .max - 10)
    #expect(late + .milliseconds(10) == .distantFuture)
    #expect(late + .milliseconds(11) == .distantFuture)
    #expect(late + .seconds(Int64.max) == .distantFuture)
    let early = UnixTime(milliseconds: .min + 10)
    #expect(early - .milliseconds(10) == .distantPast)
    #expect(early - .seconds(Int64.max) == .distantPast)
    #expect(early + .seconds(Int64.min) == .distantPast)
    #expect(UnixTime.distantPast - .seconds(1) == .distantPast)
    // The span between the extremes is exact.
    #expect(UnixTime.distantFuture - UnixTime.distantPast == .milliseconds(Int64.max) * 2 + .milliseconds(1))
    #expect(UnixTime.distantPast.duration(to: .distantFuture) == UnixTime.distantFuture - UnixTime.distantPast)
    #expect(UnixTime.distantPast - UnixTime.distantFuture == .zero - (UnixTime.distantFuture - UnixTime.distantPast))
}

@Test func unixTimeArithmetic() {
    let time = UnixTime(milliseconds: 1_000)
    #expect(time + .milliseconds(250) == UnixTime(milliseconds: 1_250))
    #expect(time - .seconds(2) == UnixTime(milliseconds: -1_000))
    #expect(UnixTime(milliseconds: 1_250) - time == .milliseconds(250))
    #expect(time - UnixTime(milliseconds: 1_250) == .milliseconds(-250))
    #expect(time.duration(to: UnixTime(seconds: 3)) == .seconds(2))
    // Sub-millisecond parts round towards −∞.
    #expect(time + .microseconds(999) == time)
    #expect(time - .microseconds(1) == UnixTime(milliseconds: 999))
    #expect(time + .microseconds(-1_500) == UnixTime(milliseconds: 998))
    var moving = time
    moving += .seconds(1)
    #expect(moving == UnixTime(seconds: 2))
}

@Test func unixTimeIsOrderedByInstant() {
    let times = [UnixTime(milliseconds: 5), .distantFuture, UnixTime(seconds: -1), .epoch, .distantPast]
    #expect(
        times.sorted() == [
            .distantPast, UnixTime(milliseconds: -1_000), .epoch, UnixTime(milliseconds: 5), .distantFuture,
        ])
    #expect(UnixTime(milliseconds: -1) < .epoch)
    #expect(max(UnixTime(seconds: 2), UnixTime(milliseconds: 1_999)) == UnixTime(seconds: 2))
}

@Test func unixTimeDescriptionIsISO8601WithMilliseconds() {
    #expect(UnixTime(milliseconds: 1_743_299_999_250).description == "2025-03-30T01:59:59.250Z")
    #expect(UnixTime(milliseconds: -1).description == "1969-12-31T23:59:59.999Z")
    #expect(UnixTime.distantPast.description.hasSuffix(".192Z"))
}

@Test func localTimeOfUnixTime() {
    let cet = LocalTime.centralEurope
    let aprilStart = UnixTime(seconds: 1_743_458_400)  // 1 April 2025 00:00 CEST
    #expect(cet.monthStart(containing: aprilStart + .milliseconds(1)) == aprilStart)
    #expect(cet.monthStart(containing: aprilStart - .milliseconds(1)) == UnixTime(seconds: 1_740_783_600))
    #expect(cet.offset(at: aprilStart) == .seconds(7200))
    #expect(cet.fields(at: UnixTime(milliseconds: 1_743_458_400_999)).second == 0)
}

@Test func unixTimeFlooredToAPeriod() {
    #expect(UnixTime(milliseconds: 119_999).floored(toMultipleOf: .seconds(60)) == UnixTime(seconds: 60))
    #expect(UnixTime(milliseconds: 120_000).floored(toMultipleOf: .seconds(60)) == UnixTime(seconds: 120))
    #expect(UnixTime(milliseconds: -1).floored(toMultipleOf: .seconds(1)) == UnixTime(seconds: -1))
    #expect(UnixTime(milliseconds: -900_001).floored(toMultipleOf: .seconds(900)) == UnixTime(seconds: -1_800))
    #expect(UnixTime(milliseconds: 1_250).floored(toMultipleOf: .zero) == UnixTime(milliseconds: 1_250))
    #expect(UnixTime.distantPast.floored(toMultipleOf: .seconds(900)) == .distantPast)
    #expect(UnixTime.distantFuture.floored(toMultipleOf: .seconds(1)) == UnixTime(seconds: Int64.max / 1000))
}
