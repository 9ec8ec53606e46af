import ADE9000
import ArgumentParser
import Firmware
import FoundationEssentials
import HAL
import Logging
import Simulator
import YAML

#if canImport(Glibc)
    import Glibc
#endif

/// Opens the board's ADE9000 for a command, turning setup failures into exit statuses.
func openADE(board path: String, scenario: String? = nil, logger: Logger) throws -> any ADEDevice {
    let board: BoardFile
    do {
        board = try YAMLFile.load(BoardFile.self, path: path)
    } catch {
        standardError(error.description)
        throw error.errors.contains { $0.message == "no such file" } ? ExitStatus.noInput : ExitStatus.dataError
    }
    do {
        return try ADESetup.open(board: board, boardPath: path, scenarioPath: scenario, logger: logger)
    } catch let failure as ADESetup.Failure {
        standardError(failure.description)
        throw ExitCode(failure.exitCode)
    }
}

struct ADE9000Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ade9000",
        abstract:
            "Read the ADE9000: a measurement snapshot, its registers by name, or its energy error against a reference.",
        subcommands: [Read.self, Regs.self, Verify.self],
    )

    struct Read: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a snapshot: per phase V, I, P, Q, S, PF, frequency, angles; neutral current; energies.",
            discussion: """
                Example: emeter ade9000 read --board boards/simulator.yaml --watch
                With --json one JSON object per snapshot (per line with --watch).
                """
        )
        @Option(help: "Board file (YAML).") var board: String
        @Option(help: "Simulator boards: a scenario file to use instead of the board's.") var scenario: String?
        @Flag(help: "Print JSON.") var json = false
        @Flag(help: "Repeat every second until interrupted.") var watch = false
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let logger = global.bootstrapLogging()
            var device = try openADE(board: board, scenario: scenario, logger: logger)
            repeat {
                device.advance(to: RunWallClock.system())
                let readings: Readings
                do {
                    readings = try device.readSnapshot()
                } catch {
                    standardError("ADE9000: \(error)")
                    throw ExitStatus.ioError
                }
                standardOutput(json ? Self.json(readings) : Self.table(readings))
                if watch { try? await Task.sleep(for: .seconds(1)) }
            } while watch && !Task.isCancelled
        }

        static func table(_ readings: Readings) -> String {
            var lines = [
                "phase   V rms    I rms        P W     Q var      S VA     PF     Hz  ∠V°     ∠I°    import Wh  export Wh"
            ]
            for (index, phase) in readings.phases.enumerated() {
                let energy = readings.energy[index]
                lines.append(
                    [
                        "  \(["A", "B", "C"][index])  ", format(phase.voltage, 2).leftPad(8),
                        format(phase.current, 4).leftPad(8),
                        format(phase.activePower, 1).leftPad(10), format(phase.reactivePower, 1).leftPad(9),
                        format(phase.apparentPower, 1).leftPad(9), format(phase.powerFactor, 3).leftPad(6),
                        format(phase.frequency, 3).leftPad(7), format(phase.voltageAngle, 1).leftPad(6),
                        format(phase.currentAngle, 1).leftPad(7), format(energy.activeImportWh, 3).leftPad(12),
                        format(energy.activeExportWh, 3).leftPad(10),
                    ].joined(separator: " "))
            }
            lines.append(
                "neutral current \(format(readings.neutralCurrent, 4)) A; total P \(format(readings.totalActivePower, 1)) W"
            )
            return lines.joined(separator: "\n")
        }

        static func json(_ readings: Readings) -> String {
            struct Phase: Encodable {
                var phase: String
                var voltage_v, current_a, active_power_w, reactive_power_var, apparent_power_va, power_factor: Double
                var frequency_hz, voltage_angle_deg, current_angle_deg, import_wh, export_wh: Double
            }
            struct Snapshot: Encodable {
                var time_utc: String
                var phases: [Phase]
                var neutral_current_a: Double
                var total_active_power_w: Double
            }
            let phases = readings.phases.enumerated().map { index, p in
                Phase(
                    phase: ["a", "b", "c"][index], voltage_v: p.voltage, current_a: p.current,
                    active_power_w: p.activePower, reactive_power_var: p.reactivePower,
                    apparent_power_va: p.apparentPower, power_factor: p.powerFactor, frequency_hz: p.frequency,
                    voltage_angle_deg: p.voltageAngle, current_angle_deg: p.currentAngle,
                    import_wh: readings.energy[index].activeImportWh, export_wh: readings.energy[index].activeExportWh)
            }
            let snapshot = Snapshot(
                time_utc: Payloads.iso8601(SystemClock.unixMilliseconds() / 1000), phases: phases,
                neutral_current_a: readings.neutralCurrent, total_active_power_w: readings.totalActivePower)
            return String(decoding: (try? JSONWriter.encode(snapshot)) ?? Array("{}".utf8), as: UTF8.self)
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the energy error against a reference load: one point, or the accuracy sweep.",
            discussion: """
                Measures the net active energy of whole energy intervals (EGYRDY, EGY_TIME + 1 samples, 1 s by
                default) and compares it with the reference's: V × I × PF × time on hardware (read the time from the
                chip's own interval count, not from a stopwatch), the simulated source's true power (harmonics
                included) on a simulator board.
                  emeter ade9000 verify --board boards/raspberrypi4-ade9000.yaml --voltage 230 --current 0.5 \\
                      --power-factor 0.5
                --sweep runs the accuracy table instead: 1, 2, 5, 10, 20, 50, 100 and 120 % of --current (the
                nominal current) at PF 1, 0.5 lagging and 0.8 leading, with the limits of a class-0.5S-like meter:
                ±0.5 % below 5 % of nominal, ±0.2 % from 5 % to 120 %. Exit status 1 when a point is outside.
                On hardware it tells you which reference to apply and waits for Enter at each point; against the
                simulator board it sets the simulated source itself (--scenario: e.g. the front-end errors, harmonics
                and noise of fixtures/ade9000/accuracy.yaml). Run `emeter calibrate` first: the board's
                calibration_file is applied at start like in `emeter run`.
                """
        )
        @Option(help: "Board file (YAML).") var board: String
        @Option(help: "Simulator boards: a scenario file to use instead of the board's.") var scenario: String?
        @Option(help: "Reference voltage, V rms (line to neutral).") var voltage: Double
        @Option(help: "Reference current, A rms (with --sweep: the nominal current the percentages refer to).")
        var current: Double
        @Option(help: "Power factor of the reference, 0 < PF ≤ 1 (single point; default 1).") var powerFactor: Double =
            1
        @Flag(help: "The reference current leads the voltage (capacitive); default lagging.") var leading = false
        @Option(help: "Energy intervals measured per point (1…3600).") var intervals: Int = 10
        @Option(help: "Phases to check: a, b, c or all.") var phase: CalibrateCommand.PhaseChoice = .all
        @Flag(help: "Run the accuracy table (1 %–120 % of --current at PF 1, 0.5 lagging, 0.8 leading).")
        var sweep = false
        @Flag(help: "Print one JSON object per point.") var json = false
        @OptionGroup var global: GlobalOptions

        /// One point of a check: a current and the angle the current lags (negative: leads).
        struct Point: Sendable, Equatable {
            var percent: Double?
            var current: Double
            var lag: Double
            var label: String
            /// The accuracy-table limit, ± percent (nil for a single point without a class).
            var limit: Double?
        }

        /// The accuracy table: 1 %–120 % of `nominal` at PF 1, 0.5 lagging (60°) and 0.8 leading (−36.87°).
        static func sweepPoints(nominal: Double) -> [Point] {
            let factors: [(lag: Double, label: String)] = [
                (0, "1"), (60, "0.5 lag"), (-acos(0.8) * 180 / .pi, "0.8 lead"),
            ]
            return factors.flatMap { factor in
                [1.0, 2, 5, 10, 20, 50, 100, 120].map { percent in
                    Point(
                        percent: percent, current: nominal * percent / 100, lag: factor.lag, label: factor.label,
                        limit: percent < 5 ? 0.5 : 0.2)
                }
            }
        }

        func validate() throws {
            guard voltage > 0 && voltage <= 500 else { throw ValidationError("--voltage: expected 0 < V ≤ 500") }
            guard current > 0 && current <= 200 else { throw ValidationError("--current: expected 0 < A ≤ 200") }
            guard powerFactor > 0 && powerFactor <= 1 else {
                throw ValidationError("--power-factor: expected 0 < PF ≤ 1")
            }
            guard (1...3600).contains(intervals) else { throw ValidationError("--intervals: expected 1…3600") }
        }

        func run() async throws {
            let logger = global.bootstrapLogging()
            var device = try openADE(board: board, scenario: scenario, logger: logger)
            let phases =
                phase == .all ? Phase.allCases : Phase.allCases.filter { "\($0)".lowercased() == phase.rawValue }
            let angle = acos(powerFactor) * 180 / .pi * (leading ? -1 : 1)
            let points =
                sweep
                ? Self.sweepPoints(nominal: current)
                : [
                    Point(
                        percent: nil, current: current, lag: angle,
                        label: powerFactor == 1 ? "1" : "\(format(powerFactor, 2)) \(leading ? "lead" : "lag")",
                        limit: nil)
                ]
            let simulated = device.isSimulated
            let prompt: (String) -> Bool = { text in
                if simulated { return true }
                standardError("\(text), then press Enter (or type q to abort): ", newline: false)
                guard let answer = readLine() else { return false }
                return answer.lowercased() != "q"
            }
            if !json {
                standardOutput(
                    "  I %      I A  PF           error A   error B   error C    limit  (net active energy, "
                        + "\(intervals) intervals per point)")
            }
            var outside = 0
            for point in points {
                let measurement: EnergyMeasurement?
                do {
                    measurement = try device.measureEnergy(
                        ReferenceLoad(voltage: voltage, current: point.current), lag: point.lag, phases: phases,
                        intervals: intervals, prompt: prompt)
                } catch {
                    standardError("ADE9000: \(error)")
                    throw ExitStatus.ioError
                }
                guard let measurement else {
                    standardError("aborted")
                    throw ExitStatus.failure
                }
                let errors = measurement.errorPercent
                let bad = point.limit.map { limit in errors.contains { $0.map { abs($0) > limit } ?? false } } ?? false
                if bad { outside += 1 }
                standardOutput(json ? Self.json(point, measurement, bad: bad) : Self.row(point, errors, bad: bad))
            }
            if outside > 0 {
                standardError("\(outside) of \(points.count) points outside the limits")
                throw ExitStatus.failure
            }
        }

        static func row(_ point: Point, _ errors: [Double?], bad: Bool) -> String {
            let percent = point.percent.map { format($0, 0) } ?? "-"
            let cells = errors.map { error in
                error.map { abs($0) < 0.0005 ? "+0.000%" : ($0 >= 0 ? "+" : "") + format($0, 3) + "%" } ?? "-"
            }
            return [
                percent.leftPad(5), format(point.current, 3).leftPad(8), " ", point.label.rightPad(9),
                cells[0].leftPad(9), cells[1].leftPad(9), cells[2].leftPad(9),
                point.limit.map { ("±" + format($0, 1) + "%").leftPad(8) } ?? "       -",
                bad ? " OUTSIDE" : (point.limit == nil ? "" : " ok"),
            ].joined(separator: " ")
        }

        static func json(_ point: Point, _ measurement: EnergyMeasurement, bad: Bool) -> String {
            struct Row: Encodable {
                var percent_of_nominal: Double?
                var current_a: Double
                var lag_deg: Double
                var power_factor: Double
                var seconds: Double
                var measured_wh: [Double]
                var reference_wh: [Double]
                var error_percent: [Double?]
                var limit_percent: Double?
                var within_limit: Bool
            }
            let row = Row(
                percent_of_nominal: point.percent, current_a: point.current, lag_deg: point.lag,
                power_factor: cos(point.lag * .pi / 180), seconds: measurement.seconds,
                measured_wh: measurement.measuredWh, reference_wh: measurement.referenceWh,
                error_percent: measurement.errorPercent, limit_percent: point.limit, within_limit: !bad)
            return String(decoding: (try? JSONWriter.encode(row)) ?? Array("{}".utf8), as: UTF8.self)
        }
    }

    struct Regs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Dump every ADE9000 register by its datasheet name, address, width, access and value.")
        @Option(help: "Board file (YAML).") var board: String
        @Option(help: "Only registers whose name contains this text (e.g. GAIN, STATUS).") var filter: String?
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let logger = global.bootstrapLogging()
            var device = try openADE(board: board, logger: logger)
            let rows: [(info: RegisterInfo, value: UInt32)]
            do {
                rows = try device.dumpRegisters()
            } catch {
                standardError("ADE9000: \(error)")
                throw ExitStatus.ioError
            }
            for (info, value) in rows where filter.map({ info.name.uppercased().contains($0.uppercased()) }) ?? true {
                let width = info.address.isSixteenBit ? 16 : 32
                let hex = String(value, radix: 16, uppercase: true).leftPad(width / 4, "0")
                standardOutput(
                    "\(info.name.rightPad(16)) 0x\(String(info.address.rawValue, radix: 16, uppercase: true).leftPad(3, "0"))  \(width)-bit  \(String(describing: info.access).rightPad(16)) 0x\(hex)"
                )
            }
        }
    }
}

extension String {
    func leftPad(_ width: Int, _ pad: Character = " ") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
    func rightPad(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
