import Foundation
import TestSupport
import Testing

@testable import emeter

// Issue 12, points 5 and 6, at the CLI: `emeter calibrate` against the simulator board. Before issue 12 the PF 1
// mode still ran (and prompted for) the PF 0.5 step, and out-of-range results were written silently.

/// A scenario file with the given per-phase current gain error (the same on every phase).
private func scenario(currentGain: Double, in directory: URL) throws -> String {
    let path = directory.appendingPathComponent("scenario.yaml").path
    let text = """
        name: calibration-range
        frontEnd: { voltageDividerRatio: 801, ctRatio: 2500, burdenOhms: 10.2 }
        phases:
          - { voltage: 230, current: 5 }
          - { voltage: 230, current: 5 }
          - { voltage: 230, current: 5 }
        errors:
          - { currentGain: \(currentGain) }
          - { currentGain: \(currentGain) }
          - { currentGain: \(currentGain) }

        """
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return path
}

@Suite struct CalibrationCommandTests {
    @Test func powerFactorOneNeverRunsThePhaseStepNorTouchesThePhaseRegisters() async throws {
        let result = try await runEmeter([
            "calibrate", "--board", "boards/simulator.yaml", "--voltage", "230", "--current", "5",
            "--power-factor", "1", "--scenario", "fixtures/ade9000/calibration-errors.yaml", "--json",
        ])
        #expect(result.status == 0, "\(result.err)")
        #expect(!result.err.contains("lagging"), "PF 1 mode asked for a PF 0.5 source: \(result.err)")
        let object = try #require(jsonObject(result.out.trimmingCharacters(in: .whitespacesAndNewlines)))
        let registers = try #require(object["registers"] as? [String: [String: String]])
        for phase in ["a", "b", "c"] {
            #expect(registers[phase]?["xPHCAL0"] == "0x00000000", "\(phase)")
            #expect(registers[phase]?["xPGAIN"] != "0x00000000", "\(phase): the power gain was calibrated")
        }
    }

    @Test func aGainBeyondFiftyPercentIsRefusedNamingTheCTAndBurden() async throws {
        let directory = try temporaryDirectory("calibrate-range")
        defer { try? FileManager.default.removeItem(at: directory) }
        // The current channel reads 2.5× high: a CT ratio or burden that does not match the board file.
        let result = try await runEmeter([
            "calibrate", "--board", "boards/simulator.yaml", "--voltage", "230", "--current", "5",
            "--power-factor", "1", "--scenario", try scenario(currentGain: 1.5, in: directory), "--json",
        ])
        #expect(result.status != 0)
        #expect(result.err.contains("calibration refused"), "\(result.err)")
        #expect(result.err.contains("CT ratio") && result.err.contains("burden"), "\(result.err)")
        #expect(result.out.isEmpty)
    }

    @Test func aReversedCTIsRefusedAndNamed() async throws {
        let directory = try temporaryDirectory("calibrate-reversed")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try await runEmeter([
            "calibrate", "--board", "boards/simulator.yaml", "--voltage", "230", "--current", "5",
            "--scenario", try scenario(currentGain: -2, in: directory), "--json",
        ])
        #expect(result.status != 0)
        #expect(result.err.contains("reversed CT"), "\(result.err)")
    }

    @Test func phaseACalibratesWithTheOtherPhasesDead() async throws {
        let result = try await runEmeter([
            "calibrate", "--board", "boards/simulator.yaml", "--voltage", "230", "--current", "5", "--phase", "a",
            "--scenario", "fixtures/ade9000/calibration-errors.yaml", "--json",
        ])
        #expect(result.status == 0, "\(result.err)")
        let object = try #require(jsonObject(result.out.trimmingCharacters(in: .whitespacesAndNewlines)))
        let after = try #require(object["after"] as? [String: [String: Double]])
        for key in ["voltage_percent", "current_percent", "active_power_percent"] {
            #expect(abs(after["a"]?[key] ?? 99) <= 0.1, "a \(key)")
        }
        let registers = try #require(object["registers"] as? [String: [String: String]])
        #expect(registers["b"]?["xVGAIN"] == "0x00000000")
        #expect(registers["c"]?["xIGAIN"] == "0x00000000")
    }
}

@Test func aCalibrationFileForAnotherBoardOrChipIsRefused() {
    let file = CalibrationFile(
        calibration: .init(), board: "Raspberry Pi 4 + ADE9000",
        chip: .init(partID: "0x00100000", version: "0x0040"))
    #expect(
        file.mismatch(boardName: "Raspberry Pi 4 + ADE9000", identity: .init(partID: 0x0010_0000, version: 0x40)) == nil
    )
    #expect(file.mismatch(boardName: "Simulator", identity: nil)?.contains("made on board") == true)
    #expect(
        file.mismatch(boardName: "Raspberry Pi 4 + ADE9000", identity: .init(partID: 0x0010_0000, version: 0x41))?
            .contains("VERSION") == true)
    // Files from before issue 12 record neither and are accepted.
    #expect(CalibrationFile(calibration: .init()).mismatch(boardName: "any", identity: nil) == nil)
}
