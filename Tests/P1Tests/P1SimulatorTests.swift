import CivilTime
import HAL
import Simulator
import Testing

@testable import P1

/// Parses what the simulator sent (decrypting Smarty frames with the simulator's key).
private func parse(_ bytes: [UInt8], _ profile: P1SimulatedProfile, key: [UInt8] = [UInt8](repeating: 0xAA, count: 16))
    throws -> P1Telegram
{
    if profile.isEncrypted {
        return try P1Telegram.parse(try P1Decryptor(encryptionKey: key).decrypt(frameBytes: bytes))
    }
    return try P1Telegram.parse(bytes)
}

@Test(arguments: P1SimulatedProfile.allCases)
func simulatedTelegramsParseBackToTheSimulatorsCounters(profile: P1SimulatedProfile) throws {
    var meter = try P1MeterSimulator(profile: profile, seed: 42)
    var previousImport: P1Decimal?
    // 400 telegrams: 400 s (1 s cadence) or 4000 s (10 s) — crosses quarter-hours and M-Bus capture periods.
    for index in 0..<400 {
        let bytes = meter.nextTelegram()
        let telegram = try parse(bytes, profile)
        #expect(telegram.diagnostics.isEmpty, "\(telegram.diagnostics)")
        let c = meter.counters
        let r = telegram.reading
        #expect(telegram.transmittedCRC != nil || !profile.hasCRC)
        if profile == .smartyEncrypted {
            #expect(r.importWh.total == P1Decimal(c.importTotalWh))
            #expect(r.exportWh.total == P1Decimal(c.exportTotalWh))
        } else {
            #expect(Array(r.importWh.tariffs.prefix(2)) == c.importWh.map { P1Decimal($0) })
            #expect(Array(r.exportWh.tariffs.prefix(2)) == c.exportWh.map { P1Decimal($0) })
            #expect(r.importWh.total == P1Decimal(c.importWh.reduce(0, +)))
            #expect(r.tariff == c.tariff)
        }
        #expect(r.powerImportW == P1Decimal(Int64(c.powerImportW)))
        #expect(r.powerExportW == P1Decimal(Int64(c.powerExportW)))
        if profile != .dsmr22 {
            #expect(r.meterTime == c.time.withSuffix(r.meterTime?.summerTime))
            for phase in 0..<profile.phases {
                #expect(r.phases[phase].powerImportW == P1Decimal(Int64(max(0, c.phasePowerW[phase]))))
                #expect(r.phases[phase].powerExportW == P1Decimal(Int64(max(0, -c.phasePowerW[phase]))))
            }
        }
        if profile.hasGas {
            let gas = try #require(r.device(.gas))
            #expect(gas.value == P1Decimal(mantissa: c.gasCapturedLitres, scale: 3))
            #expect(gas.captureTime?.utcSeconds == c.gasCaptureTime?.utcSeconds ?? c.time.utcSeconds)
        } else {
            #expect(r.mbus.isEmpty)
        }
        if profile.hasWater {
            #expect(r.device(.water)?.value == P1Decimal(mantissa: c.waterCapturedLitres, scale: 3))
        }
        if profile.isBelgian {
            #expect(r.country == .belgium)
            #expect(r.demand?.currentAverageW == P1Decimal(c.currentAverageDemandW))
            #expect(r.demand?.monthMaximumW == P1Decimal(c.monthMaximumDemandW))
        }
        if let previousImport, let total = r.importWh.total { #expect(previousImport <= total, "index \(index)") }
        previousImport = r.importWh.total
    }
    #expect(meter.elapsedSeconds == 399 * profile.interval.components.seconds)
}

@Test func energyIntegratesTheReportedPowerExactly() throws {
    var meter = try P1MeterSimulator(profile: .dsmr5NL, load: .noSolar, seed: 3)
    _ = meter.nextTelegram()
    let start = meter.counters
    var expectedJoules: Int64 = 0
    for _ in 0..<3600 {
        expectedJoules += Int64(meter.counters.powerImportW)  // power shown, held for 1 s
        _ = meter.nextTelegram()
    }
    let end = meter.counters
    let joules = zip(end.importJoules, start.importJoules).map { $0 - $1 }.reduce(0, +)
    #expect(joules == expectedJoules)
    #expect(end.exportJoules == start.exportJoules)
}

@Test func belgianDemandRegistersFollowQuarterHours() throws {
    // Start just before the end of a month so a month's peak moves into 0-0:98.1.0.
    let start = CivilTime.seconds(year: 2025, month: 1, day: 31, hour: 22, minute: 0, second: 0)
    var meter = try P1MeterSimulator(profile: .belgian1Phase, load: .noSolar, startEpoch: start, seed: 5)
    var telegram = try P1Telegram.parse(meter.nextTelegram())
    for _ in 0..<(2 * 3600) { telegram = try P1Telegram.parse(meter.nextTelegram()) }
    let r = telegram.reading
    #expect(meter.counters.peakHistory.count == 1)
    #expect(r.demand?.history.count == 1)
    let peak = try #require(r.demand?.history.first)
    #expect(peak.month?.iso8601 == "2025-01-31T23:00:00Z")  // 1 February 00:00 CET
    #expect(peak.value.map { $0.shifted(by: 3) } == P1Decimal(meter.counters.peakHistory[0].valueW))
    #expect(r.demand?.monthMaximumTime?.utcSeconds == meter.counters.monthMaximumDemandTime?.utcSeconds)
}

@Test(arguments: P1SimulatedProfile.allCases)
func profilesCarryTheirLineSettingAndCadence(profile: P1SimulatedProfile) {
    switch profile {
    case .dsmr22:
        #expect(profile.serialConfiguration.description == "9600-7E1")
        #expect(profile.interval == .seconds(10))
    case .dsmr42:
        #expect(profile.serialConfiguration.description == "115200-7E1")
        #expect(profile.interval == .seconds(10))
    case .smartyEncrypted:
        #expect(profile.serialConfiguration == .dsmr5)
        #expect(profile.interval == .seconds(10))
    default:
        #expect(profile.serialConfiguration.description == "115200-8N1")
        #expect(profile.interval == .seconds(1))
    }
}

@Test func smartyFramesUseTheGivenKeyAndCountFrames() throws {
    let key: [UInt8] = Array(0..<16)
    var meter = try P1MeterSimulator(profile: .smartyEncrypted, seed: 9, encryptionKey: key)
    let first = try P1DLMSFrame.parse(meter.nextTelegram())
    let second = try P1DLMSFrame.parse(meter.nextTelegram())
    #expect(second.frameCounter == first.frameCounter + 1)
    #expect(first.authenticationTag.count == 12)
    let plaintext = try P1Decryptor(encryptionKey: key).decrypt(second)
    #expect(plaintext == meter.lastPlaintext)
    #expect(throws: P1Error.self) {
        try P1Decryptor(encryptionKey: [UInt8](repeating: 0xAA, count: 16)).decrypt(second)
    }
}

@Test func faultInjectionProducesCountedRejections() throws {
    var meter = try P1MeterSimulator(profile: .dsmr5NL, seed: 11)
    var injector = P1FaultInjector(seed: 12)
    let faults: [(P1Fault, P1RejectReason?)] = [
        (.bitFlips(count: 3), .crcMismatch), (.droppedBytes(count: 2), .crcMismatch), (.wrongCRC, .crcMismatch),
        (.lineNoise(length: 40), .crcMismatch), (.garbage(count: 500), nil), (.truncated(fraction: 0.5), .truncated),
    ]
    var stream: [UInt8] = []
    var expectedTelegrams = 0
    var expectedRejections: [P1RejectReason: Int] = [:]
    for round in 0..<20 {
        for (fault, reason) in faults {
            stream += injector.apply(fault, to: meter.nextTelegram())
            if let reason { expectedRejections[reason, default: 0] += 1 } else { expectedTelegrams += 1 }
            if round % 2 == 0 {
                stream += meter.nextTelegram()
                expectedTelegrams += 1
            }
        }
    }
    stream += meter.nextTelegram()  // ends the last (possibly truncated) one
    expectedTelegrams += 1
    let result = frame(stream, .randomSplits)
    #expect(result.telegrams.count == expectedTelegrams)
    for (reason, count) in expectedRejections {
        #expect(result.framer.statistics[reason] == count, "\(reason)")
    }
    #expect(result.framer.statistics.rejected == expectedRejections.values.reduce(0, +))
}
