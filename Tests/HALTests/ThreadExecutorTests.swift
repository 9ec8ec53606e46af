import HAL
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The kernel's name of the calling thread (`/proc/thread-self/comm`).
private func threadName() -> String {
    let fd = open("/proc/thread-self/comm", O_RDONLY)
    guard fd >= 0 else { return "?" }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 32)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    return String(decoding: buffer.prefix(max(0, count)), as: UTF8.self).filter { $0 != "\n" }
}

private actor Counter {
    var value = 0
    func increment() -> String {
        value += 1
        return threadName()
    }
}

/// `emeter run`'s measurement loop prefers this executor: after every suspension (a sleep, a yield, a default
/// actor's method) it must come back to its own thread, never to the cooperative pool.
@Test func aTaskPreferringTheThreadExecutorRunsOnItsOwnThread() async throws {
    let executor = try ThreadExecutor(name: "emeter-test-exe")
    let counter = Counter()
    let names = await withTaskExecutorPreference(executor) {
        var names = [threadName()]
        try? await Task.sleep(for: .milliseconds(5))
        names.append(threadName())
        await Task.yield()
        names.append(threadName())
        names.append(await counter.increment())
        names.append(threadName())
        return names
    }
    #expect(names == Array(repeating: "emeter-test-exe", count: 5))
}

/// Jobs run one at a time, in order, however many tasks enqueue them at once.
@Test func jobsFromManyTasksAllRunOnTheOneThread() async throws {
    let executor = try ThreadExecutor(name: "emeter-test-two")
    let names = await withTaskGroup(of: String.self) { group in
        for _ in 0..<200 {
            group.addTask(executorPreference: executor) {
                await Task.yield()
                return threadName()
            }
        }
        return await group.reduce(into: []) { $0.append($1) }
    }
    #expect(names.count == 200)
    #expect(Set(names) == ["emeter-test-two"])
}

/// `emeter run`'s threads run at the process's nice value (`Nice=` in the unit), whichever thread started them
/// (libdispatch's workers run at their QoS's), and the timer thread raises itself above it; the process keeps its own.
@Test func threadsTakeTheProcessPriorityAndTheTimerRaisesItsOwn() async throws {
    let processNice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(getpid()))
    let outcome = await withCheckedContinuation { (done: CheckedContinuation<Result<Int32, HALError>, Never>) in
        do throws(HALError) {
            try BlockingThread.start(name: "emeter-test-pri") {
                done.resume(
                    returning: Result { () throws(HALError) in
                        try BlockingThread.setCurrentThreadPriority(aboveProcessBy: 1, name: "emeter-test-pri")
                    })
            }
        } catch {
            done.resume(returning: .failure(error))
        }
    }
    switch outcome {
    case .success(let nice):
        #expect(nice == max(-20, processNice - 1))
    case .failure(let error):
        // Without CAP_SYS_NICE (not root, no RLIMIT_NICE room) the kernel refuses with EACCES, named as such.
        #expect("\(error)".contains("setpriority"))
        #expect(getuid() != 0)
    }
    #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(getpid())) == processNice)
}
