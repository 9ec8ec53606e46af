import CivilTime

/// The Belgian capacity-tariff view of an import energy register: the running quarter-hour average demand and
/// the month's peak quarter-hour.
///
/// Quarter-hours are fixed (hh:00–15, 15–30, …); the average of a quarter-hour is its imported energy × 4
/// (Wh → W); the running demand during a quarter-hour is the energy imported so far × 4, so it rises during the
/// quarter and restarts at each quarter, as the meter's `1-0:1.4.0` does. The month peak is the largest closed
/// quarter-hour average whose quarter began in the current local month (`1-0:1.6.0`); its time is the quarter's end.
/// The register value at a quarter boundary is interpolated linearly between the samples either side.
public struct DemandTracker: Sendable {
    public static let quarterHour: Int64 = 900_000  // ms

    public let localTime: LocalTime
    private var last: (time: Int64, energyWh: Double)?
    private var quarterStart: Int64 = 0
    private var energyAtQuarterStart: Double = 0
    /// The current local month's start, Unix milliseconds.
    private var monthStart: Int64 = .min
    /// The month's peak so far, W, and the end of its quarter-hour (Unix seconds).
    public private(set) var monthPeakW: Int64 = 0
    public private(set) var monthPeakTime: Int64 = 0
    /// Closed quarter-hours, oldest first, bounded (the last 4 × 24 × 2): `(end Unix seconds, average W)`.
    public private(set) var recentQuarters: [(end: Int64, averageW: Int64)] = []
    /// The running quarter-hour demand at the last sample, W.
    public private(set) var runningDemandW: Int64 = 0

    public init(localTime: LocalTime = .centralEurope) {
        self.localTime = localTime
    }

    /// Feeds the cumulative import register at `time` (Unix milliseconds).
    public mutating func add(time: Int64, importWh: Double) {
        guard let previous = last else {
            last = (time, importWh)
            quarterStart = Self.floorQuarter(time)
            energyAtQuarterStart = importWh
            monthStart = localTime.monthStart(containing: Self.seconds(quarterStart)) * 1000
            return
        }
        guard time > previous.time else { return }
        var boundary = quarterStart + Self.quarterHour
        while boundary <= time {
            let fraction = Double(boundary - previous.time) / Double(time - previous.time)
            let energyAtBoundary = previous.energyWh + (importWh - previous.energyWh) * max(0, min(1, fraction))
            let average = Int64(((energyAtBoundary - energyAtQuarterStart) * 4).rounded())
            closeQuarter(end: boundary, averageW: average)
            quarterStart = boundary
            energyAtQuarterStart = energyAtBoundary
            boundary += Self.quarterHour
        }
        runningDemandW = Int64(((importWh - energyAtQuarterStart) * 4).rounded())
        last = (time, importWh)
    }

    private mutating func closeQuarter(end: Int64, averageW: Int64) {
        let quarterMonth = localTime.monthStart(containing: Self.seconds(end - Self.quarterHour)) * 1000
        if quarterMonth != monthStart {
            monthStart = quarterMonth
            monthPeakW = 0
            monthPeakTime = 0
        }
        if averageW > monthPeakW {
            monthPeakW = averageW
            monthPeakTime = Self.seconds(end)
        }
        recentQuarters.append((Self.seconds(end), averageW))
        if recentQuarters.count > 192 { recentQuarters.removeFirst(recentQuarters.count - 96) }
    }

    static func floorQuarter(_ time: Int64) -> Int64 {
        time >= 0 ? time - time % quarterHour : time - ((time % quarterHour) + quarterHour) % quarterHour
    }

    static func seconds(_ milliseconds: Int64) -> Int64 {
        milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
    }
}
