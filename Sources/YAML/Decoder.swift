/// Decodes `Decodable` values from composed YAML nodes.
///
/// Mappings back keyed containers, sequences unkeyed ones, scalars single values. Scalars are read by their text
/// whatever their style (`"1883"` decodes as an `Int`), except that only plain scalars can be null.
/// Shape and type problems throw `DecodingError` whose `codingPath` leads to the offending node:
/// `keyNotFound`, `valueNotFound` (null where a value is required), `typeMismatch` (e.g. a scalar where a mapping
/// is expected, `abc` for an `Int`, `1e300` for an `Int`), `dataCorrupted` (a number out of range for its type).
public struct YAMLDecoder: Sendable {
    public init() {}

    /// Decodes `type` from `node`.
    public func decode<T: Decodable>(_ type: T.Type, from node: Node) throws -> T {
        try T(from: NodeDecoder(node: node, codingPath: []))
    }

    /// Composes `yaml` and decodes `type` from it; an empty document decodes as null.
    /// - Throws: ``YAMLError`` for syntax, `DecodingError` for shape and type problems.
    public func decode<T: Decodable>(_ type: T.Type, from yaml: String) throws -> T {
        let node = try compose(yaml: yaml) ?? .scalar(Node.Scalar("", mark: Mark(line: 1, column: 1)))
        return try decode(type, from: node)
    }
}

/// A key for sequence positions and for `super`.
struct PlainKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = "Index \(intValue)"
        self.intValue = intValue
    }
}

private let missing = Node.scalar(Node.Scalar(""))

private func describe(_ node: Node) -> String {
    switch node {
    case .scalar(let scalar): scalar.isNull ? "null" : "the scalar `\(scalar.string)`"
    case .mapping: "a mapping"
    case .sequence: "a sequence"
    }
}

private struct NodeDecoder: Decoder {
    let node: Node
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard let mapping = node.mapping else { throw mismatch(Node.Mapping.self, expected: "a mapping") }
        return KeyedDecodingContainer(KeyedContainer(mapping: mapping, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard let sequence = node.sequence else { throw mismatch(Node.Sequence.self, expected: "a sequence") }
        return UnkeyedContainer(sequence: sequence, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    /// `typeMismatch`, or `valueNotFound` when the node is null.
    func mismatch(_ type: Any.Type, expected: String) -> DecodingError {
        let context = DecodingError.Context(
            codingPath: codingPath, debugDescription: "expected \(expected), found \(describe(node))")
        return node.isNull ? .valueNotFound(type, context) : .typeMismatch(type, context)
    }

    /// The text of a non-null scalar.
    func text(for type: Any.Type, expected: String) throws -> String {
        guard let scalar = node.scalar, !scalar.isNull else { throw mismatch(type, expected: expected) }
        return scalar.string
    }

    func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let text = try text(for: type, expected: "a whole number")
        switch ScalarValues.integer(text, as: type) {
        case .success(let value)?: return value
        case .failure?:
            throw DecodingError.dataCorrupted(
                .init(codingPath: codingPath, debugDescription: "`\(text)` is out of range for \(type)"))
        case nil:
            throw DecodingError.typeMismatch(
                type, .init(codingPath: codingPath, debugDescription: "expected a whole number, found `\(text)`"))
        }
    }

    func float<T: BinaryFloatingPoint & LosslessStringConvertible>(_ type: T.Type) throws -> T {
        let text = try text(for: type, expected: "a number")
        guard let value = ScalarValues.float(text, as: type) else {
            throw DecodingError.typeMismatch(
                type, .init(codingPath: codingPath, debugDescription: "expected a number, found `\(text)`"))
        }
        if value.isInfinite && !text.lowercased().hasSuffix(".inf") {
            throw DecodingError.dataCorrupted(
                .init(codingPath: codingPath, debugDescription: "`\(text)` is out of range for \(type)"))
        }
        return value
    }
}

extension NodeDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { node.isNull }

    func decode(_ type: Bool.Type) throws -> Bool {
        let text = try text(for: type, expected: "true or false")
        guard let value = ScalarValues.bool(text) else {
            throw DecodingError.typeMismatch(
                type, .init(codingPath: codingPath, debugDescription: "expected true or false, found `\(text)`"))
        }
        return value
    }

    func decode(_ type: String.Type) throws -> String { try text(for: type, expected: "text") }
    func decode(_ type: Double.Type) throws -> Double { try float(type) }
    func decode(_ type: Float.Type) throws -> Float { try float(type) }
    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: self) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let mapping: Node.Mapping
    let codingPath: [any CodingKey]
    private let values: [String: Node]

    init(mapping: Node.Mapping, codingPath: [any CodingKey]) {
        self.mapping = mapping
        self.codingPath = codingPath
        var values: [String: Node] = [:]
        for (key, value) in mapping where values[key.string ?? ""] == nil { values[key.string ?? ""] = value }
        self.values = values
    }

    var allKeys: [Key] { mapping.compactMap { $0.key.string.flatMap(Key.init(stringValue:)) } }

    func contains(_ key: Key) -> Bool { values[key.stringValue] != nil }

    private func decoder(for key: any CodingKey) throws -> NodeDecoder {
        guard let node = values[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "no value for key `\(key.stringValue)`"))
        }
        return NodeDecoder(node: node, codingPath: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool { try decoder(for: key).node.isNull }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try T(from: decoder(for: key)) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try decoder(for: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder(for: key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { superDecoder(named: PlainKey(stringValue: "super")) }
    func superDecoder(forKey key: Key) throws -> any Decoder { superDecoder(named: key) }

    /// A decoder for the key's value, or for null when the key is missing.
    private func superDecoder(named key: any CodingKey) -> any Decoder {
        NodeDecoder(node: values[key.stringValue] ?? missing, codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let sequence: Node.Sequence
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(sequence: Node.Sequence, codingPath: [any CodingKey]) {
        self.sequence = sequence
        self.codingPath = codingPath
    }

    var count: Int? { sequence.count }
    var isAtEnd: Bool { currentIndex >= sequence.count }

    /// A decoder for the current element; does not advance.
    private func current(_ type: Any.Type) throws -> NodeDecoder {
        let path = codingPath + [PlainKey(intValue: currentIndex)]
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                type, .init(codingPath: path, debugDescription: "the sequence has only \(sequence.count) elements"))
        }
        return NodeDecoder(node: sequence[currentIndex], codingPath: path)
    }

    mutating func decodeNil() throws -> Bool {
        guard try current(Never.self).node.isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let value = try T(from: current(type))
        currentIndex += 1
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let container = try current(Node.Mapping.self).container(keyedBy: type)
        currentIndex += 1
        return container
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let container = try current(Node.Sequence.self).unkeyedContainer()
        currentIndex += 1
        return container
    }

    mutating func superDecoder() throws -> any Decoder {
        let decoder = try current(Node.self)
        currentIndex += 1
        return decoder
    }
}
