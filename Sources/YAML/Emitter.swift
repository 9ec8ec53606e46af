/// Writes a node tree as block-style YAML text (two spaces per level, `- ` entries, `[]`/`{}` when empty).
enum Emitter {
    static func text(of node: Node) -> String {
        var out = ""
        switch node {
        case .scalar(let scalar): out = text(of: scalar) + "\n"
        case .mapping(let mapping) where mapping.isEmpty: out = "{}\n"
        case .sequence(let sequence) where sequence.isEmpty: out = "[]\n"
        case .mapping(let mapping): write(mapping, indent: 0, continuing: false, to: &out)
        case .sequence(let sequence): write(sequence, indent: 0, continuing: false, to: &out)
        }
        return out
    }

    /// Writes the value after `key:` or `-`: a scalar or empty collection on the same line, else the collection
    /// on the next lines (mappings in sequences start on the `-` line).
    private static func writeValue(_ node: Node, indent: Int, inSequence: Bool, to out: inout String) {
        switch node {
        case .scalar(let scalar): out += " " + text(of: scalar) + "\n"
        case .mapping(let mapping) where mapping.isEmpty: out += " {}\n"
        case .sequence(let sequence) where sequence.isEmpty: out += " []\n"
        case .mapping(let mapping) where inSequence:
            out += " "
            write(mapping, indent: indent, continuing: true, to: &out)
        case .sequence(let sequence) where inSequence:
            out += " "
            write(sequence, indent: indent, continuing: true, to: &out)
        case .mapping(let mapping):
            out += "\n"
            write(mapping, indent: indent, continuing: false, to: &out)
        case .sequence(let sequence):
            out += "\n"
            write(sequence, indent: indent, continuing: false, to: &out)
        }
    }

    /// `continuing`: the first line's indentation is already written (after `- `).
    private static func write(_ mapping: Node.Mapping, indent: Int, continuing: Bool, to out: inout String) {
        for (index, pair) in mapping.enumerated() {
            if index > 0 || !continuing { out += String(repeating: " ", count: indent) }
            out += (pair.key.scalar.map(text(of:)) ?? "\"\"") + ":"
            writeValue(pair.value, indent: indent + 2, inSequence: false, to: &out)
        }
    }

    private static func write(_ sequence: Node.Sequence, indent: Int, continuing: Bool, to out: inout String) {
        for (index, item) in sequence.enumerated() {
            if index > 0 || !continuing { out += String(repeating: " ", count: indent) }
            out += "-"
            writeValue(item, indent: indent + 2, inSequence: true, to: &out)
        }
    }

    /// A scalar as written: plain as is (empty plain as `null`), anything else double-quoted.
    static func text(of scalar: Node.Scalar) -> String {
        if scalar.style == .plain { return scalar.string.isEmpty ? "null" : scalar.string }
        return doubleQuoted(scalar.string)
    }

    static func doubleQuoted(_ string: String) -> String {
        var out = "\""
        for c in string.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\0": out += "\\0"
            case "\u{2028}": out += "\\L"
            case "\u{2029}": out += "\\P"
            case "\u{FEFF}": out += "\\uFEFF"
            case _ where isControl(c):
                let hex = String(c.value, radix: 16, uppercase: true)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }

    /// Whether `string` must be quoted to read back as the same string (as text, not null, bool or number).
    static func needsQuotes(_ string: String) -> Bool {
        let scalars = Array(string.unicodeScalars)
        guard let first = scalars.first, let last = scalars.last else { return true }
        if first == " " || last == " " || last == ":" || string.hasPrefix("...") { return true }
        if "-?:,[]{}#&*!|>'\"%@`".unicodeScalars.contains(first) { return true }
        for (index, c) in scalars.enumerated() {
            if isControl(c) || c == "\t" || c == "\u{2028}" || c == "\u{2029}" || c == "\u{FEFF}" { return true }
            if c == ":" && index + 1 < scalars.count && scalars[index + 1] == " " { return true }
            if c == "#" && scalars[index - 1] == " " { return true }  // index > 0: `#` first returned above
        }
        return ScalarValues.isNull(string) || ScalarValues.bool(string) != nil
            || ScalarValues.integer(string, as: Int64.self) != nil || ScalarValues.float(string, as: Double.self) != nil
    }

    private static func isControl(_ c: Unicode.Scalar) -> Bool {
        c.value < 0x20 || (0x7F...0x9F).contains(c.value)
    }
}
