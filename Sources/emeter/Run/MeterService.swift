import ADE9000
import ArgumentParser
import CivilTime
import Firmware
import Forwarding
import FoundationEssentials
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

    /// The environment (`STATE_DIRECTORY`, `HOME`, …), replaceable for tests.
    var environment: [String: String] = ProcessInfo.processInfo.environment
    var intervalSeconds: Int64 { config.interval?.duration.components.seconds ?? 60 }
    /// How long the first start waits for a P1 telegram to name the device after the meter (DSMR 4 and Smarty
    /// send every 10 s).
    static let equipmentIDWait: Duration = .seconds(25)

    func run() async throws {
        let stateDirectory = try StateDirectory.prepare(
            configured: config.stateDir, environment: environment, logger: logger)
        let wallClock = RunWallClock.make(environment: environment)
        if environment[RunWallClock.offsetVariable] != nil {
            logger.warning(
                "test seam: the wall clock is offset by the seconds in \(RunWallClock.offsetVariable); never set it in production"
            )
        }
        let store = try makeStore()
        let (events, continuation) = AsyncStream<LoopEvent>.makeStream(bufferingPolicy: .bufferingNewest(4096))
        // The first telegram's equipment id, for choosing the device id (readings wait in `events` meanwhile).
        let firstEquipmentID = Mutex<String?>(nil)
        let share = try await startP1Share()
        defer { share?.stop() }
        let localTime: LocalTime = config.localTime == "utc" ? .utc : .centralEurope
        let api = config.api.map { _ in APIState(localTime: localTime) }
        let p1 = try P1Source.start(
            board: board, boardPath: boardPath, stateDirectory: stateDirectory, share: share, api: api,
            wallClock: wallClock, logger: logger
        ) { event in
            if case .sample(let sample) = event {
                firstEquipmentID.withLock { $0 = $0 ?? sample.details.equipmentID ?? "" }
            }
            continuation.yield(.p1(event))
        }
        defer { p1?.stop() }
        let hasP1 = p1 != nil
        let (device, origin) = await DeviceIdentity.resolve(
            configured: config.device, stateDirectory: stateDirectory,
            equipmentID: {
                guard hasP1 else { return nil }
                let deadline = ContinuousClock.now.advanced(by: Self.equipmentIDWait)
                while ContinuousClock.now < deadline && !Task.isCancelled && !Task.isShuttingDownGracefully {
                    if let id = firstEquipmentID.withLock({ $0 }) { return id }
                    try? await Task.sleep(for: .milliseconds(50))
                }
                return nil
            }, logger: logger)
        logger.info("device id", metadata: ["device": "\(device)", "from": "\(origin)"])
        let apiServer = try await startAPI(state: api, device: device)
        defer { apiServer?.stop() }

        let consumers = try makeForwarders(device: device, stateDirectory: stateDirectory)
        let forwarders = consumers.map(\.forwarder)
        let printRecords = config.stdout?.records ?? true
        try await register(store)
        let notifier = SystemdNotifier()
        let control =
            try (config.controllers ?? []).isEmpty
            ? nil
            : ControlService(
                board: board, boardPath: boardPath, controllers: config.controllers ?? [],
                stateDirectory: stateDirectory, localTime: localTime, logger: logger)
        let deliveries = DeliveryLog()
        let output = RunOutput(
            device: device, store: store, live: config.stdout?.live ?? true,
            health: config.stdout?.health ?? false, forwarders: forwarders, notifier: notifier, control: control,
            alerts: AlertMonitor(
                settings: config.alertSettings(hasP1: board.p1 != nil, hasADE9000: board.ade9000 != nil),
                localTime: localTime),
            deliveries: deliveries, api: api, logger: logger)

        let pollInterval = board.ade9000?.pollInterval?.duration ?? .seconds(1)
        let healthEvery = max(1, Int((config.healthInterval?.duration ?? .seconds(60)) / pollInterval))
        let sampler = try makeADESampler()

        var loop = MeasurementLoop(
            ade: sampler, intervalLength: intervalSeconds, localTime: localTime,
            adeDemandMode: board.ade9000?.demandMode ?? .net,
            checkpoint: stateDirectory.map { FileCheckpointStorage(path: $0 + "/checkpoint") },
            trustedTime: config.waitForTrustedTime == true ? Self.trustedTime(wallClock: wallClock) : nil,
            output: output, logger: logger, healthEvery: healthEvery)
        if stateDirectory == nil {
            logger.warning(
                "no state directory: no checkpoint, so the energy between the last record and a restart is lost")
        }
        loop.resume(ringLastEnd: await store.lastRecordEnd)
        logger.info(
            "measurement loop started",
            metadata: ["board": "\(board.name)", "interval_s": "\(intervalSeconds)", "poll": "\(pollInterval)"])

        // The timer and the loop each get a thread of their own: the HTTP API, the forwarders and the other async
        // work share Swift's cooperative pool (one thread per core), where a tick could wait milliseconds behind a
        // request. The timer thread only sleeps to each deadline and hands the tick over; the loop (sampling,
        // aggregation, the ring) resumes on its own executor at once.
        let timer: LoopTimer
        let loopExecutor: ThreadExecutor
        do {
            // The executor first: a timer left running after a failed start would tick into nothing.
            loopExecutor = try ThreadExecutor(name: "emeter-loop")
            timer = try LoopTimer.start(
                Ticker(clock: ContinuousClock(), period: pollInterval, wallClock: wallClock), logger: logger
            ) { tick in continuation.yield(.tick(tick)) }
        } catch {
            throw RunFailure(description: "\(error)", exitCode: ExitStatus.ioError)
        }
        defer { timer.stop() }

        await withTaskGroup(of: Void.self) { group in
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
            if let control {
                let states = await control.states
                for case let mqtt as MQTTForwarder in forwarders {
                    mqtt.setOutputStates(states)
                    group.addTask {
                        for await command in mqtt.commands {
                            let event = await control.command(
                                command.output, on: command.on, at: UnixTime.wallClockSeconds(),
                                from: "MQTT")
                            if let event { await output.report(event) }
                        }
                    }
                }
            }
            for (consumer, forwarder) in consumers {
                group.addTask { await forwarder.run() }
                let drain = ForwardingDrain(
                    store: store, consumer: consumer, forwarder: forwarder,
                    clock: ContinuousClock(), logger: logger)
                let name = consumer.name
                group.addTask {
                    await drain.run { statistics in
                        deliveries.update(name, delivered: statistics.delivered)
                        api?.metrics.forwarder(
                            name, backlog: nil, delivered: statistics.delivered,
                            failedAttempts: statistics.failedAttempts,
                            lastSuccess: deliveries.times.withLock { $0[name] })
                    }
                }
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
                await withTaskExecutorPreference(loopExecutor) { await loop.run(events) }
            } onGracefulShutdown: {
                continuation.finish()
            }
            timer.stop()
            // The open interval becomes a `partial` record and the checkpoint is saved with it.
            await loop.stop(at: wallClock())
            await waitForBacklog(
                store, consumers: consumers.map(\.consumer) + (printRecords ? [ConsumerID("stdout")] : []))
            notifier?.stopping()
            await apiServer?.shutdown()
            await control?.applyFailSafe()
            for forwarder in forwarders { await forwarder.shutdown() }
            do {
                try await store.commitDeferredAcknowledgements()
            } catch {
                logger.warning(
                    "offline ring: the last acknowledgements were not stored; those records are sent again after the restart",
                    metadata: ["error": "\(error)"])
            }
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

    /// Trusted time from the kernel's synchronisation flag (`adjtimex`) or the meter's clock, on the monotonic clock
    /// (`ContinuousClock`, which never steps).
    static func trustedTime(wallClock: @escaping @Sendable () -> UnixTime) -> TrustedTime {
        let origin = ContinuousClock.now
        return TrustedTime(
            synchronization: KernelClockSynchronization(), wallClock: wallClock,
            monotonicClock: {
                // Whole milliseconds, the resolution of the dates it makes.
                let elapsed = origin.duration(to: .now).components
                return .seconds(elapsed.seconds) + .milliseconds(elapsed.attoseconds / 1_000_000_000_000_000)
            })
    }

    /// How long a stop waits for the forwarders to take what the ring holds (the partial record just closed).
    static let stopDrainWait: Duration = .seconds(2)

    /// Waits until no forwarder has a backlog, at most ``stopDrainWait``; what is left stays in the ring.
    private func waitForBacklog(_ store: any RecordStoring, consumers: [ConsumerID]) async {
        guard !consumers.isEmpty else { return }
        let deadline = ContinuousClock.now.advanced(by: Self.stopDrainWait)
        while ContinuousClock.now < deadline {
            let backlog = await store.statistics.backlog
            if consumers.allSatisfy({ (backlog[$0.name] ?? 0) == 0 }) { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
        logger.info("stopping with records the forwarders have not taken yet: they stay in the ring")
    }

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
    private func makeForwarders(device: String, stateDirectory: String?) throws
        -> [(consumer: ConsumerID, forwarder: any Forwarder)]
    {
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
                } else if let influxdb = entry.influxdb {
                    forwarders.append(try InfluxDBForwarder(configuration: influxdb, device: device, logger: logger))
                } else if let url = entry.url, url.lowercased().hasPrefix("http") {
                    forwarders.append(
                        try HTTPJSONForwarder(
                            configuration: HTTPForwarderConfiguration(url: url),
                            device: device, logger: logger))
                } else if let url = entry.url {
                    forwarders.append(
                        try makeMQTTForwarder(
                            url: url, entry: entry, field: field, device: device, stateDirectory: stateDirectory))
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

    private func makeMQTTForwarder(
        url: String, entry: RunConfig.ForwardConfig, field: String, device: String, stateDirectory: String?
    ) throws -> MQTTForwarder {
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
            configuration.keepAlive = UInt16(entry.keepAlive ?? 30)
            let alerts = config.alertSettings(hasP1: board.p1 != nil, hasADE9000: board.ade9000 != nil)
            configuration.alerts = AlertMonitor.Kind.allCases.filter { alerts.checks($0) }.map(\.rawValue)
            configuration.outputs = (config.controllers ?? []).map {
                MQTTOutput(name: $0.output, commandable: $0.rule == "manual")
            }
            if let stateDirectory {
                // One file per broker, prefix and device: what this broker's Home Assistant was told.
                let key = "\(configuration.name) \(configuration.discoveryPrefix) \(device)"
                var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
                for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
                let suffix = String(hash, radix: 16)
                configuration.entitiesPath =
                    "\(stateDirectory)/homeassistant-\(String(repeating: "0", count: 16 - suffix.count) + suffix).txt"
            }
            if let caFile = entry.caFile {
                configuration.tls = MQTTTLSConfiguration(
                    caFile: caFile, certificateFile: entry.certFile,
                    privateKeyFile: entry.keyFile)
            }
            return MQTTForwarder(configuration: configuration, logger: logger)
        }
    }

    /// The HTTP API (`api:`), when configured: listening before the loop starts.
    /// - Throws: `RunFailure` naming `api.listen` or `api.token`.
    private func startAPI(state: APIState?, device: String) async throws -> APIServer? {
        guard let api = config.api, let state else { return nil }
        let listen = api.listen ?? RunConfig.APIConfig.defaultListen
        guard let address = ShareAddress(listen) else {
            throw RunFailure(
                description: "api.listen: expected IPv4:port or [IPv6]:port, got `\(listen)`",
                exitCode: ExitStatus.dataError)
        }
        var token: String?
        if let text = api.token {
            do {
                token = try Secret.resolve(text, field: "api.token", logger: logger)
            } catch {
                throw RunFailure(description: error.description, exitCode: ExitStatus.dataError)
            }
            if token?.trimmed.isEmpty ?? true {
                throw RunFailure(description: "api.token: the token is empty", exitCode: ExitStatus.dataError)
            }
        }
        do {
            return try await APIServer.start(
                host: address.host, port: address.port, token: token, device: device, state: state, logger: logger)
        } catch {
            throw RunFailure(
                description: "api.listen: cannot listen on \(address): \(error)", exitCode: ExitStatus.unavailable)
        }
    }

    /// P1 sharing (`p1.share.listen`), when configured: listening before the reader starts, so no telegram is
    /// missed.
    /// - Throws: `RunFailure` (unavailable) when the address cannot be bound.
    private func startP1Share() async throws -> P1ShareServer? {
        guard let share = board.p1?.share else { return nil }
        guard let address = ShareAddress(share.listen) else {
            throw RunFailure(
                description: "\(boardPath): p1.share.listen: not an address:port: `\(share.listen)`",
                exitCode: ExitStatus.dataError)
        }
        do {
            return try await P1ShareServer.start(host: address.host, port: address.port, logger: logger)
        } catch {
            throw RunFailure(
                description: "\(boardPath): p1.share.listen: cannot listen on \(address): \(error)",
                exitCode: ExitStatus.unavailable)
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
                logger.notice(
                    """
                    offline ring in RAM: records not yet forwarded are lost at a restart (the checkpoint in the state \
                    directory still carries the registers, so later records stay exact); use ring.storage file or eeprom
                    """)
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
