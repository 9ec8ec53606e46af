import Simulator
import Testing

@testable import ADE9000

/// Front-end errors up to ±10 % gain and ±2° phase (the brief's worst case).
private let errors: [Scenario.FrontEndError] = [
    .init(voltageGain: 0.10, currentGain: -0.10, phaseDegrees: 2.0),
    .init(voltageGain: -0.07, currentGain: 0.095, phaseDegrees: -2.0),
    .init(voltageGain: 0.03, currentGain: -0.045, phaseDegrees: 1.0),
]

private func averagePower(_ rig: inout Rig, samples: Int = 5) throws -> [Double] {
    var sums = [0.0, 0.0, 0.0]
    for _ in 0..<samples {
        rig.meter.delay.delay(.seconds(1))
        let r = try rig.meter.readSnapshot()
        for p in 0..<3 { sums[p] += r.phases[p].activePower / Double(samples) }
    }
    return sums
}

@Test func calibrationRemovesGainAndPhaseErrors() throws {
    let reference = ReferenceLoad(voltage: 230, current: 10)
    var rig = Rig(Scenario.balanced(voltage: 230, current: 10, angle: 0, errors: errors))
    try rig.meter.start()
    let sim = rig.sim
    var steps: [CalibrationStep] = []
    let report = try rig.meter.calibrate(reference: reference, options: CalibrationOptions(samples: 5)) { step in
        steps.append(step)
        switch step {
        case .unityPowerFactor(let load):
            sim.scenario = .balanced(voltage: load.voltage, current: load.current, angle: 0, errors: errors)
        case .laggingPowerFactor(let load, let lag):
            sim.scenario = .balanced(voltage: load.voltage, current: load.current, angle: lag, errors: errors)
        case .lowCurrent(let load):
            sim.scenario = .balanced(voltage: load.voltage, current: load.current, angle: 0, errors: errors)
        }
        return true
    }
    #expect(
        steps == [
            .unityPowerFactor(reference), .laggingPowerFactor(reference, lagDegrees: 60), .unityPowerFactor(reference),
        ])
    // Before: the front-end errors show (V +10 %, I −10 %, P ≈ −1 % on A).
    #expect(abs(report.before[0].voltagePercent - 10) < 0.01)
    #expect(abs(report.before[1].currentPercent - 9.5) < 0.01)
    #expect(abs(report.phaseErrorDegrees[0] - 2) < 0.01)
    #expect(abs(report.phaseErrorDegrees[1] + 2) < 0.01)
    // After, at PF 1: every phase within 0.1 %.
    for (index, after) in report.after.enumerated() {
        #expect(abs(after.voltagePercent) < 0.1, "phase \(index) V")
        #expect(abs(after.currentPercent) < 0.1, "phase \(index) I")
        #expect(abs(after.activePowerPercent) < 0.1, "phase \(index) P")
    }
    // The chip holds what the report says.
    #expect(rig.meter.calibration == report.calibration)
    #expect(Int32(bitPattern: sim.peek(0x00B)) == report.calibration.a.voltageGain)
    #expect(Int32(bitPattern: sim.peek(0x026)) == report.calibration.b.phaseCalibration)

    // At PF 0.5 lagging: active power within 0.2 % (without calibration the 2° error alone gives ~6 %).
    sim.scenario = .balanced(voltage: 230, current: 10, angle: 60, errors: errors)
    rig.meter.delay.delay(.seconds(2))
    let power = try averagePower(&rig)
    for p in 0..<3 {
        #expect(relativeError(power[p], 230 * 10 * 0.5) < 0.002, "phase \(p) P at PF 0.5")
    }
}

@Test func calibrationComposesWithAnExistingCalibration() throws {
    // Start from a deliberately wrong saved calibration: the procedure must still converge.
    var wrong = Calibration()
    for phase in Phase.allCases {
        wrong[phase] = PhaseCalibration(
            voltageGain: 4_000_000, currentGain: -3_000_000, powerGain: 1_000_000, phaseCalibration: 2_000_000)
    }
    var rig = Rig(Scenario.balanced(voltage: 230, current: 5, errors: errors), calibration: wrong)
    try rig.meter.start()
    let sim = rig.sim
    let report = try rig.meter.calibrate(reference: ReferenceLoad(voltage: 230, current: 5)) { step in
        if case .laggingPowerFactor(_, let lag) = step {
            sim.scenario = .balanced(voltage: 230, current: 5, angle: lag, errors: errors)
        } else {
            sim.scenario = .balanced(voltage: 230, current: 5, angle: 0, errors: errors)
        }
        return true
    }
    for after in report.after {
        #expect(abs(after.voltagePercent) < 0.1)
        #expect(abs(after.currentPercent) < 0.1)
        #expect(abs(after.activePowerPercent) < 0.1)
    }
    sim.scenario = .balanced(voltage: 230, current: 5, angle: 60, errors: errors)
    rig.meter.delay.delay(.seconds(2))
    for p in try averagePower(&rig) { #expect(relativeError(p, 575) < 0.002) }
}

@Test func abortedCalibrationChangesNothing() throws {
    var rig = Rig(Scenario.balanced(current: 5, errors: errors))
    try rig.meter.start()
    #expect(throws: ADE9000Error.invalidConfiguration("calibration aborted")) {
        try rig.meter.calibrate(reference: ReferenceLoad(voltage: 230, current: 5)) { _ in false }
    }
    #expect(rig.meter.calibration == .identity)
}

@Test func savedCalibrationIsRestoredAtStart() throws {
    var saved = Calibration()
    saved.b = PhaseCalibration(
        voltageGain: 321_883, currentGain: 2_285_112, powerGain: -757_617, phaseCalibration: 6_244_147)
    var rig = Rig(Scenario.balanced(current: 5), calibration: saved)
    try rig.meter.start()
    #expect(rig.sim.peek(0x02B) == 0x0004_E95B)  // BVGAIN
    #expect(rig.sim.peek(0x020) == 0x0022_DE38)  // BIGAIN
    #expect(rig.sim.peek(0x02E) == 0xFFF4_708F)  // BPGAIN
    #expect(rig.sim.peek(0x026) == 0x005F_4733)  // BPHCAL0
    #expect(try rig.meter.readCalibration() == saved)
}

/// Issue 12: the offset step brings the current rms within 0.5 % at 1 % of nominal. The channel noise (20 mA
/// rms, added in quadrature) makes a 0.1 A reading 2 % high after the gain calibration at 10 A; xIRMSOS removes it,
/// and the reading at another low current (2 %) improves with it (the offset is one for the channel, not a fudge).
@Test func theOffsetStepBringsTheCurrentWithinHalfAPercentAtOnePercentOfNominal() throws {
    let noisy: [Scenario.FrontEndError] = errors.map {
        var error = $0
        error.currentOffset = 0.02
        error.voltageOffset = 0.5
        return error
    }
    let nominal = ReferenceLoad(voltage: 230, current: 10)
    var rig = Rig(Scenario.balanced(voltage: 230, current: 10, angle: 0, errors: noisy))
    try rig.meter.start()
    let sim = rig.sim
    let source: (CalibrationStep) -> Bool = { step in
        switch step {
        case .unityPowerFactor(let load), .lowCurrent(let load):
            sim.scenario = .balanced(voltage: load.voltage, current: load.current, angle: 0, errors: noisy)
        case .laggingPowerFactor(let load, let lag):
            sim.scenario = .balanced(voltage: load.voltage, current: load.current, angle: lag, errors: noisy)
        }
        return true
    }
    _ = try rig.meter.calibrate(reference: nominal, options: CalibrationOptions(samples: 5), prepare: source)

    func currentError(at amps: Double) throws -> [Double] {
        sim.scenario = .balanced(voltage: 230, current: amps, angle: 0, errors: noisy)
        rig.meter.delay.delay(.seconds(2))
        let readings = try rig.meter.readSnapshot()
        return (0..<3).map { (readings.phases[$0].current - amps) / amps * 100 }
    }
    let before = try currentError(at: 0.1)
    for p in 0..<3 { #expect(before[p] > 1, "phase \(p): the noise shows before the offset step (\(before[p]) %)") }
    let beforeAtTwo = try currentError(at: 0.2)

    let low = ReferenceLoad(voltage: 230, current: 0.1)
    let reported = try rig.meter.calibrateOffsets(
        reference: low, options: CalibrationOptions(samples: 5), prepare: source)
    let after = try currentError(at: 0.1)
    let afterAtTwo = try currentError(at: 0.2)
    for p in 0..<3 {
        #expect(abs(after[p]) < 0.5, "phase \(p) at 1 %: \(after[p]) %")
        #expect(abs(reported[p].currentPercent) < 0.5, "phase \(p) reported: \(reported[p].currentPercent) %")
        #expect(abs(afterAtTwo[p]) < abs(beforeAtTwo[p]), "phase \(p) at 2 %: \(beforeAtTwo[p]) → \(afterAtTwo[p]) %")
        #expect(rig.meter.calibration[Phase.allCases[p]].currentRMSOffset < 0)
    }
}
