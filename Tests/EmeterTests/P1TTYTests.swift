import Foundation
import HAL
import Logging
import P1
import Simulator
import Synchronization
import Testing

@testable import emeter

/// What the reader thread reported.
final class ReaderLog: Sendable {
    let telegrams = Mutex<[P1Telegram]>([])
    let detected = Mutex<[SerialConfiguration]>([])
    let errors = Mutex<[String]>([])
    let rejected = Mutex<Int>(0)

    func handle(_ event: P1ReaderThread.Event) {
        switch event {
        case .stream(.telegram(let telegram), _): telegrams.withLock { $0.append(telegram) }
        case .stream(.rejected, _), .stream(.frameFailed, _): rejected.withLock { $0 += 1 }
        case .detected(let setting): detected.withLock { $0.append(setting) }
        case .portError(let message): errors.withLock { $0.append(message) }
        }
    }
    var count: Int { telegrams.withLock { $0.count } }
}

@Suite(.serialized) struct P1TTYTests {
    static func run(profile: P1SimulatedProfile, expect setting: SerialConfiguration) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("emeter-pty-\(getpid())-\(profile)").path
        let simulator = try P1MeterSimulator(profile: profile, startEpoch: 1_736_148_600)
        let meter = P1PseudoTerminalMeter(simulator: simulator, path: path)
        try meter.start(speedup: Double(profile.interval.components.seconds) * 5)  // a telegram every 200 ms
        defer { meter.stop() }
        let log = ReaderLog()
        let reader = P1ReaderThread(endpoint: .tty(path), serial: nil, key: nil, dataRequest: .none,
            detectionWindow: .seconds(2), logger: Logger(label: "test")) { log.handle($0) }
        reader.start()
        defer { reader.stop() }

        #expect(await waitUntil(.seconds(20)) { log.count >= 3 }, "errors: \(log.errors.withLock { $0 })")
        #expect(log.detected.withLock { $0 } == [setting])
        // The telegrams went through the real tty and parse back to the simulator's registers.
        let last = try #require(log.telegrams.withLock { $0.last })
        let counters = meter.counters
        #expect(last.reading.importWh[tariff: 1]?.roundedInteger ?? -1 <= counters.importWh[0])
        #expect((last.reading.importWh[tariff: 1]?.roundedInteger ?? 0) > 1_000_000)

        // Unplug: the pty hangs up and comes back at the same path; the reader reports it and recovers.
        let before = log.count
        meter.unplug(for: .milliseconds(800))
        #expect(await waitUntil(.seconds(10)) { !log.errors.withLock { $0 }.isEmpty })
        #expect(await waitUntil(.seconds(20)) { log.count >= before + 3 }, "errors: \(log.errors.withLock { $0 })")
        #expect(meter.generation == 2)
        // After the replug the detected setting is kept (no new detection round).
        #expect(log.detected.withLock { $0 } == [setting])
    }

    @Test func belgianMeterAt115200_8N1IsDetectedAndSurvivesAnUnplug() async throws {
        try await Self.run(profile: .belgian3PhaseGasWater, expect: .dsmr5)
    }

    @Test func dsmr22MeterAt9600_7E1IsDetectedAndSurvivesAnUnplug() async throws {
        try await Self.run(profile: .dsmr22, expect: .dsmr22)
    }

    @Test func kaifaMeterAt115200_7E1IsDetected() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("emeter-pty-\(getpid())-kaifa").path
        let meter = P1PseudoTerminalMeter(simulator: try P1MeterSimulator(profile: .dsmr42), path: path)
        try meter.start(speedup: 50)
        defer { meter.stop() }
        let log = ReaderLog()
        let reader = P1ReaderThread(endpoint: .tty(path), serial: nil, key: nil, dataRequest: .none,
            detectionWindow: .seconds(2), logger: Logger(label: "test")) { log.handle($0) }
        reader.start()
        defer { reader.stop() }
        #expect(await waitUntil(.seconds(20)) { log.count >= 2 })
        #expect(log.detected.withLock { $0 } == [.dsmr42Kaifa])
        #expect(log.telegrams.withLock { $0 }.allSatisfy { $0.transmittedCRC != nil })
    }

    @Test func theSimulatedUARTMangles7E1ReadAt8N1() {
        let telegram = Array("/KFM5KAIFA-METER\r\n".utf8)
        let garbled = P1PseudoTerminalMeter.asReceived(telegram, sent: .dsmr42Kaifa, readerSettings: .dsmr5)
        #expect(garbled != telegram)
        #expect(garbled[0] == 0xAF)  // "/" with its even-parity bit in bit 7
        #expect(P1PseudoTerminalMeter.asReceived(telegram, sent: .dsmr5, readerSettings: .dsmr5) == telegram)
        #expect(!P1PseudoTerminalMeter.asReceived(telegram, sent: .dsmr22, readerSettings: .dsmr5).contains(UInt8(ascii: "/")))
    }
}
