import Foundation
import Simulator
import Testing
import YAML

@testable import ADE9000

/// `fixtures/ade9000/` at the package root (same relative place in the project and in a helper package).
private let fixtures = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("fixtures/ade9000")

private func scenario(_ name: String) throws -> Scenario {
    let text = try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
    return try YAMLDecoder().decode(Scenario.self, from: text)
}

@Test(arguments: ["house-3p.yaml", "calibration-errors.yaml", "solar-export.yaml"])
func fixtureScenariosDecodeAndValidate(file: String) throws {
    let s = try scenario(file)
    #expect(s.validationError() == nil)
    #expect(s.phases.count == 3)
}

@Test func houseScenarioProfileRunsThroughTheDriver() throws {
    let s = try scenario("house-3p.yaml")
    #expect(s.segments?.count == 4)
    #expect(s.repeatProfile == true)
    #expect(s.segments?.reduce(0) { $0 + $1.duration } == 86_400)
    var rig = Rig(s)
    try rig.meter.start()
    // Jump into the evening segment (18:00–24:00): EV charging, 22 A on phase A.
    rig.meter.delay.delay(.seconds(64_800 + 60))
    let r = try rig.meter.readSnapshot()
    let harmonicsV = (1 + 0.01 * 0.01 + 0.015 * 0.015).squareRoot()
    let harmonicsI = (1 + 0.08 * 0.08 + 0.05 * 0.05).squareRoot()
    #expect(relativeError(r[.a].voltage, 226 * harmonicsV) < 1e-5)
    #expect(relativeError(r[.a].current, 22 * harmonicsI) < 1e-5)
    #expect(abs(r[.a].frequency - 50) < 1e-3)
    #expect(relativeError(r[.a].activePower, s.trueActivePower(s.segments![3].phases[0])) < 1e-5)
    // Repeats: the next day's night segment.
    rig.meter.delay.delay(.seconds(21_600))
    let night = try rig.meter.readSnapshot()
    #expect(relativeError(night[.c].current, 0.3 * harmonicsI) < 1e-4)
}

@Test func calibrationFixtureHasTheBriefsWorstCaseErrors() throws {
    let s = try scenario("calibration-errors.yaml")
    let errors = try #require(s.errors)
    #expect(errors.map { $0.voltageGain } == [0.10, -0.07, 0.03])
    #expect(errors.map { $0.phaseDegrees } == [2.0, -2.0, 1.0])
    #expect(s.resetDelay == 0.05)
    var rig = Rig(s)
    try rig.meter.start()
    rig.meter.delay.delay(.seconds(1))
    let r = try rig.meter.readSnapshot()
    #expect(relativeError(r[.a].voltage, 253) < 1e-5)  // +10 % gain error, uncalibrated
    #expect(relativeError(r[.b].current, 10.95) < 1e-5)
}

@Test func solarExportFixtureExportsOnAAndB() throws {
    let s = try scenario("solar-export.yaml")
    #expect(s.frontEnd.currentPGA == 2)
    var rig = Rig(s, configuration: ADE9000Configuration(lineFrequency: .hz60, nominalVoltage: 120))
    try rig.meter.start()
    #expect(rig.sim.peek(0x4B9) == 0x0055)  // PGA_GAIN: IA, IB, IC, IN ×2 (01 each); voltages ×1
    rig.meter.delay.delay(.seconds(600))
    let r = try rig.meter.readSnapshot()
    #expect(r[.a].activePower < -1600 && r[.b].activePower < -1500)
    #expect(r[.c].activePower > 400)
    #expect(relativeError(r[.a].current, 14) < 1e-5)
    #expect(abs(r[.a].frequency - 60) < 1e-3)
    #expect(r.energy[0].activeExportWh > 250 && r.energy[0].activeImportWh == 0)
}

@Test func calibrationAndConfigurationRoundTripThroughYAML() throws {
    var calibration = Calibration()
    calibration.a = PhaseCalibration(
        voltageGain: 321_883, currentGain: 2_285_112, powerGain: -757_617, phaseCalibration: 6_244_147)
    let text = try YAMLEncoder().encode(calibration)
    #expect(try YAMLDecoder().decode(Calibration.self, from: text) == calibration)
    // Offsets are optional in a saved file.
    let minimal = "a: { voltageGain: 1 }\nb: {}\nc: { phaseCalibration: -5712991 }\n"
    let decoded = try YAMLDecoder().decode(Calibration.self, from: minimal)
    #expect(decoded.a.voltageGain == 1 && decoded.c.phaseCalibration == -5_712_991 && decoded.b == PhaseCalibration())
    let config = try YAMLDecoder().decode(
        ADE9000Configuration.self,
        from:
            "wiring: 3P3W\nlineFrequency: 60\nfrontEnd: { voltageDividerRatio: 1001, ctRatio: 2000, burdenOhms: 5.1, currentPGA: 2 }\n"
    )
    #expect(config.wiring == .threePhaseThreeWire && config.lineFrequency == .hz60 && config.frontEnd.currentPGA == .x2)
    #expect(config.crcRetries == 2 && !config.burstReads)
}

/// Scenario numbers that trapped later (seconds × 8000 into Int64, a zero frequency as a divisor) are refused by
/// validation, which `emeter` runs before using a scenario (exit 65 with the message).
@Test(arguments: [
    ("frequency: 0", "frequency must be 40 to 70 Hz"),
    ("frequency: .nan", "frequency must be 40 to 70 Hz"),
    ("resetDelay: 1e300", "resetDelay must be 0 to 10 s"),
    (
        "segments:\n  - duration: 1e300\n    phases: [{voltage: 230, current: 1, angle: 0}, "
            + "{voltage: 230, current: 1, angle: 0}, {voltage: 230, current: 1, angle: 0}]",
        "segments[0].duration must be > 0 s and at most a year"
    ),
])
func absurdScenarioNumbersAreValidationErrors(line: String, message: String) throws {
    let yaml = """
        name: absurd
        phases:
          - {voltage: 230, current: 5, angle: 0}
          - {voltage: 230, current: 5, angle: 0}
          - {voltage: 230, current: 5, angle: 0}
        \(line)
        """
    let decoded = try YAMLDecoder().decode(Scenario.self, from: yaml)
    #expect(decoded.validationError()?.contains(message) == true, "\(decoded.validationError() ?? "valid")")
}
