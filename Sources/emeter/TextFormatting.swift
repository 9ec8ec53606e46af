#if canImport(Glibc)
    import Glibc
#endif

/// Small text helpers of the CLI, so it needs no full Foundation (whose ICU data would triple the binary's size).

/// `value` with exactly `digits` digits after the point, rounded half away from zero (`format(2.2766, 3)` →
/// `2.277`); `nan`, `inf` and `-inf` for non-finite values.
func format(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return value.isNaN ? "nan" : value < 0 ? "-inf" : "inf" }
    let digits = max(0, min(digits, 9))
    var divisor: Int64 = 1
    for _ in 0..<digits { divisor *= 10 }
    let scaled = (value.magnitude * Double(divisor)).rounded()
    guard scaled < 9.0e15 else { return "\(value)" }
    let units = Int64(scaled)
    var text = value < 0 && units != 0 ? "-" : ""
    text += String(units / divisor)
    if digits > 0 {
        let fraction = String(units % divisor)
        text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
    return text
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs and line breaks.
    var trimmed: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

/// The directory for temporary files: `$TMPDIR`, else `/tmp` (no trailing slash).
func temporaryDirectory() -> String {
    var directory = getenv("TMPDIR").map { String(cString: $0) } ?? ""
    while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
    return directory.isEmpty ? "/tmp" : directory
}
