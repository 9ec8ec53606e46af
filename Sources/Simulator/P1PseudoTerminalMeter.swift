#if os(Linux)
    import Dispatch
    import Glibc
    import HAL
    import Synchronization

    /// A simulated P1 meter on a pseudo-terminal: a thread writes the simulator's telegrams into the master side at
    /// the meter's cadence, so the real tty code (`TTYPort`, `P1Reader`) reads them from `path`.
    ///
    /// Like a real UART it only delivers clean bytes when the reader's line settings match the meter's: at another
    /// baud rate the reader sees noise, 7E1 data read at 8N1 carries the parity bit in bit 7, and 8N1 data read at
    /// 7E1 with parity checking loses the characters whose parity is wrong (read as NUL). A pty does not do this by
    /// itself, so the meter reads the settings the reader applied (`PseudoTerminal.slaveConfiguration()`) and mangles
    /// accordingly. `unplug(for:)` hangs the pty up and brings a new one back at the same `path` (a symlink, like
    /// `/dev/serial/by-id/…`), so readers exercise their reconnect path.
    public final class P1PseudoTerminalMeter: Sendable {
        /// A stable path to open: a symlink to the current `/dev/pts/N`.
        public let path: String
        private let state: Mutex<State>

        private struct State {
            var simulator: P1MeterSimulator
            var faults: P1FaultInjector
            var faultPlan: [P1Fault]
            var faultEvery: Int
            var running = true
            var unplugUntil: ContinuousClock.Instant?
            var telegramsWritten = 0
            var ptyGeneration = 0
            var error: String?
        }

        /// - Parameters:
        ///   - path: where to put the symlink (its directory must exist); replaced when it exists.
        ///   - faults: faults applied in turn to every `faultEvery`-th telegram.
        ///   - speedup: virtual seconds per real second (1 = real time).
        public init(
            simulator: P1MeterSimulator, path: String, faults: [P1Fault] = [], faultEvery: Int = 10, seed: UInt64 = 7
        ) {
            self.path = path
            state = Mutex(
                State(
                    simulator: simulator, faults: P1FaultInjector(seed: seed), faultPlan: faults,
                    faultEvery: max(1, faultEvery)))
        }

        /// Telegrams written so far.
        public var telegramsWritten: Int { state.withLock { $0.telegramsWritten } }
        /// How many pseudo-terminals were created (1 + replugs).
        public var generation: Int { state.withLock { $0.ptyGeneration } }
        /// The meter's counters as of the last telegram written.
        public var counters: P1SimulatedCounters { state.withLock { $0.simulator.counters } }
        /// Why the meter stopped, if it failed (e.g. no pty could be created).
        public var failure: String? { state.withLock { $0.error } }

        /// Starts the writer thread; returns once the first pty exists at `path`.
        /// - Throws: `HALError` when no pseudo-terminal can be created.
        public func start(speedup: Double = 1) throws(HALError) {
            let started = DispatchSemaphore(value: 0)
            let outcome = Mutex<HALError?>(nil)
            try BlockingThread.start(name: "p1-simulator") { [self] in
                let first: PseudoTerminal
                do throws(HALError) {
                    first = try PseudoTerminal()
                    try link(first)
                } catch {
                    outcome.withLock { $0 = error }
                    started.signal()
                    return
                }
                state.withLock { $0.ptyGeneration = 1 }
                started.signal()
                run(first, speedup: speedup)
            }
            if started.wait(timeout: .now() + 5) == .timedOut {
                throw HALError(
                    .timedOut, subsystem: "pty", device: path, operation: "start",
                    detail: "simulator thread did not start")
            }
            if let error = outcome.withLock({ $0 }) { throw error }
        }

        /// Stops writing and hangs up.
        public func stop() { state.withLock { $0.running = false } }

        /// Simulates pulling the cable for `duration`, then plugging it back in.
        public func unplug(for duration: Duration) {
            state.withLock { $0.unplugUntil = ContinuousClock.now.advanced(by: duration) }
        }

        private func link(_ pty: PseudoTerminal) throws(HALError) {
            _ = unlink(path)
            if symlink(pty.slavePath, path) != 0 {
                throw HALError(
                    subsystem: "pty", device: path, operation: "symlink",
                    errno: .init(rawValue: errno))
            }
        }

        private func run(_ initial: PseudoTerminal, speedup: Double) {
            var pty: PseudoTerminal? = initial
            let clock = ContinuousClock()
            var next = clock.now
            while state.withLock({ $0.running }) {
                if let until = state.withLock({ $0.unplugUntil }) {
                    pty?.close()
                    pty = nil
                    _ = unlink(path)
                    if clock.now < until {
                        BlockingThread.sleep(.milliseconds(20))
                        continue
                    }
                    do {
                        let fresh = try PseudoTerminal()
                        try link(fresh)
                        pty = fresh
                        state.withLock {
                            $0.unplugUntil = nil
                            $0.ptyGeneration += 1
                        }
                    } catch {
                        state.withLock { $0.error = "\(error)" }
                        return
                    }
                }
                guard let current = pty else { return }
                let wait = clock.now.duration(to: next)
                if wait > .zero {
                    BlockingThread.sleep(min(.milliseconds(20), wait))
                    continue
                }
                let (bytes, meter) = state.withLock { state -> ([UInt8], SerialConfiguration) in
                    var telegram = state.simulator.nextTelegram()
                    state.telegramsWritten += 1
                    if !state.faultPlan.isEmpty && state.telegramsWritten % state.faultEvery == 0 {
                        let fault = state.faultPlan[(state.telegramsWritten / state.faultEvery) % state.faultPlan.count]
                        telegram = state.faults.apply(fault, to: telegram)
                    }
                    return (telegram, state.simulator.profile.serialConfiguration)
                }
                let interval = state.withLock { $0.simulator.interval }
                next = next.advanced(by: interval / speedup)
                let delivered = Self.asReceived(bytes, sent: meter, readerSettings: current.slaveConfiguration())
                do {
                    try current.write(delivered)
                } catch {
                    // Nobody reads (buffer full) or the pty went away: the meter keeps sending regardless.
                    continue
                }
            }
            pty?.close()
            _ = unlink(path)
        }

        /// What a UART configured as `reader` receives when the meter sends `bytes` at `sent` settings.
        public static func asReceived(
            _ bytes: [UInt8], sent: SerialConfiguration, readerSettings reader: SerialConfiguration?
        )
            -> [UInt8]
        {
            guard let reader else { return bytes }
            if reader.baudRate != sent.baudRate {
                // Framing at the wrong speed: noise, with no frame boundaries a reader could sync to.
                var generator = P1SeededRandom(seed: UInt64(bytes.count))
                let ratio = Double(reader.baudRate) / Double(sent.baudRate)
                let count = max(1, Int(Double(bytes.count) * min(ratio, 4)))
                return (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) | 0x80 }
            }
            func oddOnes(_ byte: UInt8) -> Bool { (byte & 0x7F).nonzeroBitCount % 2 == 1 }
            switch (sent.dataBits, sent.parity, reader.dataBits, reader.parity) {
            case (7, .even, 8, .none):
                return bytes.map { oddOnes($0) ? ($0 & 0x7F) | 0x80 : $0 & 0x7F }
            case (8, .none, 7, .even):
                return bytes.map { $0 & 0x80 == 0 && oddOnes($0) ? 0x00 : $0 & 0x7F }
            default:
                return bytes
            }
        }
    }

#endif
