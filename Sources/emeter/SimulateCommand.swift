import ArgumentParser
import Foundation
import HAL
import P1
import Simulator

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a simulated meter to test against without hardware.",
        subcommands: [P1Meter.self],
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

        @Option(help: "Where to create the symlink to the pty (default: /tmp/emeter-p1-<pid>).")
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

        func validate() throws {
            for name in faultNames where SimulateCommand.fault(name) == nil {
                throw ValidationError("--faults: unknown fault `\(name)`; expected bitflip, drop, garbage, crc, noise or truncate")
            }
            if let unplugEvery, ConfigDuration.parse(unplugEvery) == nil {
                throw ValidationError("--unplug-every: expected a duration like 60s")
            }
            if let duration, ConfigDuration.parse(duration) == nil {
                throw ValidationError("--duration: expected a duration like 10m")
            }
            guard speedup > 0 && speedup <= 1000 else { throw ValidationError("--speedup: expected 0 < speedup ≤ 1000") }
            guard faultEvery >= 1 else { throw ValidationError("--fault-every: expected at least 1") }
            guard key.count == 32, key.allSatisfy(\.isHexDigit) else { throw ValidationError("--key: expected 32 hex digits") }
        }

        var faultNames: [String] {
            (faults ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }

        func run() async throws {
            let keyBytes = stride(from: 0, to: 32, by: 2).compactMap { offset -> UInt8? in
                let start = key.index(key.startIndex, offsetBy: offset)
                return UInt8(key[start..<key.index(start, offsetBy: 2)], radix: 16)
            }
            let simulator: P1MeterSimulator
            do {
                simulator = try P1MeterSimulator(profile: profile.simulated,
                    startEpoch: Int64(Date().timeIntervalSince1970), encryptionKey: keyBytes)
            } catch {
                throw ValidationError("\(error)")
            }
            let path = link ?? "/tmp/emeter-p1-\(getpid())"
            let meter = P1PseudoTerminalMeter(simulator: simulator, path: path,
                faults: faultNames.compactMap(SimulateCommand.fault), faultEvery: faultEvery)
            do {
                try meter.start(speedup: speedup)
            } catch {
                standardError("\(error)")
                throw ExitStatus.unavailable
            }
            standardOutput(path)
            standardError("""
                simulated \(profile.rawValue) meter at \(path) (\(profile.simulated.serialConfiguration), every \
                \(profile.simulated.interval)); read it with: emeter p1 read --port \(path)
                """)
            let end = duration.flatMap(ConfigDuration.parse).map { ContinuousClock.now.advanced(by: $0) }
            let unplug = unplugEvery.flatMap(ConfigDuration.parse)
            var nextUnplug = unplug.map { ContinuousClock.now.advanced(by: $0) }
            while !Task.isCancelled {
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
                try? await Task.sleep(for: .milliseconds(100))
            }
            meter.stop()
            standardError("\(meter.telegramsWritten) telegrams written")
        }
    }
}
