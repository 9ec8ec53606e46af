import HAL

/// Simulated time shared by a simulator, its fake GPIO lines and the driver's `VirtualDelay`.
///
/// A reference type on purpose (every party must see the same clock) and deliberately not `Sendable`:
/// it is confined to the one task that runs a test or `emeter simulate`.
public final class VirtualTime {
    /// Time since the start of the simulation.
    public private(set) var now: Duration

    public init(now: Duration = .zero) { self.now = now }

    /// Moves time forward; negative durations are ignored (time never runs backwards).
    public func advance(by duration: Duration) {
        if duration > .zero { now += duration }
    }

    /// Moves time forward to `instant` if it lies in the future.
    public func advance(to instant: Duration) {
        if instant > now { now = instant }
    }
}

/// A `Delay` that advances a `VirtualTime` instead of sleeping, so a driver's waits move simulated time.
public struct VirtualDelay: Delay {
    public let time: VirtualTime
    public init(_ time: VirtualTime) { self.time = time }
    public mutating func delay(_ duration: Duration) { time.advance(by: duration) }
}
