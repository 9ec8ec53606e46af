import HAL

/// Reads telegrams from a P1 serial port: reads with a timeout, feeds the framer (or the encrypted-stream decoder)
/// and reports telegrams; reopens the port after it throws `.unavailable` (USB cable unplugged, pty closed).
///
/// Generic over the port, so the Linux `TTYPort`, a pty and the in-memory double all run the same code. Time is not
/// read here: each `poll` does one read with the caller's timeout; the caller's loop decides cadence and backoff.
public struct P1Reader<Port: SerialPort> {
    /// Opens the port for a line setting (the composition root passes e.g. `{ try TTYPort(path:configuration:) }`).
    public typealias Opener = (SerialConfiguration) throws(HALError) -> Port

    public var configuration: SerialConfiguration
    /// The open port, `nil` until the first `poll` or after it went away.
    public private(set) var port: Port?
    /// Bytes asked for per read.
    public var chunkSize: Int
    /// How often the port was (re)opened.
    public private(set) var openCount = 0
    /// How often the port went away.
    public private(set) var lostCount = 0
    private var framer: P1Framer
    private var decoder: P1EncryptedStreamDecoder?
    private let open: Opener

    /// Raising the meter's data-request line (RTS, DTR or a GPIO) is the caller's job: it knows the cable.
    /// - Parameters:
    ///   - configuration: The line setting to open the port with.
    ///   - options: Framer limits (line and telegram lengths).
    ///   - decryptor: Set for encrypted meters (Luxembourg Smarty, Austria); `nil` for plaintext telegrams.
    ///   - chunkSize: Bytes asked for per read.
    ///   - port: An already open port (e.g. the one auto-detection used), else `open` is called on the first poll.
    ///   - lastAccepted: Encrypted meters: the last frame counter accepted before (kept across restarts), so a
    ///     recording played in right after a restart is refused too.
    ///   - open: Opens the port for a line setting.
    public init(
        configuration: SerialConfiguration, options: P1Framer.Options = .init(), decryptor: P1Decryptor? = nil,
        chunkSize: Int = 512, port: Port? = nil, lastAccepted: P1FrameCounter? = nil, open: @escaping Opener
    ) {
        self.configuration = configuration
        self.chunkSize = chunkSize
        self.port = port
        self.open = open
        framer = P1Framer(options: options)
        decoder = decryptor.map {
            P1EncryptedStreamDecoder(decryptor: $0, options: options, lastAccepted: lastAccepted)
        }
    }

    /// Encrypted meters: the meter and frame counter of the last authentic frame, `nil` before the first.
    public var lastAccepted: P1FrameCounter? { decoder?.lastAccepted }

    /// Framer counters (telegrams, rejections by reason, skipped bytes) for plaintext meters.
    public var statistics: P1Framer.Statistics { decoder?.framer.statistics ?? framer.statistics }

    /// Frames that failed decryption (encrypted meters).
    public var failedFrames: Int { decoder?.failedFrames ?? 0 }

    /// Opens the port if needed, reads once (waiting up to `timeout`) and reports what completed.
    ///
    /// When the port throws `.unavailable`, it is dropped, a telegram in progress is rejected as `.interrupted`,
    /// and the next `poll` reopens it.
    /// - Throws: `HALError` from opening the port (the caller backs off and polls again) or any read error other
    ///   than `.unavailable`.
    public mutating func poll(timeout: Duration, _ handler: (P1StreamEvent) -> Void) throws(HALError) {
        var tap = P1NoTap()
        try poll(timeout: timeout, tap: &tap, handler)
    }

    /// ``poll(timeout:_:)`` that also shows `tap` the bytes read and, for an encrypted meter, each decrypted
    /// telegram (P1 sharing re-serves them).
    public mutating func poll(
        timeout: Duration, tap: inout some P1StreamTap, _ handler: (P1StreamEvent) -> Void
    ) throws(HALError) {
        if port == nil {
            port = try open(configuration)
            openCount += 1
        }
        guard var current = port else { return }
        port = nil  // keep the port uniquely referenced while reading
        let bytes: [UInt8]
        do {
            bytes = try current.read(maxCount: chunkSize, timeout: timeout)
        } catch {
            if error.kind == .unavailable {
                lostCount += 1
                framer.reset { event in if let rejection = event.rejection { handler(.rejected(rejection)) } }
                decoder?.reset(handler)
                return
            }
            port = current
            throw error
        }
        port = current
        tap.received(bytes)
        feed(bytes, tap: &tap, handler)
    }

    /// Feeds bytes received some other way (e.g. already read during auto-detection).
    public mutating func feed(_ bytes: [UInt8], _ handler: (P1StreamEvent) -> Void) {
        var tap = P1NoTap()
        feed(bytes, tap: &tap, handler)
    }

    private mutating func feed(_ bytes: [UInt8], tap: inout some P1StreamTap, _ handler: (P1StreamEvent) -> Void) {
        if decoder != nil {
            decoder?.feed(bytes, decrypted: { tap.decrypted($0) }, handler)
        } else {
            framer.feed(bytes) { event in
                switch event {
                case .telegram(let telegram): handler(.telegram(telegram))
                case .rejected(let rejection): handler(.rejected(rejection))
                }
            }
        }
    }
}

/// Sees the bytes a ``P1Reader`` handles, e.g. to re-serve them to other readers (P1 sharing).
public protocol P1StreamTap {
    /// Bytes exactly as read from the port, before framing or decryption.
    mutating func received(_ bytes: [UInt8])
    /// One decrypted telegram of an encrypted meter, after its frame was authenticated and found not replayed.
    mutating func decrypted(_ plaintext: [UInt8])
}

/// A tap that ignores everything.
public struct P1NoTap: P1StreamTap {
    public init() {}
    public mutating func received(_ bytes: [UInt8]) {}
    public mutating func decrypted(_ plaintext: [UInt8]) {}
}

/// Finds the line setting of an unknown meter.
///
/// Tries `candidates` in order — 115200 8N1 (DSMR 4/5, e-MUCS, Smarty), 9600 7E1 (DSMR 2.2/3), 115200 7E1 (some
/// DSMR 4.2 Kaifa meters) — opening the port for each and reading for up to `window` of line time. A setting is
/// accepted as soon as one telegram is framed that carries a valid CRC, or, for DSMR 2.2/3 (no CRC), that is
/// well-formed: identification line, at least `minimumLinesWithoutCRC` OBIS lines and no diagnostics. A wrong baud
/// rate yields garbage (no `/`…`!` frame); 7E1 data read at 8N1 has the parity bit in bit 7 (`/` becomes 0xAF), so
/// it is not framed either. 8N1 data read at 7E1 is seen with bit 7 cleared, which changes nothing for ASCII — that
/// is why 8N1 is tried first.
///
/// Elapsed time comes from `now` (monotonic, injected), so tests run on virtual time.
public struct P1AutoDetector: Sendable {
    public static let defaultCandidates: [SerialConfiguration] = [.dsmr5, .dsmr22, .dsmr42Kaifa]

    public var candidates: [SerialConfiguration]
    /// How long (line time) to listen at each setting. DSMR 2.2–4.2 and Smarty send every 10 s and a transfer may
    /// take up to 8 s; joining mid-telegram, the next complete one can take up to ~18 s, hence 22 s by default.
    public var window: Duration
    public var readTimeout: Duration
    public var minimumLinesWithoutCRC: Int
    /// Encrypted meters: frames are decrypted before framing.
    public var decryptor: P1Decryptor?
    /// Encrypted meters: the last frame counter accepted before (a restart's saved one); older frames are refused
    /// as replayed during detection too.
    public var lastAccepted: P1FrameCounter?

    public init(
        candidates: [SerialConfiguration] = P1AutoDetector.defaultCandidates, window: Duration = .seconds(22),
        readTimeout: Duration = .milliseconds(500), minimumLinesWithoutCRC: Int = 3, decryptor: P1Decryptor? = nil
    ) {
        self.candidates = candidates
        self.window = window
        self.readTimeout = readTimeout
        self.minimumLinesWithoutCRC = minimumLinesWithoutCRC
        self.decryptor = decryptor
    }

    /// The result: the open port, its setting and the first telegram.
    public struct Detection<Port: SerialPort> {
        public var port: Port
        public var configuration: SerialConfiguration
        public var telegram: P1Telegram
        /// Encrypted meters: the frame counter of `telegram`'s frame, for the reader that goes on from here.
        public var lastAccepted: P1FrameCounter?
    }

    /// Tries each candidate in turn.
    /// - Parameters:
    ///   - open: opens the port at a setting; a port that fails to open is skipped (the error is reported if no
    ///     setting works and every open failed).
    ///   - now: monotonic time (e.g. `{ ContinuousClock.now - start }`).
    /// - Throws: `P1Error.noMeterDetected` listing the settings tried, or `.serial` when no port could be opened.
    public func detect<Port: SerialPort>(
        open: (SerialConfiguration) throws(HALError) -> Port, now: () -> Duration
    ) throws(P1Error) -> Detection<Port> {
        var lastError: HALError?
        var opened = 0
        for configuration in candidates {
            var port: Port
            do {
                port = try open(configuration)
            } catch {
                lastError = error
                continue
            }
            opened += 1
            var reader = P1Reader<Port>(
                configuration: configuration, decryptor: decryptor, port: port, lastAccepted: lastAccepted
            ) {
                (_: SerialConfiguration) throws(HALError) -> Port in
                throw HALError(.unavailable, subsystem: "p1", device: "auto-detect", operation: "reopen")
            }
            let start = now()
            var found: P1Telegram?
            while found == nil && now() - start < window {
                do {
                    try reader.poll(timeout: readTimeout) { event in
                        if found == nil, case .telegram(let telegram) = event, accept(telegram) { found = telegram }
                    }
                } catch {
                    lastError = error
                    break
                }
                if reader.port == nil { break }  // went away
            }
            if let found, let open = reader.port {
                port = open
                return Detection(
                    port: port, configuration: configuration, telegram: found,
                    lastAccepted: reader.lastAccepted ?? lastAccepted)
            }
        }
        if opened == 0, let lastError { throw .serial(lastError) }
        throw .noMeterDetected(tried: candidates)
    }

    /// A telegram proves the setting when its CRC verified, or (no CRC) when it is well-formed.
    public func accept(_ telegram: P1Telegram) -> Bool {
        if telegram.transmittedCRC != nil { return true }
        return !telegram.header.isEmpty && telegram.lines.count >= minimumLinesWithoutCRC
            && telegram.diagnostics.isEmpty && telegram.unparsedLines.isEmpty
    }
}
