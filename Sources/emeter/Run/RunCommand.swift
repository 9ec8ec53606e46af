import ArgumentParser
import Firmware
import HAL
import Logging
import P1
import ServiceLifecycle
import Simulator

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the firmware: sample the meters, aggregate interval records, keep them offline, print them.",
        discussion: """
            Starts the board's meters (P1 port, ADE9000), samples them on a drift-free timer, closes interval records
            aligned to the wall clock (default 60 s), stores them in the 512-byte offline ring (RAM, a file or the
            board's 24C04 EEPROM), and prints live readings and closed records as JSON Lines on stdout. Logs go to
            stderr. SIGINT/SIGTERM stop it cleanly; records not yet delivered stay in the ring for the next start.

            On boards/simulator.yaml both meters are simulated: a software ADE9000 on the SPI protocol, and a P1 meter
            writing telegrams into a pseudo-terminal that the real tty code reads. No hardware needed:
              emeter run --board boards/simulator.yaml
            Record lines look like {"type":"interval","start":…,"end":…,"p1":{"import_t1_wh":…},"ade9000":{…}}.

            Forwarding: --forward mqtt://user:pass@broker:1883/emeter publishes records (QoS 1, removed from the ring
            only after the PUBACK), live state, availability and Home Assistant discovery. Topics:
            <prefix>/<device>/interval, …/p1, …/ade9000, …/health, …/status (online/offline, retained; the will).
            While a backend is down its records stay in the ring (merging when full) and drain oldest first.
            Home Assistant gets discovery configs for exactly the data the meter sends (decided from the first
            readings and kept in the state directory).

            Device id: the configuration's `device:`, else chosen at the first start and kept in the state directory
            (state_dir:, $STATE_DIRECTORY, else ~/.local/state/emeter): p1-<the P1 meter's equipment id>, else
            emeter-<machine id>. It is logged at start.
            """
    )

    @Option(help: "Board file (YAML): the wiring, e.g. boards/simulator.yaml.")
    var board: String

    @Option(help: "Configuration file (YAML), e.g. config/emeter.example.yaml.")
    var config: String?

    @Option(help: "Interval record length, e.g. 60s or 15m (overrides the configuration; must divide an hour).")
    var interval: String?

    @Option(help: "Stop after this long, e.g. 90s (default: run until SIGINT/SIGTERM).")
    var duration: String?

    @Flag(help: "Do not print live readings, only closed interval records.")
    var noLive = false

    @Option(
        help: ArgumentHelp(
            "Forward to a backend (repeatable): mqtt://[user[:password]@]host[:port][/prefix] or mqtts://…; adds to the configuration's `forward:` list.",
            valueName: "url"))
    var forward: [String] = []

    @OptionGroup var global: GlobalOptions

    func validate() throws {
        if let interval {
            guard let parsed = ConfigDuration.parse(interval), parsed >= .seconds(1),
                parsed.components.attoseconds == 0, 3600 % parsed.components.seconds == 0
            else { throw ValidationError("--interval: expected whole seconds that divide one hour, e.g. 60s or 15m") }
        }
        if let duration, ConfigDuration.parse(duration) == nil {
            throw ValidationError("--duration: expected a duration like 90s or 10m")
        }
    }

    func run() async throws {
        let logger = global.bootstrapLogging()
        let boardFile: BoardFile
        var runConfig = RunConfig.default
        do {
            boardFile = try YAMLFile.load(BoardFile.self, path: board)
            if let config { runConfig = try YAMLFile.load(RunConfig.self, path: config) }
        } catch {
            standardError(error.description)
            throw error.errors.contains { $0.message == "no such file" } ? ExitStatus.noInput : ExitStatus.dataError
        }
        if let interval, let parsed = ConfigDuration.parse(interval) { runConfig.interval = ConfigDuration(parsed) }
        for url in forward {
            runConfig.forward = (runConfig.forward ?? []) + [RunConfig.ForwardConfig(url: url)]
            if Self.hasPassword(url) {
                standardError(
                    "warning: --forward: a password on the command line is visible to every user (/proc/<pid>/cmdline); "
                        + "put the URL in the configuration's `forward:` with `password: env:NAME` or `file:PATH`")
            }
        }
        if let problem = runConfig.problems().first(where: { $0.path.first == "forward" }) {
            standardError("--forward: \(problem.message)")
            throw ExitStatus.usage
        }
        if noLive {
            runConfig.stdout = RunConfig.StdoutConfig(
                live: false, records: runConfig.stdout?.records, health: runConfig.stdout?.health)
        }
        let service = MeterService(
            board: boardFile, boardPath: board, config: runConfig,
            duration: duration.flatMap(ConfigDuration.parse), logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as RunFailure {
            standardError(error.description)
            throw error.exitCode
        }
    }
}

/// Why `emeter run` could not start or stopped, with the exit status to report.
struct RunFailure: Error, CustomStringConvertible {
    var description: String
    var exitCode: ExitCode
}

extension RunCommand {
    /// Whether a URL carries a password (`scheme://user:password@host…`).
    static func hasPassword(_ url: String) -> Bool {
        guard let schemeEnd = url.firstRange(of: "://") else { return false }
        let authority = url[schemeEnd.upperBound...].prefix { $0 != "/" }
        guard let at = authority.lastIndex(of: "@") else { return false }
        return authority[..<at].contains(":")
    }
}
