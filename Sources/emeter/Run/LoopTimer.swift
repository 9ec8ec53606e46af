import Firmware
import HAL
import Logging
import Synchronization

/// `emeter run`'s timer: a thread of its own that sleeps to each deadline of a ``Ticker`` and hands the tick over,
/// so no async work (an HTTP request, a forwarder, a slow actor on Swift's cooperative pool) can delay a wake-up.
final class LoopTimer: Sendable {
    private let stopped = Mutex(false)

    private init() {}

    /// How many nice steps the timer thread puts itself above the process's nice value, at which the loop and the
    /// other threads emeter starts run (deploy/emeter.service: `Nice=-10`, `LimitNICE=-15`).
    static let prioritySteps: Int32 = 5

    /// Starts the thread `emeter-timer`; `onTick` is called on it and must not block (it yields to a stream).
    /// - Throws: `HALError` when the system cannot start another thread.
    static func start(
        _ ticker: Ticker<ContinuousClock>, logger: Logger, onTick: @escaping @Sendable (Tick) -> Void
    ) throws(HALError) -> LoopTimer {
        let timer = LoopTimer()
        try BlockingThread.start(name: "emeter-timer") {
            do {
                let nice = try BlockingThread.setCurrentThreadPriority(
                    aboveProcessBy: prioritySteps, name: "emeter-timer")
                logger.debug("timer thread", metadata: ["nice": "\(nice)"])
            } catch {
                logger.info(
                    "timer thread at the process's priority (allow it \(prioritySteps) nice steps more, e.g. LimitNICE=-15 in the unit)",
                    metadata: ["error": "\(error)"])
            }
            ticker.runBlocking(sleep: { BlockingThread.sleep($0) }, shouldStop: { timer.isStopped }, onTick)
        }
        return timer
    }

    private var isStopped: Bool { stopped.withLock { $0 } }

    /// Ends the thread at its next wake-up (within one period).
    func stop() {
        stopped.withLock { $0 = true }
    }
}
