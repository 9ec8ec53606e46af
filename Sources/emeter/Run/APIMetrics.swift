import CivilTime
import CoreMetrics
import Firmware
import Forwarding
import Prometheus
import Synchronization

/// What `GET /metrics` serves, in Prometheus' text format: the loop's ``Health`` counters (telegrams, rejections by
/// reason, ADE9000 reads and SPI CRC retries, tick lateness), the ring, each forwarder, and the live power and
/// energy of each meter.
///
/// Written through swift-metrics' types (counters, recorders, timers) whose handlers are swift-prometheus
/// collectors in one registry of our own, made with their help text (`promtool check metrics` wants it); no global
/// `MetricsSystem` bootstrap, so tests can make as many as they like.
///
/// The loop counters arrive with each health report (`health_interval`, default 60 s): ``update(_:)`` adds what
/// grew since the previous report, so the counters count from the start of `emeter run`. Live values arrive with
/// every reading.
final class APIMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory

    private let telegrams: CoreMetrics.Counter
    private let adeReads: CoreMetrics.Counter
    private let adeErrors: CoreMetrics.Counter
    private let spiCRCErrors: CoreMetrics.Counter
    private let chipResets: CoreMetrics.Counter
    private let ticks: CoreMetrics.Counter
    private let deadlinesMissed: CoreMetrics.Counter
    private let recordsClosed: CoreMetrics.Counter
    private let ringMerges: CoreMetrics.Counter
    private let ringBytes: CoreMetrics.Recorder
    private let ringRecords: CoreMetrics.Recorder
    private let lateness: CoreMetrics.Timer

    /// The previous health report, and the counters made on demand (by reason, by forwarder, by meter).
    private struct State {
        var last = Health()
        var rejections: [String: CoreMetrics.Counter] = [:]
        var forwarders: [String: Forwarder] = [:]
        var gauges: [String: CoreMetrics.Recorder] = [:]
    }

    private struct Forwarder {
        var backlog: CoreMetrics.Recorder
        var acknowledged: CoreMetrics.Counter
        var errors: CoreMetrics.Counter
        var lastSuccess: CoreMetrics.Recorder
        var delivered = 0
        var failed = 0
    }

    private let state: Mutex<State>

    init() {
        factory = PrometheusMetricsFactory(registry: registry)
        state = Mutex(State())
        telegrams = Self.counter(registry, factory, "p1_telegrams", "P1 telegrams accepted (CRC and content valid).")
        adeReads = Self.counter(registry, factory, "ade9000_reads", "ADE9000 snapshots read.")
        adeErrors = Self.counter(registry, factory, "ade9000_read_errors", "ADE9000 reads that failed.")
        spiCRCErrors = Self.counter(
            registry, factory, "ade9000_spi_crc_errors", "SPI reads from the ADE9000 whose CRC failed (retried).")
        chipResets = Self.counter(registry, factory, "ade9000_chip_resets", "ADE9000 resets seen and recovered.")
        ticks = Self.counter(registry, factory, "loop_ticks", "Ticks of the measurement loop.")
        deadlinesMissed = Self.counter(
            registry, factory, "loop_deadlines_missed", "Ticks the measurement loop handled after the next was due.")
        recordsClosed = Self.counter(registry, factory, "records_closed", "Interval records closed.")
        ringMerges = Self.counter(
            registry, factory, "ring_merges", "Records merged in the offline ring to make room (ring full).")
        ringBytes = Self.gauge(registry, factory, "ring_used", unit: "bytes", "Bytes of the offline ring in use.")
        ringRecords = Self.gauge(registry, factory, "ring", unit: "records", "Records held in the offline ring.")
        let descriptor = MetricNameDescriptor(
            namespace: "emeter", metricName: "loop_lateness", unitName: "seconds",
            helpText: "How late each loop tick fired (each counted at the upper bound of its bucket).")
        let histogram = registry.makeDurationHistogram(
            descriptor: descriptor, buckets: Health.latenessBuckets.map { .microseconds($0) })
        lateness = CoreMetrics.Timer(label: descriptor.name, dimensions: [], handler: histogram, factory: factory)
    }

    /// The text `GET /metrics` serves.
    func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(8192)
        registry.emit(into: &buffer)
        return buffer
    }

    // MARK: - Updates

    /// A health report (the ring's counters completed): adds what grew since the previous one.
    func update(_ health: Health) {
        state.withLock { state in
            let last = state.last
            func add(_ counter: CoreMetrics.Counter, _ now: Int, _ before: Int) {
                if now > before { counter.increment(by: now - before) }
            }
            add(telegrams, health.telegramsAccepted, last.telegramsAccepted)
            add(adeReads, health.adeSamples, last.adeSamples)
            add(adeErrors, health.adeErrors, last.adeErrors)
            add(spiCRCErrors, health.spiCRCErrors, last.spiCRCErrors)
            add(chipResets, health.chipResets, last.chipResets)
            add(ticks, health.ticks, last.ticks)
            add(deadlinesMissed, health.deadlinesMissed, last.deadlinesMissed)
            add(recordsClosed, health.recordsClosed, last.recordsClosed)
            add(ringMerges, health.recordsMerged, last.recordsMerged)
            for (reason, count) in health.rejectionReasons.sorted(by: { $0.key < $1.key }) {
                let counter =
                    state.rejections[reason]
                    ?? Self.counter(
                        registry, factory, "p1_telegrams_rejected", "P1 telegrams dropped, by reason.",
                        labels: [("reason", reason)])
                state.rejections[reason] = counter
                add(counter, count, last.rejectionReasons[reason] ?? 0)
            }
            for (bucket, count) in health.latenessHistogram.enumerated() {
                let before = bucket < last.latenessHistogram.count ? last.latenessHistogram[bucket] : 0
                guard count > before else { continue }
                let micros =
                    bucket < Health.latenessBuckets.count ? Health.latenessBuckets[bucket] : health.maxLatenessMicros
                for _ in 0..<(count - before) { lateness.recordMicroseconds(micros) }
            }
            state.last = health
        }
        ringBytes.record(health.ringBytesUsed)
        ringRecords.record(health.ringRecords)
    }

    /// A forwarder's state: records waiting for it in the ring, what its drain counted (records acknowledged,
    /// failed attempts), and when it last delivered (`nil`: not yet; the gauge holds Unix seconds).
    func forwarder(_ name: String, backlog: Int?, delivered: Int?, failedAttempts: Int?, lastSuccess: UnixTime?) {
        state.withLock { state in
            let isNew = state.forwarders[name] == nil
            var forwarder =
                state.forwarders[name]
                ?? Forwarder(
                    backlog: Self.gauge(
                        registry, factory, "forwarder_backlog", unit: "records",
                        "Records in the offline ring not yet delivered by this forwarder.",
                        labels: [("forwarder", name)]),
                    acknowledged: Self.counter(
                        registry, factory, "forwarder_acknowledged_records",
                        "Records this forwarder delivered and the backend acknowledged.",
                        labels: [("forwarder", name)]),
                    errors: Self.counter(
                        registry, factory, "forwarder_errors", "Delivery attempts of this forwarder that failed.",
                        labels: [("forwarder", name)]),
                    lastSuccess: Self.gauge(
                        registry, factory, "forwarder_last_success", unit: "timestamp_seconds",
                        "When this forwarder last delivered a record (Unix time; 0: not yet).",
                        labels: [("forwarder", name)]))
            if let backlog { forwarder.backlog.record(backlog) }
            if let delivered, delivered > forwarder.delivered {
                forwarder.acknowledged.increment(by: delivered - forwarder.delivered)
                forwarder.delivered = delivered
            }
            if let failedAttempts, failedAttempts > forwarder.failed {
                forwarder.errors.increment(by: failedAttempts - forwarder.failed)
                forwarder.failed = failedAttempts
            }
            if let lastSuccess {
                forwarder.lastSuccess.record(lastSuccess.seconds)  // the gauge is Unix seconds
            } else if isNew {
                forwarder.lastSuccess.record(0)
            }
            state.forwarders[name] = forwarder
        }
    }

    /// A live reading: power (W, + import), the energy registers (Wh) and the voltages of its meter.
    func live(_ reading: LiveReading) {
        switch reading {
        case .p1(let sample, _):
            gauge("power", unit: "watts", "Active power now, W (positive: import).", meter: "p1")
                .record(sample.powerImportW - sample.powerExportW)
            if sample.metersEnergy {
                gauge("energy_import", unit: "watthours", "Energy imported, the meter's register, Wh.", meter: "p1")
                    .record(sample.totalImportWh)
                if sample.sent.contains(.export) {
                    gauge("energy_export", unit: "watthours", "Energy exported, the meter's register, Wh.", meter: "p1")
                        .record(sample.totalExportWh)
                }
            }
            for (phase, decivolts) in sample.voltagesDecivolts.enumerated() {
                gauge("voltage", unit: "volts", "Voltage now per phase, V.", meter: "p1", phase: phase + 1)
                    .record(Double(decivolts) / 10)
            }
        case .ade9000(let sample, _):
            gauge("power", unit: "watts", "Active power now, W (positive: import).", meter: "ade9000")
                .record(sample.totalPowerW)
            gauge("energy_import", unit: "watthours", "Energy imported, the meter's register, Wh.", meter: "ade9000")
                .record(Double(sample.totalImportMilliwattHours) / 1000)
            gauge("energy_export", unit: "watthours", "Energy exported, the meter's register, Wh.", meter: "ade9000")
                .record(Double(sample.totalExportMilliwattHours) / 1000)
            for (phase, volts) in sample.voltageV.enumerated() {
                gauge("voltage", unit: "volts", "Voltage now per phase, V.", meter: "ade9000", phase: phase + 1)
                    .record(volts)
            }
        }
    }

    /// The gauge of one meter (and phase), made at its first use.
    private func gauge(
        _ name: String, unit: String, _ help: String, meter: String, phase: Int? = nil
    ) -> CoreMetrics.Recorder {
        var labels = [("meter", meter)]
        if let phase { labels.append(("phase", "\(phase)")) }
        let key = "\(name) \(meter) \(phase ?? 0)"
        return state.withLock { state in
            if let gauge = state.gauges[key] { return gauge }
            let gauge = Self.gauge(registry, factory, name, unit: unit, help, labels: labels)
            state.gauges[key] = gauge
            return gauge
        }
    }

    // MARK: - Making collectors

    private static func counter(
        _ registry: PrometheusCollectorRegistry, _ factory: PrometheusMetricsFactory, _ name: String,
        _ help: String, labels: [(String, String)] = []
    ) -> CoreMetrics.Counter {
        let descriptor = MetricNameDescriptor(
            namespace: "emeter", metricName: name, unitName: "total", helpText: help)
        return CoreMetrics.Counter(
            label: descriptor.name, dimensions: labels,
            handler: registry.makeCounter(descriptor: descriptor, labels: labels), factory: factory)
    }

    private static func gauge(
        _ registry: PrometheusCollectorRegistry, _ factory: PrometheusMetricsFactory, _ name: String,
        unit: String, _ help: String, labels: [(String, String)] = []
    ) -> CoreMetrics.Recorder {
        let descriptor = MetricNameDescriptor(namespace: "emeter", metricName: name, unitName: unit, helpText: help)
        return CoreMetrics.Recorder(
            label: descriptor.name, dimensions: labels, aggregate: false,
            handler: registry.makeGauge(descriptor: descriptor, labels: labels), factory: factory)
    }
}
