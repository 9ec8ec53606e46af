/// The keys a `Decodable` type accepts, level by level, found by decoding it once from a recording decoder
/// that answers every request with a neutral value. Used to name the valid keys (and suggest one) when a
/// configuration file has an unknown key.
struct KeySchema {
    /// Dotted path (`ade9000.spi`, empty for the top level) → keys accepted there.
    private(set) var keys: [String: Set<String>] = [:]

    init<T: Decodable>(_ type: T.Type) {
        let recorder = Recorder()
        _ = try? T(from: RecordingDecoder(recorder: recorder, codingPath: []))
        keys = recorder.keys
    }

    func keys(at path: [String]) -> [String] {
        // Sequence indices do not matter for the schema.
        let normalized = path.filter { Int($0) == nil }.joined(separator: ".")
        return keys[normalized].map { $0.sorted() } ?? []
    }

    final class Recorder {
        var keys: [String: Set<String>] = [:]
        var depth = 0
    }
}

private struct RecordingDecoder: Decoder {
    let recorder: KeySchema.Recorder
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(RecordingKeyed<Key>(recorder: recorder, codingPath: codingPath))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        RecordingUnkeyed(codingPath: codingPath)
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        RecordingSingle(recorder: recorder, codingPath: codingPath)
    }
}

private struct Neutral: Error {}

private func neutral<T: Decodable>(_ type: T.Type, recorder: KeySchema.Recorder, path: [any CodingKey]) throws -> T {
    let neutrals: [Any] = ["", false, 0, 0.0, Int64(0), Int32(0), UInt32(0), UInt16(0), UInt8(0), UInt64(0), Float(0)]
    for candidate in neutrals { if let value = candidate as? T { return value } }
    do {
        guard recorder.depth < 16 else { throw Neutral() }
        recorder.depth += 1
        defer { recorder.depth -= 1 }
        return try T(from: RecordingDecoder(recorder: recorder, codingPath: path))
    }
}

private struct RecordingKeyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let recorder: KeySchema.Recorder
    var codingPath: [any CodingKey]
    var allKeys: [Key] { [] }

    private func record(_ key: Key) {
        let path = codingPath.filter { $0.intValue == nil }.map(\.stringValue).joined(separator: ".")
        recorder.keys[path, default: []].insert(key.stringValue)
    }
    func contains(_ key: Key) -> Bool {
        record(key)
        return true
    }
    func decodeNil(forKey key: Key) throws -> Bool {
        record(key)
        return false
    }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        record(key)
        return try neutral(type, recorder: recorder, path: codingPath + [key])
    }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        record(key)
        return try? neutral(type, recorder: recorder, path: codingPath + [key])
    }
    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        record(key)
        return KeyedDecodingContainer(RecordingKeyed<NestedKey>(recorder: recorder, codingPath: codingPath + [key]))
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        record(key)
        return RecordingUnkeyed(codingPath: codingPath + [key])
    }
    func superDecoder() throws -> any Decoder { RecordingDecoder(recorder: recorder, codingPath: codingPath) }
    func superDecoder(forKey key: Key) throws -> any Decoder {
        RecordingDecoder(recorder: recorder, codingPath: codingPath + [key])
    }
}

private struct RecordingUnkeyed: UnkeyedDecodingContainer {
    var codingPath: [any CodingKey]
    var count: Int? { 0 }
    var isAtEnd: Bool { true }
    var currentIndex: Int { 0 }
    mutating func decodeNil() throws -> Bool { true }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { throw Neutral() }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    { throw Neutral() }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { throw Neutral() }
    mutating func superDecoder() throws -> any Decoder { throw Neutral() }
}

private struct RecordingSingle: SingleValueDecodingContainer {
    let recorder: KeySchema.Recorder
    var codingPath: [any CodingKey]
    func decodeNil() -> Bool { false }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try neutral(type, recorder: recorder, path: codingPath)
    }
}
