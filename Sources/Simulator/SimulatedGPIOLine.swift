import HAL

/// A fake GPIO line that is both an output (RESET) and an input (IRQ0/IRQ1).
///
/// A reference type so the test or the simulator keeps a handle on the same line the driver holds: the
/// simulator observes RESET through `onSet`, drives IRQ levels with `drive(_:)`, and answers
/// `waitForEdge(timeout:)` through `waitHandler` by advancing simulated time. Not `Sendable`: confined.
public final class SimulatedGPIOLine: GPIOOutput, GPIOInput {
    public let name: String
    /// Current level (`true` = high).
    public private(set) var level: Bool
    /// Every level set by the driver through `set(_:)`, in order.
    public private(set) var setLevels: [Bool] = []
    /// Edges waiting to be returned by `waitForEdge` (scripted, or produced by `drive(_:)`).
    public var pendingEdges: [GPIOEdgeEvent] = []
    /// At most this many unread edges are kept; older ones are dropped, like the kernel's bounded line-event
    /// buffer (16 events in gpiolib). Keeps a long polling run from growing without bound.
    public var edgeCapacity = 16
    /// Called after the driver set the line (e.g. the simulator watching RESET).
    public var onSet: ((Bool) -> Void)?
    /// Called by `waitForEdge` when no edge is pending: should advance time and `drive` the line, or return
    /// without an edge when `timeout` passed.
    public var waitHandler: ((Duration) -> Void)?
    /// When set, the next call fails with this error (then it is cleared).
    public var nextFailure: HALError?
    /// Optional clock for edge timestamps and for timeouts when there is no `waitHandler`.
    public let time: VirtualTime?

    public init(name: String, level: Bool = true, time: VirtualTime? = nil) {
        self.name = name
        self.level = level
        self.time = time
    }

    private func failIfScripted(_ operation: String) throws(HALError) {
        if var error = nextFailure {
            nextFailure = nil
            error.operation = operation
            throw error
        }
    }

    /// Drives the line from the device side (simulator or test); records an edge when the level changes.
    public func drive(_ high: Bool) {
        guard high != level else { return }
        level = high
        if pendingEdges.count >= edgeCapacity { pendingEdges.removeFirst(pendingEdges.count - edgeCapacity + 1) }
        pendingEdges.append(GPIOEdgeEvent(edge: high ? .rising : .falling, timestamp: time?.now ?? .zero))
    }

    // MARK: GPIOOutput

    public func set(_ high: Bool) throws(HALError) {
        try failIfScripted("gpiod_line_set_value")
        setLevels.append(high)
        level = high
        onSet?(high)
    }

    // MARK: GPIOInput (and GPIOOutput.get)

    public func get() throws(HALError) -> Bool {
        try failIfScripted("gpiod_line_get_value")
        return level
    }

    public func waitForEdge(timeout: Duration) throws(HALError) -> GPIOEdgeEvent? {
        try failIfScripted("gpiod_line_event_wait")
        if pendingEdges.isEmpty {
            if let waitHandler {
                waitHandler(timeout)
            } else {
                time?.advance(by: timeout)
            }
        }
        return pendingEdges.isEmpty ? nil : pendingEdges.removeFirst()
    }
}
