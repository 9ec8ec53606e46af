import CivilTime

/// The Belgian capacity-tariff view of an import energy register: the running quarter-hour average demand and
/// the month's peak quarter-hour.
///
/// Quarter-hours are fixed (hh:00–15, 15–30, …); the average of a quarter-hour is its imported energy × 4
/// (Wh → W); the running demand during a quarter-hour is the energy imported so far × 4, so it rises during the
/// quarter and restarts at each quarter, as the meter's `1-0:1.4.0` does. The month peak is the largest closed
/// quarter-hour average whose quarter began in the current local month (`1-0:1.6.0`); its time is the quarter's end.
/// The register value at a quarter boundary is interpolated linearly between the samples either side.
///
/// **Incomplete quarters.** A quarter-hour in which the clock stepped (``clockStepped()``), or that samples further
/// apart than ``maxInterpolation`` span (emeter was stopped, the meter was silent), is *incomplete*: its average is
/// not known, so it never becomes the month peak and is not listed in ``recentQuarters``. After a step the tracker
/// starts again from the next sample, so energy that flowed across the step is booked into no quarter.
///
/// **Persistence.** ``state`` and ``init(localTime:state:)`` carry the quarter in progress, the month peak and the
/// peak history of past months across a restart (``LoopCheckpoint``).
public struct DemandTracker: Sendable {
    public static let quarterHour: Duration = .seconds(900)
    /// Samples further apart than this leave the quarters between them incomplete.
    public static let maxInterpolation: Duration = .seconds(120)
    /// Months kept in ``monthHistory`` (the meter's `0-0:98.1.0` keeps 13).
    public static let historyMonths = 13

    /// One past month's peak.
    public struct MonthPeak: Sendable, Equatable {
        /// The month's first instant (1st, 00:00 local).
        public var monthStart: UnixTime
        /// The month's peak quarter-hour average, W (0 = none), and the end of that quarter (`nil` = none).
        public var peakW: Int64
        public var peakTime: UnixTime?

        public init(monthStart: UnixTime, peakW: Int64, peakTime: UnixTime?) {
            self.monthStart = monthStart
            self.peakW = peakW
            self.peakTime = peakTime
        }
    }

    /// Everything needed to continue after a restart (integers and whole-millisecond times, so it is stored exactly).
    public struct State: Sendable, Equatable {
        /// The last sample: its time and the register, mWh. `nil` before the first sample.
        public var lastTime: UnixTime?
        public var lastMilliwattHours: Int64 = 0
        /// Start of the quarter in progress and the register at its start (mWh).
        public var quarterStart = UnixTime.epoch
        public var quarterStartMilliwattHours: Int64 = 0
        /// The quarter in progress is incomplete (a step, a long silence).
        public var quarterIncomplete = false
        /// A clock step happened: the next sample starts the tracker again.
        public var rebaseline = false
        /// The current local month's start; ``UnixTime/distantPast`` before the first sample.
        public var monthStart = UnixTime.distantPast
        /// The month's peak quarter-hour average so far, W (0 = none), and the end of that quarter (`nil` = none).
        public var monthPeakW: Int64 = 0
        public var monthPeakTime: UnixTime?
        public var runningDemandW: Int64 = 0
        /// Past months, oldest first, at most ``DemandTracker/historyMonths``.
        public var monthHistory: [MonthPeak] = []

        public init() {}
    }

    public let localTime: LocalTime
    public private(set) var state = State()
    /// Closed complete quarter-hours since start, oldest first, bounded (the last 4 × 24 × 2):
    /// `(end of the quarter, average W)`. Not persisted.
    public private(set) var recentQuarters: [(end: UnixTime, averageW: Int64)] = []
    /// Quarter-hours closed as incomplete since start.
    public private(set) var incompleteQuarters = 0

    /// The month's peak so far, W, and the end of its quarter-hour (`nil` = none yet).
    public var monthPeakW: Int64 { state.monthPeakW }
    public var monthPeakTime: UnixTime? { state.monthPeakTime }
    /// The running quarter-hour demand at the last sample, W.
    public var runningDemandW: Int64 { state.runningDemandW }
    /// Past months' peaks, oldest first.
    public var monthHistory: [MonthPeak] { state.monthHistory }
    /// Whether the quarter in progress is incomplete.
    public var quarterIncomplete: Bool { state.quarterIncomplete }

    /// The months where the meter's own peak (`0-0:98.1.0`) and the one tracked from its registers differ by more
    /// than 5 % and 100 W (months only one side knows are not compared).
    public static func disagreeing(meter: [P1Sample.MonthPeak], tracked: [MonthPeak]) -> [(
        meter: P1Sample.MonthPeak, trackedW: Int64
    )] {
        meter.compactMap { month in
            guard let ours = tracked.first(where: { $0.monthStart == month.monthStart }), ours.peakW > 0 else {
                return nil
            }
            let difference = abs(month.peakW - ours.peakW)
            return difference > 100 && difference * 20 > month.peakW ? (month, ours.peakW) : nil
        }
    }

    /// The Flemish capacity tariff's billed figure: the mean of the last 12 monthly peaks — this month's so far
    /// (`currentMonthPeakW`) and the 11 before it that are known — each counted as at least 2.5 kW, W.
    public func billedPeakW(currentMonthPeakW: Int64) -> Int64 {
        let floor: Int64 = 2500
        let months = [currentMonthPeakW] + state.monthHistory.suffix(11).map(\.peakW)
        return months.reduce(0) { $0 + max($1, floor) } / Int64(months.count)
    }

    public init(localTime: LocalTime = .centralEurope) {
        self.localTime = localTime
    }

    /// Continues from a persisted ``state``.
    public init(localTime: LocalTime, state: State) {
        self.localTime = localTime
        self.state = state
        if state.monthHistory.count > Self.historyMonths {
            self.state.monthHistory.removeFirst(state.monthHistory.count - Self.historyMonths)
        }
    }

    /// Feeds the cumulative import register at `time`, Wh.
    public mutating func add(time: UnixTime, importWh: Double) {
        add(time: time, milliwattHours: Int64((importWh * 1000).rounded(.down)))
    }

    /// Feeds the cumulative import register at `time`, mWh.
    public mutating func add(time: UnixTime, milliwattHours energy: Int64) {
        guard let previousTime = state.lastTime, !state.rebaseline else {
            start(time: time, energy: energy, incomplete: state.rebaseline)
            return
        }
        guard time > previousTime else { return }
        let previousEnergy = state.lastMilliwattHours
        // Samples far apart (a stop, a silent meter): the quarters they span are not known.
        let silence = time - previousTime > Self.maxInterpolation
        if silence { state.quarterIncomplete = true }
        // Milliseconds from `previousTime`, exact in Int128 whatever the two times are.
        func elapsed(until instant: UnixTime) -> Int128 {
            Int128(instant.milliseconds) - Int128(previousTime.milliseconds)
        }
        var boundary = state.quarterStart + Self.quarterHour
        while boundary <= time {
            let span = elapsed(until: time)
            let part = max(0, min(elapsed(until: boundary), span))
            let energyAtBoundary = previousEnergy + Int64(Int128(energy - previousEnergy) * part / span)
            closeQuarter(end: boundary, energy: energyAtBoundary - state.quarterStartMilliwattHours)
            state.quarterStart = boundary
            state.quarterStartMilliwattHours = energyAtBoundary
            state.quarterIncomplete = silence && boundary < time
            let next = boundary + Self.quarterHour
            guard next > boundary else { break }  // at UnixTime.distantFuture: no later quarter
            boundary = next
        }
        state.runningDemandW = Self.watts(energy - state.quarterStartMilliwattHours)
        state.lastTime = time
        state.lastMilliwattHours = energy
    }

    /// The clock stepped: the quarter in progress is incomplete, and the next sample starts the tracker again
    /// (its quarter is incomplete too), so no quarter gets the energy that flowed across the step.
    public mutating func clockStepped() {
        state.quarterIncomplete = true
        state.rebaseline = true
    }

    private mutating func start(time: UnixTime, energy: Int64, incomplete: Bool) {
        state.lastTime = time
        state.lastMilliwattHours = energy
        state.quarterStart = time.floored(toMultipleOf: Self.quarterHour)
        state.quarterStartMilliwattHours = energy
        state.rebaseline = false
        state.runningDemandW = 0
        // Started mid-quarter: what flowed before the start of this quarter is not known.
        state.quarterIncomplete = incomplete || time != state.quarterStart
        let month = localTime.monthStart(containing: state.quarterStart)
        if state.monthStart == .distantPast {
            state.monthStart = month
        } else if month != state.monthStart {
            rollMonth(to: month)
        }
    }

    private mutating func closeQuarter(end: UnixTime, energy: Int64) {
        let quarterMonth = localTime.monthStart(containing: end - Self.quarterHour)
        if quarterMonth != state.monthStart { rollMonth(to: quarterMonth) }
        defer { state.quarterIncomplete = false }
        guard !state.quarterIncomplete else {
            incompleteQuarters += 1
            return
        }
        let averageW = Self.watts(energy)
        if averageW > state.monthPeakW {
            state.monthPeakW = averageW
            state.monthPeakTime = end
        }
        recentQuarters.append((end, averageW))
        if recentQuarters.count > 192 { recentQuarters.removeFirst(recentQuarters.count - 96) }
    }

    private mutating func rollMonth(to month: UnixTime) {
        if state.monthStart != .distantPast && month > state.monthStart {
            state.monthHistory.append(
                MonthPeak(monthStart: state.monthStart, peakW: state.monthPeakW, peakTime: state.monthPeakTime))
            if state.monthHistory.count > Self.historyMonths { state.monthHistory.removeFirst() }
        }
        state.monthStart = month
        state.monthPeakW = 0
        state.monthPeakTime = nil
    }

    /// A quarter's energy (mWh) as its average power: × 4 per hour, mWh → W, rounded half away from zero.
    static func watts(_ milliwattHours: Int64) -> Int64 {
        let quadruple = milliwattHours * 4
        return quadruple >= 0 ? (quadruple + 500) / 1000 : (quadruple - 500) / 1000
    }
}
