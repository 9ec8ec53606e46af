import CivilTime
import Firmware

/// A ThingSpeak channel (`spec/forwarding.md` §4.2).
///
/// ```yaml
/// api_key: env:THINGSPEAK_WRITE_KEY     # the channel's Write API Key
/// fields:                               # which record value goes to which field (default below)
///   field1: p1.import_t1_wh
///   field2: p1.average_power_w
///   field3: ade9000.import_wh           # an array: the sum of the three phases
///   field4: ade9000.import_wh.0         # one element: phase A
/// min_interval: 15                      # seconds between updates (free accounts: ≥ 15; paid: 1)
/// ```
///
/// Field values are named by their path in the record JSON (``Payloads/record(_:device:)``), e.g. `p1.gas_l`,
/// `ade9000.voltage_min_v`, `end`.
public struct ThingSpeakConfiguration: Codable, Sendable, Equatable {
    /// Update endpoint; default `https://api.thingspeak.com/update`.
    public var url: String
    public var apiKey: HTTPSecret
    /// `field1`…`field8` → record path; `nil` = ``defaultFields``.
    public var fields: [String: String]?
    /// Seconds between two updates (default 15, the free-account limit).
    public var minInterval: Double?
    public var timeout: HTTPTimeouts
    /// Pause on 401/402/403/404, seconds (default 600).
    public var pause: Double?

    public static let defaultURL = "https://api.thingspeak.com/update"

    /// The default mapping: P1 tariff registers' deltas, average power and gas; ADE9000 energy and average power.
    public static let defaultFields: [String: String] = [
        "field1": "p1.import_t1_wh", "field2": "p1.import_t2_wh", "field3": "p1.export_t1_wh",
        "field4": "p1.export_t2_wh", "field5": "p1.average_power_w", "field6": "p1.gas_l",
        "field7": "ade9000.import_wh", "field8": "ade9000.average_power_w",
    ]

    public init(
        url: String = ThingSpeakConfiguration.defaultURL, apiKey: HTTPSecret, fields: [String: String]? = nil,
        minInterval: Double? = nil, timeout: HTTPTimeouts = HTTPTimeouts(), pause: Double? = nil
    ) {
        self.url = url
        self.apiKey = apiKey
        self.fields = fields
        self.minInterval = minInterval
        self.timeout = timeout
        self.pause = pause
    }

    enum CodingKeys: String, CodingKey {
        case url, fields, timeout, pause
        case apiKey = "api_key"
        case minInterval = "min_interval"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        url = try container.decodeIfPresent(String.self, forKey: .url) ?? Self.defaultURL
        apiKey = try container.decode(HTTPSecret.self, forKey: .apiKey)
        fields = try container.decodeIfPresent([String: String].self, forKey: .fields)
        minInterval = try container.decodeIfPresent(Double.self, forKey: .minInterval)
        timeout = try container.decodeIfPresent(HTTPTimeouts.self, forKey: .timeout) ?? HTTPTimeouts()
        pause = try container.decodeIfPresent(Double.self, forKey: .pause)
    }
}

/// Record → ThingSpeak form fields. Pure.
public enum ThingSpeakFields {
    /// Checks a mapping: keys `field1`…`field8`, each path naming a number (or an array of numbers) in
    /// ``Payloads/record(_:device:)`` JSON.
    /// - Returns: The mapping as `(field number, path)` pairs sorted by field number.
    /// - Throws: ``HTTPConfigurationError`` naming `fields.<key>`.
    public static func validate(_ fields: [String: String]) throws(HTTPConfigurationError) -> [(Int, String)] {
        guard !fields.isEmpty else { throw HTTPConfigurationError(field: "fields", "expected at least one field") }
        let sample = HTTPJSON.parse(Payloads.record(sampleRecord, device: "sample")) ?? .null
        var result: [(Int, String)] = []
        for (key, path) in fields {
            guard key.hasPrefix("field"), let index = Int(key.dropFirst(5)), (1...8).contains(index),
                key == "field\(index)"
            else {
                throw HTTPConfigurationError(field: "fields.\(key)", "expected a key `field1` … `field8`")
            }
            guard let value = sample.value(atPath: path), number(value) != nil else {
                throw HTTPConfigurationError(
                    field: "fields.\(key)",
                    "`\(path)` names no number in the record JSON (e.g. `p1.import_t1_wh`, `ade9000.import_wh`, "
                        + "`ade9000.import_wh.0`)")
            }
            result.append((index, path))
        }
        return result.sorted { $0.0 < $1.0 }
    }

    /// The `fieldN=value` pairs for `record`; paths the record has no value for (no P1 part, no voltage) are left
    /// out. Integral values are written without a fraction (`5779835`), others in shortest form (`229.8`).
    public static func values(for record: IntervalRecord, device: String, mapping: [(Int, String)]) -> [(
        String, String
    )] {
        guard let tree = HTTPJSON.parse(Payloads.record(record, device: device)) else { return [] }
        return mapping.compactMap { field, path in
            guard let node = tree.value(atPath: path), let value = number(node) else { return nil }
            return ("field\(field)", format(value))
        }
    }

    /// `application/x-www-form-urlencoded` body (unreserved characters kept, everything else percent-encoded).
    public static func formBody(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(formEncode($0.0))=\(formEncode($0.1))" }.joined(separator: "&")
    }

    static func formEncode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                result.unicodeScalars.append("%")
                result.unicodeScalars.append(hex[Int(byte >> 4)])
                result.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return result
    }

    /// A number, or the sum of an array of numbers.
    private static func number(_ value: HTTPJSON) -> Double? {
        switch value {
        case .number(let number): return number
        case .array(let elements):
            let numbers = elements.compactMap(\.numberValue)
            return numbers.count == elements.count && !numbers.isEmpty ? numbers.reduce(0, +) : nil
        default: return nil
        }
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// A record with every optional value present, to check paths against.
    private static let sampleRecord = IntervalRecord(
        start: .epoch, end: UnixTime(seconds: 60),
        p1: P1Interval(voltageMinDecivolts: 2300, voltageMaxDecivolts: 2310, monthPeakTime: UnixTime(seconds: 1)),
        ade9000: ADE9000Interval(
            voltageMinDecivolts: 2300, voltageMaxDecivolts: 2310, monthPeakTime: UnixTime(seconds: 1)))
}
