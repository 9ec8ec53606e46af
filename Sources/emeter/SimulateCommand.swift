import ADE9000
import ArgumentParser
import CivilTime
import Firmware
import FoundationEssentials
import HAL
import Logging
import P1
import Simulator

#if canImport(Glibc)
    import Glibc
#endif

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a simulated meter to test against without hardware.",
        subcommands: [P1Meter.self, ADE9000Chip.self],
    )

    /// The simulator's meter profiles by their command-line names.
    enum Profile: String, ExpressibleByArgument, CaseIterable {
        case belgian3phase = "belgian-3phase"
        case belgian1phase = "belgian-1phase"
        case dsmr5 = "dsmr5-nl"
        case dsmr42 = "dsmr42"
        case dsmr22 = "dsmr22"
        case smarty = "smarty"

        var simulated: P1SimulatedProfile {
            switch self {
            case .belgian3phase: .belgian3PhaseGasWater
            case .belgian1phase: .belgian1Phase
            case .dsmr5: .dsmr5NL
            case .dsmr42: .dsmr42
            case .dsmr22: .dsmr22
            case .smarty: .smartyEncrypted
            }
        }

        static let help = """
            belgian-3phase (Fluvius e-MUCS, 3 phases, capacity tariff, gas + water, 1 s, 115200-8N1),
            belgian-1phase (1 phase, 1 s), dsmr5-nl (NL DSMR 5, gas, 1 s), dsmr42 (Kaifa DSMR 4.2, 10 s,
            115200-7E1), dsmr22 (Iskra DSMR 2.2, no CRC, 10 s, 9600-7E1), smarty (Luxembourg, AES-GCM encrypted, 10 s)
            """
    }

    /// Fault names for `--faults`.
    static func fault(_ name: String) -> P1Fault? {
        switch name {
        case "bitflip": .bitFlips(count: 1)
        case "drop": .droppedBytes(count: 3)
        case "garbage": .garbage(count: 40)
        case "crc": .wrongCRC
        case "noise": .lineNoise(length: 16)
        case "truncate": .truncated(fraction: 0.6)
        default: nil
        }
    }

    struct P1Meter: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "p1",
            abstract: "Simulate a P1 smart meter on a pseudo-terminal and print the path to read it from.",
            discussion: """
                Profiles: \(Profile.help).
                Faults (--faults, comma-separated, applied in turn to every --fault-every-th telegram): bitflip, drop,
                garbage, crc, noise, truncate. --unplug-every hangs the pty up for 3 s periodically; the path (a
                symlink) comes back, like a USB cable plugged in again.
                Example, in two terminals:
                  emeter simulate p1 --profile dsmr22 --link /tmp/p1
                  emeter p1 read --port /tmp/p1 --format text
                """
        )

        @Option(help: "Meter profile (see below).")
        var profile: Profile = .belgian3phase

        @Option(
            help: "Where to create the symlink to the pty (default: $TMPDIR/emeter-p1-<pid>, or /tmp/… without TMPDIR)."
        )
        var link: String?

        @Option(help: "Faults to inject, e.g. bitflip,crc.")
        var faults: String?

        @Option(help: "Apply a fault to every Nth telegram.")
        var faultEvery: Int = 10

        @Option(help: "Hang up periodically, e.g. 60s.")
        var unplugEvery: String?

        @Option(help: "Virtual seconds per real second (e.g. 10 sends a DSMR 4 telegram every second).")
        var speedup: Double = 1

        @Option(help: ArgumentHelp("Smarty profile: the encryption key (32 hex digits).", valueName: "hex"))
        var key: String = "000102030405060708090A0B0C0D0E0F"

        @Option(help: "Stop after this long (e.g. 10m); default: until interrupted.")
        var duration: String?

        @Option(help: "The meter's clock at the first telegram, e.g. 2025-01-06T19:00:00Z (default: now).")
        var start: String?

        @Option(
            help: ArgumentHelp(
                "Append one line per telegram: meter time, import T1 T2, export T1 T2 (Wh), gas, water (litres, as sent).",
                valueName: "path"))
        var telegramLog: String?

        func validate() throws {
            for name in faultNames where SimulateCommand.fault(name) == nil {
                throw ValidationError(
                    "--faults: unknown fault `\(name)`; expected bitflip, drop, garbage, crc, noise or truncate")
            }
            if let unplugEvery, ConfigDuration.parse(unplugEvery) == nil {
                throw ValidationError("--unplug-every: expected a duration like 60s")
            }
            if let duration, ConfigDuration.parse(duration) == nil {
                throw ValidationError("--duration: expected a duration like 10m")
            }
            if let start, ConfigTimestamp.parse(start) == nil {
                throw ValidationError("--start: expected a UTC time such as 2025-01-06T19:00:00Z")
            }
            guard speedup > 0 && speedup <= 1000 else {
                throw ValidationError("--speedup: expected 0 < speedup ≤ 1000")
            }
            guard faultEvery >= 1 else { throw ValidationError("--fault-every: expected at least 1") }
            guard key.count == 32, key.allSatisfy(\.isHexDigit) else {
                throw ValidationError("--key: expected 32 hex digits")
            }
        }

        var faultNames: [String] {
            (faults ?? "").split(separator: ",").map { $0.trimmed }.filter { !$0.isEmpty }
        }

        func run() async throws {
            let keyBytes = hexBytes(key, byteCount: 16) ?? []
            let simulator: P1MeterSimulator
            do {
                simulator = try P1MeterSimulator(
                    profile: profile.simulated,
                    startEpoch: start.flatMap(ConfigTimestamp.parse) ?? SystemClock.unixSeconds(),
                    encryptionKey: keyBytes)
            } catch {
                throw ValidationError("\(error)")
            }
            let path = link ?? temporaryDirectory() + "/emeter-p1-\(getpid())"
            let meter = P1PseudoTerminalMeter(
                simulator: simulator, path: path,
                faults: faultNames.compactMap(SimulateCommand.fault), faultEvery: faultEvery)
            do {
                try meter.start(speedup: speedup)
            } catch {
                standardError("\(error)")
                throw ExitStatus.unavailable
            }
            standardOutput(path)
            standardError(
                """
                simulated \(profile.rawValue) meter at \(path) (\(profile.simulated.serialConfiguration), every \
                \(profile.simulated.interval)); read it with: emeter p1 read --port \(path)
                """)
            let end = duration.flatMap(ConfigDuration.parse).map { ContinuousClock.now.advanced(by: $0) }
            let unplug = unplugEvery.flatMap(ConfigDuration.parse)
            var nextUnplug = unplug.map { ContinuousClock.now.advanced(by: $0) }
            var log: Int32?
            if let telegramLog {
                let fd = open(telegramLog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
                if fd < 0 { throw ValidationError("--telegram-log: cannot open \(telegramLog) (errno \(errno))") }
                log = fd
            }
            defer { if let log { close(log) } }
            var loggedTime: Int64?
            func logTelegram() {
                guard let log else { return }
                let c = meter.counters
                guard meter.telegramsWritten > 0, c.time.utcSeconds != loggedTime else { return }
                loggedTime = c.time.utcSeconds
                let line =
                    "\(c.time.utcSeconds) \(c.importWh[0]) \(c.importWh[1]) \(c.exportWh[0]) \(c.exportWh[1]) "
                    + "\(c.gasCapturedLitres) \(c.waterCapturedLitres)\n"
                let bytes = Array(line.utf8)
                _ = bytes.withUnsafeBytes { write(log, $0.baseAddress, $0.count) }
            }
            while !Task.isCancelled {
                logTelegram()
                if let end, ContinuousClock.now >= end { break }
                if let due = nextUnplug, ContinuousClock.now >= due, let unplug {
                    standardError("unplugging for 3 s")
                    meter.unplug(for: .seconds(3))
                    nextUnplug = due.advanced(by: unplug)
                }
                if let failure = meter.failure {
                    standardError("simulator stopped: \(failure)")
                    throw ExitStatus.failure
                }
                try? await Task.sleep(for: .milliseconds(50))
            }
            meter.stop()
            logTelegram()
            standardError("\(meter.telegramsWritten) telegrams written")
        }
    }
}

extension SimulateCommand {
    struct ADE9000Chip: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ade9000",
            abstract: "Run a scenario through the simulated ADE9000 and the real driver, in virtual time.",
            discussion: """
                Reads the simulated chip over the SPI protocol every --step for --duration of virtual time (a day runs
                in seconds), printing every --every what the driver measured and the energy against the scenario's
                true energy. Use it to check a scenario file before giving it to boards/simulator.yaml or
                `emeter calibrate --scenario`. The scenario format is documented in Sources/Simulator/Scenario.swift;
                examples are in fixtures/ade9000/.
                Faults (--fault, repeatable): reset@SECONDS, crc:N, miso, irq0-low, irq0-high … (see Fault.parse).
                Example: emeter simulate ade9000 --scenario fixtures/ade9000/house-3p.yaml --duration 24h --every 1h
                """
        )

        @Option(help: "Scenario file (YAML).") var scenario: String
        @Option(help: "Board whose front end and calibration the driver uses.") var board: String =
            "boards/simulator.yaml"
        @Option(help: "Virtual time to simulate, e.g. 24h.") var duration: String = "1h"
        @Option(help: "Read interval, e.g. 1s.") var step: String = "1s"
        @Option(help: "Print interval, e.g. 10m.") var every: String = "10m"
        @Option(help: "Inject a fault (e.g. reset@300, crc:3).") var fault: [String] = []
        @Flag(help: "JSON Lines output.") var json = false
        @OptionGroup var global: GlobalOptions

        func validate() throws {
            for (name, value) in [("--duration", duration), ("--step", step), ("--every", every)] {
                guard let parsed = ConfigDuration.parse(value), parsed > .zero else {
                    throw ValidationError("\(name): expected a duration like 1s, 10m or 24h")
                }
            }
        }

        func run() async throws {
            let logger = global.bootstrapLogging()
            var device = try openADE(board: board, scenario: scenario, logger: logger)
            guard let simulated = (device as? DriverDevice<ADE9000Simulator>)?.simulation else {
                standardError("\(board): not a simulator board (its ade9000 section has no `simulate:`)")
                throw ExitStatus.usage
            }
            for spec in fault {
                do {
                    simulated.chip.apply(try ADE9000Simulator.Fault.parse(spec))
                } catch {
                    throw ValidationError("--fault \(spec): \(error)")
                }
            }
            let total = ConfigDuration.parse(duration)!, stepDuration = ConfigDuration.parse(step)!
            let printEvery = ConfigDuration.parse(every)!
            let steps = Int64(total / stepDuration)
            let printSteps = max(1, Int64(printEvery / stepDuration))
            let truth = simulated.chip.scenario
            var errors = 0
            for index in 1...max(1, steps) {
                let elapsed = stepDuration * Int(index)
                device.advance(to: simulated.startWall + elapsed)
                let readings: Readings
                do {
                    readings = try device.readSnapshot()
                } catch {
                    errors += 1
                    standardError("t=\(elapsed): \(error)")
                    continue
                }
                guard index % printSteps == 0 || index == steps else { continue }
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                let measured = Phase.allCases.map { readings.energy[$0.rawValue].activeNetWh }
                let expected = Phase.allCases.map { truth.trueActiveEnergyWh(phase: $0.rawValue, to: seconds) }
                if json {
                    struct Line: Encodable {
                        var t_s: Double
                        var power_w: [Double]
                        var voltage_v: [Double]
                        var current_a: [Double]
                        var energy_wh: [Double]
                        var true_energy_wh: [Double]
                    }
                    let line = Line(
                        t_s: seconds, power_w: readings.phases.map(\.activePower),
                        voltage_v: readings.phases.map(\.voltage), current_a: readings.phases.map(\.current),
                        energy_wh: measured, true_energy_wh: expected)
                    standardOutput((try? JSONWriter.encode(line)) ?? Array("{}".utf8))
                } else {
                    let perPhase = Phase.allCases.map { p -> String in
                        let i = p.rawValue
                        let error = expected[i] == 0 ? 0 : (measured[i] - expected[i]) / expected[i] * 100
                        return
                            "\(p): \(format(readings.phases[i].voltage, 1)) V \(format(readings.phases[i].current, 2)) A "
                            + "\(format(readings.phases[i].activePower, 0)) W, \(format(measured[i], 1)) Wh (\(format(error, 3))%)"
                    }
                    standardOutput("t=\(ConfigDuration(elapsed))  " + perPhase.joined(separator: "  "))
                }
            }
            if errors > 0 { standardError("\(errors) reads failed (see above)") }
        }
    }
}
