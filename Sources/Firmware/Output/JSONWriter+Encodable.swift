extension JSONWriter {
    /// Writes any `Encodable` value (command output such as calibration results) with this writer, streaming:
    /// members in the order the type encodes them (declaration order for synthesized conformances), `nil`
    /// optionals left out as `encodeIfPresent` does, a non-finite number as `null`.
    public static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = StreamingEncoder(codingPath: [])
        try value.encode(to: encoder)
        encoder.finish()
        return encoder.state.writer.bytes
    }
}

/// The shared output of one `encode` call.
private final class StreamingState {
    var writer = JSONWriter()
}

/// An `Encoder` that writes straight into a ``JSONWriter``: the container it hands out is opened on the first
/// request and closed by ``finish()`` once the value's `encode(to:)` returned.
private final class StreamingEncoder: Encoder {
    enum Opened { case none, keyed, unkeyed, single }

    let state: StreamingState
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    private var opened = Opened.none
    /// A nested container or super encoder still open inside this one: closed before the next member.
    var openChild: StreamingEncoder?

    init(state: StreamingState = StreamingState(), codingPath: [any CodingKey]) {
        self.state = state
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if opened == .none {
            state.writer.objectStart()
            opened = .keyed
        }
        return KeyedEncodingContainer(KeyedContainer<Key>(encoder: self))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if opened == .none {
            state.writer.arrayStart()
            opened = .unkeyed
        }
        return UnkeyedContainer(encoder: self)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        if opened == .none { opened = .single }
        return SingleContainer(encoder: self)
    }

    /// Closes what `encode(to:)` opened; a value that encoded nothing is an empty object (as JSONEncoder does).
    func finish() {
        closeChild()
        switch opened {
        case .keyed: state.writer.objectEnd()
        case .unkeyed: state.writer.arrayEnd()
        case .single: break
        case .none:
            state.writer.objectStart()
            state.writer.objectEnd()
        }
    }

    func closeChild() {
        openChild?.finish()
        openChild = nil
    }

    /// Encodes a member value through a child encoder.
    func encode(_ value: some Encodable, at path: [any CodingKey]) throws {
        closeChild()
        let child = StreamingEncoder(state: state, codingPath: path)
        try value.encode(to: child)
        child.finish()
    }

    func child(at path: [any CodingKey]) -> StreamingEncoder {
        closeChild()
        let child = StreamingEncoder(state: state, codingPath: path)
        openChild = child
        return child
    }
}

private struct IndexKey: CodingKey {
    var stringValue: String { "\(intValue ?? 0)" }
    var intValue: Int?
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: StreamingEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    private func key(_ key: Key) {
        encoder.closeChild()
        encoder.state.writer.key(key.stringValue)
    }

    mutating func encodeNil(forKey key: Key) throws {
        self.key(key)
        encoder.state.writer.null()
    }

    mutating func encode(_ value: some Encodable, forKey key: Key) throws {
        self.key(key)
        try encoder.encode(value, at: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        self.key(key)
        return encoder.child(at: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        self.key(key)
        return encoder.child(at: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        encoder.closeChild()
        encoder.state.writer.key("super")
        return encoder.child(at: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        self.key(key)
        return encoder.child(at: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let encoder: StreamingEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }
    private(set) var count = 0

    init(encoder: StreamingEncoder) { self.encoder = encoder }

    mutating func encodeNil() throws {
        encoder.closeChild()
        encoder.state.writer.null()
        count += 1
    }

    mutating func encode(_ value: some Encodable) throws {
        count += 1
        try encoder.encode(value, at: codingPath + [IndexKey(count - 1)])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
        -> KeyedEncodingContainer<NestedKey>
    {
        count += 1
        return encoder.child(at: codingPath + [IndexKey(count - 1)]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        count += 1
        return encoder.child(at: codingPath + [IndexKey(count - 1)]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        count += 1
        return encoder.child(at: codingPath + [IndexKey(count - 1)])
    }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let encoder: StreamingEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil() throws { encoder.state.writer.null() }
    mutating func encode(_ value: Bool) throws { encoder.state.writer.bool(value) }
    mutating func encode(_ value: String) throws { encoder.state.writer.string(value) }
    mutating func encode(_ value: Double) throws { encoder.state.writer.double(value) }
    mutating func encode(_ value: Float) throws { encoder.state.writer.double(Double(value)) }
    mutating func encode(_ value: Int) throws { encoder.state.writer.int(Int64(value)) }
    mutating func encode(_ value: Int8) throws { encoder.state.writer.int(Int64(value)) }
    mutating func encode(_ value: Int16) throws { encoder.state.writer.int(Int64(value)) }
    mutating func encode(_ value: Int32) throws { encoder.state.writer.int(Int64(value)) }
    mutating func encode(_ value: Int64) throws { encoder.state.writer.int(value) }
    mutating func encode(_ value: UInt) throws { encode(unsigned: UInt64(value)) }
    mutating func encode(_ value: UInt8) throws { encoder.state.writer.int(Int64(value)) }
    mutating func encode(_ value: UInt16) throws { encoder.state.writer.int(Int64(value)) }
    mutating func encode(_ value: UInt32) throws { encoder.state.writer.int(Int64(value)) }
    mutating func encode(_ value: UInt64) throws { encode(unsigned: value) }

    private func encode(unsigned value: UInt64) {
        if let signed = Int64(exactly: value) {
            encoder.state.writer.int(signed)
        } else {
            encoder.state.writer.decimalText(String(value))
        }
    }

    mutating func encode(_ value: some Encodable) throws {
        try encoder.encode(value, at: codingPath)
    }
}
