import CivilTime
import Firmware
import Forwarding
import HAL
import Logging
import Synchronization

/// Prints records from the ring on stdout and acknowledges them: stdout is the default consumer of the ring.
func printRecordsFromRing(store: any RecordStoring, consumer: ConsumerID, output: RunOutput) async {
    while !Task.isCancelled {
        guard let record = await store.next(for: consumer) else { return }
        await output.print(record)
        do {
            try await store.acknowledge(consumer, through: record.lastSequence)
        } catch {
            await store.release(consumer)
            return
        }
    }
}

/// Where the loop's results go in `emeter run`: records into the ring, live readings to the forwarders and stdout,
/// health (completed with the ring's counters) to the log, the forwarders and stdout. Every line is the one payload
/// schema (``Payloads``), byte for byte what MQTT and HTTP send.
actor RunOutput: LoopOutput {
    let device: String
    let store: any RecordStoring
    let live: Bool
    let healthLines: Bool
    let forwarders: [any Forwarder]
    let logger: Logger
    /// systemd's watchdog, pinged from the loop's ticks (`nil` outside systemd).
    let notifier: SystemdNotifier?
    /// The relay outputs and their rules (`nil` without `controllers:`).
    let control: ControlService?
    /// Data-quality alerts (`nil`: off).
    private var alerts: AlertMonitor?
    /// When each forwarder last delivered a record (ring consumer name → time), from the drains.
    let deliveries: DeliveryLog
    /// The HTTP API's state (`nil`: no `api:`): the last P1 sample and the metrics.
    let api: APIState?
    private var lastAlertTick: UnixTime?

    init(
        device: String, store: any RecordStoring, live: Bool, health: Bool, forwarders: [any Forwarder] = [],
        notifier: SystemdNotifier? = nil, control: ControlService? = nil, alerts: AlertMonitor? = nil,
        deliveries: DeliveryLog = DeliveryLog(), api: APIState? = nil, logger: Logger
    ) {
        self.api = api
        self.notifier = notifier
        self.control = control
        self.alerts = alerts
        self.deliveries = deliveries
        self.device = device
        self.store = store
        self.live = live
        self.healthLines = health
        self.forwarders = forwarders
        self.logger = logger
    }

    func ticked() async {
        notifier?.loopAlive()
        guard alerts != nil else { return }
        let now = UnixTime.wallClockSeconds()
        guard now != lastAlertTick else { return }  // once a second, whatever the poll rate
        lastAlertTick = now
        let statistics = await store.statistics
        let delivered = deliveries.times.withLock { $0 }
        let forwarders = statistics.backlog.filter { $0.key != "stdout" }.sorted { $0.key < $1.key }.map {
            (name: $0.key, backlog: $0.value, lastDelivery: delivered[$0.key])
        }
        guard let events = alerts?.tick(now: now, forwarders: forwarders) else { return }
        for event in events { await report(event) }
    }

    /// An alert raised or cleared: a JSON Lines event (always printed), logged, and published by the forwarders.
    func report(_ event: AlertMonitor.Event) async {
        if event.active {
            logger.warning("alert raised", metadata: ["alert": "\(event.kind.rawValue)", "detail": "\(event.detail)"])
        } else {
            logger.notice("alert cleared", metadata: ["alert": "\(event.kind.rawValue)", "detail": "\(event.detail)"])
        }
        emit(Payloads.alert(event, device: device))
        for forwarder in forwarders { await forwarder.publish(event) }
    }

    func live(_ reading: LiveReading) async {
        api?.live(reading)
        for forwarder in forwarders { await forwarder.publish(reading) }
        if live { emit(Payloads.live(reading, device: device)) }
        if let control {
            for event in await control.handle(reading) { await report(event) }
        }
        if let events = alerts?.observe(reading) {
            for event in events { await report(event) }
        }
    }

    /// A switch of a relay output: a JSON Lines event (always printed: it is rare and it acts on the house) and
    /// published by the forwarders.
    func report(_ event: ControlEvent) async {
        emit(Payloads.control(event, device: device))
        for forwarder in forwarders { await forwarder.publish(event) }
    }

    func closed(_ record: IntervalRecord) async {
        do {
            let sequence = try await store.append(record)
            logger.debug("record stored", metadata: ["sequence": "\(sequence)", "start": "\(record.start.seconds)"])
        } catch {
            logger.error(
                "offline ring refused a record; printing it instead",
                metadata: ["error": "\(error)", "start": "\(record.start.seconds)"])
            emit(Payloads.record(record, device: device))
        }
    }

    func print(_ record: IntervalRecord) {
        emit(Payloads.record(record, device: device))
    }

    /// Completes the loop's counters with the ring's, then logs and publishes the one health report.
    func health(_ health: Health) async {
        var health = health
        let statistics = await store.statistics
        health.ringRecords = statistics.records
        health.ringBytesUsed = statistics.usedBytes
        health.recordsMerged = statistics.merges
        health.storageBytesWritten = statistics.bytesWritten
        health.alertsRaised = alerts?.raisedCount.values.reduce(0, +) ?? 0
        if let api {
            let delivered = deliveries.times.withLock { $0 }
            var forwarders: [APIState.ForwarderState] = []
            for (name, backlog) in statistics.backlog where name != "stdout" {
                api.metrics.forwarder(
                    name, backlog: backlog, delivered: nil, failedAttempts: nil, lastSuccess: delivered[name])
                forwarders.append(APIState.ForwarderState(name: name, backlog: backlog, lastSuccess: delivered[name]))
            }
            api.health(health, forwarders: forwarders.sorted { $0.name < $1.name })
        }
        logger.info(
            "health",
            metadata: [
                "telegrams_accepted": "\(health.telegramsAccepted)",
                "telegrams_rejected": "\(health.telegramsRejected)", "spi_crc_errors": "\(health.spiCRCErrors)",
                "deadlines_missed": "\(health.deadlinesMissed)", "ring_records": "\(health.ringRecords)",
                "ring_bytes": "\(health.ringBytesUsed)", "records_merged": "\(health.recordsMerged)",
                "storage_bytes_written": "\(health.storageBytesWritten)",
            ])
        for forwarder in forwarders { await forwarder.publish(health) }
        guard healthLines else { return }
        emit(Payloads.health(health, device: device))
    }

    private func emit(_ line: [UInt8]) {
        standardOutput(line)
    }
}

/// When each forwarder last delivered a record (ring consumer name → time, to the second), written by the drains.
final class DeliveryLog: Sendable {
    let times = Mutex<[String: UnixTime]>([:])
    private let counts = Mutex<[String: Int]>([:])

    /// A drain's counters changed: when its delivered count grew, it delivered now.
    func update(_ consumer: String, delivered: Int) {
        let grew = counts.withLock { counts in
            defer { counts[consumer] = delivered }
            return delivered > counts[consumer, default: 0]
        }
        guard grew else { return }
        let now = UnixTime.wallClockSeconds()
        times.withLock { $0[consumer] = now }
    }
}
