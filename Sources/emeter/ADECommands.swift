import ADE9000
import ArgumentParser
import Firmware
import FoundationEssentials
import HAL
import Logging
import Simulator
import YAML

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
        abstract: "Read the ADE9000: a measurement snapshot or its registers by name.",
        subcommands: [Read.self, Regs.self],
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
                device.advance(to: SystemClock.unixMilliseconds())
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
