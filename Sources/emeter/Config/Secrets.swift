import FoundationEssentials
import Logging

/// Secrets in configuration: the value itself, `env:NAME` (an environment variable) or `file:PATH` (the first line
/// of a file, which should be readable only by the user running emeter). Never logged.
enum Secret {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func resolve(_ text: String, field: String, logger: Logger) throws(Failure) -> String {
        try resolve(text, field: field) { message in logger.warning("\(message)", metadata: ["field": "\(field)"]) }
    }

    /// As ``resolve(_:field:logger:)``, with warnings (a secret file others can read) handed to `warn`.
    static func resolve(_ text: String, field: String, warn: (String) -> Void) throws(Failure) -> String {
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
                warn("secret file \(path) is readable by others; chmod 600 it")
            }
            return contents.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        }
        return text
    }

    /// Whether `text` is the secret itself rather than `env:NAME` or `file:PATH`.
    static func isInline(_ text: String) -> Bool { !text.hasPrefix("env:") && !text.hasPrefix("file:") }
}

/// Parses exactly `byteCount` bytes written as hex digits (AES keys in board files and options).
func hexBytes(_ text: String, byteCount: Int) -> [UInt8]? {
    let digits = Array(text.trimmed.utf8)
    guard digits.count == byteCount * 2 else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(byteCount)
    for index in stride(from: 0, to: digits.count, by: 2) {
        guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else {
            return nil
        }
        bytes.append(byte)
    }
    return bytes
}
