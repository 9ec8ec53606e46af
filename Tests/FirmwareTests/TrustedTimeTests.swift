import CivilTime
import Firmware
import HAL
import Logging
import Synchronization
import Testing

/// The board as a test drives it: a monotonic clock, a wall clock that may be wrong, and the kernel's "synchronised"
/// flag, all set by hand.
final class VirtualBoardClock: ClockSynchronization, Sendable {
    private struct State {
        var monotonicMs: Int64 = 0
        var wallMs: Int64
        var synchronized = false
    }
    private let state: Mutex<State>

    init(wallMs: Int64) { state = Mutex(State(wallMs: wallMs)) }

    func isSynchronized() -> Bool { state.withLock { $0.synchronized } }
    var monotonicMs: Int64 { state.withLock { $0.monotonicMs } }
    var wallMs: Int64 { state.withLock { $0.wallMs } }
    var wallTime: UnixTime { UnixTime(milliseconds: wallMs) }

    /// Both clocks run on by `ms`.
    func advance(ms: Int64) {
        state.withLock {
            $0.monotonicMs += ms
            $0.wallMs += ms
        }
    }

    /// NTP (or systemd-timesyncd) sets the wall clock and declares it synchronised.
    func synchronize(wallMs: Int64) {
        state.withLock {
            $0.wallMs = wallMs
            $0.synchronized = true
        }
    }

    /// The NTP client stopped disciplining the clock for too long: the kernel sets `STA_UNSYNC` again.
    func loseSynchronization() { state.withLock { $0.synchronized = false } }

    func trustedTime() -> TrustedTime {
        TrustedTime(
            synchronization: self, wallClock: { [self] in wallTime },
            monotonicClock: { [self] in .milliseconds(monotonicMs) })
    }
}

/// 1 January 2000: anything before is a clock that was never set.
private let year2000 = UnixTime(seconds: 946_684_800)

@Suite("Time you can trust")
struct TrustedTimeTests {
    /// No RTC: the board boots with its wall clock near 1970 (fake-hwclock never saved), the kernel says it is not
    /// synchronised, and the meter sends no time (`0-0:1.0.0` missing). Twenty minutes later NTP sets the clock. The
    /// readings of those twenty minutes are dated then, against the monotonic clock: the first record starts when the
    /// board really booted, every Wh is in a record, and nothing is ever dated 1970.
    @Test func readingsBeforeTheClockIsSynchronisedAreDatedWhenItIs() async {
        let board = VirtualBoardClock(wallMs: 12_000)
        let collector = Collector()
        var loop = MeasurementLoop<ReplaySampler>(
            ade: nil, intervalLength: 60, trustedTime: board.trustedTime(), output: collector,
            logger: Logger(label: "test"), healthEvery: 0)
        var replay = HouseReplay()
        let bootTruth = runStart  // what the time really was at boot
        var first: P1Sample?
        var last: P1Sample?
        for second in Int64(0)..<1800 {
            if second == 1200 { board.synchronize(wallMs: (bootTruth + second) * 1000) }
            // A clock once synchronised stays trusted: it runs right to within its drift.
            if second == 1500 { board.loseSynchronization() }
            var sample = replay.p1Sample(at: second)
            sample.time = board.wallTime
            if first == nil { first = sample }
            last = sample
            await loop.handle(.p1(.sample(sample)))
            await loop.handle(.tick(Tick(index: second + 1, wallTime: board.wallTime)))
            replay.step(from: second)
            board.advance(ms: 1000)
        }
        let records = await collector.records
        // The same readings on a board whose clock was right from the start give the very same records.
        let reference = Collector()
        var referenceLoop = MeasurementLoop<ReplaySampler>(
            ade: nil, intervalLength: 60, output: reference, logger: Logger(label: "test"), healthEvery: 0)
        var referenceReplay = HouseReplay()
        for second in Int64(0)..<1800 {
            let wallTime = UnixTime(seconds: bootTruth + second)
            var sample = referenceReplay.p1Sample(at: second)
            sample.time = wallTime
            await referenceLoop.handle(.p1(.sample(sample)))
            await referenceLoop.handle(.tick(Tick(index: second + 1, wallTime: wallTime)))
            referenceReplay.step(from: second)
        }
        #expect(records == (await reference.records))
        #expect(records.count >= 29)
        #expect(records.allSatisfy { $0.start >= year2000 && $0.end >= year2000 }, "a record dated before 2000")
        #expect(records.first?.start == UnixTime(seconds: bootTruth))
        for (older, newer) in zip(records, records.dropFirst()) { #expect(newer.start == older.end) }
        #expect(records.dropFirst().allSatisfy { $0.start.seconds % 60 == 0 })
        let energy = records.reduce(Int64(0)) { $0 + ($1.p1?.importTariff1Wh ?? 0) + ($1.p1?.importTariff2Wh ?? 0) }
        #expect(records.last?.end == UnixTime(seconds: bootTruth + 1740))
        if let first, let last {
            #expect(energy <= last.totalImportWh - first.totalImportWh)
            #expect(energy > 0)
        }
        #expect(loop.trustedTime?.isTrusted == true)
    }

    /// The same boot, but the meter sends its clock (`0-0:1.0.0`, set by the grid operator): that is trusted time,
    /// so readings are dated from the first telegram on, though the kernel never synchronises.
    @Test func theMetersClockIsTrustedTime() async {
        let board = VirtualBoardClock(wallMs: 12_000)
        let collector = Collector()
        var loop = MeasurementLoop<ReplaySampler>(
            ade: nil, intervalLength: 60, trustedTime: board.trustedTime(), output: collector,
            logger: Logger(label: "test"), healthEvery: 0)
        var replay = HouseReplay()
        for second in Int64(0)..<600 {
            var sample = replay.p1Sample(at: second)
            sample.time = board.wallTime
            sample.details.meterTime = UnixTime(seconds: runStart + second)
            await loop.handle(.p1(.sample(sample)))
            await loop.handle(.tick(Tick(index: second + 1, wallTime: board.wallTime)))
            replay.step(from: second)
            board.advance(ms: 1000)
        }
        let records = await collector.records
        #expect(records.count >= 9)
        #expect(records.first?.start == UnixTime(seconds: runStart))
        #expect(records.allSatisfy { $0.start >= year2000 })
    }

    /// Until trusted time arrives the readings are held in a bounded buffer: when it is full the oldest but the first
    /// are dropped (the registers are absolute, so the energy is still counted, at coarser resolution).
    @Test func theHoldingBufferIsBounded() {
        let board = VirtualBoardClock(wallMs: 12_000)
        var trusted = board.trustedTime()
        var replay = HouseReplay()
        for second in Int64(0)..<Int64(TrustedTime.capacity + 10) {
            let sample = replay.p1Sample(at: second)
            #expect(trusted.admit(.p1(sample)).isEmpty)
            replay.step(from: second)
            board.advance(ms: 1000)
        }
        #expect(trusted.heldCount == TrustedTime.capacity)
        #expect(trusted.dropped == 10)
        board.synchronize(wallMs: runStart * 1000)
        let released = trusted.admit(.p1(replay.p1Sample(at: 0)))
        #expect(released.count == TrustedTime.capacity + 1)
        #expect(trusted.heldCount == 0)
    }
}
