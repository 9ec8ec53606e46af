import CivilTime

/// What the control rules look at, once per live reading. Pure values: the caller fills it from a P1 or ADE9000
/// reading and the civil time of the board.
public struct ControlInput: Sendable, Equatable {
    /// Reading time, to the second (the board's clock).
    public var time: UnixTime
    /// Net power at the grid connection, W: positive = import, negative = export.
    public var netPowerW: Int64
    /// Average import power of the running quarter-hour so far, W (the capacity tariff's figure).
    public var quarterHourDemandW: Int64
    /// Highest quarter-hour average of the month so far, W.
    public var monthPeakDemandW: Int64
    /// The tariff in force (1 or 2, as the meter numbers it), when the meter says.
    public var tariff: Int?
    /// Local civil time: minutes since midnight, and the weekday (1 = Monday … 7 = Sunday).
    public var minuteOfDay: Int
    public var weekday: Int

    public init(
        time: UnixTime, netPowerW: Int64, quarterHourDemandW: Int64 = 0, monthPeakDemandW: Int64 = 0,
        tariff: Int? = nil,
        minuteOfDay: Int = 0, weekday: Int = 1
    ) {
        self.time = time
        self.netPowerW = netPowerW
        self.quarterHourDemandW = quarterHourDemandW
        self.monthPeakDemandW = monthPeakDemandW
        self.tariff = tariff
        self.minuteOfDay = minuteOfDay
        self.weekday = weekday
    }

    /// Seconds of the running quarter-hour elapsed (quarter-hours start at multiples of 900 s of Unix time, which
    /// is local quarter-hours in every whole-hour time zone).
    public var quarterElapsed: Int64 { (time.seconds % 900 + 900) % 900 }

    /// The quarter-hour's average import if the current import continued to its end, W: energy so far plus
    /// current import × time left, over 15 minutes.
    public var projectedQuarterHourDemandW: Int64 {
        let elapsed = quarterElapsed
        let importW = max(0, netPowerW)
        return (quarterHourDemandW * elapsed + importW * (900 - elapsed)) / 900
    }
}

/// One rule driving one output.
public enum ControlRule: Sendable, Equatable {
    /// On when export ≥ `onExportW` for `onAfter` s; off when import ≥ `offImportW` for `offAfter` s; an EV charger
    /// or a boiler running on solar surplus.
    case surplus(onExportW: Int64, onAfter: Int64, offImportW: Int64, offAfter: Int64)
    /// Off (load shed) when the running quarter-hour's projected demand would pass `limitW` (or, when `nil`, the
    /// month peak so far, at least 2.5 kW) less `marginW`; on again once that quarter-hour ended and the projection
    /// is `hysteresisW` below the shedding point.
    case peakGuard(limitW: Int64?, marginW: Int64, hysteresisW: Int64)
    /// On inside any window (local time, weekdays 1 = Monday … 7) or while a listed tariff is in force.
    case schedule(windows: [ScheduleWindow], tariffs: [Int])
    /// Switched only by commands (MQTT, local API).
    case manual

    /// The minimum quarter-hour demand the Flemish capacity tariff bills, W: the default floor of a peak guard.
    public static let minimumBilledPeakW: Int64 = 2500
}

/// A daily time window, local time; `to` before `from` runs past midnight.
public struct ScheduleWindow: Sendable, Equatable {
    public var weekdays: Set<Int>
    public var fromMinute: Int
    public var toMinute: Int

    public init(weekdays: Set<Int> = Set(1...7), fromMinute: Int, toMinute: Int) {
        self.weekdays = weekdays
        self.fromMinute = fromMinute
        self.toMinute = toMinute
    }

    public func contains(minute: Int, weekday: Int) -> Bool {
        if fromMinute <= toMinute {
            return weekdays.contains(weekday) && minute >= fromMinute && minute < toMinute
        }
        // Past midnight: the evening part belongs to `weekday`, the morning part to the day before.
        if minute >= fromMinute { return weekdays.contains(weekday) }
        if minute < toMinute { return weekdays.contains(weekday == 1 ? 7 : weekday - 1) }
        return false
    }
}

/// What a controller did with an input or a command.
public enum ControlEvent: Sendable, Equatable {
    /// The output switched; `reason` says which rule and which values.
    case switched(output: String, on: Bool, time: UnixTime, reason: String)
    /// The rule wanted a switch but the output reached its switches-per-hour limit (reported once per hour).
    case suppressed(output: String, wanted: Bool, time: UnixTime, reason: String)
}

/// One output and its rule: a pure state machine over ``ControlInput``s and commands, with minimum on/off times and
/// a limit of switches per hour that protects relays and contactors. Its ``state`` is what survives a restart.
public struct OutputController: Sendable, Equatable {
    public let name: String
    public let rule: ControlRule
    /// Minimum time on before switching off, and off before switching on again, s.
    public var minimumOn: Int64
    public var minimumOff: Int64
    /// At most this many switches in any hour (rule switches; commands count too).
    public var maxSwitchesPerHour: Int
    public private(set) var state: State

    /// What survives a restart: on/off and the recent switch times (for the minimum times and the rate limit).
    public struct State: Sendable, Equatable {
        public var isOn: Bool
        /// The switches in the last hour, oldest first.
        public var switches: [UnixTime] = []

        public init(isOn: Bool, switches: [UnixTime] = []) {
            self.isOn = isOn
            self.switches = switches
        }

        /// `on|off [t1,t2,…]`, the switch times in Unix seconds.
        public var text: String {
            let times = switches.map { String($0.seconds) }
            return (isOn ? "on" : "off") + (times.isEmpty ? "" : " " + times.joined(separator: ","))
        }

        /// Reads ``text``; `nil` for anything else.
        public init?(text: String) {
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
            guard let first = fields.first, first == "on" || first == "off", fields.count <= 2 else { return nil }
            var switches: [UnixTime] = []
            if fields.count == 2 {
                for part in fields[1].split(separator: ",") {
                    guard let seconds = Int64(part) else { return nil }
                    switches.append(UnixTime(seconds: seconds))
                }
            }
            self.init(isOn: first == "on", switches: switches.sorted())
        }
    }

    // Conditions in progress (not persisted: a restart starts timing them again, never sooner).
    private var conditionSince: UnixTime?
    /// Start of the quarter-hour the output was shed in, and of the hour a suppression was last reported in.
    private var shedQuarter: UnixTime?
    private var suppressedHour: UnixTime?

    public init(
        name: String, rule: ControlRule, initiallyOn: Bool = false, minimumOn: Int64 = 0, minimumOff: Int64 = 0,
        maxSwitchesPerHour: Int = 6, restoring state: State? = nil
    ) {
        self.name = name
        self.rule = rule
        self.minimumOn = minimumOn
        self.minimumOff = minimumOff
        self.maxSwitchesPerHour = maxSwitchesPerHour
        self.state = state ?? State(isOn: initiallyOn)
    }

    public var isOn: Bool { state.isOn }

    /// Evaluates the rule on `input`.
    public mutating func update(_ input: ControlInput) -> ControlEvent? {
        let now = input.time
        switch rule {
        case .manual:
            return nil
        case .surplus(let onExportW, let onAfter, let offImportW, let offAfter):
            let exportW = max(0, -input.netPowerW)
            let importW = max(0, input.netPowerW)
            if !state.isOn {
                guard exportW >= onExportW else {
                    conditionSince = nil
                    return nil
                }
                let since = conditionSince ?? now
                conditionSince = since
                guard now - since >= .seconds(onAfter) else { return nil }
                return request(
                    true, at: now,
                    reason: "surplus: export \(exportW) W ≥ \(onExportW) W for \(Self.seconds(now - since)) s")
            } else {
                guard importW >= offImportW else {
                    conditionSince = nil
                    return nil
                }
                let since = conditionSince ?? now
                conditionSince = since
                guard now - since >= .seconds(offAfter) else { return nil }
                return request(
                    false, at: now,
                    reason: "surplus: import \(importW) W ≥ \(offImportW) W for \(Self.seconds(now - since)) s")
            }
        case .peakGuard(let limitW, let marginW, let hysteresisW):
            let limit = limitW ?? max(input.monthPeakDemandW, ControlRule.minimumBilledPeakW)
            let threshold = limit - marginW
            let projected = input.projectedQuarterHourDemandW
            let quarter = now.floored(toMultipleOf: .seconds(900))
            if state.isOn {
                guard projected > threshold else { return nil }
                let event = request(
                    false, at: now,
                    reason: "peak guard: projected quarter-hour demand \(projected) W > \(threshold) W "
                        + "(limit \(limit) W − margin \(marginW) W)")
                if case .switched = event { shedQuarter = quarter }
                return event
            } else {
                // Restore only in a later quarter-hour than the one shed in, and with room to spare.
                if let shed = shedQuarter, quarter <= shed { return nil }
                guard projected < threshold - hysteresisW else { return nil }
                return request(
                    true, at: now,
                    reason: "peak guard: quarter-hour ended; projected \(projected) W < \(threshold - hysteresisW) W")
            }
        case .schedule(let windows, let tariffs):
            let inWindow = windows.first { $0.contains(minute: input.minuteOfDay, weekday: input.weekday) }
            let inTariff = input.tariff.map(tariffs.contains) ?? false
            let wanted = inWindow != nil || inTariff
            guard wanted != state.isOn else { return nil }
            let reason: String
            if let window = inWindow {
                reason = "schedule: inside \(Self.clock(window.fromMinute))–\(Self.clock(window.toMinute))"
            } else if inTariff, let tariff = input.tariff {
                reason = "schedule: tariff \(tariff)"
            } else {
                reason = "schedule: outside every window and tariff"
            }
            return request(wanted, at: now, reason: reason)
        }
    }

    /// A command (MQTT, local API): switches unless the minimum times or the rate limit forbid it.
    public mutating func command(_ on: Bool, at now: UnixTime, from source: String) -> ControlEvent? {
        guard on != state.isOn else { return nil }
        return request(on, at: now, reason: "command from \(source)")
    }

    /// Switches when the minimum times and the switch budget allow it.
    private mutating func request(_ on: Bool, at now: UnixTime, reason: String) -> ControlEvent? {
        state.switches.removeAll { now - $0 >= .seconds(3600) || $0 > now }
        if let last = state.switches.last {
            let held = now - last
            if on && held < .seconds(minimumOff) { return nil }  // keeps waiting; the condition stays timed
            if !on && held < .seconds(minimumOn) { return nil }
        }
        if state.switches.count >= maxSwitchesPerHour {
            let hour = now.floored(toMultipleOf: .seconds(3600))
            guard suppressedHour != hour else { return nil }
            suppressedHour = hour
            return .suppressed(
                output: name, wanted: on, time: now,
                reason: "\(reason); limit of \(maxSwitchesPerHour) switches per hour reached")
        }
        state.isOn = on
        state.switches.append(now)
        conditionSince = nil
        return .switched(output: name, on: on, time: now, reason: reason)
    }

    /// Whole seconds of a span between two whole-second times (for messages).
    static func seconds(_ span: Duration) -> Int64 { span.components.seconds }

    static func clock(_ minute: Int) -> String {
        let h = minute / 60
        let m = minute % 60
        return (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
    }
}

extension ControlInput {
    /// The rules' view of a live reading: net power, the capacity-tariff figures, the tariff, local civil time.
    public init(_ reading: LiveReading, localTime: LocalTime) {
        // Whole seconds, as the rules' minimum times and messages count them.
        let time = reading.time.floored(toMultipleOf: .seconds(1))
        let net: Int64
        let demand: DemandView
        var tariff: Int?
        switch reading {
        case .p1(let sample, let view):
            net = sample.powerImportW - sample.powerExportW
            demand = view
            tariff = sample.details.tariff
        case .ade9000(let sample, let view):
            let total = sample.totalPowerW
            net = total.isFinite && abs(total) < 1e12 ? Int64(total.rounded()) : 0
            demand = view
        }
        let fields = localTime.fields(at: time)
        self.init(
            time: time, netPowerW: net, quarterHourDemandW: demand.quarterHourDemandW,
            monthPeakDemandW: demand.monthPeakDemandW, tariff: tariff, minuteOfDay: fields.hour * 60 + fields.minute,
            weekday: fields.weekday == 0 ? 7 : fields.weekday)
    }
}
