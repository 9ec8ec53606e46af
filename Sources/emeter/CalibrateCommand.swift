import ADE9000
import ArgumentParser
import Firmware
import FoundationEssentials
import HAL
import Logging
import YAML

#if canImport(Glibc)
    import Glibc
#endif

struct CalibrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract:
            "Calibrate the ADE9000's gains (xVGAIN, xIGAIN, xPGAIN) and phase (xPHCAL0) against a reference load.",
        discussion: """
            Apply a known reference (e.g. 230 V and 5 A on every phase from a calibrator) and run:
              emeter calibrate --board boards/raspberrypi4-ade9000.yaml --voltage 230 --current 5 --save board
            The procedure (spec §6): measure at PF 1 and set the voltage and current gains; measure at PF 0.5 lagging
            (current 60° behind) and set the phase calibration; back at PF 1 set the power gain and measure again.
            On hardware it tells you which reference to apply and waits for Enter at each step. Against the simulator
            board it sets the simulated source itself and runs unattended; --scenario picks a scenario with front-end
            errors (e.g. fixtures/ade9000/calibration-errors.yaml).

            The new gains are written to the chip, printed as a before/after table of errors, and saved (--save) to
            FILE (`--save board`: the board's calibration_file, which `emeter run` restores at every start).
            --power-factor 1 calibrates gains only: no PF 0.5 step, the phase registers are never touched.
            --phase a calibrates only phase A; the other phases are not measured and may be dead.
            --offset adds an RMS offset step (xIRMSOS, xVRMSOS) at a low current (--offset-current, default 1 %).
            Results outside what the chip or a sane board allows (a gain beyond ±50 %, a phase correction outside
            −15° … +2.25° at 50 Hz, negative power at PF 1) are refused with the likely cause and nothing is kept.
            The saved file records the board and the chip (PART_ID, VERSION); `emeter run` refuses it on another.
            --dry-run measures and prints, then restores the previous calibration in the chip and saves nothing.
            """
    )

    enum PhaseChoice: String, ExpressibleByArgument, CaseIterable { case a, b, c, all }

    @Option(help: "Board file (YAML).") var board: String
    @Option(help: "Reference voltage, V rms (line to neutral).") var voltage: Double
    @Option(help: "Reference current, A rms.") var current: Double
    @Option(help: "1 (gains only) or 0.5 (gains and phase; default).") var powerFactor: Double = 0.5
    @Option(help: "Phases to calibrate: a, b, c or all.") var phase: PhaseChoice = .all
    @Option(
        name: .customLong("save"),
        help: ArgumentHelp(
            "Save the calibration (YAML) to FILE; `--save board` saves to the board's calibration_file, which `emeter run` reads.",
            valueName: "file"))
    var saveFile: String?
    @Flag(help: "Measure and compute, but leave the chip's calibration as it was and save nothing.") var dryRun = false
    @Flag(help: "Print one JSON object: registers written and per-phase errors before and after.") var json = false
    @Option(help: "Simulator boards: the scenario to calibrate against (e.g. with front-end errors).") var scenario:
        String?
    @Option(help: "Readings averaged per step.") var samples: Int = 8
    @Flag(
        help: "After the gains, set the RMS offsets (xIRMSOS, xVRMSOS) at a low current (--offset-current).")
    var offset = false
    @Option(help: "Current of the offset step, A rms (default 1 % of --current).") var offsetCurrent: Double?
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard voltage > 0 && voltage <= 500 else { throw ValidationError("--voltage: expected 0 < V ≤ 500") }
        guard current > 0 && current <= 200 else { throw ValidationError("--current: expected 0 < A ≤ 200") }
        guard powerFactor == 1 || powerFactor == 0.5 else { throw ValidationError("--power-factor: expected 1 or 0.5") }
        guard (1...1000).contains(samples) else { throw ValidationError("--samples: expected 1…1000") }
        if let offsetCurrent, !(offsetCurrent > 0 && offsetCurrent < current) {
            throw ValidationError("--offset-current: expected 0 < A < --current")
        }
    }

    func run() async throws {
        let logger = global.bootstrapLogging()
        var device = try openADE(board: board, scenario: scenario, logger: logger)
        let previous = device.calibration
        let reference = ReferenceLoad(voltage: voltage, current: current)
        let simulated = device.isSimulated
        let prompt: (CalibrationStep) -> Bool = { step in
            let text: String =
                switch step {
                case .unityPowerFactor(let load):
                    "apply \(format(load.voltage, 1)) V and \(format(load.current, 3)) A at power factor 1 to all phases"
                case .laggingPowerFactor(let load, let lag):
                    "apply \(format(load.voltage, 1)) V and \(format(load.current, 3)) A with the current lagging \(format(lag, 0))° (PF \(format(cos(lag * .pi / 180), 2))) to all phases"
                case .lowCurrent(let load):
                    "apply \(format(load.voltage, 1)) V and a low current of \(format(load.current, 3)) A at power factor 1"
                }
            if simulated {
                standardError("simulator: \(text)")
                return true
            }
            standardError("\(text), then press Enter (or type q to abort): ", newline: false)
            guard let answer = readLine() else { return false }
            return answer.lowercased() != "q"
        }
        var report: CalibrationReport
        // PF 1 mode never runs the phase step (the phase registers are not touched); --phase limits what is
        // measured and written, so the other phases may be dead.
        let options = CalibrationOptions(
            samples: samples, interval: .milliseconds(250), settle: .seconds(1),
            phases: phase == .all ? Phase.allCases : Phase.allCases.filter { "\($0)".lowercased() == phase.rawValue },
            calibratePhase: powerFactor != 1)
        do {
            report = try device.calibrate(reference: reference, options: options, operatorPrompt: prompt)
            if offset {
                let low = ReferenceLoad(voltage: voltage, current: offsetCurrent ?? current / 100)
                let errors = try device.calibrateOffsets(reference: low, options: options, operatorPrompt: prompt)
                report.calibration = device.calibration
                for p in options.phases {
                    standardError(
                        "offset step: phase \(p) current error at \(format(low.current, 3)) A: "
                            + "\(format(errors[p.rawValue].currentPercent, 3))%")
                }
            }
        } catch {
            standardError("calibration failed: \(error)")
            try? device.applyCalibration(previous)
            throw ExitStatus.failure
        }
        let result = report.calibration
        do {
            try device.applyCalibration(dryRun ? previous : result)
        } catch {
            standardError("writing the calibration failed: \(error)")
            throw ExitStatus.ioError
        }
        report.calibration = result
        if json {
            standardOutput(Self.json(report, reference: reference, dryRun: dryRun))
        } else {
            standardOutput(Self.table(report, dryRun: dryRun))
        }
        if let target = try saveTarget(), !dryRun {
            let boardName = (try? YAMLFile.load(BoardFile.self, path: board))?.name
            let file = CalibrationFile(
                calibration: result, created: Payloads.iso8601(SystemClock.unixMilliseconds() / 1000),
                reference: reference, board: boardName, chip: device.chipIdentity)
            do {
                let directory = URL(fileURLWithPath: target).deletingLastPathComponent()
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                try Data(YAMLEncoder().encode(file).utf8).write(to: URL(fileURLWithPath: target), options: .atomic)
                standardError("saved to \(target); `emeter run` applies it at every start")
            } catch {
                standardError("\(target): cannot save the calibration: \(error)")
                throw ExitStatus.ioError
            }
        }
    }

    private func saveTarget() throws -> String? {
        guard let saveFile else { return nil }
        if saveFile != "board" { return saveFile }
        let boardFile = try YAMLFile.load(BoardFile.self, path: board)
        guard let path = boardFile.ade9000?.calibrationFile else {
            standardError("\(board): no ade9000.calibration_file; pass --save FILE")
            throw ExitStatus.usage
        }
        return ADESetup.resolve(path, boardPath: board)
    }

    static func table(_ report: CalibrationReport, dryRun: Bool) -> String {
        var lines = [
            "phase   error before (V / I / P)          error after (V / I / P)           phase error  registers"
        ]
        for (index, p) in Phase.allCases.enumerated() {
            let b = report.before[index], a = report.after[index], c = report.calibration[p]
            func pct(_ x: Double) -> String { abs(x) < 0.0005 ? "+0.000%" : (x >= 0 ? "+" : "") + format(x, 3) + "%" }
            lines.append(
                "  \(["A", "B", "C"][index])    "
                    + "\(pct(b.voltagePercent).leftPad(8)) \(pct(b.currentPercent).leftPad(8)) \(pct(b.activePowerPercent).leftPad(8))    "
                    + "\(pct(a.voltagePercent).leftPad(8)) \(pct(a.currentPercent).leftPad(8)) \(pct(a.activePowerPercent).leftPad(8))    "
                    + "\(format(report.phaseErrorDegrees[index], 3).leftPad(7))°   "
                    + "VGAIN=\(hex(c.voltageGain)) IGAIN=\(hex(c.currentGain)) PGAIN=\(hex(c.powerGain)) PHCAL0=\(hex(c.phaseCalibration))"
            )
        }
        if dryRun { lines.append("dry run: the chip keeps its previous calibration; nothing saved") }
        return lines.joined(separator: "\n")
    }

    static func hex(_ value: Int32) -> String {
        "0x" + String(UInt32(bitPattern: value), radix: 16, uppercase: true).leftPad(8, "0")
    }

    static func json(_ report: CalibrationReport, reference: ReferenceLoad, dryRun: Bool) -> String {
        struct Registers: Encodable {
            var xVGAIN, xIGAIN, xPGAIN, xPHCAL0: String
        }
        struct Errors: Encodable {
            var voltage_percent, current_percent, active_power_percent: Double
        }
        struct Output: Encodable {
            var reference: ReferenceLoad
            var dry_run: Bool
            var registers: [String: Registers]
            var before: [String: Errors]
            var after: [String: Errors]
            var phase_error_deg: [String: Double]
        }
        var output = Output(
            reference: reference, dry_run: dryRun, registers: [:], before: [:], after: [:], phase_error_deg: [:])
        for (index, p) in Phase.allCases.enumerated() {
            let key = ["a", "b", "c"][index]
            let c = report.calibration[p]
            output.registers[key] = Registers(
                xVGAIN: hex(c.voltageGain), xIGAIN: hex(c.currentGain),
                xPGAIN: hex(c.powerGain), xPHCAL0: hex(c.phaseCalibration))
            let b = report.before[index], a = report.after[index]
            output.before[key] = Errors(
                voltage_percent: b.voltagePercent, current_percent: b.currentPercent,
                active_power_percent: b.activePowerPercent)
            output.after[key] = Errors(
                voltage_percent: a.voltagePercent, current_percent: a.currentPercent,
                active_power_percent: a.activePowerPercent)
            output.phase_error_deg[key] = report.phaseErrorDegrees[index]
        }
        return String(decoding: (try? JSONWriter.encode(output)) ?? Array("{}".utf8), as: UTF8.self)
    }
}
