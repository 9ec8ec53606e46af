import Testing

@testable import ADE9000

// The pure side of a snapshot: burst words → codes, the plausibility check, codes → SI units. Values are fed
// directly (spec §5.8 worked example: 230 V, 5 A, PF 1 on the 1/801 divider and 2500:1 CT with 10.2 Ω).

private let board = FrontEnd.specExample
/// 230 V, 5 A, 1150 W, PF 1 on `board`.
private let workedExample = RawPhaseCodes(
    vrms: 21_401_202, irms: 1_520_453, active: 242_438, reactive: 0, apparent: 242_438, powerFactor: 134_217_728,
    period: Conversions.periodCode(frequency: 50), voltageAngle: 0, currentAngle: 1138)

@Test func onePhaseOfCodesInSIUnits() {
    let reading = Conversions.phaseReading(workedExample, phase: .b, board)
    #expect(reading.phase == .b)
    #expect(abs(reading.voltage - 230) < 1e-4)
    #expect(abs(reading.current - 5) < 1e-5)
    #expect(abs(reading.activePower - 1150) < 0.01)
    #expect(abs(reading.apparentPower - 1150) < 0.01)
    #expect(reading.reactivePower == 0)
    #expect(reading.powerFactor == 1)
    #expect(abs(reading.frequency - 50) < 1e-5)
    #expect(abs(reading.currentAngle - 20.0039) < 1e-3)  // 1138 × 0.017578125°
}

@Test func currentAnglesAbove180DegreesAreFoldedToLeading() {
    var codes = workedExample
    codes.currentAngle = 19_911  // 349.998° after VA: the current leads by 10°
    codes.voltageAngle = 6827  // 120.006°: voltage angles are not folded
    let reading = Conversions.phaseReading(codes, phase: .c, board)
    #expect(abs(reading.currentAngle + 10.002) < 1e-3)
    #expect(abs(reading.voltageAngle - 120.006) < 1e-3)
}

@Test func aSnapshotKeepsItsRawCodesAndEnergy() {
    var energy = EnergyCounts()
    energy.activeImport = 8000 * 3600  // one count per sample for an hour
    let readings = Conversions.readings(
        raw: [workedExample, workedExample, RawPhaseCodes()], neutral: 1_520_453, energy: [energy, .init(), .init()],
        board)
    #expect(readings.phases.map(\.phase) == [.a, .b, .c])
    #expect(readings.raw[2] == RawPhaseCodes() && readings.neutralRaw == 1_520_453)
    #expect(abs(readings.neutralCurrent - 5) < 1e-5)
    #expect(abs(readings.totalActivePower - 2300) < 0.02)
    #expect(abs(readings.energy[0].activeImportWh - Conversions.wattsPerCode(board)) < 1e-12)
    #expect(readings.energy[1].activeImportWh == 0)
}

@Test func burstWordsMapToTheirMeasurementRegisters() throws {
    // Word n of the burst holds n + 1, so every code names the word it came from.
    let words = (0..<UInt32(BurstByPhase.wordCount)).map { $0 + 1 }
    let (phases, neutral) = try BurstByPhase.measurementCodes(words)
    // Per phase (19 words): V_PCF, I_PCF, IRMS, VRMS, WATT, VA, VAR, FVAR, PF, …
    for (index, codes) in phases.enumerated() {
        let base = Int32(index * 19)
        #expect(codes.irms == base + 3 && codes.vrms == base + 4)
        #expect(codes.active == base + 5 && codes.apparent == base + 6 && codes.reactive == base + 7)
        #expect(codes.powerFactor == base + 9)
        #expect(codes.period == 0 && codes.currentAngle == 0)  // not in the burst
    }
    #expect(neutral == 59)  // NIRMS is word 1 of the neutral group at 0x6B9
    #expect(throws: ADE9000Error.truncatedReply(register: "AV_PCF_2", expected: 244, received: 240)) {
        try BurstByPhase.measurementCodes(Array(words.dropLast()))
    }
}

@Test func plausibleCodesPass() {
    #expect(throws: Never.self) { try Plausibility.check([workedExample, workedExample, .init()], neutral: 0) }
    var atTheLimit = workedExample
    atTheLimit.powerFactor = 134_217_728 + 134_218  // 1.0 + 0.1 %
    atTheLimit.active = 242_438 + 24_243 + 20_694  // VA + 10 % + 0.1 % of full scale
    #expect(throws: Never.self) { try Plausibility.check([atTheLimit, atTheLimit, atTheLimit], neutral: 7) }
}

@Test func implausibleCodesNameTheRegister() {
    func failure(_ change: (inout RawPhaseCodes) -> Void, phase: Int = 1) -> ADE9000Error? {
        var raw = [workedExample, workedExample, workedExample]
        change(&raw[phase])
        do {
            try Plausibility.check(raw, neutral: 0)
            return nil
        } catch {
            return error
        }
    }
    #expect(
        failure({ $0.vrms = -1 })
            == .implausibleReading(
                register: "BVRMS", value: -1, reason: "RMS cannot be negative"))
    #expect(
        failure({ $0.irms = -5 }, phase: 2)
            == .implausibleReading(
                register: "CIRMS", value: -5, reason: "RMS cannot be negative"))
    #expect(
        failure({ $0.apparent = -2 })
            == .implausibleReading(
                register: "BVA", value: -2, reason: "apparent power cannot be negative"))
    #expect(
        failure({ $0.powerFactor = 134_217_728 + 134_219 })
            == .implausibleReading(
                register: "BPF", value: 134_351_947, reason: "|PF| > 1"))
    #expect(
        failure({ $0.active = -300_000 }, phase: 0)
            == .implausibleReading(
                register: "AWATT", value: -300_000, reason: "|WATT| > VA"))
    #expect(
        failure({ $0.reactive = 300_000 })
            == .implausibleReading(
                register: "BVAR", value: 300_000, reason: "|VAR| > VA"))
    #expect(throws: ADE9000Error.implausibleReading(register: "NIRMS", value: -1, reason: "RMS cannot be negative")) {
        try Plausibility.check([workedExample, workedExample, workedExample], neutral: -1)
    }
}
