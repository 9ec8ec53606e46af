import ArgumentParser
import Logging

/// Exit statuses, following sysexits(3) so scripts and systemd can tell causes apart.
enum ExitStatus {
    /// A device or network failure while running.
    static let failure = ExitCode(1)
    /// Bad command-line usage (also what swift-argument-parser uses).
    static let usage = ExitCode(64)
    /// A board, configuration, scenario or calibration file is invalid.
    static let dataError = ExitCode(65)
    /// An input file does not exist or cannot be read.
    static let noInput = ExitCode(66)
    /// A device (tty, spidev, gpiochip, i2c bus) is missing or busy.
    static let unavailable = ExitCode(69)
    /// The configured state directory cannot be created.
    static let cantCreate = ExitCode(73)
    /// An I/O error talking to a device.
    static let ioError = ExitCode(74)

    static let help = """
        EXIT STATUS:
          0   success
          1   a device or network failure while running
          64  bad command-line usage
          65  invalid board, configuration, scenario or calibration file
              (printed as file:line:column: field: what was expected)
          66  an input file is missing or unreadable
          69  a device is missing, busy or not permitted (e.g. no /dev/spidev0.0)
          73  the configured state_dir cannot be created
          74  an I/O error talking to a device
        """
}

@main
struct Emeter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emeter",
        abstract: "Energy-metering firmware: P1 smart meters and the ADE9000, buffered offline, forwarded.",
        discussion: """
            Start with `emeter run --board boards/simulator.yaml`: both meters simulated, no hardware needed.
            On a Raspberry Pi, check your wiring file first: `emeter board check boards/raspberrypi4-ade9000.yaml`.

            \(ExitStatus.help)
            """,
        version:
            "emeter 0.9.0 (P1: DSMR 2.2–5, e-MUCS, Smarty; ADE9000; MQTT 3.1.1, HTTP JSON, Orion, ThingSpeak, InfluxDB)",
        subcommands: [
            RunCommand.self, P1Command.self, ADE9000Command.self, CalibrateCommand.self, SimulateCommand.self,
            BoardCommand.self, RingCommand.self,
        ],
    )
}

/// Options every subcommand shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error or critical. Logs go to stderr.")
    var logLevel: Logger.Level = .info

    /// Sends swift-log output to stderr at the chosen level (once per process).
    func bootstrapLogging() -> Logger {
        LoggingBootstrap.once(level: logLevel)
        var logger = Logger(label: "emeter")
        logger.logLevel = logLevel
        return logger
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// swift-log may be bootstrapped once per process; tests run many commands in one process.
enum LoggingBootstrap {
    private static let done: Void = {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .trace
            return handler
        }
    }()

    static func once(level: Logger.Level) {
        _ = done
    }
}
