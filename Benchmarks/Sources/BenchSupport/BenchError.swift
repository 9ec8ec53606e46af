/// The one error type of the benchmark support code: a message naming the file, fixture or step that failed and
/// what was expected.
public struct BenchError: Error, CustomStringConvertible, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
