import Foundation
import Logging

/// Secrets in configuration: the value itself, `env:NAME` (an environment variable) or `file:PATH` (the first line
/// of a file, which should be readable only by the user running emeter). Never logged.
enum Secret {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func resolve(_ text: String, field: String, logger: Logger) throws(Failure) -> String {
        if text.hasPrefix("env:") {
            let name = String(text.dropFirst(4))
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw Failure(description: "\(field): environment variable \(name) is not set")
            }
            return value
        }
        if text.hasPrefix("file:") {
            let path = String(text.dropFirst(5))
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw Failure(description: "\(field): cannot read \(path)")
            }
            if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0
            {
                logger.warning("secret file is readable by others; chmod 600 it",
                    metadata: ["field": "\(field)", "file": "\(path)"])
            }
            return contents.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        }
        return text
    }
}
