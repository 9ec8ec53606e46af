import CivilTime
import Firmware
import P1
import Synchronization

/// What the HTTP API serves, kept up to date by the P1 reader thread (telegrams) and the loop's output (samples,
/// health, forwarders): the last telegram and its sample, and the metrics. Never blocks the writers for longer
/// than a copy.
final class APIState: Sendable {
    struct Snapshot: Sendable {
        /// The last P1 sample the loop took, with what its telegram said beyond the sample.
        var sample: P1Sample?
        var facts: HomeWizardTelegramFacts?
        /// The last valid telegram, bytes as read (decrypted for an encrypted meter).
        var telegram: [UInt8]?
        /// The telegram bytes just read, until the reader says that they made a valid telegram.
        var pending: [UInt8]?
    }

    /// The meter's time zone, for HomeWizard's `YYMMDDhhmmss` timestamps.
    let localTime: LocalTime
    let metrics = APIMetrics()
    private let snapshot = Mutex(Snapshot())

    init(localTime: LocalTime) {
        self.localTime = localTime
    }

    var current: Snapshot { snapshot.withLock { $0 } }

    // MARK: - Writers

    /// Whole telegram bytes from the reader thread's tap (valid or not: the telegram that follows decides).
    func readTelegramBytes(_ bytes: [UInt8]) {
        snapshot.withLock { $0.pending = bytes }
    }

    /// A telegram the reader found valid: its facts, and the bytes just read become the last telegram when they
    /// are this one (same header).
    func readValidTelegram(_ telegram: P1Telegram) {
        let facts = HomeWizardTelegramFacts(telegram)
        let header = Array(("/" + telegram.header).utf8)
        snapshot.withLock { snapshot in
            snapshot.facts = facts
            if let pending = snapshot.pending, pending.starts(with: header) {
                snapshot.telegram = pending
                snapshot.pending = nil
            }
        }
    }

    /// A live reading of the loop.
    func live(_ reading: LiveReading) {
        if case .p1(let sample, _) = reading {
            snapshot.withLock { $0.sample = sample }
        }
        metrics.live(reading)
    }
}
