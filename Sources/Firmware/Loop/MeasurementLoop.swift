import CivilTime
import Logging

/// What the P1 reader thread reports to the loop.
public enum P1Event: Sendable, Equatable {
    /// A CRC-valid telegram, reduced to what the loop uses.
    case sample(P1Sample)
    /// A telegram that was dropped, and why (a closed set: health counts by reason).
    case rejected(P1RejectionKind)
    /// The port failed (unplugged, busy); the reader keeps trying to reopen it.
    case portError(String)
}

/// Everything the loop reacts to, in order.
public enum LoopEvent: Sendable, Equatable {
    case tick(Tick)
    case p1(P1Event)
}

/// Reads the ADE9000 (or its simulator) once per tick. Not `Sendable`: owned by the loop's task.
public protocol ADESampler {
    /// Reads a snapshot; `time` is the tick's wall time (Unix milliseconds).
    mutating func sample(at time: Int64) throws(SourceError) -> ADESample
    /// SPI CRC errors and chip resets the driver has seen so far.
    var spiCRCErrors: Int { get }
    var chipResets: Int { get }
}

/// A source failure, with the device named.
public struct SourceError: Error, Sendable, CustomStringConvertible, Equatable {
    public var source: String
    public var message: String
    public init(source: String, message: String) {
        self.source = source
        self.message = message
    }
    public var description: String { "\(source): \(message)" }
}

/// Where the loop's results go: live readings, closed interval records, periodic health.
public protocol LoopOutput: Sendable {
    func live(_ reading: LiveReading) async
    func closed(_ record: IntervalRecord) async
    func health(_ health: Health) async
    /// The loop finished handling a tick: proof of life for a watchdog (systemd's `WATCHDOG=1`).
    func ticked() async
}

extension LoopOutput {
    public func ticked() async {}
}

/// A live reading, published as it is taken.
public enum LiveReading: Sendable, Equatable {
    case p1(P1Sample, demand: DemandView)
    case ade9000(ADESample, demand: DemandView)
}

/// The capacity-tariff view at the time of a live reading.
public struct DemandView: Sendable, Equatable {
    /// Average import power of the running quarter-hour so far, W.
    public var quarterHourDemandW: Int64
    /// Highest quarter-hour average of the month, W, and when it ended (Unix seconds; 0 = none yet).
    public var monthPeakDemandW: Int64
    public var monthPeakTime: Int64

    public init(quarterHourDemandW: Int64, monthPeakDemandW: Int64, monthPeakTime: Int64) {
        self.quarterHourDemandW = quarterHourDemandW
        self.monthPeakDemandW = monthPeakDemandW
        self.monthPeakTime = monthPeakTime
    }
}

/// Why a P1 telegram did not become a sample. Health counts by ``rawValue``, so the set of keys stays fixed
/// whatever the input (a wrong Smarty key must not add a key per frame).
public enum P1RejectionKind: String, Sendable, Equatable, CaseIterable {
    case crcMismatch = "crc_mismatch"
    case missingCRC = "crc_missing"
    case malformedCRC = "crc_malformed"
    case lineTooLong = "line_too_long"
    case telegramTooLong = "telegram_too_long"
    case tooManyLines = "too_many_lines"
    case truncated = "truncated"
    case interrupted = "interrupted"
    /// An encrypted frame that did not decrypt or authenticate (wrong key, damaged frame).
    case decryption = "decryption_failed"
    /// An authentic encrypted frame whose frame counter did not increase: a recording played back.
    case replayedFrame = "replayed_frame"
    case noImportRegister = "no_import_register"
    case outOfRange = "out_of_range"
    /// Registers went backwards or dropped to zero against the last accepted telegram (the loop's glitch policy).
    case implausible = "implausible"
}

/// The measurement loop: consumes ticks and P1 events in order, samples the ADE9000 on each tick, aggregates
/// interval records, and hands results to its output. One task owns it; all of its state is local, including
/// ``health`` (its output adds the ring's counters before publishing and logging it).
///
/// Glitch policy (the only one): a sample whose registers go backwards, or drop to zero, against the last accepted
/// one is refused by the aggregator; the loop then publishes no live reading for it either, so stdout, MQTT and
/// HTTP never see a value the records do not count.
public struct MeasurementLoop<ADE: ADESampler> {
    public private(set) var aggregator: IntervalAggregator
    public private(set) var health = Health()
    private var ade: ADE?
    private let output: any LoopOutput
    private let logger: Logger
    /// Log and publish the health counters every this many ticks (0 = never).
    private let healthEvery: Int

    public init(
        ade: ADE?, intervalLength: Int64, localTime: LocalTime = .centralEurope, output: any LoopOutput,
        logger: Logger, healthEvery: Int = 60
    ) {
        self.ade = ade
        self.aggregator = IntervalAggregator(length: intervalLength, localTime: localTime)
        self.output = output
        self.logger = logger
        self.healthEvery = healthEvery
    }

    /// Processes `events` until the sequence ends or the task is cancelled.
    public mutating func run<Events: AsyncSequence<LoopEvent, Never>>(_ events: Events) async {
        for await event in events {
            if Task.isCancelled { break }
            await handle(event)
        }
    }

    /// Handles one event (exposed for tests that step the loop by hand).
    public mutating func handle(_ event: LoopEvent) async {
        switch event {
        case .tick(let tick):
            health.ticks += 1
            health.deadlinesMissed += Int(tick.missed)
            health.record(lateness: tick.lateness)
            if tick.missed > 0 {
                logger.warning("measurement loop fell behind", metadata: ["missed_deadlines": "\(tick.missed)"])
            }
            if var sampler = ade {
                do {
                    let sample = try sampler.sample(at: tick.wallTime)
                    health.adeSamples += 1
                    let (closed, accepted) = aggregator.add(sample)
                    await emit(closed)
                    if accepted { await output.live(.ade9000(sample, demand: demand(aggregator.adeDemandView))) }
                } catch {
                    health.adeErrors += 1
                    aggregator.flag(.sourceError)
                    logger.error("ADE9000 read failed", metadata: ["error": "\(error)"])
                    await emit(aggregator.advance(to: tick.wallTime))
                }
                health.spiCRCErrors = sampler.spiCRCErrors
                health.chipResets = sampler.chipResets
                ade = sampler
            } else {
                await emit(aggregator.advance(to: tick.wallTime))
            }
            if healthEvery > 0 && health.ticks % healthEvery == 0 {
                await output.health(health)
            }
            await output.ticked()
        case .p1(.sample(let sample)):
            let (closed, accepted) = aggregator.add(sample)
            await emit(closed)
            guard accepted else {
                health.telegramsRejected += 1
                health.rejectionReasons[P1RejectionKind.implausible.rawValue, default: 0] += 1
                break
            }
            health.telegramsAccepted += 1
            let view: DemandView
            if let meterDemand = sample.quarterHourDemandW {
                view = DemandView(
                    quarterHourDemandW: meterDemand, monthPeakDemandW: sample.monthPeakDemandW ?? 0,
                    monthPeakTime: sample.monthPeakTime ?? 0)
            } else {
                view = demand(aggregator.p1DemandView)
            }
            await output.live(.p1(sample, demand: view))
        case .p1(.rejected(let reason)):
            health.telegramsRejected += 1
            health.rejectionReasons[reason.rawValue, default: 0] += 1
            aggregator.flag(.sourceError)
        case .p1(.portError(let message)):
            aggregator.flag(.gap)
            logger.warning("P1 port problem", metadata: ["error": "\(message)"])
        }
        health.samplesRejected = aggregator.rejectedSamples
    }

    /// Closes every interval that ends at or before `time` (used at shutdown to flush nothing early: only
    /// complete intervals are ever emitted).
    public mutating func flush(until time: Int64) async {
        await emit(aggregator.advance(to: time))
    }

    private mutating func emit(_ records: [IntervalRecord]) async {
        for record in records {
            health.recordsClosed += 1
            await output.closed(record)
        }
    }

    private func demand(_ tracker: DemandTracker) -> DemandView {
        DemandView(
            quarterHourDemandW: tracker.runningDemandW, monthPeakDemandW: tracker.monthPeakW,
            monthPeakTime: tracker.monthPeakTime)
    }
}
