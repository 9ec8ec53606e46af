import CivilTime

/// The data-quality checks our users' alert scripts run, as one pure state machine over readings and ticks:
/// each alert is raised once when its condition has held for a while and cleared once when it has been gone for a
/// while (no flapping), so a notification is sent per incident, not per reading.
public struct AlertMonitor: Sendable {
    /// What is checked, and the thresholds.
    public struct Settings: Sendable, Equatable {
        /// No accepted P1 telegram for this long, s (`nil`: not checked, e.g. no P1 meter).
        public var p1MissingAfter: Int64?
        /// No ADE9000 sample for this long, s (`nil`: not checked).
        public var adeMissingAfter: Int64?
        /// A forwarder with records waiting that delivered nothing for this long, s.
        public var forwarderStalledAfter: Int64 = 900
        /// Meter clock (0-0:1.0.0) against the board's clock, s.
        public var clockSkewLimit: Int64 = 30
        /// ADE9000 phases (1…3) whose CT only ever sees import: a negative power there is a reversed CT.
        public var importOnlyPhases: Set<Int> = []
        /// ADE9000 phases (1…3) that carry PV: production there at night is a wiring or sign error.
        public var pvPhases: Set<Int> = []
        /// Night, local time, minutes since midnight (may run past midnight).
        public var nightFromMinute = 23 * 60
        public var nightToMinute = 4 * 60
        /// Below this a power is noise (CT offset), W.
        public var powerNoiseW: Double = 50
        /// P1 and ADE9000 net energy over an hour may differ by this much, % (`nil`: not compared, e.g. the CTs
        /// measure circuits, not the whole supply).
        public var disagreementPercent: Double?
        /// Warn when the running quarter-hour's projected demand would set a new month peak (above the 2.5 kW the
        /// capacity tariff bills anyway), this many W before it does (`nil`: no warning).
        public var peakWarningMarginW: Int64?
        /// The peak warning follows the P1 meter's demand (else the ADE9000's).
        public var peakWarningFromP1 = true
        /// Without a margin set, warn (margin 0) once the P1 meter shows it reports the capacity tariff
        /// (1-0:1.4.0: Belgian meters).
        public var peakWarningWhenMeterReportsDemand = false
        /// Conditions must hold this long before an alert is raised, and be gone this long before it clears, s.
        public var raiseAfter: Int64 = 60
        public var clearAfter: Int64 = 300

        public init() {}

        /// Whether these settings check `kind` at all (the others are never raised).
        public func checks(_ kind: Kind) -> Bool {
            switch kind {
            case .p1Missing, .meterSwapped, .clockSkew: p1MissingAfter != nil
            case .adeMissing: adeMissingAfter != nil
            case .forwarderStalled: true
            case .reversedCT: !importOnlyPhases.isEmpty
            case .nightProduction: !pvPhases.isEmpty
            case .meterDisagreement: disagreementPercent != nil
            case .peakWarning: peakWarningMarginW != nil || peakWarningWhenMeterReportsDemand
            }
        }
    }

    /// Every alert, by its stable name (JSON Lines, MQTT topic, Home Assistant entity).
    public enum Kind: String, Sendable, CaseIterable, Comparable {
        case p1Missing = "p1_missing"
        case adeMissing = "ade9000_missing"
        case forwarderStalled = "forwarder_stalled"
        case reversedCT = "reversed_ct"
        case nightProduction = "night_production"
        case meterDisagreement = "p1_ade9000_disagree"
        case meterSwapped = "meter_swapped"
        case clockSkew = "meter_clock_skew"
        case peakWarning = "peak_warning"

        public static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
    }

    /// An alert raised or cleared.
    public struct Event: Sendable, Equatable {
        public var kind: Kind
        public var active: Bool
        /// When it was raised or cleared, to the second (the reading's time, or the board's clock at a tick).
        public var time: UnixTime
        public var detail: String
    }

    public let settings: Settings
    public let localTime: LocalTime
    /// Alerts raised and not cleared.
    public private(set) var active: Set<Kind> = []
    /// How many times each alert was raised (for metrics and health).
    public private(set) var raisedCount: [Kind: Int] = [:]

    private var conditionSince: [Kind: UnixTime] = [:]
    private var clearSince: [Kind: UnixTime] = [:]
    private var details: [Kind: String] = [:]
    private var lastP1: UnixTime?
    private var lastADE: UnixTime?
    private var started: UnixTime?
    private var equipmentID: String?
    private var swapPending: (from: String, to: String)?

    /// One meter's net energy per clock hour: a reading in a new hour closes the previous one (its register value is
    /// the boundary), so both meters are compared over the same span.
    struct MeterHours: Sendable {
        var hour: Int64?
        var start: Int64 = 0
        /// Closed hours: hour index → net Wh.
        var closed: [Int64: Int64] = [:]

        mutating func add(_ value: Int64, hour index: Int64) {
            if let current = hour, index > current {
                if index == current + 1 { closed[current] = value - start }  // a gap skips the comparison
                closed = closed.filter { $0.key >= index - 2 }
            }
            if hour == nil || index > hour ?? index {
                hour = index
                start = value
            }
        }
    }
    private var p1Hours = MeterHours()
    private var adeHours = MeterHours()

    public init(settings: Settings, localTime: LocalTime = .centralEurope) {
        self.settings = settings
        self.localTime = localTime
    }

    // MARK: inputs

    /// Raised as soon as the projection would set a new month peak; cleared as soon as it would not (a new
    /// quarter-hour starts from its own projection): a warning is worth something only while it can be acted on.
    private mutating func peakWarning(_ demand: DemandView, now: UnixTime, meterReportsDemand: Bool) -> [Event] {
        guard
            let margin = settings.peakWarningMarginW
                ?? (settings.peakWarningWhenMeterReportsDemand && meterReportsDemand ? 0 : nil)
        else { return [] }
        let threshold = max(demand.monthPeakDemandW, ControlRule.minimumBilledPeakW) - margin
        let projected = demand.projectedQuarterHourDemandW
        if projected > threshold {
            return force(
                .peakWarning, now: now,
                detail:
                    "projected quarter-hour demand \(projected) W would pass \(threshold) W (month peak \(demand.monthPeakDemandW) W)"
            )
        }
        guard active.remove(.peakWarning) != nil else { return [] }
        return [
            Event(kind: .peakWarning, active: false, time: now, detail: "projected \(projected) W ≤ \(threshold) W")
        ]
    }

    /// Takes an accepted live reading.
    public mutating func observe(_ reading: LiveReading) -> [Event] {
        var events: [Event] = []
        switch reading {
        case .p1(let sample, let demand):
            let now = sample.time.floored(toMultipleOf: .seconds(1))
            lastP1 = now
            if settings.peakWarningFromP1 {
                events += peakWarning(demand, now: now, meterReportsDemand: sample.quarterHourDemandW != nil)
            }
            events += evaluate(.p1Missing, false, now: now, detail: "")
            if let id = sample.details.equipmentID, !id.isEmpty {
                if let known = equipmentID, known != id { swapPending = (known, id) }
                equipmentID = id
            }
            if let swap = swapPending {
                // A swap is an event, not a condition: raised at once, cleared after `clearAfter`.
                swapPending = nil
                events += force(.meterSwapped, now: now, detail: "equipment id \(swap.from) → \(swap.to)")
            } else if active.contains(.meterSwapped) {
                events += evaluate(.meterSwapped, false, now: now, detail: "")
            }
            if let meterTime = sample.details.meterTime {
                let skew = meterTime.seconds - now.seconds
                events += evaluate(
                    .clockSkew, abs(skew) > settings.clockSkewLimit, now: now,
                    detail: "meter clock \(skew > 0 ? "+" : "")\(skew) s from the board's")
            }
            if settings.disagreementPercent != nil {
                events += compare(now: now, p1: sample.totalImportWh - sample.totalExportWh, ade: nil)
            }
        case .ade9000(let sample, let demand):
            let now = sample.time.floored(toMultipleOf: .seconds(1))
            lastADE = now
            if !settings.peakWarningFromP1 { events += peakWarning(demand, now: now, meterReportsDemand: false) }
            events += evaluate(.adeMissing, false, now: now, detail: "")
            let reversed = settings.importOnlyPhases.sorted().filter { phase in
                phase <= sample.powerW.count && sample.powerW[phase - 1] < -settings.powerNoiseW
            }
            events += evaluate(
                .reversedCT, !reversed.isEmpty, now: now,
                detail: "negative power on import-only phase(s) \(reversed.map(String.init).joined(separator: ", "))")
            let fields = localTime.fields(at: now)
            let minute = fields.hour * 60 + fields.minute
            let night =
                settings.nightFromMinute <= settings.nightToMinute
                ? minute >= settings.nightFromMinute && minute < settings.nightToMinute
                : minute >= settings.nightFromMinute || minute < settings.nightToMinute
            let producing = settings.pvPhases.sorted().filter { phase in
                phase <= sample.powerW.count && sample.powerW[phase - 1] < -settings.powerNoiseW
            }
            events += evaluate(
                .nightProduction, night && !producing.isEmpty, now: now,
                detail: "production at night on PV phase(s) \(producing.map(String.init).joined(separator: ", "))")
            if settings.disagreementPercent != nil {
                let net = (sample.totalImportMilliwattHours - sample.totalExportMilliwattHours) / 1000
                events += compare(now: now, p1: nil, ade: net)
            }
        }
        return events
    }

    /// Checks what can only be seen by its absence: silent meters, stalled forwarders.
    /// - Parameters:
    ///   - now: the board's clock, to the second.
    ///   - forwarders: per forwarder, records waiting and when it last delivered one (`nil`: never).
    public mutating func tick(
        now: UnixTime, forwarders: [(name: String, backlog: Int, lastDelivery: UnixTime?)] = []
    ) -> [Event] {
        if started == nil { started = now }
        let since = started ?? now
        var events: [Event] = []
        if let limit = settings.p1MissingAfter {
            let silent = now - (lastP1 ?? since)
            events += evaluate(
                .p1Missing, silent >= .seconds(limit), now: now,
                detail: "no P1 telegram for \(silent.components.seconds) s", immediate: true)
        }
        if let limit = settings.adeMissingAfter {
            let silent = now - (lastADE ?? since)
            events += evaluate(
                .adeMissing, silent >= .seconds(limit), now: now,
                detail: "no ADE9000 sample for \(silent.components.seconds) s", immediate: true)
        }
        let stalled = forwarders.filter {
            $0.backlog > 0 && now - ($0.lastDelivery ?? since) >= .seconds(settings.forwarderStalledAfter)
        }
        events += evaluate(
            .forwarderStalled, !stalled.isEmpty, now: now,
            detail: stalled.map { "\($0.name): \($0.backlog) records waiting" }.joined(separator: "; "),
            immediate: true)
        if active.contains(.meterSwapped) { events += evaluate(.meterSwapped, false, now: now, detail: "") }
        return events
    }

    // MARK: raising and clearing

    /// Raises `kind` when `condition` held for `raiseAfter` (at once with `immediate`: the threshold already
    /// measured the time), clears it when it has been false for `clearAfter`.
    private mutating func evaluate(
        _ kind: Kind, _ condition: Bool, now: UnixTime, detail: String, immediate: Bool = false
    ) -> [Event] {
        if condition {
            clearSince[kind] = nil
            details[kind] = detail
            guard !active.contains(kind) else { return [] }
            let since = conditionSince[kind] ?? now
            conditionSince[kind] = since
            guard immediate || now - since >= .seconds(settings.raiseAfter) else { return [] }
            return force(kind, now: now, detail: detail)
        }
        conditionSince[kind] = nil
        guard active.contains(kind) else { return [] }
        let since = clearSince[kind] ?? now
        clearSince[kind] = since
        guard now - since >= .seconds(settings.clearAfter) else { return [] }
        active.remove(kind)
        clearSince[kind] = nil
        return [Event(kind: kind, active: false, time: now, detail: "cleared: \(details[kind] ?? "")")]
    }

    private mutating func force(_ kind: Kind, now: UnixTime, detail: String) -> [Event] {
        details[kind] = detail
        conditionSince[kind] = nil
        clearSince[kind] = nil
        guard active.insert(kind).inserted else { return [] }
        raisedCount[kind, default: 0] += 1
        return [Event(kind: kind, active: true, time: now, detail: detail)]
    }

    /// At the end of each clock hour, compares the net energy both meters saw over it.
    private mutating func compare(now: UnixTime, p1: Int64?, ade: Int64?) -> [Event] {
        guard let tolerance = settings.disagreementPercent else { return [] }
        let index = CivilTime.floorDiv(now.seconds, 3600)  // the clock hour's number
        if let p1 { p1Hours.add(p1, hour: index) }
        if let ade { adeHours.add(ade, hour: index) }
        var events: [Event] = []
        for hour in p1Hours.closed.keys.sorted() {
            guard let p1Net = p1Hours.closed[hour], let adeNet = adeHours.closed[hour] else { continue }
            p1Hours.closed[hour] = nil
            adeHours.closed[hour] = nil
            let scale = max(abs(Double(p1Net)), 100)  // below 0.1 kWh an hour the comparison is noise
            let percent = abs(Double(p1Net - adeNet)) / scale * 100
            let detail = "P1 \(p1Net) Wh, ADE9000 \(adeNet) Wh over the last hour"
            // An hour is one observation: raise or clear on it directly.
            if percent > tolerance {
                events += force(.meterDisagreement, now: now, detail: detail)
            } else if active.contains(.meterDisagreement) {
                active.remove(.meterDisagreement)
                events.append(Event(kind: .meterDisagreement, active: false, time: now, detail: "cleared: \(detail)"))
            }
        }
        return events
    }
}
