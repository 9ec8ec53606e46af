import ADE9000
import ArgumentParser
import CivilTime
import Firmware
import Forwarding
import HAL
import Logging
import MQTT
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
        let consumers = try makeForwarders()
        let forwarders = consumers.map(\.forwarder)
        let printRecords = config.stdout?.records ?? true
        try await register(store)
        let (events, continuation) = AsyncStream<LoopEvent>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        let notifier = SystemdNotifier()
        let output = RunOutput(
            device: device, store: store, live: config.stdout?.live ?? true,
            health: config.stdout?.health ?? false, forwarders: forwarders, notifier: notifier, logger: logger)

        let p1 = try P1Source.start(board: board, boardPath: boardPath, logger: logger) { event in
            continuation.yield(.p1(event))
        }
        defer { p1?.stop() }

        let pollInterval = board.ade9000?.pollInterval?.duration ?? .seconds(1)
        let healthEvery = max(1, Int((config.healthInterval?.duration ?? .seconds(60)) / pollInterval))
        let localTime: LocalTime = config.localTime == "utc" ? .utc : .centralEurope
        let sampler = try makeADESampler()

        var loop = MeasurementLoop(
            ade: sampler, intervalLength: intervalSeconds, localTime: localTime, output: output,
            logger: logger, healthEvery: healthEvery)
        logger.info(
            "measurement loop started",
            metadata: ["board": "\(board.name)", "interval_s": "\(intervalSeconds)", "poll": "\(pollInterval)"])

        await withTaskGroup(of: Void.self) { group in
            let ticker = Ticker(clock: ContinuousClock(), period: pollInterval, wallClock: SystemClock.unixMilliseconds)
            group.addTask {
                await ticker.run { tick in continuation.yield(.tick(tick)) }
            }
            if printRecords {
                group.addTask {
                    await printRecordsFromRing(store: store, consumer: ConsumerID("stdout"), output: output)
                }
            }
            if let duration {
                group.addTask {
                    try? await Task.sleep(for: duration)
                    continuation.finish()
                }
            }
            for (consumer, forwarder) in consumers {
                group.addTask { await forwarder.run() }
                let drain = ForwardingDrain(
                    store: store, consumer: consumer, forwarder: forwarder,
                    clock: ContinuousClock(), logger: logger)
                group.addTask { await drain.run() }
            }
            notifier?.ready()
            if let interval = notifier?.pingInterval {
                logger.info("systemd watchdog", metadata: ["ping_every": "\(interval)"])
                if pollInterval > interval {
                    logger.warning(
                        "the loop ticks less often than the systemd watchdog needs: raise WatchdogSec above twice the poll interval",
                        metadata: ["poll": "\(pollInterval)", "ping_every": "\(interval)"])
                }
            }
            await withGracefulShutdownHandler {
                await loop.run(events)
            } onGracefulShutdown: {
                continuation.finish()
            }
            notifier?.stopping()
            for forwarder in forwarders { await forwarder.shutdown() }
            group.cancelAll()
        }
        let statistics = await store.statistics
        logger.info(
            "stopped",
            metadata: [
                "records_in_ring": "\(statistics.records)", "ring_bytes": "\(statistics.usedBytes)",
                "telegrams": "\(loop.health.telegramsAccepted)", "ticks": "\(loop.health.ticks)",
            ])
    }

    // MARK: - Pieces

    /// Registers the configured consumers by name (`stdout`, each forwarder's ``RunConfig/ForwardConfig/consumerName``)
    /// and unregisters the ones the ring image holds that are no longer configured.
    private func register(_ store: any RecordStoring) async throws {
        do {
            try await store.setConsumers(config.consumerNames.map(ConsumerID.init))
        } catch {
            throw RunFailure(description: "\(error)", exitCode: ExitStatus.ioError)
        }
    }

    /// Every configured forwarder with the name it has in the ring.
    private func makeForwarders() throws -> [(consumer: ConsumerID, forwarder: any Forwarder)] {
        var forwarders: [any Forwarder] = []
        var consumers: [(consumer: ConsumerID, forwarder: any Forwarder)] = []
        for (index, entry) in (config.forward ?? []).enumerated() {
            let field = "forward[\(index)]"
            let countBefore = forwarders.count
            do {
                if let http = entry.http {
                    let forwarder = try HTTPJSONForwarder(configuration: http, device: device, logger: logger)
                    forwarders.append(forwarder)
                } else if let orion = entry.orion {
                    forwarders.append(try OrionForwarder(configuration: orion, device: device, logger: logger))
                } else if let thingspeak = entry.thingspeak {
                    forwarders.append(
                        try ThingSpeakForwarder(configuration: thingspeak, device: device, logger: logger))
                } else if let url = entry.url, url.lowercased().hasPrefix("http") {
                    forwarders.append(
                        try HTTPJSONForwarder(
                            configuration: HTTPForwarderConfiguration(url: url),
                            device: device, logger: logger))
                } else if let url = entry.url {
                    forwarders.append(try makeMQTTForwarder(url: url, entry: entry, field: field))
                }
            } catch let error as HTTPConfigurationError {
                throw RunFailure(description: "\(field).\(error)", exitCode: ExitStatus.dataError)
            }
            if forwarders.count > countBefore, let forwarder = forwarders.last {
                consumers.append((ConsumerID(entry.consumerName), forwarder))
                logger.info(
                    "forwarding",
                    metadata: ["to": "\(forwarder.name)", "device": "\(device)", "ring_name": "\(entry.consumerName)"])
            }
        }
        return consumers
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
                configuration.tls = MQTTTLSConfiguration(
                    caFile: caFile, certificateFile: entry.certFile,
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
                return try RecordStore(
                    storage: FileRingStorage(path: path), nominalInterval: intervalSeconds,
                    logger: logger)
            case "eeprom":
                guard let eeprom = board.eeprom else {
                    throw RunFailure(
                        description: "ring.storage is eeprom but \(boardPath) has no `eeprom:` section",
                        exitCode: ExitStatus.dataError)
                }
                let address = UInt8(eeprom.address ?? 0x50)
                if eeprom.bus == "simulate" {
                    return try RecordStore(
                        storage: AT24C04RingStorage(
                            bus: EEPROM24C04(baseAddress: address), delay: ThreadDelay(),
                            address: address),
                        nominalInterval: intervalSeconds, logger: logger)
                }
                let bus: I2CBus
                do {
                    bus = try I2CBus(path: eeprom.bus)
                } catch {
                    throw RunFailure(description: "\(error)", exitCode: ExitStatus.unavailable)
                }
                return try RecordStore(
                    storage: AT24C04RingStorage(bus: bus, delay: ThreadDelay(), address: address),
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
