import CivilTime
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Firmware
@testable import Forwarding

/// A settable wall clock (Unix seconds) for JWT expiry and `Retry-After` dates.
final class HTTPTestWallClock: Sendable {
    private let seconds: Mutex<Int64>
    init(_ start: Int64) { seconds = Mutex(start) }
    var now: Int64 { seconds.withLock { $0 } }
    func advance(by delta: Int64) { seconds.withLock { $0 += delta } }
    var closure: @Sendable () -> UnixTime { { UnixTime(seconds: self.now) } }
}

/// A settable monotonic clock for the ThingSpeak rate limit.
final class HTTPTestUptime: Sendable {
    private let value = Mutex(Duration.zero)
    func advance(by delta: Duration) { value.withLock { $0 += delta } }
    var closure: @Sendable () -> Duration { { self.value.withLock { $0 } } }
}

enum HTTPTestData {
    /// 2026-11-21T18:00:00Z.
    static let end: Int64 = 1_795_284_000

    /// One minute of a three-phase ADE9000 measurement (phase C exporting a little).
    static let adeRecord = IntervalRecord(
        start: UnixTime(seconds: end - 60), end: UnixTime(seconds: end), flags: [.gap],
        ade9000: ADE9000Interval(
            phaseA: PhaseEnergy(importWh: 166), phaseB: PhaseEnergy(importWh: 172),
            phaseC: PhaseEnergy(importWh: 160, exportWh: 5), averagePowerW: 493, maxPowerW: 700,
            voltageMinDecivolts: 2298, voltageMaxDecivolts: 2310, quarterHourDemandW: 480),
        firstSequence: 41, lastSequence: 41)

    /// One minute of a P1 (DSMR) meter, both tariffs used, gas consumed.
    static let p1Record = IntervalRecord(
        start: UnixTime(seconds: end - 60), end: UnixTime(seconds: end),
        p1: P1Interval(
            importTariff1Wh: 12, importTariff2Wh: 3, exportTariff1Wh: 0, exportTariff2Wh: 7, averagePowerW: 480,
            maxImportPowerW: 950, maxExportPowerW: 420, voltageMinDecivolts: 2291, voltageMaxDecivolts: 2334,
            gasLitres: 9, waterLitres: 0, quarterHourDemandW: 2150, monthPeakDemandW: 4200,
            monthPeakTime: UnixTime(seconds: 1_794_000_000)),
        firstSequence: 7, lastSequence: 9)

    static let adeLive = LiveReading.ade9000(
        ADESample(
            time: UnixTime(seconds: end) + .milliseconds(250), importMilliwattHours: [1_000_000, 2_000_000, 3_000_000],
            exportMilliwattHours: [0, 0, 10_000],
            powerW: [166.04, 172.0, 159.96], voltageV: [230.14, 229.8, 231.0], currentA: [0.7214, 0.75, 0.7]),
        demand: DemandView(
            quarterHourDemandW: 480, monthPeakDemandW: 4200, monthPeakTime: UnixTime(seconds: 1_794_000_000)))

    static func p1Live(atMillis time: Int64) -> LiveReading {
        .p1(
            P1Sample(
                time: UnixTime(milliseconds: time), importWh: (5_779_835, 4_200_000), exportWh: (0, 1_000),
                powerImportW: 480,
                powerExportW: 0, voltagesDecivolts: [2301]),
            demand: DemandView(
                quarterHourDemandW: 2150, monthPeakDemandW: 4200, monthPeakTime: UnixTime(seconds: 1_794_000_000)))
    }
}

/// Runs `body` with a started test server and always stops it.
func withHTTPTestServer(_ body: (TestHTTPServer) async throws -> Void) async throws {
    let server = try await TestHTTPServer.start()
    do {
        try await body(server)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}

/// The `ForwardError` `send` threw, or `nil` when it succeeded.
func httpSendResult(_ forwarder: some Forwarder, _ record: IntervalRecord) async -> ForwardError? {
    do throws(ForwardError) {
        try await forwarder.send(record)
        return nil
    } catch {
        return error
    }
}

/// Parses a JSON text the test wrote; records an issue if it is malformed.
func httpExpectedJSON(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> HTTPJSON? {
    let value = HTTPJSON.parse(Array(text.utf8))
    if value == nil { Issue.record("test JSON does not parse: \(text)", sourceLocation: sourceLocation) }
    return value
}

/// `application/x-www-form-urlencoded` → pairs in order (percent-decoding).
func httpFormPairs(_ body: String) -> [(String, String)] {
    body.split(separator: "&").map { pair in
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let decode = { (text: Substring) in (String(text).removingPercentEncoding ?? String(text)) }
        return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
    }
}
