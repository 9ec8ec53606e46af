import CivilTime
import Firmware
import HAL
import Logging
import P1
import Simulator

#if canImport(Glibc)
    import Glibc
#endif

/// The board's P1 meter as `emeter run` reads it: a simulated meter on a pty or the board's port (tty or TCP), read
/// by the real tty code on its own thread, plus a DIY cable's data-request GPIO held for as long as we read.
/// Every reader event reaches `onEvent` already turned into what the loop takes (``P1Event``).
struct P1Source {
    private let thread: P1ReaderThread
    private let simulatedMeter: P1PseudoTerminalMeter?
    private let dataRequestGPIO: GPIODLine?

    /// Starts reading, or returns `nil` when the board has no `p1:` section.
    /// - Throws: `RunFailure` naming the board field, with the exit status for it.
    /// - Parameter stateDirectory: Where an encrypted meter's last frame counter is kept (`p1-frame-counter`).
    /// - Parameter wallClock: The board's wall clock (stamps every telegram).
    static func start(
        board: BoardFile, boardPath: String, stateDirectory: String? = nil, share: P1ShareServer? = nil,
        api: APIState? = nil, wallClock: @escaping @Sendable () -> UnixTime = RunWallClock.system, logger: Logger,
        onEvent: @escaping @Sendable (P1Event) -> Void
    ) throws -> P1Source? {
        guard let p1 = board.p1 else { return nil }
        // A DIY cable's data-request pin on a GPIO: raised for as long as we read (DSMR 5.0.2 §5.7.1).
        var dataRequestGPIO: GPIODLine?
        if let request = p1.dataRequest, request.line == "gpio", let chip = request.chip, let line = request.gpio {
            do {
                dataRequestGPIO = try GPIODLine.output(
                    chip: GPIODChip(chip), line.selector,
                    consumer: "emeter P1 data request", initial: true)
            } catch {
                throw RunFailure(description: "P1 data request: \(error)", exitCode: ExitStatus.unavailable)
            }
        }
        let endpoint: P1Endpoint
        var key: [UInt8]?
        var simulatedMeter: P1PseudoTerminalMeter?
        if let simulation = p1.simulate {
            let meter = try startSimulatedMeter(simulation, boardPath: boardPath, logger: logger)
            simulatedMeter = meter
            endpoint = .tty(meter.path)
            if simulation.profile == "smarty" { key = Array(repeating: 0xAA, count: 16) }
        } else if let port = p1.port, let parsed = P1Endpoint(port) {
            endpoint = parsed
        } else {
            throw RunFailure(
                description: "\(boardPath): p1.port: expected a tty path or tcp://host:port",
                exitCode: ExitStatus.dataError)
        }
        if let text = p1.key { key = try resolveKey(text, field: "p1.key", boardPath: boardPath, logger: logger) }
        var authenticationKey: [UInt8]? = P1Decryptor.smartyAuthenticationKey
        if let text = p1.authKey {
            authenticationKey =
                text == "none" ? nil : try resolveKey(text, field: "p1.auth_key", boardPath: boardPath, logger: logger)
        }
        let decryptor: P1Decryptor?
        do {
            decryptor = try key.map { key throws(P1Error) in
                try P1Decryptor(encryptionKey: key, authenticationKey: authenticationKey)
            }
        } catch {
            throw RunFailure(description: "\(boardPath): p1: \(error)", exitCode: ExitStatus.dataError)
        }
        let request: DataRequestLine =
            switch p1.dataRequest?.line {
            case "rts": .rts
            case "dtr": .dtr
            default: .none
            }
        let serial = p1.serial.flatMap { $0 == "auto" ? nil : SerialConfiguration(parsing: $0) }
        var lastTelegram: (@Sendable ([UInt8]) -> Void)?
        if let api { lastTelegram = { bytes in api.readTelegramBytes(bytes) } }
        let thread = P1ReaderThread(
            endpoint: endpoint, serial: serial, decryptor: decryptor, dataRequest: request,
            frameCounterPath: stateDirectory.map { $0 + "/p1-frame-counter" }, share: share,
            shareDecrypted: p1.share?.decrypted ?? false, lastTelegram: lastTelegram,
            wallClock: wallClock, logger: logger
        ) { event in
            switch event {
            case .stream(let event, let time):
                if case .telegram(let telegram) = event { api?.readValidTelegram(telegram) }
                onEvent(P1Event(event, receivedAt: time))
            case .detected: break
            case .portError(let message): onEvent(.portError(message))
            }
        }
        thread.start()
        logger.info("P1 reader started", metadata: ["port": "\(endpoint)", "serial": "\(p1.serial ?? "auto")"])
        return P1Source(thread: thread, simulatedMeter: simulatedMeter, dataRequestGPIO: dataRequestGPIO)
    }

    /// Stops the reader thread and the simulated meter; releases the data-request line.
    func stop() {
        thread.stop()
        simulatedMeter?.stop()
        withExtendedLifetime(dataRequestGPIO) {}
    }

    private static func startSimulatedMeter(
        _ simulation: BoardFile.P1Simulation, boardPath: String, logger: Logger
    ) throws -> P1PseudoTerminalMeter {
        guard let profile = SimulateCommand.Profile(rawValue: simulation.profile) else {
            throw RunFailure(
                description: "\(boardPath): p1.simulate.profile: expected one of "
                    + SimulateCommand.Profile.allCases.map(\.rawValue).joined(separator: ", ")
                    + ", got `\(simulation.profile)`", exitCode: ExitStatus.dataError)
        }
        let simulator: P1MeterSimulator
        do {
            simulator = try P1MeterSimulator(
                profile: profile.simulated,
                load: simulation.solarPeakW.map { P1LoadProfile(solarPeakW: $0) } ?? .household,
                startEpoch: simulation.start?.unixSeconds ?? SystemClock.unixSeconds(),
                encryptionKey: Array(repeating: 0xAA, count: 16))
        } catch {
            throw RunFailure(description: "P1 simulator: \(error)", exitCode: ExitStatus.failure)
        }
        let faults = (simulation.faults ?? []).compactMap(SimulateCommand.fault)
        let path = temporaryDirectory() + "/emeter-p1-\(getpid())"
        let meter = P1PseudoTerminalMeter(simulator: simulator, path: path, faults: faults)
        do {
            try meter.start(speedup: simulation.speedup ?? 1)
        } catch {
            throw RunFailure(description: "P1 simulator: \(error)", exitCode: ExitStatus.unavailable)
        }
        logger.info("simulated P1 meter", metadata: ["profile": "\(profile.rawValue)", "pty": "\(path)"])
        return meter
    }

    /// `p1.key` or `p1.auth_key`: 32 hex digits, `env:NAME` or `file:PATH` (the file should be readable only by
    /// this user).
    private static func resolveKey(_ text: String, field: String, boardPath: String, logger: Logger) throws
        -> [UInt8]
    {
        let value: String
        do {
            value = try Secret.resolve(text, field: "\(boardPath): \(field)", logger: logger)
        } catch {
            throw RunFailure(description: error.description, exitCode: ExitStatus.dataError)
        }
        guard let bytes = hexBytes(value, byteCount: 16) else {
            throw RunFailure(
                description: "\(boardPath): \(field): expected 32 hex digits (the value is not shown)",
                exitCode: ExitStatus.dataError)
        }
        return bytes
    }
}
