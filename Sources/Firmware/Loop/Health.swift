/// Counters that show whether the firmware is healthy, logged periodically and offered to forwarders
/// (rendered by ``Payloads/health(_:device:)``).
///
/// One owner: the ``MeasurementLoop`` counts; the loop's output adds the ring's counters (records, bytes, merges,
/// bytes written to storage) at the moment it publishes, so the log line and every sink show the same numbers.
public struct Health: Sendable, Equatable {
    public var telegramsAccepted = 0
    public var telegramsRejected = 0
    /// Rejections by reason: ``P1RejectionKind/rawValue`` (`crc_mismatch`, `out_of_range`, …).
    public var rejectionReasons: [String: Int] = [:]
    public var adeSamples = 0
    public var adeErrors = 0
    public var spiCRCErrors = 0
    public var chipResets = 0
    public var deadlinesMissed = 0
    public var ticks = 0
    /// Worst tick lateness seen, microseconds, and a histogram of lateness (bucket upper bounds in µs).
    public var maxLatenessMicros: Int64 = 0
    public var latenessHistogram: [Int] = Array(repeating: 0, count: Health.latenessBuckets.count + 1)
    public var samplesRejected = 0
    public var recordsClosed = 0
    public var ringBytesUsed = 0
    public var ringRecords = 0
    public var recordsMerged = 0
    public var storageBytesWritten = 0
    /// Telegrams whose month peak (1-0:1.6.0) differed from the one emeter tracked.
    public var peakMismatches = 0
    /// Data-quality alerts raised since start (filled in by the output that runs them).
    public var alertsRaised = 0
    /// Steps of the board's wall clock the loop saw (forward more than two intervals, or backward).
    public var clockSteps = 0
    /// Telegrams whose meter clock (`0-0:1.0.0`) differed from the board's by more than 10 s.
    public var clockSkewTelegrams = 0
    /// Checkpoints that could not be read or saved (``LoopCheckpoint``).
    public var checkpointErrors = 0

    public static let latenessBuckets: [Int64] = [
        50, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 20000, 50000, 100_000,
    ]

    public init() {}

    mutating func record(lateness: Duration) {
        let micros = lateness.components.seconds * 1_000_000 + lateness.components.attoseconds / 1_000_000_000_000
        maxLatenessMicros = max(maxLatenessMicros, micros)
        let bucket = Health.latenessBuckets.firstIndex { micros <= $0 } ?? Health.latenessBuckets.count
        latenessHistogram[bucket] += 1
    }

    /// The lateness (µs, bucket upper bound) below which `fraction` of ticks fired; `nil` before any tick.
    public func latenessPercentile(_ fraction: Double) -> Int64? {
        let total = latenessHistogram.reduce(0, +)
        guard total > 0 else { return nil }
        var seen = 0
        for (index, count) in latenessHistogram.enumerated() {
            seen += count
            if Double(seen) >= fraction * Double(total) {
                return index < Health.latenessBuckets.count ? Health.latenessBuckets[index] : maxLatenessMicros
            }
        }
        return maxLatenessMicros
    }
}
