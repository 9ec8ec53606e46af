import CivilTime
import HAL

/// Dates the loop's readings only with time that can be trusted, and holds them until there is some.
///
/// **Trusted time** is either the board's wall clock while the kernel says it is synchronised
/// (``ClockSynchronization``: `adjtimex` without `STA_UNSYNC`, which NTP daemons such as systemd-timesyncd or chrony
/// clear once they set the clock), or the P1 meter's own clock (`0-0:1.0.0`, set by the grid operator) from the first
/// telegram that carries it: that telegram's meter time anchors a time line that runs on with the monotonic clock.
/// A board without an RTC boots with a wall clock near 1970 (or wherever fake-hwclock last saved it), and records
/// dated from it would be booked in the wrong month or dropped by a backend.
///
/// **Holding.** Until trusted time is available, every reading (P1 sample, ADE9000 sample, timer advance) is kept
/// with the monotonic instant it was admitted at, in a bounded buffer of ``capacity`` readings: an hour of a 1 s P1
/// telegram and a 1 s tick. When it is full the oldest reading but the first is dropped (``dropped``); the registers
/// and the ADE9000's accumulators are absolute, so no energy is lost, only resolution at the start. When trusted
/// time arrives the held readings are dated `trusted_now − (monotonic_now − monotonic_at_reading)` and released, in
/// order, before the reading that brought it; from then on readings pass (re-dated on the meter's time line when
/// the kernel clock is still not synchronised). No reading reaches the aggregator with an untrusted date, so no
/// record has one.
///
/// Not thread-safe; owned by the loop.
public struct TrustedTime {
    /// A reading on its way to the aggregator.
    public enum Input: Sendable, Equatable {
        case p1(P1Sample)
        case ade(ADESample)
        /// A tick without an ADE9000 sample: the open interval runs on to `time` (the tick's wall time).
        case advance(time: UnixTime, stalled: Bool)

        /// The reading's date.
        public var time: UnixTime {
            switch self {
            case .p1(let sample): sample.time
            case .ade(let sample): sample.time
            case .advance(let time, _): time
            }
        }

        /// The same reading dated `time`.
        func dated(_ time: UnixTime) -> Input {
            switch self {
            case .p1(var sample):
                sample.time = time
                return .p1(sample)
            case .ade(var sample):
                sample.time = time
                return .ade(sample)
            case .advance(_, let stalled):
                return .advance(time: time, stalled: stalled)
            }
        }
    }

    /// How far a reading's own date may be from the synchronised clock at admission; a reading further off was
    /// dated before the clock was set and is dated at admission instead.
    static var ownDateTolerance: Duration { .seconds(60) }

    /// Readings held at most while no trusted time is available.
    public static var capacity: Int { 7200 }

    private let synchronization: any ClockSynchronization
    private let wallClock: @Sendable () -> UnixTime
    private let monotonicClock: @Sendable () -> Duration
    private var held: [(input: Input, monotonic: Duration)] = []
    /// The meter's time line: a meter time and the monotonic instant it was read at.
    private var meterAnchor: (trusted: UnixTime, monotonic: Duration)?
    /// Readings dropped from the full buffer.
    public private(set) var dropped = 0
    /// `true` once trusted time was available (readings pass from then on).
    public private(set) var isTrusted = false
    /// `true` once the kernel said the clock is synchronised: a clock the NTP client stopped disciplining later
    /// (the kernel sets `STA_UNSYNC` again) still runs right to within its drift, so it stays trusted.
    private var wasSynchronized = false

    /// - Parameters:
    ///   - synchronization: Whether the kernel clock is synchronised (``KernelClockSynchronization`` on the board).
    ///   - wallClock: The board's wall clock.
    ///   - monotonicClock: A clock that never steps (`CLOCK_MONOTONIC`): the time since any fixed origin.
    public init(
        synchronization: any ClockSynchronization, wallClock: @escaping @Sendable () -> UnixTime,
        monotonicClock: @escaping @Sendable () -> Duration
    ) {
        self.synchronization = synchronization
        self.wallClock = wallClock
        self.monotonicClock = monotonicClock
    }

    /// Trusted time now; `nil` while there is none.
    public func trustedNow() -> UnixTime? {
        if wasSynchronized || synchronization.isSynchronized() { return wallClock() }
        guard let anchor = meterAnchor else { return nil }
        return anchor.trusted + (monotonicClock() - anchor.monotonic)
    }

    /// Readings held now.
    public var heldCount: Int { held.count }

    /// Takes `input`, just read, and returns what may go to the aggregator now, in order: nothing while no trusted
    /// time is available, else the held readings (dated now) followed by `input`.
    public mutating func admit(_ input: Input) -> [Input] {
        let now = monotonicClock()
        if case .p1(let sample) = input, let meterTime = sample.details.meterTime, meterAnchor == nil {
            meterAnchor = (meterTime, now)
        }
        if synchronization.isSynchronized() { wasSynchronized = true }
        let synchronized = wasSynchronized
        let trustedNow: UnixTime
        if synchronized {
            trustedNow = wallClock()
        } else if let anchor = meterAnchor {
            trustedNow = anchor.trusted + (now - anchor.monotonic)
        } else {
            if held.count >= Self.capacity {
                held.remove(at: min(1, held.count - 1))
                dropped += 1
            }
            held.append((input, now))
            return []
        }
        isTrusted = true
        let released = held.map { $0.input.dated(trustedNow - (now - $0.monotonic)) }
        held.removeAll()
        // A synchronised clock dated the reading itself, more precisely than now; unless the reading was taken
        // before the clock was set (more than a minute off).
        let offset = input.time - trustedNow
        let ownDateFits = offset <= Self.ownDateTolerance && .zero - offset <= Self.ownDateTolerance
        let current = synchronized && ownDateFits ? input : input.dated(trustedNow)
        return released + [current]
    }
}
