import Logging
import Synchronization

/// Log entries captured by ``HTTPCapturingLogHandler``.
final class HTTPLogCapture: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: String
    }

    private let storage = Mutex<[Entry]>([])

    var entries: [Entry] { storage.withLock { $0 } }

    func append(_ entry: Entry) { storage.withLock { $0.append(entry) } }

    /// A logger (level `trace`) writing into this capture.
    func logger(_ label: String = "test") -> Logger {
        Logger(label: label) { _ in HTTPCapturingLogHandler(capture: self) }
    }

    /// Everything logged, one line per entry, for "no secret appears" checks.
    var allText: String { entries.map { "\($0.level) \($0.message) \($0.metadata)" }.joined(separator: "\n") }
}

struct HTTPCapturingLogHandler: LogHandler {
    let capture: HTTPLogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    var metadataProvider: Logger.MetadataProvider?

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let text = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        capture.append(HTTPLogCapture.Entry(level: event.level, message: "\(event.message)", metadata: text))
    }
}
