import Firmware
/// Keeps glitches out of `total_increasing` sensors: a register value that is zero, not finite, or lower than the
/// last one published is replaced by the last good value (Home Assistant takes any drop of 10 % or more as a meter
/// reset and would book the whole register again as consumption when the real value returns).
public struct RegisterGuard: Sendable, Equatable {
    private var last: [String: Double] = [:]
    /// Values refused so far.
    public private(set) var refused = 0

    public init() {}

    /// The value to publish for `key`; `nil` when there has never been a good one.
    public mutating func admit(_ key: String, _ value: Double?) -> Double? {
        guard let value, value.isFinite, value > 0 else {
            if value != nil { refused += 1 }
            return last[key]
        }
        if let previous = last[key], value < previous {
            refused += 1
            return previous
        }
        last[key] = value
        return value
    }
}
