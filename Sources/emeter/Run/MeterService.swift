import CivilTime
import ADE9000
import ArgumentParser
import Firmware
import Forwarding
import MQTT
import Foundation
import HAL
import Logging
import P1
import ServiceLifecycle
import Simulator
import Synchronization


/// Everything `emeter run` runs, as one service: graceful shutdown (SIGINT/SIGTERM) ends the event stream, the
/// loop drains it, the P1 thread and simulators stop, and the ring keeps what was not delivered.
struct MeterService: Service {
    let board: BoardFile
    let boardPath: String
    let config: RunConfig
    let duration: Duration?
    let logger: Logger

    var device: String { config.device ?? "emeter" }
    var intervalSeconds: Int64 { config.interval?.duration.components.seconds ?? 60 }

    func run() async throws {
        let store = try makeStore()
        let stdoutConsumer = ConsumerID(0)
        let printRecords = config.stdout?.records ?? true
        do {
            if printRecords { try await store.register(stdoutConsumer) }
        } catch {
            throw RunFailure(description: "\(error)", exitCode: ExitStatus.ioError)
        }
        let forwarders = try makeForwarders()
        for index in forwarders.indices {
            do {
                try await store.register(ConsumerID(index + 1))
            } catch {
                throw RunFailure(description: "\(error)", exitCode: ExitStatus.ioError)
            }
        }
        let (events, continuation) = AsyncStream<LoopEvent>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let output = RunOutput(device: device, store: store, live: config.stdout?.live ?? true,
            health: config.stdout?.health ?? false, forwarders: forwarders, logger: logger)

        // P1: a simulated meter on a pty, or the board's port; read by the real tty code on its own thread.
        var simulatedMeter: P1PseudoTerminalMeter?
        var p1Thread: P1ReaderThread?
        // A DIY cable's data-request pin on a GPIO: raised for as long as we read (DSMR 5.0.2 §5.7.1).
        var dataRequestGPIO: GPIODLine?
        if let request = board.p1?.dataRequest, request.line == "gpio", let chip = request.chip, let line = request.gpio {
            do {
                dataRequestGPIO = try GPIODLine.output(chip: GPIODChip(chip), line.selector,
                    consumer: "emeter P1 data request", initial: true)
            } catch {
                throw RunFailure(description: "P1 data request: \(error)", exitCode: ExitStatus.unavailable)
            }
        }
        defer { withExtendedLifetime(dataRequestGPIO) {} }
        if let p1 = board.p1 {
            let endpoint: P1Endpoint
            var key: [UInt8]?
            if let simulation = p1.simulate {
                let meter = try startSimulatedP1(simulation)
                simulatedMeter = meter
                endpoint = .tty(meter.path)
                if simulation.profile == "smarty" { key = Array(repeating: 0xAA, count: 16) }
            } else if let port = p1.port, let parsed = P1Endpoint(port) {
                endpoint = parsed
            } else {
                throw RunFailure(description: "\(boardPath): p1.port: expected a tty path or tcp://host:port",
                    exitCode: ExitStatus.dataError)
            }
            if let text = p1.key { key = try resolveKey(text) }
            let request: DataRequestLine = switch p1.dataRequest?.line {
            case "rts": .rts
            case "dtr": .dtr
            default: .none
            }
            let thread = P1ReaderThread(endpoint: endpoint, serial: (p1.serial ?? "auto") == "auto" ? nil : SerialConfiguration(parsing: p1.serial!),
                key: key, dataRequest: request, logger: logger)
            { event in
                switch event {
                case .stream(.telegram(let telegram), let time):
                    do throws(P1SampleRejection) {
                        continuation.yield(.p1(.sample(try P1Sample.metered(reading: telegram.reading, receivedAt: time))))
                    } catch {
                        continuation.yield(.p1(.rejected(P1RejectionKind(error))))
                    }
                case .stream(.rejected(let rejection), _):
                    continuation.yield(.p1(.rejected(P1RejectionKind(rejection.reason))))
                case .stream(.frameFailed, _):
                    continuation.yield(.p1(.rejected(.decryption)))
                case .detected:
                    break
                case .portError(let message):
                    continuation.yield(.p1(.portError(message)))
                }
            }
            thread.start()
            p1Thread = thread
            logger.info("P1 reader started", metadata: ["port": "\(endpoint)", "serial": "\(p1.serial ?? "auto")"])
        }
        defer {
            p1Thread?.stop()
            simulatedMeter?.stop()
        }

        let pollInterval = board.ade9000?.pollInterval?.duration ?? .seconds(1)
        let healthEvery = max(1, Int((config.healthInterval?.duration ?? .seconds(60)) / pollInterval))
        let localTime: LocalTime = config.localTime == "utc" ? .utc : .centralEurope
        let sampler = try makeADESampler()

        var loop = MeasurementLoop(ade: sampler, intervalLength: intervalSeconds, localTime: localTime, output: output,
            logger: logger, healthEvery: healthEvery)
        logger.info("measurement loop started",
            metadata: ["board": "\(board.name)", "interval_s": "\(intervalSeconds)", "poll": "\(pollInterval)"])

        await withTaskGroup(of: Void.self) { group in
            let ticker = Ticker(clock: ContinuousClock(), period: pollInterval, wallClock: SystemClock.unixMilliseconds)
            group.addTask {
                await ticker.run { tick in continuation.yield(.tick(tick)) }
            }
            if printRecords {
                group.addTask {
                    await printRecordsFromRing(store: store, consumer: stdoutConsumer, output: output)
                }
            }
            if let duration {
                group.addTask {
                    try? await Task.sleep(for: duration)
                    continuation.finish()
                }
            }
            for (index, forwarder) in forwarders.enumerated() {
                group.addTask { await forwarder.run() }
                let drain = ForwardingDrain(store: store, consumer: ConsumerID(index + 1), forwarder: forwarder,
                    clock: ContinuousClock(), logger: logger)
                group.addTask { await drain.run() }
            }
            await withGracefulShutdownHandler {
                await loop.run(events)
            } onGracefulShutdown: {
                continuation.finish()
            }
            for forwarder in forwarders { await forwarder.shutdown() }
            group.cancelAll()
        }
        let statistics = await store.statistics
        logger.info("stopped", metadata: [
            "records_in_ring": "\(statistics.records)", "ring_bytes": "\(statistics.usedBytes)",
            "telegrams": "\(loop.health.telegramsAccepted)", "ticks": "\(loop.health.ticks)",
        ])
    }

    // MARK: - Pieces

    private func startSimulatedP1(_ simulation: BoardFile.P1Simulation) throws -> P1PseudoTerminalMeter {
        guard let profile = SimulateCommand.Profile(rawValue: simulation.profile) else {
            throw RunFailure(description: "\(boardPath): p1.simulate.profile: expected one of "
                + SimulateCommand.Profile.allCases.map(\.rawValue).joined(separator: ", ")
                + ", got `\(simulation.profile)`", exitCode: ExitStatus.dataError)
        }
        let simulator: P1MeterSimulator
        do {
            simulator = try P1MeterSimulator(profile: profile.simulated,
                startEpoch: simulation.start?.unixSeconds ?? SystemClock.unixMilliseconds() / 1000,
                encryptionKey: Array(repeating: 0xAA, count: 16))
        } catch {
            throw RunFailure(description: "P1 simulator: \(error)", exitCode: ExitStatus.failure)
        }
        let faults = (simulation.faults ?? []).compactMap(SimulateCommand.fault)
        let path = NSTemporaryDirectory() + "emeter-p1-\(getpid())"
        let meter = P1PseudoTerminalMeter(simulator: simulator, path: path, faults: faults)
        do {
            try meter.start()
        } catch {
            throw RunFailure(description: "P1 simulator: \(error)", exitCode: ExitStatus.unavailable)
        }
        logger.info("simulated P1 meter", metadata: ["profile": "\(profile.rawValue)", "pty": "\(path)"])
        return meter
    }

    /// `p1.key`: 32 hex digits, `env:NAME` or `file:PATH` (the file should be readable only by this user).
    private func resolveKey(_ text: String) throws -> [UInt8] {
        let value: String
        do {
            value = try Secret.resolve(text, field: "\(boardPath): p1.key", logger: logger)
        } catch {
            throw RunFailure(description: error.description, exitCode: ExitStatus.dataError)
        }
        guard let bytes = hexBytes(value, byteCount: 16) else {
            throw RunFailure(description: "\(boardPath): p1.key: expected 32 hex digits (the value is not shown)",
                exitCode: ExitStatus.dataError)
        }
        return bytes
    }

    private func makeForwarders() throws -> [any Forwarder] {
        var forwarders: [any Forwarder] = []
        for (index, entry) in (config.forward ?? []).enumerated() {
            let field = "forward[\(index)]"
            do {
                if let http = entry.http {
                    let forwarder = try HTTPJSONForwarder(configuration: http, device: device, logger: logger)
                    forwarders.append(forwarder)
                } else if let orion = entry.orion {
                    forwarders.append(try OrionForwarder(configuration: orion, device: device, logger: logger))
                } else if let thingspeak = entry.thingspeak {
                    forwarders.append(try ThingSpeakForwarder(configuration: thingspeak, device: device, logger: logger))
                } else if let url = entry.url, url.lowercased().hasPrefix("http") {
                    forwarders.append(try HTTPJSONForwarder(configuration: HTTPForwarderConfiguration(url: url),
                        device: device, logger: logger))
                } else if let url = entry.url {
                    forwarders.append(try makeMQTTForwarder(url: url, entry: entry, field: field))
                }
            } catch let error as HTTPConfigurationError {
                throw RunFailure(description: "\(field).\(error)", exitCode: ExitStatus.dataError)
            }
            if let forwarder = forwarders.last {
                logger.info("forwarding", metadata: ["to": "\(forwarder.name)", "device": "\(device)"])
            }
        }
        return forwarders
    }

    private func makeMQTTForwarder(url: String, entry: RunConfig.ForwardConfig, field: String) throws -> MQTTForwarder {
        switch MQTTForwarderConfiguration.parse(url: url, device: device) {
        case .failure(let error):
            throw RunFailure(description: "\(field): \(error.message)", exitCode: ExitStatus.usage)
        case .success(var configuration):
            do {
                if let password = entry.password {
                    configuration.password = try Secret.resolve(password, field: "\(field).password", logger: logger)
                }
            } catch {
                throw RunFailure(description: error.description, exitCode: ExitStatus.dataError)
            }
            configuration.discovery = entry.discovery ?? true
            configuration.discoveryPrefix = entry.discoveryPrefix ?? "homeassistant"
            configuration.hasP1 = board.p1 != nil
            configuration.hasADE9000 = board.ade9000 != nil
            configuration.keepAlive = UInt16(entry.keepAlive ?? 30)
            if let caFile = entry.caFile {
                configuration.tls = MQTTTLSConfiguration(caFile: caFile, certificateFile: entry.certFile,
                    privateKeyFile: entry.keyFile)
            }
            return MQTTForwarder(configuration: configuration, logger: logger)
        }
    }

    private func makeStore() throws -> any RecordStoring {
        let storage = config.ring?.storage ?? (board.eeprom != nil ? "eeprom" : "ram")
        do {
            switch storage {
            case "file":
                let path = config.ring?.path ?? "emeter-ring.bin"
                return try RecordStore(storage: FileRingStorage(path: path), nominalInterval: intervalSeconds,
                    logger: logger)
            case "eeprom":
                guard let eeprom = board.eeprom else {
                    throw RunFailure(description: "ring.storage is eeprom but \(boardPath) has no `eeprom:` section",
                        exitCode: ExitStatus.dataError)
                }
                let address = UInt8(eeprom.address ?? 0x50)
                if eeprom.bus == "simulate" {
                    return try RecordStore(
                        storage: AT24C04RingStorage(bus: EEPROM24C04(baseAddress: address), delay: ThreadDelay(),
                            address: address),
                        nominalInterval: intervalSeconds, logger: logger)
                }
                let bus: I2CBus
                do {
                    bus = try I2CBus(path: eeprom.bus)
                } catch {
                    throw RunFailure(description: "\(error)", exitCode: ExitStatus.unavailable)
                }
                return try RecordStore(storage: AT24C04RingStorage(bus: bus, delay: ThreadDelay(), address: address),
                    nominalInterval: intervalSeconds, logger: logger)
            default:
                return try RecordStore(storage: RAMRingStorage(), nominalInterval: intervalSeconds, logger: logger)
            }
        } catch let error as RingError {
            throw RunFailure(description: "offline ring (\(storage)): \(error)", exitCode: ExitStatus.ioError)
        }
    }

    private func makeADESampler() throws -> DeviceSampler? {
        guard board.ade9000 != nil else { return nil }
        do {
            return DeviceSampler(device: try ADESetup.open(board: board, boardPath: boardPath, logger: logger))
        } catch let failure as ADESetup.Failure {
            throw RunFailure(description: failure.description, exitCode: ExitCode(failure.exitCode))
        }
    }
}
