import HAL

/// A fault given on the command line (`emeter simulate ade9000 --fault reset@300`) that could not be parsed.
public struct FaultSpecError: Error, Equatable, Sendable, CustomStringConvertible {
    public var spec: String
    public var reason: String
    public var description: String {
        "fault '\(spec)': \(reason) (expected NAME[:COUNT][@SECONDS] with NAME one of "
            + ADE9000Simulator.Fault.specNames.joined(separator: ", ") + ")"
    }
}

extension ADE9000Simulator.Fault {
    /// Names accepted by `parse(_:)`.
    public static let specNames = ["crc", "miso-stuck", "reset", "irq0-stuck-low", "irq0-stuck-high", "bus-error"]

    /// Parses `NAME[:COUNT][@SECONDS]`, e.g. `crc:3` (the next 3 CRC-carrying reads corrupted), `reset@300`
    /// (spontaneous chip reset at 300 s of virtual time), `miso-stuck@60`, `irq0-stuck-high`, `bus-error:2@10`.
    ///
    /// - Returns: The fault and when to inject it (`nil` = at once).
    public static func parse(_ spec: String) throws(FaultSpecError) -> (fault: Self, at: Duration?) {
        var text = Substring(spec.trimmingCharacters(in: " "))
        var at: Duration?
        if let sign = text.firstIndex(of: "@") {
            let secondsText = text[text.index(after: sign)...]
            guard let seconds = Double(secondsText), seconds.isFinite, seconds >= 0 else {
                throw FaultSpecError(spec: spec, reason: "'\(secondsText)' is not a number of seconds ≥ 0")
            }
            at = .milliseconds(Int64((seconds * 1000).rounded()))
            text = text[..<sign]
        }
        var count = 1
        if let colon = text.firstIndex(of: ":") {
            let countText = text[text.index(after: colon)...]
            guard let value = Int(countText), value > 0 else {
                throw FaultSpecError(spec: spec, reason: "'\(countText)' is not a count > 0")
            }
            count = value
            text = text[..<colon]
        }
        let fault: Self
        switch text.lowercased() {
        case "crc": fault = .corruptCRC(reads: count)
        case "miso-stuck": fault = .misoStuckHigh
        case "reset": fault = .chipReset
        case "irq0-stuck-low": fault = .irq0StuckLow
        case "irq0-stuck-high": fault = .irq0StuckHigh
        case "bus-error":
            fault = .busError(
                HALError(
                    .io, subsystem: "sim:ade9000", device: "ade9000", operation: "SPI_IOC_MESSAGE",
                    detail: "injected bus error"),
                transactions: count)
        default: throw FaultSpecError(spec: spec, reason: "unknown fault '\(text)'")
        }
        return (fault, at)
    }
}

extension ADE9000Simulator {
    /// Injects a parsed fault now, or schedules it for its time.
    public func apply(_ parsed: (fault: Fault, at: Duration?)) {
        if let at = parsed.at { schedule(parsed.fault, at: at) } else { inject(parsed.fault) }
    }
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
