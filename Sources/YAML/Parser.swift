/// Reads one YAML document into a ``Node`` tree.
///
/// Supported: block mappings and sequences, flow collections, plain/quoted/block scalars, comments, `---`/`...`,
/// anchors and aliases (expanded into copies). Refused with a ``YAMLError``: tags, directives, complex keys (`? `),
/// anchors or aliases as keys, a second document, tab indentation, nesting deeper than 100 levels and alias
/// expansion beyond 100 000 nodes.
///
/// An empty value (`key:` or `-` with nothing after it) is a plain, empty, null scalar whose mark is the position
/// just after its `:` or `-`.
///
/// - Returns: the document's root node, or `nil` when the text holds no node (only comments, whitespace, markers).
/// - Throws: ``YAMLError`` with the mark of the problem.
public func compose(yaml: String) throws(YAMLError) -> Node? {
    var parser = Parser(yaml)
    return try parser.document()
}

/// A recursive-descent parser over the text's Unicode scalars. Every function runs in time linear in what it reads;
/// recursion is bounded by ``Parser/maxDepth``.
struct Parser {
    static let maxDepth = 100
    static let maxNodes = 100_000

    private let text: [Unicode.Scalar]
    private var pos = 0
    private var line = 1
    private var lineStart = 0
    private var depth = 0
    /// Nodes created so far, counting alias copies in full.
    private var nodeCount = 0
    private var anchors: [String: (node: Node, size: Int)] = [:]

    init(_ yaml: String) {
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(yaml.utf8.count)
        var previous: Unicode.Scalar = "\0"
        for scalar in yaml.unicodeScalars {
            // Normalise line breaks (`\r\n`, `\r`) to `\n`; columns are unaffected.
            if scalar == "\n" && previous == "\r" {
            } else if scalar == "\r" {
                scalars.append("\n")
            } else if !(scalars.isEmpty && scalar == "\u{FEFF}") {
                scalars.append(scalar)
            }
            previous = scalar
        }
        text = scalars
    }

    // MARK: - Document

    mutating func document() throws(YAMLError) -> Node? {
        try skipToNextToken()
        if peek() == "%" { throw error("directives are not supported") }
        var explicitStart = false
        if atDocumentMarker("-") {
            advance(3)
            explicitStart = true
        }
        let root = try blockNode(parent: -1, compactSequence: false, collectionsOnSameLine: !explicitStart)
        if atDocumentMarker(".") {
            advance(3)
            try endOfLine()
        }
        if atDocumentMarker("-") { throw error("found a second document; only one document is supported") }
        if !atEnd { throw error("did not find expected end of document") }
        return root
    }

    // MARK: - Block nodes

    /// Parses the node after `key:`, after `- `, or at the document root; `nil` when the value is empty.
    /// `parent` is the indentation of the enclosing collection (-1 at the root). Returns at the next token.
    private mutating func blockNode(parent: Int, compactSequence: Bool, collectionsOnSameLine: Bool)
        throws(YAMLError) -> Node?
    {
        let indicatorLine = line
        let emptyMark = mark
        try skipToNextToken()
        var sameLine = line == indicatorLine
        guard startsNode(parent: parent, compactSequence: compactSequence, sameLine: sameLine) else { return nil }
        var anchor: (name: String, mark: Mark)?
        if peek() == "&" {
            anchor = try scanAnchor()
            let anchorLine = line
            try skipToNextToken()
            if line != anchorLine {
                sameLine = false
                guard startsNode(parent: parent, compactSequence: compactSequence, sameLine: false) else {
                    let node = emptyNode(at: emptyMark)
                    if let anchor { anchors[anchor.name] = (node, 1) }
                    return node
                }
            }
        }
        let before = nodeCount
        let inlineOnly = sameLine && !collectionsOnSameLine
        let node = try blockContent(
            parent: parent, compactSequence: compactSequence, inlineOnly: inlineOnly,
            anchorOnSameLine: anchor != nil && sameLine)
        if let anchor { anchors[anchor.name] = (node, nodeCount - before) }
        return node
    }

    /// Whether the token at the cursor starts the node of a collection indented at `parent`.
    private func startsNode(parent: Int, compactSequence: Bool, sameLine: Bool) -> Bool {
        if atEnd || atDocumentMarker("-") || atDocumentMarker(".") { return false }
        if sameLine { return true }
        return column > parent || (column == parent && compactSequence && atSequenceEntry)
    }

    private mutating func blockContent(parent: Int, compactSequence: Bool, inlineOnly: Bool, anchorOnSameLine: Bool)
        throws(YAMLError) -> Node
    {
        let start = mark
        switch peek() {
        case "-" where atSequenceEntry:
            if inlineOnly { throw error("block sequence entries are not allowed here") }
            return try blockSequence(compact: compactSequence && column == parent)
        case "?" where isBlank(peek(1)):
            throw error("complex keys (`? `) are not supported")
        case "[", "{":
            let node = try flowNode()
            try endOfValue()
            return node
        case "|", ">":
            let node = try blockScalar(parent: parent)
            try skipToNextToken()
            return node
        case "*":
            let node = try alias()
            try endOfValue()
            return node
        case "&":
            throw error("a node cannot have two anchors")
        default:
            if !inlineOnly && isImplicitKey() {
                if anchorOnSameLine {
                    throw YAMLError(mark: start, problem: "anchors on mapping keys are not supported")
                }
                return try blockMapping()
            }
            let node = try scalarNode(flow: false, parent: parent)
            try endOfValue()
            return node
        }
    }

    private mutating func blockMapping() throws(YAMLError) -> Node {
        let indent = column
        let start = mark
        try enterCollection()
        var pairs: [Node.Mapping.Element] = []
        var keys: Set<String> = []
        while true {
            let key = try implicitKey()
            skipSpaces()
            guard peek() == ":" && isBlank(peek(1)) else { throw error("could not find expected ':'") }
            advance()
            guard let keyText = key.string, keys.insert(keyText).inserted else {
                throw YAMLError(mark: key.mark, problem: "duplicate key `\(key.string ?? "")`")
            }
            let valueMark = mark
            let value = try blockNode(parent: indent, compactSequence: true, collectionsOnSameLine: false)
            pairs.append((key, value ?? emptyNode(at: valueMark)))
            if atEnd || atDocumentMarker("-") || atDocumentMarker(".") || column < indent { break }
            if column > indent { throw error("bad indentation of a mapping entry") }
            if atSequenceEntry { throw error("did not find expected key") }
        }
        depth -= 1
        return .mapping(Node.Mapping(pairs, mark: start))
    }

    /// A key of a block mapping: a single-line plain or quoted scalar.
    private mutating func implicitKey() throws(YAMLError) -> Node {
        switch peek() {
        case "?" where isBlank(peek(1)): throw error("complex keys (`? `) are not supported")
        case "[", "{": throw error("complex keys (flow collections as keys) are not supported")
        case "*": throw error("aliases as mapping keys are not supported")
        case "&": throw error("anchors on mapping keys are not supported")
        case "!": throw error("tags are not supported")
        case "\"", "'":
            let start = mark
            let style: Node.Scalar.Style = peek() == "\"" ? .doubleQuoted : .singleQuoted
            guard let text = try scanQuoted(singleLine: true) else { throw error("could not find expected ':'") }
            return scalar(text, style: style, at: start)
        default:
            guard canStartPlain(flow: false) else { throw error("did not find expected key") }
            let start = mark
            return scalar(scanPlain(flow: false, parent: -1, multiLine: false), style: .plain, at: start)
        }
    }

    /// Whether a single-line scalar at the cursor is followed by `: ` (it is a mapping key). Does not move.
    private mutating func isImplicitKey() -> Bool {
        let saved = (pos, line, lineStart)
        defer { (pos, line, lineStart) = saved }
        switch peek() {
        case "\"", "'":
            guard (try? scanQuoted(singleLine: true)) != nil else { return false }
        default:
            guard canStartPlain(flow: false) else { return false }
            _ = scanPlain(flow: false, parent: -1, multiLine: false)
        }
        skipSpaces()
        return peek() == ":" && isBlank(peek(1))
    }

    private mutating func blockSequence(compact: Bool) throws(YAMLError) -> Node {
        let indent = column
        let start = mark
        try enterCollection()
        var items: [Node] = []
        while true {
            advance()  // the `-`
            let entryMark = mark
            let item = try blockNode(parent: indent, compactSequence: false, collectionsOnSameLine: true)
            items.append(item ?? emptyNode(at: entryMark))
            if atEnd || atDocumentMarker("-") || atDocumentMarker(".") || column < indent { break }
            if column > indent { throw error("bad indentation of a sequence entry") }
            if !atSequenceEntry {
                if compact { break }
                throw error("did not find expected '-' indicator")
            }
        }
        depth -= 1
        return .sequence(Node.Sequence(items, mark: start))
    }

    /// After a value on a line: only spaces and a comment may follow before the line break.
    private mutating func endOfValue() throws(YAMLError) {
        skipSpaces()
        if peek() == ":" && isBlank(peek(1)) { throw error("mapping values are not allowed here") }
        try endOfLine()
    }

    /// Only spaces and a comment up to the end of the line, then on to the next token.
    private mutating func endOfLine() throws(YAMLError) {
        skipSpaces()
        if peek() == "#" && isBlank(peekBack()) { skipComment() }
        if !atEnd && peek() != "\n" { throw error("did not find expected comment or line break") }
        try skipToNextToken()
    }

    // MARK: - Flow collections

    /// A node inside (or starting) a flow collection.
    private mutating func flowNode() throws(YAMLError) -> Node {
        switch peek() {
        case "[": return try flowSequence()
        case "{": return try flowMapping()
        case "*": return try alias()
        case "&":
            let anchor = try scanAnchor()
            try skipFlowSpace()
            let before = nodeCount
            let node: Node
            if let next = peek(), ",]}".unicodeScalars.contains(next) {
                node = emptyNode(at: mark)
            } else if peek() == "&" {
                throw error("a node cannot have two anchors")
            } else {
                node = try flowNode()
            }
            anchors[anchor.name] = (node, nodeCount - before)
            return node
        case "?" where isBlank(peek(1)):
            throw error("complex keys (`? `) are not supported")
        case "|", ">":
            throw error("block scalars are not allowed inside flow collections")
        case nil, ",", "]", "}":
            throw error("did not find expected node content")
        default:
            return try scalarNode(flow: true, parent: -1)
        }
    }

    private mutating func flowSequence() throws(YAMLError) -> Node {
        let start = mark
        try enterCollection()
        advance()  // `[`
        var items: [Node] = []
        while true {
            try skipFlowSpace()
            if peek() == "]" { break }
            if atEnd { throw error("did not find expected ',' or ']'") }
            let entry = try flowNode()
            try skipFlowSpace()
            if peek() == ":" && (isBlank(peek(1)) || isFlowIndicator(peek(1)) || entry.scalar?.style != .plain) {
                // A single-pair mapping: `[key: value]`.
                guard entry.scalar != nil else {
                    throw YAMLError(mark: entry.mark, problem: "complex keys (collections as keys) are not supported")
                }
                advance()
                let valueMark = mark
                try skipFlowSpace()
                let value = peek() == "," || peek() == "]" ? emptyNode(at: valueMark) : try flowNode()
                nodeCount += 1
                items.append(.mapping(Node.Mapping([(entry, value)], mark: entry.mark)))
                try skipFlowSpace()
            } else {
                items.append(entry)
            }
            if peek() == "," {
                advance()
            } else if peek() != "]" {
                throw error("did not find expected ',' or ']'")
            }
        }
        advance()  // `]`
        depth -= 1
        return .sequence(Node.Sequence(items, mark: start))
    }

    private mutating func flowMapping() throws(YAMLError) -> Node {
        let start = mark
        try enterCollection()
        advance()  // `{`
        var pairs: [Node.Mapping.Element] = []
        var keys: Set<String> = []
        while true {
            try skipFlowSpace()
            if peek() == "}" { break }
            if atEnd { throw error("did not find expected ',' or '}'") }
            let key = try flowNode()
            guard let keyText = key.string else {
                throw YAMLError(mark: key.mark, problem: "complex keys (collections as keys) are not supported")
            }
            guard keys.insert(keyText).inserted else {
                throw YAMLError(mark: key.mark, problem: "duplicate key `\(keyText)`")
            }
            try skipFlowSpace()
            if peek() == ":" {
                advance()
                let valueMark = mark
                try skipFlowSpace()
                pairs.append((key, peek() == "," || peek() == "}" ? emptyNode(at: valueMark) : try flowNode()))
                try skipFlowSpace()
            } else {
                pairs.append((key, emptyNode(at: mark)))
            }
            if peek() == "," {
                advance()
            } else if peek() != "}" {
                throw error("did not find expected ',' or '}'")
            }
        }
        advance()  // `}`
        depth -= 1
        return .mapping(Node.Mapping(pairs, mark: start))
    }

    /// Skips whitespace, line breaks and comments inside a flow collection.
    private mutating func skipFlowSpace() throws(YAMLError) {
        while let c = peek() {
            if c == " " || c == "\t" || c == "\n" {
                advance()
            } else if c == "#" && isBlank(peekBack()) {
                skipComment()
            } else {
                if column == 0 && (atDocumentMarker("-") || atDocumentMarker(".")) {
                    throw error("document markers are not allowed inside flow collections")
                }
                return
            }
        }
    }

    // MARK: - Scalars, anchors, aliases

    /// A plain or quoted scalar (block or flow context).
    private mutating func scalarNode(flow: Bool, parent: Int) throws(YAMLError) -> Node {
        let start = mark
        switch peek() {
        case "\"":
            return scalar(try scanQuoted(singleLine: false) ?? "", style: .doubleQuoted, at: start)
        case "'":
            return scalar(try scanQuoted(singleLine: false) ?? "", style: .singleQuoted, at: start)
        case "!":
            throw error("tags are not supported")
        default:
            guard canStartPlain(flow: flow) else { throw error("found character that cannot start any token") }
            return scalar(scanPlain(flow: flow, parent: parent, multiLine: true), style: .plain, at: start)
        }
    }

    private func canStartPlain(flow: Bool) -> Bool {
        guard let c = peek(), !isBlank(c) else { return false }
        if "-?:".unicodeScalars.contains(c) {
            return !isBlank(peek(1)) && !(flow && isFlowIndicator(peek(1)))
        }
        return !",[]{}#&*!|>'\"%@`".unicodeScalars.contains(c)
    }

    /// Scans a plain scalar; continuation lines must be indented more than `parent` and are folded.
    /// Stops before `: `, ` #`, a line break it does not continue past, and (in flow) `,[]{}`.
    private mutating func scanPlain(flow: Bool, parent: Int, multiLine: Bool) -> String {
        var result = String.UnicodeScalarView()
        while true {
            var contentEnd = pos
            let lineBegin = pos
            while let c = peek(), c != "\n" {
                if c == ":" && (isBlank(peek(1)) || (flow && isFlowIndicator(peek(1)))) { break }
                if c == "#" && isBlank(peekBack()) { break }
                if flow && isFlowIndicator(c) { break }
                advance()
                if c != " " && c != "\t" { contentEnd = pos }
            }
            result.append(contentsOf: text[lineBegin..<contentEnd])
            let atBreak = peek() == "\n"
            pos = contentEnd  // trailing blanks are not content (same line: line/lineStart unchanged)
            guard multiLine, atBreak else { return String(result) }
            // Continue onto following lines when they are indented enough.
            let saved = (pos, line, lineStart)
            skipSpaces()
            var breaks = 0
            while peek() == "\n" {
                advance()
                breaks += 1
                while peek() == " " || (flow && peek() == "\t") { advance() }
            }
            let stop =
                atEnd || peek() == "#" || peek() == "\t" || (!flow && column <= parent)
                || (column == 0 && (atDocumentMarker("-") || atDocumentMarker(".")))
                || (flow && (isFlowIndicator(peek()) || (peek() == ":" && isBlank(peek(1)))))
                || (!flow && peek() == ":" && isBlank(peek(1)))
            if stop {
                (pos, line, lineStart) = saved
                return String(result)
            }
            if breaks == 1 {
                result.append(" ")
            } else {
                for _ in 1..<breaks { result.append("\n") }
            }
        }
    }

    /// Scans a single- or double-quoted scalar starting at its quote. With `singleLine`, returns `nil` when the
    /// line ends before the closing quote.
    private mutating func scanQuoted(singleLine: Bool) throws(YAMLError) -> String? {
        let start = mark
        guard let quote = peek() else { return nil }
        let double = quote == "\""
        advance()
        var out = String.UnicodeScalarView()
        var trailingBlanks = 0  // literal blanks at the end of `out`, removed when the line is folded
        while true {
            guard let c = peek() else {
                throw YAMLError(
                    mark: start, problem: "unterminated \(double ? "double" : "single")-quoted string")
            }
            if c == quote {
                advance()
                if !double && peek() == "'" {
                    out.append("'")
                    advance()
                    trailingBlanks = 0
                    continue
                }
                return String(out)
            }
            if c == "\n" {
                if singleLine { return nil }
                out.removeLast(trailingBlanks)
                trailingBlanks = 0
                var breaks = 0
                while peek() == "\n" {
                    advance()
                    breaks += 1
                    while peek() == " " || peek() == "\t" { advance() }
                }
                if breaks == 1 {
                    out.append(" ")
                } else {
                    for _ in 1..<breaks { out.append("\n") }
                }
                continue
            }
            if double && c == "\\" {
                if peek(1) == "\n" {  // escaped line break: joins lines without a space
                    advance()
                    advance()
                    while peek() == " " || peek() == "\t" { advance() }
                } else {
                    out.append(try scanEscape())
                }
                trailingBlanks = 0
                continue
            }
            out.append(c)
            advance()
            trailingBlanks = (c == " " || c == "\t") ? trailingBlanks + 1 : 0
        }
    }

    /// Scans `\x` in a double-quoted scalar and returns the character it stands for.
    private mutating func scanEscape() throws(YAMLError) -> Unicode.Scalar {
        let start = mark
        advance()  // `\`
        guard let c = peek() else { throw YAMLError(mark: start, problem: "unterminated double-quoted string") }
        advance()
        let simple: [Unicode.Scalar: Unicode.Scalar] = [
            "0": "\0", "a": "\u{07}", "b": "\u{08}", "t": "\t", "\t": "\t", "n": "\n", "v": "\u{0B}",
            "f": "\u{0C}", "r": "\r", "e": "\u{1B}", " ": " ", "\"": "\"", "/": "/", "\\": "\\",
            "N": "\u{85}", "_": "\u{A0}", "L": "\u{2028}", "P": "\u{2029}",
        ]
        if let value = simple[c] { return value }
        let digits: Int
        switch c {
        case "x": digits = 2
        case "u": digits = 4
        case "U": digits = 8
        default: throw YAMLError(mark: start, problem: "invalid escape sequence `\\\(Character(c))`")
        }
        var code: UInt32 = 0
        for _ in 0..<digits {
            guard let d = peek(), let value = hexValue(d) else {
                throw YAMLError(mark: start, problem: "expected \(digits) hexadecimal digits after `\\\(c)`")
            }
            code = code << 4 | value
            advance()
        }
        guard let scalar = Unicode.Scalar(code) else {
            throw YAMLError(mark: start, problem: "escape `\\\(c)` is not a valid Unicode scalar")
        }
        return scalar
    }

    /// A literal (`|`) or folded (`>`) block scalar with optional chomping (`-`, `+`) and indentation (1–9).
    private mutating func blockScalar(parent: Int) throws(YAMLError) -> Node {
        let start = mark
        let literal = peek() == "|"
        advance()
        var chomp: Unicode.Scalar?
        var explicitIndent: Int?
        for _ in 0..<2 {
            if let c = peek(), c == "+" || c == "-", chomp == nil {
                chomp = c
                advance()
            } else if let c = peek(), ("0"..."9").contains(c), explicitIndent == nil {
                guard c != "0" else { throw error("block scalar indentation indicator must be 1 to 9") }
                explicitIndent = Int(c.value) - 48
                advance()
            }
        }
        if !isBlank(peek()) { throw error("did not find expected comment or line break") }
        skipSpaces()
        if peek() == "#" { skipComment() }
        if !atEnd && peek() != "\n" { throw error("did not find expected comment or line break") }
        if peek() == "\n" { advance() }

        let indent = explicitIndent.map { max(parent, 0) + $0 } ?? detectIndent(parent: parent)
        var lines: [(text: String.UnicodeScalarView, moreIndented: Bool)?] = []  // nil: an empty line
        var lastHasBreak = false
        while !atEnd {
            let lineBegin = pos
            var spaces = 0
            while spaces < indent && peek() == " " {
                advance()
                spaces += 1
            }
            if peek() == "\n" {
                lines.append(nil)
                advance()
                continue
            }
            if atEnd { break }
            if spaces < indent || (indent == 0 && (atDocumentMarker("-") || atDocumentMarker("."))) {
                pos = lineBegin
                break
            }
            var content = String.UnicodeScalarView()
            while let c = peek(), c != "\n" {
                content.append(c)
                advance()
            }
            lines.append((content, content.first == " " || content.first == "\t"))
            lastHasBreak = peek() == "\n"
            if lastHasBreak { advance() }
        }
        let trailingEmpty = lines.reversed().prefix { $0 == nil }.count
        let body = lines.dropLast(trailingEmpty)
        var out = String.UnicodeScalarView()
        var previous: (text: String.UnicodeScalarView, moreIndented: Bool)?
        var empties = 0
        for entry in body {
            guard let entry else {
                empties += 1
                continue
            }
            if let previous {
                if literal || previous.moreIndented || entry.moreIndented {
                    out.append(contentsOf: repeatElement("\n", count: empties + 1))
                } else {
                    out.append(contentsOf: repeatElement(empties == 0 ? " " : "\n", count: max(empties, 1)))
                }
            } else {
                out.append(contentsOf: repeatElement("\n", count: empties))
            }
            out.append(contentsOf: entry.text)
            previous = entry
            empties = 0
        }
        switch chomp {
        case "-": break
        case "+":
            if previous != nil && lastHasBreak { out.append("\n") }
            out.append(contentsOf: repeatElement("\n", count: trailingEmpty))
        default:
            if previous != nil && (lastHasBreak || trailingEmpty > 0) { out.append("\n") }
        }
        return scalar(String(out), style: literal ? .literal : .folded, at: start)
    }

    /// The indentation of a block scalar's first non-empty line (at least `parent + 1`). Does not move.
    private func detectIndent(parent: Int) -> Int {
        var i = pos
        var spaces = 0
        while i < text.count {
            if text[i] == " " {
                spaces += 1
            } else if text[i] == "\n" {
                spaces = 0
            } else {
                break
            }
            i += 1
        }
        return max(spaces, parent + 1, 1)
    }

    /// `&name` → the name (letters, digits, `-`, `_`).
    private mutating func scanAnchor() throws(YAMLError) -> (name: String, mark: Mark) {
        let start = mark
        advance()
        let name = scanName()
        if name.isEmpty || !isBlank(peek()) && !isFlowIndicator(peek()) {
            throw error("did not find expected anchor name (letters, digits, '-' or '_')")
        }
        return (name, start)
    }

    /// `*name` → a copy of the anchored node, counted against ``maxNodes``.
    private mutating func alias() throws(YAMLError) -> Node {
        let start = mark
        advance()
        let name = scanName()
        if name.isEmpty || !isBlank(peek()) && !isFlowIndicator(peek()) {
            throw error("did not find expected alias name (letters, digits, '-' or '_')")
        }
        guard let anchored = anchors[name] else { throw YAMLError(mark: start, problem: "undefined alias `\(name)`") }
        nodeCount += anchored.size
        if nodeCount > Self.maxNodes {
            throw YAMLError(mark: start, problem: "aliases expand to more than \(Self.maxNodes) nodes")
        }
        return anchored.node
    }

    private mutating func scanName() -> String {
        var name = String.UnicodeScalarView()
        while let c = peek(),
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "-" || c == "_"
        {
            name.append(c)
            advance()
        }
        return String(name)
    }

    // MARK: - Helpers

    private mutating func enterCollection() throws(YAMLError) {
        nodeCount += 1
        depth += 1
        if depth > Self.maxDepth { throw error("nesting is deeper than \(Self.maxDepth) levels") }
    }

    private mutating func scalar(_ string: String, style: Node.Scalar.Style, at mark: Mark) -> Node {
        nodeCount += 1
        return .scalar(Node.Scalar(string, style: style, mark: mark))
    }

    private mutating func emptyNode(at mark: Mark) -> Node { scalar("", style: .plain, at: mark) }

    /// Skips spaces, comments and line breaks. Refuses tabs in the indentation of a line that has content.
    private mutating func skipToNextToken() throws(YAMLError) {
        while true {
            if pos == lineStart {
                while peek() == " " { advance() }
                if peek() == "\t" {
                    var i = pos
                    while i < text.count && (text[i] == " " || text[i] == "\t") { i += 1 }
                    if i < text.count && text[i] != "\n" && text[i] != "#" {
                        throw error("found a tab character where indentation is expected")
                    }
                }
            }
            skipSpaces()
            if peek() == "#" && isBlank(peekBack()) { skipComment() }
            guard peek() == "\n" else { return }
            advance()
        }
    }

    private mutating func skipSpaces() {
        while peek() == " " || peek() == "\t" { advance() }
    }

    private mutating func skipComment() {
        while let c = peek(), c != "\n" { advance() }
    }

    private var atEnd: Bool { pos >= text.count }
    private var column: Int { pos - lineStart }
    private var mark: Mark { Mark(line: line, column: column + 1) }
    private var atSequenceEntry: Bool { peek() == "-" && isBlank(peek(1)) }

    /// `---` (kind `-`) or `...` (kind `.`) at the start of a line, followed by a blank or the end.
    private func atDocumentMarker(_ kind: Unicode.Scalar) -> Bool {
        column == 0 && peek() == kind && peek(1) == kind && peek(2) == kind && isBlank(peek(3))
    }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        let i = pos + offset
        return i < text.count ? text[i] : nil
    }

    /// The scalar before the cursor; `nil` (counted as blank) at the start of a line.
    private func peekBack() -> Unicode.Scalar? { pos > lineStart ? text[pos - 1] : nil }

    private mutating func advance() {
        guard pos < text.count else { return }
        if text[pos] == "\n" {
            line += 1
            lineStart = pos + 1
        }
        pos += 1
    }

    /// Moves over `count` characters of one line.
    private mutating func advance(_ count: Int) { pos = min(pos + count, text.count) }

    private func error(_ problem: String) -> YAMLError { YAMLError(mark: mark, problem: problem) }
}

/// A space, tab, line break or the end of the text.
private func isBlank(_ c: Unicode.Scalar?) -> Bool { c == nil || c == " " || c == "\t" || c == "\n" }

private func isFlowIndicator(_ c: Unicode.Scalar?) -> Bool {
    c == "," || c == "[" || c == "]" || c == "{" || c == "}"
}

private func hexValue(_ c: Unicode.Scalar) -> UInt32? {
    switch c {
    case "0"..."9": c.value - 48
    case "a"..."f": c.value - 87
    case "A"..."F": c.value - 55
    default: nil
    }
}
