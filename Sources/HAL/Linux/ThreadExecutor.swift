import Dispatch
import Synchronization

/// A task executor with one POSIX thread of its own, for work that must not wait behind Swift concurrency's
/// cooperative pool (one thread per core, shared with the HTTP API, the forwarders and everything else async).
///
/// `emeter run` runs its measurement loop here (`withTaskExecutorPreference`, SE-0417): a tick handed over by the
/// timer thread resumes the loop on this thread at once, even while a request or a forwarder occupies every
/// cooperative thread. Code the loop awaits on default actors runs here too; actors with their own executors and
/// tasks the loop does not start are unaffected.
///
/// Jobs run one at a time in the order they were enqueued. The thread lives as long as the process (`emeter run`
/// makes one): a task that prefers this executor must never be left with nobody to resume it.
public final class ThreadExecutor: TaskExecutor, Sendable {
    private struct State {
        var jobs: [UnownedJob] = []
        var head = 0
    }

    private let state = Mutex(State())
    /// Counts the jobs waiting for the thread.
    private let ready = DispatchSemaphore(value: 0)

    /// Starts the thread, named `name` (the kernel keeps its first 15 bytes).
    /// - Throws: `HALError` (subsystem `thread`) when the system cannot start another thread.
    public init(name: String) throws(HALError) {
        try BlockingThread.start(name: name) { [self] in serve() }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        state.withLock { $0.jobs.append(job) }
        ready.signal()
    }

    private func serve() {
        let executor = asUnownedTaskExecutor()
        while true {
            ready.wait()  // one signal per job
            let next: UnownedJob? = state.withLock { state in
                guard state.head < state.jobs.count else { return nil }
                let job = state.jobs[state.head]
                state.head += 1
                if state.head >= 64 && state.head * 2 >= state.jobs.count {
                    state.jobs.removeFirst(state.head)
                    state.head = 0
                }
                return job
            }
            next?.runSynchronously(on: executor)
        }
    }
}
