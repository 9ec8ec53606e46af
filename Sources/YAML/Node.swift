/// A position in YAML text: 1-based line and column (columns count Unicode scalars), like Yams.
public struct Mark: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// `line:column`, e.g. `4:3`.
    public var description: String { "\(line):\(column)" }
}

/// A syntax problem in YAML text (or a document too large or too deep to accept), with where it was found.
public struct YAMLError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Where the problem is; `nil` when it concerns no particular place.
    public var mark: Mark?
    /// What is wrong, short and lower-case, e.g. ``did not find expected ',' or ']'``.
    public var problem: String

    public init(mark: Mark?, problem: String) {
        self.mark = mark
        self.problem = problem
    }

    /// `line:column: problem`.
    public var description: String { mark.map { "\($0): \(problem)" } ?? problem }
}

/// One node of a composed YAML document: a scalar, a mapping or a sequence. Aliases are already resolved
/// (an alias is a copy of its anchored node, marks included).
///
/// Equality compares content (strings, styles, keys and order) and ignores marks.
public enum Node: Sendable, Equatable {
    case scalar(Scalar)
    case mapping(Mapping)
    case sequence(Sequence)

    /// Where the node starts: a scalar's first character (for an empty value, see ``compose(yaml:)``),
    /// a block mapping's first key, a block sequence's first `-`, a flow collection's `{` or `[`.
    public var mark: Mark? {
        switch self {
        case .scalar(let scalar): scalar.mark
        case .mapping(let mapping): mapping.mark
        case .sequence(let sequence): sequence.mark
        }
    }

    /// The scalar, if this node is one.
    public var scalar: Scalar? {
        if case .scalar(let scalar) = self { return scalar }
        return nil
    }

    /// The mapping, if this node is one.
    public var mapping: Mapping? {
        if case .mapping(let mapping) = self { return mapping }
        return nil
    }

    /// The sequence, if this node is one.
    public var sequence: Sequence? {
        if case .sequence(let sequence) = self { return sequence }
        return nil
    }

    /// A scalar's text (after unescaping and folding); `nil` for collections.
    public var string: String? { scalar?.string }

    /// Whether this is a null: a plain `~`, `null`, `Null`, `NULL` or an empty value. Quoted `"null"` is text.
    public var isNull: Bool { scalar?.isNull ?? false }
}

extension Node {
    /// A scalar: its text and how it was written.
    public struct Scalar: Sendable, Equatable {
        /// How a scalar was written in the text.
        public enum Style: Sendable, Hashable {
            case plain, singleQuoted, doubleQuoted, literal, folded
        }

        /// The text after unescaping, folding and chomping.
        public var string: String
        public var style: Style
        /// Where the text starts (the opening quote or block indicator for those styles).
        public var mark: Mark?

        public init(_ string: String, style: Style = .plain, mark: Mark? = nil) {
            self.string = string
            self.style = style
            self.mark = mark
        }

        /// Whether this is a null (plain `~`, `null`, `Null`, `NULL` or empty).
        public var isNull: Bool {
            style == .plain
                && (string.isEmpty || string == "~" || string == "null" || string == "Null" || string == "NULL")
        }

        public static func == (lhs: Scalar, rhs: Scalar) -> Bool {
            lhs.string == rhs.string && lhs.style == rhs.style
        }
    }

    /// A mapping: key/value pairs in document order. Keys are unique scalars.
    public struct Mapping: Sendable, Equatable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
        public typealias Element = (key: Node, value: Node)

        /// The pairs in document order.
        public var pairs: [Element]
        public var mark: Mark?

        public init(_ pairs: [Element], mark: Mark? = nil) {
            self.pairs = pairs
            self.mark = mark
        }

        public init(dictionaryLiteral elements: (Node, Node)...) {
            self.init(elements.map { (key: $0.0, value: $0.1) })
        }

        public var startIndex: Int { pairs.startIndex }
        public var endIndex: Int { pairs.endIndex }
        public subscript(position: Int) -> Element { pairs[position] }

        /// The value of the first key whose scalar text is `key`.
        public subscript(key: String) -> Node? {
            pairs.first { $0.key.string == key }?.value
        }

        /// The keys in document order.
        public var keys: [Node] { pairs.map(\.key) }
        /// The values in document order.
        public var values: [Node] { pairs.map(\.value) }

        public static func == (lhs: Mapping, rhs: Mapping) -> Bool {
            lhs.pairs.count == rhs.pairs.count
                && zip(lhs.pairs, rhs.pairs).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        }
    }

    /// A sequence of nodes.
    public struct Sequence: Sendable, Equatable, RandomAccessCollection {
        public var nodes: [Node]
        public var mark: Mark?

        public init(_ nodes: [Node], mark: Mark? = nil) {
            self.nodes = nodes
            self.mark = mark
        }

        public var startIndex: Int { nodes.startIndex }
        public var endIndex: Int { nodes.endIndex }
        public subscript(position: Int) -> Node { nodes[position] }

        public static func == (lhs: Sequence, rhs: Sequence) -> Bool { lhs.nodes == rhs.nodes }
    }
}
