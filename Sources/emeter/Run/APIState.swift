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
        /// The last live reading with its demand view, for the live page: the P1 meter's, the ADE9000's on a board
        /// without P1 readings.
        var reading: LiveReading?
        /// The last health report (the ring's counters completed) and each forwarder's state then.
        var health: Health?
        var forwarders: [ForwarderState] = []
    }

    /// A forwarder as the live page shows it: records waiting in the ring for it, when it last delivered.
    struct ForwarderState: Sendable, Equatable {
        var name: String
        var backlog: Int
        var lastSuccess: UnixTime?
    }

    /// The meter's time zone, for HomeWizard's `YYMMDDhhmmss` timestamps.
    let localTime: LocalTime
    let metrics = APIMetrics()
    private let snapshot = Mutex(Snapshot())
    /// The live page's chart: 1-minute averages of the power of the meter the readings come from (48 h at most).
    private let history = Mutex(PowerHistory())
    /// `GET /api/v1/live` clients: each gets every telegram's `/api/v1/data` JSON as a Server-Sent Event.
    private let liveClients = Mutex(LiveClients())

    private struct LiveClients {
        var next = 0
        var streams: [Int: AsyncStream<[UInt8]>.Continuation] = [:]
        var closed = false
    }

    /// Live clients served at once; more get 503.
    static let maximumLiveClients = 16
    /// Events kept for a client that reads slower than the meter sends (older ones are dropped).
    static let liveBuffer = 8

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

    /// The 1-minute history from `since` on, and the start of its newest minute.
    func history(since: (UnixTime) -> UnixTime) -> (newest: UnixTime?, points: [PowerHistory.Point]) {
        history.withLock { history in
            guard let newest = history.newestMinute else { return (nil, []) }
            return (newest, history.points(since: since(newest)))
        }
    }

    /// A health report and each forwarder's state (records waiting, last delivery) with it.
    func health(_ health: Health, forwarders: [ForwarderState]) {
        snapshot.withLock { snapshot in
            snapshot.health = health
            snapshot.forwarders = forwarders
        }
        metrics.update(health)
    }

    /// A live reading of the loop.
    func live(_ reading: LiveReading) {
        // The page follows the P1 meter (the grid connection) when the board has one, else the ADE9000.
        switch reading {
        case .p1(let sample, _):
            history.withLock { $0.add(time: sample.time, powerW: sample.powerImportW - sample.powerExportW) }
            snapshot.withLock { $0.reading = reading }
        case .ade9000(let sample, _):
            let noP1 = snapshot.withLock { snapshot in
                guard snapshot.sample == nil else { return false }
                snapshot.reading = reading
                return true
            }
            if noP1 { history.withLock { $0.add(time: sample.time, powerW: Int64(sample.totalPowerW.rounded())) } }
        }
        if case .p1(let sample, _) = reading {
            let facts = snapshot.withLock { snapshot in
                snapshot.sample = sample
                return snapshot.facts
            }
            let clients = liveClients.withLock { Array($0.streams.values) }
            if !clients.isEmpty {
                let event =
                    Array("data: ".utf8) + HomeWizardAPI.data(sample, facts: facts, localTime: localTime)
                    + Array("\n\n".utf8)
                for client in clients { client.yield(event) }
            }
        }
        metrics.live(reading)
    }

    // MARK: - Live clients

    /// A new live client's events (Server-Sent Event frames); `nil` when ``maximumLiveClients`` are connected or
    /// the API is stopping.
    func subscribe() -> AsyncStream<[UInt8]>? {
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream(
            bufferingPolicy: .bufferingNewest(Self.liveBuffer))
        let id = liveClients.withLock { clients -> Int? in
            guard !clients.closed, clients.streams.count < Self.maximumLiveClients else { return nil }
            clients.next += 1
            clients.streams[clients.next] = continuation
            return clients.next
        }
        guard let id else { return nil }
        continuation.onTermination = { [weak self] _ in
            _ = self?.liveClients.withLock { $0.streams.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every live stream and refuses new ones (the server is stopping).
    func closeLive() {
        let clients = liveClients.withLock { clients in
            clients.closed = true
            defer { clients.streams = [:] }
            return Array(clients.streams.values)
        }
        for client in clients { client.finish() }
    }
}
