import YAML

#if canImport(Glibc)
    import Glibc
#endif

/// A problem in a YAML file (board, configuration, scenario, calibration), with where and what was expected.
///
/// `description` reads like
/// `boards/pi.yaml:7:5: ade9000.spi.max_speed_hz: expected at most 20000000 Hz (ADE9000 SPI limit), got 50000000`.
struct ConfigError: Error, CustomStringConvertible, Equatable {
    var file: String
    var line: Int?
    var column: Int?
    /// Dotted field path: `ade9000.gpio.reset`; empty for the whole document.
    var field: String
    var message: String

    var description: String {
        var location = file
        if let line { location += ":\(line)" + (column.map { ":\($0)" } ?? "") }
        return field.isEmpty ? "\(location): \(message)" : "\(location): \(field): \(message)"
    }
}

/// A semantic problem found after decoding, located by its field path.
struct FieldError: Error {
    var path: [String]
    var message: String

    init(_ path: [String], _ message: String) {
        self.path = path
        self.message = message
    }
}

/// Types decoded from YAML files that check their values beyond what `Codable` checks.
protocol ValidatedConfig: Codable {
    /// Every semantic problem, each with its field path; empty when valid.
    func problems() -> [FieldError]
}

/// Loads YAML files into `Codable` types with precise errors: syntax (line:column), unknown keys (with a
/// suggestion), missing or mistyped fields, and semantic checks, each naming file, line and field.
enum YAMLFile {
    /// Reads and decodes `path`.
    /// - Throws: `[ConfigError]` wrapped in `ConfigErrors`, one per problem found.
    static func load<T: ValidatedConfig>(_ type: T.Type, path: String) throws(ConfigErrors) -> T {
        let text: String
        do throws(ConfigError) {
            text = try readText(path)
        } catch {
            throw ConfigErrors([error])
        }
        return try decode(type, yaml: text, file: path)
    }

    /// Largest file read (board and configuration files are a few kB).
    static let maximumFileSize = 1 << 20

    /// The file's text, or an error saying why it cannot be had: missing, not readable by this user (naming the
    /// user, since the service runs as `emeter` and a root-only file is the usual mistake), too large, not UTF-8.
    static func readText(_ path: String) throws(ConfigError) -> String {
        func failure(_ message: String) -> ConfigError { ConfigError(file: path, field: "", message: message) }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw failure(openFailure(errno: errno, path: path, user: currentUserName()))
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(errno == EISDIR ? "is a directory; expected a YAML file" : "read failed (\(errnoText()))")
            }
            if count == 0 { break }
            bytes += chunk[..<count]
            if bytes.count > maximumFileSize {
                throw failure("larger than \(maximumFileSize / 1024) KiB; expected a YAML text file")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw failure("cannot be read as UTF-8 text")
        }
        return text
    }

    /// Why `open(2)` of a configuration file failed, in words; for `EACCES` with the fix for the service user.
    static func openFailure(errno code: Int32, path: String, user: String) -> String {
        switch code {
        case ENOENT: "no such file"
        case EACCES:
            "permission denied: user `\(user)` cannot read it (for the service: "
                + "`sudo chgrp emeter \(path) && sudo chmod 0640 \(path)`)"
        default: "cannot be opened (\(String(cString: strerror(code))))"
        }
    }

    private static func currentUserName() -> String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return "uid \(geteuid())" }
        return String(cString: name)
    }

    /// Decodes `yaml` (named `file` in errors).
    static func decode<T: ValidatedConfig>(_ type: T.Type, yaml: String, file: String) throws(ConfigErrors) -> T {
        let root: Node
        do {
            guard let node = try YAML.compose(yaml: yaml) else {
                throw ConfigErrors([
                    ConfigError(file: file, line: 1, field: "", message: "the file is empty; expected a YAML mapping")
                ])
            }
            root = node
        } catch let error as ConfigErrors {
            throw error
        } catch let error as YAMLError {
            throw ConfigErrors([
                ConfigError(
                    file: file, line: error.mark?.line, column: error.mark?.column, field: "",
                    message: "invalid YAML: \(error.problem)")
            ])
        } catch {
            throw ConfigErrors([ConfigError(file: file, field: "", message: "invalid YAML: \(error)")])
        }
        guard root.mapping != nil else {
            throw ConfigErrors([
                ConfigError(
                    file: file, line: root.mark?.line, column: root.mark?.column, field: "",
                    message: "expected a mapping of keys (like `name: …`) at the top level, found \(kindName(root))")
            ])
        }
        let value: T
        do {
            value = try YAMLDecoder().decode(T.self, from: root)
        } catch let error as DecodingError {
            throw ConfigErrors([decodingError(error, root: root, file: file)])
        } catch {
            throw ConfigErrors([ConfigError(file: file, field: "", message: "\(error)")])
        }
        var errors = unknownKeys(in: root, decoded: value, schema: KeySchema(T.self), file: file)
        errors += value.problems().map { problem in
            let mark = node(at: problem.path, in: root)?.mark
            return ConfigError(
                file: file, line: mark?.line, column: mark?.column,
                field: problem.path.joined(separator: "."), message: problem.message)
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return value
    }

    // MARK: - Locating and explaining problems

    static func node(at path: [String], in root: Node) -> Node? {
        var current: Node? = root
        var lastFound: Node? = root
        for component in path {
            guard let node = current else { break }
            if let mapping = node.mapping {
                current = mapping[component]
            } else if let sequence = node.sequence, let index = Int(component), sequence.indices.contains(index) {
                current = sequence[index]
            } else {
                current = nil
            }
            if let current { lastFound = current }
        }
        return current ?? lastFound
    }

    private static func kindName(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): "the value `\(scalar.string)`"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }

    private static func path(_ codingPath: [any CodingKey]) -> [String] {
        codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
    }

    private static func decodingError(_ error: DecodingError, root: Node, file: String) -> ConfigError {
        let (codingPath, message): ([any CodingKey], String) =
            switch error {
            case .keyNotFound(let key, let context):
                (context.codingPath + [key], "is missing; it is required here")
            case .typeMismatch(let type, let context):
                (context.codingPath, "expected \(describe(type))\(found(context.codingPath, root))")
            case .valueNotFound(let type, let context):
                (context.codingPath, "expected \(describe(type)), found nothing")
            case .dataCorrupted(let context):
                (context.codingPath, context.debugDescription + found(context.codingPath, root))
            @unknown default:
                ([], "\(error)")
            }
        let fieldPath = path(codingPath)
        let located = node(at: fieldPath, in: root)
        return ConfigError(
            file: file, line: located?.mark?.line, column: located?.mark?.column,
            field: fieldPath.joined(separator: "."), message: message)
    }

    private static func found(_ codingPath: [any CodingKey], _ root: Node) -> String {
        guard let node = node(at: path(codingPath), in: root), path(codingPath).count > 0 else { return "" }
        return ", found \(kindName(node))"
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type, is UInt32.Type, is UInt8.Type, is UInt16.Type, is Int32.Type: "a whole number"
        case is Double.Type, is Float.Type: "a number"
        case is String.Type: "text"
        case is Bool.Type: "true or false"
        default: "\(type)"
        }
    }

    /// Keys present in the file (with a value) that decoding did not use: typos and misplaced settings.
    /// Found by encoding the decoded value again and comparing key sets level by level.
    private static func unknownKeys<T: Encodable>(in root: Node, decoded: T, schema: KeySchema, file: String)
        -> [ConfigError]
    {
        guard let encoded = try? YAMLEncoder().encodeToNode(decoded) else { return [] }
        var errors: [ConfigError] = []
        func walk(_ source: Node, _ known: Node?, _ path: [String]) {
            if let mapping = source.mapping {
                let knownMapping = known?.mapping
                for (keyNode, value) in mapping {
                    let key = keyNode.string ?? "?"
                    if value.isNull { continue }
                    if let knownValue = knownMapping?[key] {
                        walk(value, knownValue, path + [key])
                    } else if knownMapping != nil || known == nil {
                        let candidates = schema.keys(at: path)
                        let hint = suggestion(for: key, among: candidates)
                        errors.append(
                            ConfigError(
                                file: file, line: keyNode.mark?.line, column: keyNode.mark?.column,
                                field: (path + [key]).joined(separator: "."),
                                message: "unknown key" + (hint.map { "; did you mean `\($0)`?" } ?? "")
                                    + (candidates.isEmpty ? "" : " (known here: \(candidates.joined(separator: ", ")))")
                            ))
                    }
                }
            } else if let sequence = source.sequence, let knownSequence = known?.sequence {
                for (index, element) in sequence.enumerated() where index < knownSequence.count {
                    walk(element, knownSequence[index], path + [String(index)])
                }
            }
        }
        walk(root, encoded, [])
        return errors
    }

    /// The closest known key by edit distance, when it is close enough to be a typo.
    static func suggestion(for key: String, among candidates: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var previous = Array(0...b.count)
            for (i, ca) in a.enumerated() {
                var current = [i + 1] + Array(repeating: 0, count: b.count)
                for (j, cb) in b.enumerated() {
                    current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1))
                }
                previous = current
            }
            return previous[b.count]
        }
        let scored = candidates.map { ($0, distance(Array(key.lowercased()), Array($0.lowercased()))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= max(2, key.count / 3) else { return nil }
        return best.0
    }
}

/// One or more problems in one file; `description` lists them one per line.
struct ConfigErrors: Error, CustomStringConvertible {
    var errors: [ConfigError]
    init(_ errors: [ConfigError]) { self.errors = errors }
    var description: String { errors.map(\.description).joined(separator: "\n") }
}
