import CivilTime
import Dispatch
import FoundationEssentials
import HAL
import Logging
import P1
import Synchronization

/// How the P1 cable's data-request line is raised.
enum DataRequestLine: Sendable, Equatable {
    case none, rts, dtr
}

/// Where P1 telegrams come from: a tty (USB P1 cable, `/dev/serial/by-id/…`, a simulator pty) or TCP.
enum P1Endpoint: Sendable, Equatable, CustomStringConvertible {
    case tty(String)
    case tcp(host: String, port: UInt16)

    /// Parses `/dev/ttyUSB0` or `tcp://host:port`.
    init?(_ text: String) {
        if text.hasPrefix("tcp://") {
            let rest = text.dropFirst("tcp://".count)
            guard let colon = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: colon)...]), port > 0
            else { return nil }
            var host = rest[..<colon]  // `[::1]` for an IPv6 literal
            if host.first == "[" && host.last == "]" { host = host.dropFirst().dropLast() }
            guard !host.isEmpty else { return nil }
            self = .tcp(host: String(host), port: port)
        } else if text.hasPrefix("/") {
            self = .tty(text)
        } else {
            return nil
        }
    }

    var description: String {
        switch self {
        case .tty(let path): path
        case .tcp(let host, let port): "tcp://\(host):\(port)"
        }
    }
}

/// Reads P1 telegrams on a dedicated thread (the tty calls block) and hands every event, stamped with the
/// board's wall clock at reception, to `onEvent`.
///
/// With `serial: nil` the line setting is detected (115200-8N1, 9600-7E1, 115200-7E1) and then kept for
/// reconnects. When the port goes away (cable unplugged, pty closed) or cannot be opened, the thread reports it and
/// tries again with a growing pause (0.5 s doubling to 10 s), until `stop()`.
final class P1ReaderThread: Sendable {
    enum Event: Sendable {
        case stream(P1StreamEvent, receivedAt: UnixTime)
        case detected(SerialConfiguration)
        case portError(String)
    }

    let endpoint: P1Endpoint
    let serial: SerialConfiguration?
    /// Keys of an encrypted meter (encryption and, unless `nil`, authentication key).
    let decryptor: P1Decryptor?
    let dataRequest: DataRequestLine
    /// How long auto-detection listens at each line setting (DSMR 2.2–4 send every 10 s).
    let detectionWindow: Duration
    /// Encrypted meters: where the last accepted frame counter is kept across restarts (`nil`: memory only).
    let frameCounterPath: String?
    /// P1 sharing: where every telegram read is re-served (`nil`: not shared).
    let share: P1ShareServer?
    /// Encrypted meters: share the decrypted telegrams instead of the frames as read.
    let shareDecrypted: Bool
    /// Gets every whole plaintext telegram read (the HTTP API's last telegram; `nil`: none).
    let lastTelegram: (@Sendable ([UInt8]) -> Void)?
    private let logger: Logger
    private let onEvent: @Sendable (Event) -> Void
    /// The board's wall clock: when a telegram was received.
    private let wallClock: @Sendable () -> UnixTime
    private let stopped = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)

    /// The saved frame counter is rewritten at most this often while frames arrive (and at stop): a Smarty frame
    /// every 10 s would otherwise be an SD-card write every 10 s. After a crash the saved counter can thus be up
    /// to this much behind: a recording of those last minutes is the only replay a restart lets through.
    static let frameCounterSaveInterval: Duration = .seconds(600)

    init(
        endpoint: P1Endpoint, serial: SerialConfiguration?, decryptor: P1Decryptor?, dataRequest: DataRequestLine,
        detectionWindow: Duration = .seconds(22), frameCounterPath: String? = nil, share: P1ShareServer? = nil,
        shareDecrypted: Bool = false, lastTelegram: (@Sendable ([UInt8]) -> Void)? = nil,
        wallClock: @escaping @Sendable () -> UnixTime = RunWallClock.system, logger: Logger,
        onEvent: @escaping @Sendable (Event) -> Void
    ) {
        self.wallClock = wallClock
        self.frameCounterPath = frameCounterPath
        self.share = share
        self.shareDecrypted = shareDecrypted
        self.lastTelegram = lastTelegram
        self.detectionWindow = detectionWindow
        self.endpoint = endpoint
        self.serial = serial
        self.decryptor = decryptor
        self.dataRequest = dataRequest
        self.logger = logger
        self.onEvent = onEvent
    }

    func start() {
        do {
            try BlockingThread.start(name: "p1-reader") { [self] in
                switch endpoint {
                case .tty(let path):
                    let request = dataRequest
                    run { (configuration: SerialConfiguration) throws(HALError) -> TTYPort in
                        let port = try TTYPort(path: path, configuration: configuration)
                        switch request {
                        case .none: break
                        case .rts: try port.setRTS(true)
                        case .dtr: try port.setDTR(true)
                        }
                        return port
                    }
                case .tcp(let host, let port):
                    run { (_: SerialConfiguration) throws(HALError) -> TCPStream in
                        try TCPStream(host: host, port: port)
                    }
                }
                finished.signal()
            }
        } catch {
            onEvent(.portError("\(endpoint): cannot start the reader thread: \(error)"))
            finished.signal()
        }
    }

    /// Asks the thread to stop and waits (bounded) for it to finish its current read.
    func stop() {
        stopped.withLock { $0 = true }
        _ = finished.wait(timeout: .now() + 3)
    }

    private var isStopped: Bool { stopped.withLock { $0 } }

    private func pause(_ duration: Duration) {
        let deadline = ContinuousClock.now.advanced(by: duration)
        while !isStopped && ContinuousClock.now < deadline { BlockingThread.sleep(.milliseconds(50)) }
    }

    /// The frame counter saved by an earlier run, if any and readable.
    private func loadFrameCounter() -> P1FrameCounter? {
        guard decryptor != nil, let path = frameCounterPath, let data = FileManager.default.contents(atPath: path)
        else { return nil }
        guard let counter = P1FrameCounter(text: String(decoding: data, as: UTF8.self)) else {
            logger.warning("\(path): not a saved frame counter (`<16 hex digits> <counter>`); ignoring it")
            return nil
        }
        logger.info(
            "P1 frame counter restored: frames not newer are refused as replayed",
            metadata: ["counter": "\(counter.counter)", "file": "\(path)"])
        return counter
    }

    private func saveFrameCounter(_ counter: P1FrameCounter) {
        guard let path = frameCounterPath else { return }
        do {
            try Data(counter.text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            logger.warning("cannot save the P1 frame counter in \(path): \(error)")
        }
    }

    private func run<Port: SerialPort>(open: @escaping P1Reader<Port>.Opener) {
        var backoff = Duration.milliseconds(500)
        var configuration = serial
        var reader: P1Reader<Port>?
        let start = ContinuousClock.now
        var saved = loadFrameCounter()
        var savedAt = ContinuousClock.now
        // Bytes read during auto-detection are not shared: sharing starts at the first telegram after it.
        var tap = P1ShareTap(
            server: share, encrypted: decryptor != nil, decrypted: shareDecrypted, lastTelegram: lastTelegram)
        defer {
            if let last = reader?.lastAccepted, last != saved { saveFrameCounter(last) }
        }
        while !isStopped {
            if let last = reader?.lastAccepted, last != saved,
                saved == nil || savedAt.duration(to: .now) >= Self.frameCounterSaveInterval
            {
                saveFrameCounter(last)
                saved = last
                savedAt = .now
            }
            if reader == nil {
                if let configuration {
                    reader = P1Reader(
                        configuration: configuration, decryptor: decryptor, lastAccepted: saved, open: open)
                } else {
                    do {
                        var detector = P1AutoDetector(window: detectionWindow, decryptor: decryptor)
                        detector.lastAccepted = saved
                        let detection = try detector.detect(
                            open: open, now: { start.duration(to: ContinuousClock.now) })
                        configuration = detection.configuration
                        onEvent(.detected(detection.configuration))
                        logger.info(
                            "P1 line setting detected",
                            metadata: ["port": "\(endpoint)", "serial": "\(detection.configuration)"])
                        onEvent(.stream(.telegram(detection.telegram), receivedAt: wallClock()))
                        reader = P1Reader(
                            configuration: detection.configuration, decryptor: decryptor,
                            port: detection.port, lastAccepted: detection.lastAccepted, open: open)
                    } catch {
                        onEvent(.portError("\(endpoint): \(error)"))
                        pause(backoff)
                        backoff = min(backoff * 2, .seconds(10))
                        continue
                    }
                }
            }
            guard var current = reader else { continue }
            do {
                let lostBefore = current.lostCount
                let bytesBefore = current.statistics.bytes
                try current.poll(timeout: .milliseconds(200), tap: &tap) { event in
                    onEvent(.stream(event, receivedAt: wallClock()))
                }
                reader = current
                if current.lostCount > lostBefore {
                    tap.reset()
                    // Gone during this poll, even right after opening (a dongle or ser2net that accepts and
                    // closes): back off, or the reader would reconnect in a tight loop.
                    onEvent(
                        .portError(
                            "\(endpoint): the device went away (unplugged, or the server closed the connection); "
                                + "reopening in \(backoff)"))
                    pause(backoff)
                    backoff = min(backoff * 2, .seconds(10))
                } else if current.statistics.bytes > bytesBefore {
                    backoff = .milliseconds(500)  // only bytes prove the link works
                }
            } catch {
                reader = current
                onEvent(.portError("\(error)"))
                pause(backoff)
                backoff = min(backoff * 2, .seconds(10))
            }
        }
    }
}
