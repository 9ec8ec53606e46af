#if canImport(CGPIOD)
    import CGPIOD
    import Glibc
    import SystemPackage

    /// A GPIO chip opened through libgpiod 1.6 (`/dev/gpiochip0`, `gpiochip0`, `0` or a chip label).
    /// Closed in `deinit`, after every line requested from it is released. Not `Sendable`.
    public final class GPIODChip {
        public let name: String
        let chip: OpaquePointer

        /// The corresponding C function is `gpiod_chip_open_lookup`.
        public init(_ name: String) throws(HALError) {
            self.name = name
            errno = 0
            guard let chip = gpiod_chip_open_lookup(name) else {
                let code = errno == 0 ? ENOENT : errno
                throw HALError(
                    subsystem: "gpiod", device: name, operation: "gpiod_chip_open_lookup",
                    errno: Errno(rawValue: code))
            }
            self.chip = chip
        }

        deinit { gpiod_chip_close(chip) }
    }

    /// Which line of a chip: by offset or by the name in the device tree (`GPIO17`, `ADE_IRQ0`).
    public enum GPIOLineSelector: Equatable, Sendable, CustomStringConvertible {
        case offset(UInt32)
        case name(String)

        public var description: String {
            switch self {
            case .offset(let offset): "line \(offset)"
            case .name(let name): "line \"\(name)\""
            }
        }
    }

    /// One requested GPIO line (libgpiod 1.6 line API), output or input with edge events.
    ///
    /// The line is released in `deinit`; it keeps its chip open. Not `Sendable`: confined to its owner.
    public final class GPIODLine: GPIOOutput, GPIOInput {
        public let chip: GPIODChip
        public let selector: GPIOLineSelector
        private let line: OpaquePointer
        private var device: String { "\(chip.name) \(selector)" }

        private init(chip: GPIODChip, selector: GPIOLineSelector) throws(HALError) {
            self.chip = chip
            self.selector = selector
            errno = 0
            let found: OpaquePointer? =
                switch selector {
                case .offset(let offset): gpiod_chip_get_line(chip.chip, offset)
                case .name(let name): gpiod_chip_find_line(chip.chip, name)
                }
            guard let found else {
                let code = errno == 0 ? ENOENT : errno
                throw HALError(
                    subsystem: "gpiod", device: "\(chip.name) \(selector)",
                    operation: selector.isName ? "gpiod_chip_find_line" : "gpiod_chip_get_line",
                    errno: Errno(rawValue: code))
            }
            self.line = found
        }

        /// Requests `selector` on `chip` as an output driven to `initial`, labelled `consumer` (shown by `gpioinfo`).
        /// The corresponding C function is `gpiod_line_request_output`.
        public static func output(chip: GPIODChip, _ selector: GPIOLineSelector, consumer: String, initial: Bool)
            throws(HALError) -> GPIODLine
        {
            let line = try GPIODLine(chip: chip, selector: selector)
            if gpiod_line_request_output(line.line, consumer, initial ? 1 : 0) != 0 {
                throw HALError(
                    subsystem: "gpiod", device: line.device, operation: "gpiod_line_request_output",
                    errno: Errno(rawValue: errno))
            }
            return line
        }

        /// Requests `selector` on `chip` as an input; with `edge`, edge events are delivered to `waitForEdge`.
        /// The corresponding C functions are `gpiod_line_request_input` and `gpiod_line_request_*_edge_events`.
        public static func input(chip: GPIODChip, _ selector: GPIOLineSelector, consumer: String, edge: GPIOEdge?)
            throws(HALError) -> GPIODLine
        {
            let line = try GPIODLine(chip: chip, selector: selector)
            let (result, call): (CInt, String) =
                switch edge {
                case nil: (gpiod_line_request_input(line.line, consumer), "gpiod_line_request_input")
                case .rising?:
                    (
                        gpiod_line_request_rising_edge_events(line.line, consumer),
                        "gpiod_line_request_rising_edge_events"
                    )
                case .falling?:
                    (
                        gpiod_line_request_falling_edge_events(line.line, consumer),
                        "gpiod_line_request_falling_edge_events"
                    )
                case .both?:
                    (gpiod_line_request_both_edges_events(line.line, consumer), "gpiod_line_request_both_edges_events")
                }
            if result != 0 {
                throw HALError(subsystem: "gpiod", device: line.device, operation: call, errno: Errno(rawValue: errno))
            }
            return line
        }

        deinit { gpiod_line_release(line) }

        public func set(_ high: Bool) throws(HALError) {
            if gpiod_line_set_value(line, high ? 1 : 0) != 0 {
                throw HALError(
                    subsystem: "gpiod", device: device, operation: "gpiod_line_set_value",
                    errno: Errno(rawValue: errno))
            }
        }

        public func get() throws(HALError) -> Bool {
            let value = gpiod_line_get_value(line)
            if value < 0 {
                throw HALError(
                    subsystem: "gpiod", device: device, operation: "gpiod_line_get_value",
                    errno: Errno(rawValue: errno))
            }
            return value == 1
        }

        public func waitForEdge(timeout: Duration) throws(HALError) -> GPIOEdgeEvent? {
            let (seconds, attoseconds) = timeout.components
            var wait = timespec(tv_sec: Int(max(0, seconds)), tv_nsec: Int(max(0, attoseconds) / 1_000_000_000))
            let ready: CInt
            do {
                ready = try retryingOnInterrupt { gpiod_line_event_wait(line, &wait) }.get()
            } catch {
                throw HALError(subsystem: "gpiod", device: device, operation: "gpiod_line_event_wait", errno: error)
            }
            if ready == 0 { return nil }
            var event = gpiod_line_event()
            do {
                _ = try retryingOnInterrupt { gpiod_line_event_read(line, &event) }.get()
            } catch {
                throw HALError(subsystem: "gpiod", device: device, operation: "gpiod_line_event_read", errno: error)
            }
            let edge: GPIOEdge = event.event_type == CInt(GPIOD_LINE_EVENT_RISING_EDGE) ? .rising : .falling
            return GPIOEdgeEvent(edge: edge, timestamp: .seconds(event.ts.tv_sec) + .nanoseconds(event.ts.tv_nsec))
        }
    }

    extension GPIOLineSelector {
        fileprivate var isName: Bool {
            if case .name = self { return true }
            return false
        }
    }
#endif
