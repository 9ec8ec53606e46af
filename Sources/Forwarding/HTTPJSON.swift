import Firmware

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A JSON value tree, for bodies whose shape is built at run time: FIWARE NGSI-v2 entities (`OrionEntity`),
/// ThingSpeak field look-ups by payload path, and the simplejwt token responses.
///
/// All numbers are `Double` (JSON has one number type; `JSONEncoder` writes integral values without a fraction,
/// `498.0` as `498`). Objects encode with sorted keys when written by ``encoded()``.
public indirect enum HTTPJSON: Sendable, Equatable, Codable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case array([HTTPJSON])
    case object([String: HTTPJSON])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([HTTPJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: HTTPJSON].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .null: try container.encodeNil()
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Parses `bytes` as JSON; `nil` when they are not valid JSON.
    public static func parse(_ bytes: [UInt8]) -> HTTPJSON? {
        try? JSONDecoder().decode(HTTPJSON.self, from: Data(bytes))
    }

    /// Compact UTF-8 JSON with sorted keys, written by the one ``JSONWriter`` (a non-finite number as `null`).
    public func encoded() -> [UInt8] {
        var json = JSONWriter()
        write(into: &json)
        return json.bytes
    }

    private func write(into json: inout JSONWriter) {
        switch self {
        case .string(let value): json.string(value)
        case .number(let value): json.double(value)
        case .bool(let value): json.bool(value)
        case .null: json.null()
        case .array(let values):
            json.arrayStart()
            for value in values { value.write(into: &json) }
            json.arrayEnd()
        case .object(let members):
            json.objectStart()
            for key in members.keys.sorted() {
                json.key(key)
                members[key]?.write(into: &json)
            }
            json.objectEnd()
        }
    }

    /// The member `key` of an object; `nil` for other values or a missing key.
    public subscript(key: String) -> HTTPJSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The string value, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The number value, if this is a number.
    public var numberValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// Follows a dotted path such as `p1.import_t1_wh` or `ade9000.import_wh.0` (array index) from this value.
    public func value(atPath path: String) -> HTTPJSON? {
        var current: HTTPJSON? = self
        for component in path.split(separator: ".", omittingEmptySubsequences: false) {
            switch current {
            case .object(let members): current = members[String(component)]
            case .array(let elements):
                guard let index = Int(component), elements.indices.contains(index) else { return nil }
                current = elements[index]
            default: return nil
            }
        }
        return current
    }
}
