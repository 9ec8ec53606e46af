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
    /// Reads a snapshot; `time` is the tick's wall time.
    mutating func sample(at time: UnixTime) throws(SourceError) -> ADESample
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

extension LiveReading {
    /// When the reading was taken, by the board's wall clock.
    public var time: UnixTime {
        switch self {
        case .p1(let sample, _): sample.time
        case .ade9000(let sample, _): sample.time
        }
    }
}

/// The capacity-tariff view at the time of a live reading.
public struct DemandView: Sendable, Equatable {
    /// Average import power of the running quarter-hour so far, W.
    public var quarterHourDemandW: Int64
    /// Highest quarter-hour average of the month, W, and when it ended (`nil` = none yet).
    public var monthPeakDemandW: Int64
    public var monthPeakTime: UnixTime?

    /// The running quarter-hour's average if the current import continued to its end (energy so far + import now ×
    /// time left), W: what decides whether this quarter-hour sets a new month peak.
    public var projectedQuarterHourDemandW: Int64
    /// What the capacity tariff bills (Flanders): the mean of the last 12 monthly peaks (this month's so far
    /// included), each counted as at least 2.5 kW, W; months emeter has not seen are left out.
    public var billedPeakW: Int64

    public init(
        quarterHourDemandW: Int64, monthPeakDemandW: Int64, monthPeakTime: UnixTime?,
        projectedQuarterHourDemandW: Int64? = nil,
        billedPeakW: Int64 = 0
    ) {
        self.quarterHourDemandW = quarterHourDemandW
        self.monthPeakDemandW = monthPeakDemandW
        self.monthPeakTime = monthPeakTime
        self.projectedQuarterHourDemandW = projectedQuarterHourDemandW ?? quarterHourDemandW
        self.billedPeakW = billedPeakW
    }

    /// The projection at `time` with `importW` flowing now.
    public static func projection(average: Int64, importW: Int64, time: UnixTime) -> Int64 {
        let seconds = (time.seconds % 900 + 900) % 900
        return (average * seconds + max(0, importW) * (900 - seconds)) / 900
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
///
/// **Restarts.** With a ``CheckpointStorage`` the loop saves a ``LoopCheckpoint`` before handing each batch of
/// closed records to its output, and ``resume(ringLastEnd:)`` continues from it at the next start: the first record
/// spans the downtime (flagged `restart`), so the records' energies add up to the register difference across any
/// number of restarts. ``stop(at:)`` closes the open interval (flagged `partial`) at a clean stop.
///
/// **Trusted time.** With a ``TrustedTime`` readings wait until the time is trusted (a synchronised kernel clock or
/// the meter's `0-0:1.0.0`) and are then dated against the monotonic clock, so no record is dated from a board clock
/// that was never set; no live reading is published for a held one.
///
/// **Clocks.** The meter's own clock (`0-0:1.0.0`) is compared with the board's on every telegram: a skew of more
/// than ``skewLimit`` seconds is counted (``Health/clockSkewTelegrams``) and logged at most once an hour.
public struct MeasurementLoop<ADE: ADESampler> {
    /// Meter-vs-board clock skew that counts, seconds.
    public static var skewLimit: Int64 { 10 }

    public private(set) var aggregator: IntervalAggregator
    public private(set) var health = Health()
    /// Holds readings until trusted time is available (`nil`: the board's wall clock is taken as it is).
    public private(set) var trustedTime: TrustedTime?
    /// Where the checkpoint is kept (`nil`: nothing survives a restart).
    public private(set) var checkpointStorage: (any CheckpointStorage)?
    private var ade: ADE?
    private let output: any LoopOutput
    private let logger: Logger
    /// Log and publish the health counters every this many ticks (0 = never).
    private let healthEvery: Int
    /// The point the last saved checkpoint ends at (where the open interval starts).
    private var savedPoint: LoopCheckpoint.Point?
    /// When the skew was last logged (board time).
    private var skewLoggedAt: UnixTime?
    /// Start of the hour of the last month-peak mismatch log line.
    private var lastPeakMismatchLog: UnixTime?
    /// Months of the meter's 0-0:98.1.0 already compared.
    private var reconciledMonths: Set<UnixTime> = []

    /// - Parameters:
    ///   - ade: The ADE9000 sampler, `nil` without one.
    ///   - intervalLength: Record length, seconds.
    ///   - localTime: The time zone rule for quarter-hours and months.
    ///   - adeDemandMode: What the ADE9000's capacity-tariff demand is computed from.
    ///   - checkpoint: Where to keep the restart checkpoint; `nil` keeps none.
    ///   - trustedTime: Holds readings until trusted time is available; `nil` takes the wall clock as it is.
    ///   - output: Where readings, records and health go.
    ///   - logger: The logger.
    ///   - healthEvery: Publish health every this many ticks (0 = never).
    public init(
        ade: ADE?, intervalLength: Int64, localTime: LocalTime = .centralEurope, adeDemandMode: ADEDemandMode = .net,
        checkpoint: (any CheckpointStorage)? = nil, trustedTime: TrustedTime? = nil, output: any LoopOutput,
        logger: Logger, healthEvery: Int = 60
    ) {
        self.ade = ade
        self.trustedTime = trustedTime
        self.aggregator = IntervalAggregator(length: intervalLength, localTime: localTime, adeDemandMode: adeDemandMode)
        self.checkpointStorage = checkpoint
        self.output = output
        self.logger = logger
        self.healthEvery = healthEvery
    }

    /// Continues from the stored checkpoint, if there is one. Call once, before the first event.
    /// - Parameter ringLastEnd: The end of the last record the ring holds (``RecordStoring/lastRecordEnd``);
    ///   `nil` for a RAM ring.
    /// - Returns: The point resumed from, `nil` when there was no usable checkpoint (a first start).
    @discardableResult
    public mutating func resume(ringLastEnd: UnixTime?) -> LoopCheckpoint.Point? {
        guard var storage = checkpointStorage else { return nil }
        let checkpoint: LoopCheckpoint
        do {
            guard let bytes = try storage.load() else {
                logger.info("no checkpoint yet: the first record starts with the first reading")
                return nil
            }
            checkpoint = try LoopCheckpoint(decoding: bytes, source: "checkpoint")
        } catch {
            health.checkpointErrors += 1
            logger.error(
                "checkpoint unreadable: starting without it; the energy since the last record before the stop is in no record",
                metadata: ["error": "\(error)"])
            return nil
        }
        checkpointStorage = storage
        let point = checkpoint.resume(ringLastEnd: ringLastEnd)
        if let before = checkpoint.before, point == before {
            logger.notice(
                "the last record before the stop did not reach the ring: it is counted again from its start",
                metadata: ["start": "\(before.time.seconds)"])
        }
        aggregator.restore(from: point, p1Demand: checkpoint.p1Demand, adeDemand: checkpoint.adeDemand)
        savedPoint = point
        logger.info(
            "resuming from the checkpoint: the first record spans the downtime",
            metadata: ["since": "\(point.time.seconds)", "p1_registers": "\(point.p1 != nil)"])
        return point
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
            let stalled = tick.missed > 0
            if var sampler = ade {
                do {
                    let sample = try sampler.sample(at: tick.wallTime)
                    health.adeSamples += 1
                    await take(.ade(sample))
                } catch {
                    health.adeErrors += 1
                    aggregator.flag(.sourceError)
                    logger.error("ADE9000 read failed", metadata: ["error": "\(error)"])
                    await take(.advance(time: tick.wallTime, stalled: stalled))
                }
                health.spiCRCErrors = sampler.spiCRCErrors
                health.chipResets = sampler.chipResets
                ade = sampler
            } else {
                await take(.advance(time: tick.wallTime, stalled: stalled))
            }
            if healthEvery > 0 && health.ticks % healthEvery == 0 {
                await output.health(health)
            }
            await output.ticked()
        case .p1(.sample(let sample)):
            checkSkew(sample)
            await take(.p1(sample))
        case .p1(.rejected(let reason)):
            health.telegramsRejected += 1
            health.rejectionReasons[reason.rawValue, default: 0] += 1
            aggregator.flag(.sourceError)
        case .p1(.portError(let message)):
            aggregator.flag(.gap)
            logger.warning("P1 port problem", metadata: ["error": "\(message)"])
        }
        health.samplesRejected = aggregator.rejectedSamples
        health.clockSteps = aggregator.clockSteps
    }

    /// Passes a reading through ``trustedTime`` (when there is one) to the aggregator: held while no trusted time is
    /// available, released dated when it arrives.
    private mutating func take(_ input: TrustedTime.Input) async {
        guard var gate = trustedTime else {
            await apply(input, live: true)
            return
        }
        let wasTrusted = gate.isTrusted
        let released = gate.admit(input)
        trustedTime = gate
        if !wasTrusted && gate.isTrusted {
            logger.notice(
                "trusted time is available: the readings held until now are dated against the monotonic clock",
                metadata: ["held": "\(released.count - 1)", "dropped": "\(gate.dropped)"])
        }
        for (index, item) in released.enumerated() { await apply(item, live: index == released.count - 1) }
    }

    /// Feeds one dated reading to the aggregator; `live`: publish it as a live reading (not for held ones).
    private mutating func apply(_ input: TrustedTime.Input, live: Bool) async {
        switch input {
        case .advance(let time, let stalled):
            await emit(aggregator.advance(to: time, stalled: stalled))
        case .ade(let sample):
            let (closed, accepted) = aggregator.add(sample)
            await emit(closed)
            guard accepted, live else { return }
            let view = demand(
                aggregator.adeDemandView, importW: Payloads.scaled(sample.totalPowerW, 1) ?? 0, time: sample.time)
            await output.live(.ade9000(sample, demand: view))
        case .p1(let sample):
            let (closed, accepted) = aggregator.add(sample)
            await emit(closed)
            guard accepted else {
                health.telegramsRejected += 1
                health.rejectionReasons[P1RejectionKind.implausible.rawValue, default: 0] += 1
                return
            }
            health.telegramsAccepted += 1
            guard live else { return }
            var view = demand(
                aggregator.p1DemandView, importW: sample.powerImportW - sample.powerExportW, time: sample.time)
            if let meterDemand = sample.quarterHourDemandW {
                // A Belgian meter states its own figures (1-0:1.4.0, 1-0:1.6.0): they are what is billed.
                let tracked = view.monthPeakDemandW
                view.quarterHourDemandW = meterDemand
                view.monthPeakDemandW = sample.monthPeakDemandW ?? 0
                view.monthPeakTime = sample.monthPeakTime
                view.projectedQuarterHourDemandW = DemandView.projection(
                    average: meterDemand, importW: sample.powerImportW - sample.powerExportW, time: sample.time)
                view.billedPeakW = aggregator.p1DemandView.billedPeakW(currentMonthPeakW: view.monthPeakDemandW)
                reconcile(meterPeakW: view.monthPeakDemandW, trackedPeakW: tracked, time: sample.time)
                reconcile(history: sample.details.peakHistory, tracked: aggregator.p1DemandView.monthHistory)
            }
            await output.live(.p1(sample, demand: view))
        }
    }

    /// Closes every interval that ends at or before `time`, then the open one at `time` (flagged `partial`), and
    /// saves the checkpoint: emeter is stopping (SIGTERM, SIGINT).
    public mutating func stop(at time: UnixTime) async {
        var time = time
        if let gate = trustedTime {
            guard let now = gate.trustedNow() else {
                logger.notice(
                    "stopping before trusted time: the held readings are not recorded; the checkpoint keeps the registers",
                    metadata: ["held": "\(gate.heldCount)"])
                return
            }
            time = now
        }
        await emit(aggregator.closeOpenInterval(at: time))
    }

    private mutating func checkSkew(_ sample: P1Sample) {
        guard let meterTime = sample.details.meterTime else { return }
        // Whole seconds: the meter states its time to the second.
        let skew = sample.time.seconds - meterTime.seconds
        guard abs(skew) > Self.skewLimit else { return }
        health.clockSkewTelegrams += 1
        if let logged = skewLoggedAt, sample.time - logged < .seconds(3600), logged - sample.time < .seconds(3600) {
            return
        }
        skewLoggedAt = sample.time
        logger.warning(
            "the meter's clock and the board's differ by more than \(Self.skewLimit) s (logged at most once an hour)",
            metadata: [
                "skew_s": "\(skew)", "meter_time": "\(meterTime.seconds)", "board_time": "\(sample.time.seconds)",
                "telegrams_skewed": "\(health.clockSkewTelegrams)",
            ])
    }

    /// Saves the checkpoint for the records about to be handed out, then hands them out (see ``LoopCheckpoint``).
    private mutating func emit(_ records: [IntervalRecord]) async {
        guard !records.isEmpty else { return }
        if var storage = checkpointStorage, let point = aggregator.checkpointPoint {
            let checkpoint = LoopCheckpoint(
                before: savedPoint, after: point, p1Demand: aggregator.p1DemandView.state,
                adeDemand: aggregator.adeDemandView.state)
            do {
                try storage.store(checkpoint.encoded())
                savedPoint = point
            } catch {
                health.checkpointErrors += 1
                logger.error(
                    "checkpoint not saved: a restart now would lose the energy since the last saved one",
                    metadata: ["error": "\(error)"])
            }
            checkpointStorage = storage
        }
        for record in records {
            health.recordsClosed += 1
            await output.closed(record)
        }
    }

    private func demand(_ tracker: DemandTracker, importW: Int64, time: UnixTime) -> DemandView {
        DemandView(
            quarterHourDemandW: tracker.runningDemandW, monthPeakDemandW: tracker.monthPeakW,
            monthPeakTime: tracker.monthPeakTime,
            projectedQuarterHourDemandW: DemandView.projection(
                average: tracker.runningDemandW, importW: importW, time: time),
            billedPeakW: tracker.billedPeakW(currentMonthPeakW: tracker.monthPeakW))
    }

    /// The meter's past months (0-0:98.1.0) against the ones emeter tracked: each month that differs is counted
    /// once and logged once (``DemandTracker/disagreeing(meter:tracked:)``).
    private mutating func reconcile(history: [P1Sample.MonthPeak], tracked: [DemandTracker.MonthPeak]) {
        let fresh = history.filter { !reconciledMonths.contains($0.monthStart) }
        guard !fresh.isEmpty else { return }
        let tracked = tracked.filter { month in fresh.contains { $0.monthStart == month.monthStart } }
        for month in tracked { reconciledMonths.insert(month.monthStart) }
        for (month, ours) in DemandTracker.disagreeing(meter: fresh, tracked: tracked) {
            health.peakMismatches += 1
            logger.warning(
                "the meter's peak for a past month (0-0:98.1.0) differs from the one emeter tracked; the meter's is billed",
                metadata: [
                    "month_utc": "\(CivilTime.iso8601(unixSeconds: month.monthStart.seconds))",
                    "meter_w": "\(month.peakW)",
                    "tracked_w": "\(ours)",
                ])
        }
    }

    /// The meter's month peak (1-0:1.6.0) against the one emeter tracked from the registers: a difference of more
    /// than 5 % (and 100 W) is counted and logged once an hour, never silently preferred either way (the meter's
    /// figure is the billed one and is what emeter publishes).
    private mutating func reconcile(meterPeakW: Int64, trackedPeakW: Int64, time: UnixTime) {
        guard trackedPeakW > 0, meterPeakW > 0 else { return }
        let difference = abs(meterPeakW - trackedPeakW)
        guard difference > 100, difference * 20 > meterPeakW else { return }
        health.peakMismatches += 1
        let hour = time.floored(toMultipleOf: .seconds(3600))
        guard hour != lastPeakMismatchLog else { return }
        lastPeakMismatchLog = hour
        logger.warning(
            "the meter's month peak (1-0:1.6.0) differs from the one emeter tracked; publishing the meter's",
            metadata: ["meter_w": "\(meterPeakW)", "tracked_w": "\(trackedPeakW)"])
    }
}
