extension StringProtocol {
    /// The text without leading and trailing white space and line ends (no Foundation needed).
    func trimmingWhitespace() -> String { trimming(\.isWhitespace) }

    /// The text without leading and trailing characters for which `drop` holds.
    func trimming(_ drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }), let last = lastIndex(where: { !drop($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
