/// Encodes `Encodable` values as block-style YAML.
///
/// Structs become mappings (keys in encoding order; `[String: T]` dictionaries sorted by key), arrays become
/// `- ` sequences, `nil` optionals are left out, empty collections are written `[]` and `{}`. Strings are written
/// plain when they read back as the same string, otherwise double-quoted with escapes. Floating-point numbers use
/// Swift's shortest round-tripping `description`; infinities and NaN are `.inf`, `-.inf`, `.nan`.
public struct YAMLEncoder: Sendable {
    public init() {}

    /// The YAML text of `value`, ending with a line break.
    public func encode<T: Encodable>(_ value: T) throws -> String {
        Emitter.text(of: try encodeToNode(value))
    }

    /// The node tree of `value` (marks are `nil`).
    public func encodeToNode<T: Encodable>(_ value: T) throws -> Node {
        let root = Box()
        try root.encode(value, codingPath: [])
        return root.node
    }
}

/// A node under construction: containers handed out earlier keep writing into it.
private final class Box {
    enum Content {
        case unset
        case scalar(String, isText: Bool)
        case mapping(keys: [String], values: [String: Box])
        case sequence([Box])
    }

    var content = Content.unset

    func encode<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws {
        if let dictionary = value as? any SortedEncodable {
            try dictionary.encodeSorted(into: self, codingPath: codingPath)
        } else {
            try value.encode(to: NodeEncoder(box: self, codingPath: codingPath))
        }
    }

    /// The box for `key`, created (at the end) or replaced.
    func child(forKey key: String) -> Box {
        let child = Box()
        if case .mapping(var keys, var values) = content {
            content = .unset  // keeps the arrays uniquely referenced: appending does not copy them
            if values[key] == nil { keys.append(key) }
            values[key] = child
            content = .mapping(keys: keys, values: values)
        } else {
            content = .mapping(keys: [key], values: [key: child])
        }
        return child
    }

    func appendChild() -> Box {
        let child = Box()
        if case .sequence(var items) = content {
            content = .unset
            items.append(child)
            content = .sequence(items)
        } else {
            content = .sequence([child])
        }
        return child
    }

    var node: Node {
        switch content {
        case .unset:
            return .mapping([:])
        case .scalar(let text, let isText):
            let quoted = isText && Emitter.needsQuotes(text)
            return .scalar(Node.Scalar(text, style: quoted ? .doubleQuoted : .plain))
        case .mapping(let keys, let values):
            return .mapping(
                Node.Mapping(
                    keys.compactMap { key in
                        values[key].map {
                            (
                                key: Node.scalar(
                                    Node.Scalar(key, style: Emitter.needsQuotes(key) ? .doubleQuoted : .plain)),
                                value: $0.node
                            )
                        }
                    }))
        case .sequence(let items):
            return .sequence(Node.Sequence(items.map { $0.node }))
        }
    }
}

/// `[String: T]` encodes its pairs sorted by key, so the output does not depend on hashing.
private protocol SortedEncodable {
    func encodeSorted(into box: Box, codingPath: [any CodingKey]) throws
}

extension Dictionary: SortedEncodable where Key == String, Value: Encodable {
    fileprivate func encodeSorted(into box: Box, codingPath: [any CodingKey]) throws {
        box.content = .mapping(keys: [], values: [:])
        for key in keys.sorted() {
            guard let value = self[key] else { continue }
            try box.child(forKey: key).encode(value, codingPath: codingPath + [PlainKey(stringValue: key)])
        }
    }
}

private struct NodeEncoder: Encoder {
    let box: Box
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .mapping = box.content {} else { box.content = .mapping(keys: [], values: [:]) }
        return KeyedEncodingContainer(KeyedContainer(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .sequence = box.content {} else { box.content = .sequence([]) }
        return UnkeyedContainer(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }
}

extension NodeEncoder: SingleValueEncodingContainer {
    func encodeNil() { box.content = .scalar("null", isText: false) }
    func encode(_ value: Bool) { box.content = .scalar(value ? "true" : "false", isText: false) }
    func encode(_ value: String) { box.content = .scalar(value, isText: true) }
    func encode(_ value: Double) { box.content = .scalar(Self.text(of: value), isText: false) }
    func encode(_ value: Float) { box.content = .scalar(Self.text(of: value), isText: false) }
    func encode(_ value: Int) { box.content = .scalar(String(value), isText: false) }
    func encode(_ value: Int8) { box.content = .scalar(String(value), isText: false) }
    func encode(_ value: Int16) { box.content = .scalar(String(value), isText: false) }
    func encode(_ value: Int32) { box.content = .scalar(String(value), isText: false) }
    func encode(_ value: Int64) { box.content = .scalar(String(value), isText: false) }
    func encode(_ value: UInt) { box.content = .scalar(String(value), isText: false) }
    func encode(_ value: UInt8) { box.content = .scalar(String(value), isText: false) }
    func encode(_ value: UInt16) { box.content = .scalar(String(value), isText: false) }
    func encode(_ value: UInt32) { box.content = .scalar(String(value), isText: false) }
    func encode(_ value: UInt64) { box.content = .scalar(String(value), isText: false) }
    func encode<T: Encodable>(_ value: T) throws { try box.encode(value, codingPath: codingPath) }

    static func text<T: BinaryFloatingPoint & CustomStringConvertible>(of value: T) -> String {
        if value.isNaN { return ".nan" }
        if value.isInfinite { return value < 0 ? "-.inf" : ".inf" }
        return value.description
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: Box
    let codingPath: [any CodingKey]

    func encodeNil(forKey key: Key) { box.child(forKey: key.stringValue).content = .scalar("null", isText: false) }

    func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try box.child(forKey: key.stringValue).encode(value, codingPath: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        NodeEncoder(box: box.child(forKey: key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        NodeEncoder(box: box.child(forKey: key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superEncoder() -> any Encoder {
        NodeEncoder(box: box.child(forKey: "super"), codingPath: codingPath + [PlainKey(stringValue: "super")])
    }

    func superEncoder(forKey key: Key) -> any Encoder {
        NodeEncoder(box: box.child(forKey: key.stringValue), codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let box: Box
    let codingPath: [any CodingKey]
    private(set) var count = 0

    init(box: Box, codingPath: [any CodingKey]) {
        self.box = box
        self.codingPath = codingPath
        if case .sequence(let items) = box.content { count = items.count }
    }

    private mutating func next() -> (Box, [any CodingKey]) {
        defer { count += 1 }
        return (box.appendChild(), codingPath + [PlainKey(intValue: count)])
    }

    mutating func encodeNil() { next().0.content = .scalar("null", isText: false) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let (child, path) = next()
        try child.encode(value, codingPath: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        let (child, path) = next()
        return NodeEncoder(box: child, codingPath: path).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let (child, path) = next()
        return NodeEncoder(box: child, codingPath: path).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let (child, path) = next()
        return NodeEncoder(box: child, codingPath: path)
    }
}
