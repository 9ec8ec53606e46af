/// A GPIO line driven by us (RESET, PM0/PM1, a P1 cable's data-request line).
public protocol GPIOOutput {
    /// Drives the line high (`true`) or low. On Linux the corresponding call is `gpiod_line_set_value`.
    mutating func set(_ high: Bool) throws(HALError)
    /// The level last driven. On Linux the corresponding call is `gpiod_line_get_value`.
    mutating func get() throws(HALError) -> Bool
}

/// Which transition of an input line is of interest.
public enum GPIOEdge: String, Sendable, Codable, CaseIterable {
    case rising, falling, both
}

/// One edge seen on an input line.
public struct GPIOEdgeEvent: Equatable, Sendable {
    /// `.rising` or `.falling` (never `.both`).
    public var edge: GPIOEdge
    /// When the kernel saw the edge, on the monotonic clock (libgpiod's event timestamp).
    public var timestamp: Duration

    public init(edge: GPIOEdge, timestamp: Duration) {
        self.edge = edge
        self.timestamp = timestamp
    }
}

/// A GPIO line we read (the ADE9000's IRQ0/IRQ1, a button).
public protocol GPIOInput {
    /// The current level. On Linux the corresponding call is `gpiod_line_get_value`.
    mutating func get() throws(HALError) -> Bool
    /// Waits up to `timeout` for an edge the line was requested for.
    ///
    /// - Returns: The event, or `nil` when the timeout passed without one.
    /// On Linux the corresponding calls are `gpiod_line_event_wait` and `gpiod_line_event_read`.
    mutating func waitForEdge(timeout: Duration) throws(HALError) -> GPIOEdgeEvent?
}
