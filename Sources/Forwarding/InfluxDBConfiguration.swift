import Firmware

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An InfluxDB server that interval records are written to as line protocol.
///
/// Version 1 (InfluxDB 1.x, `POST /write?db=…&precision=s`, optional HTTP Basic credentials):
///
/// ```yaml
/// url: http://influx.local:8086
/// version: 1
/// database: emeter
/// username: emeter                 # optional; then password is required
/// password: env:INFLUX_PASSWORD
/// ```
///
/// Version 2 (InfluxDB 2.x/3.x, `POST /api/v2/write?org=…&bucket=…&precision=s`, `Authorization: Token …`):
///
/// ```yaml
/// url: http://influx.local:8086
/// version: 2
/// org: home
/// bucket: emeter
/// token: file:/etc/emeter/influx-token
/// ```
///
/// Without `version:` the version is 2 when any of `org`, `bucket` or `token` is given, else 1.
public struct InfluxDBConfiguration: Codable, Sendable, Equatable {
    /// The server's base URL (`http://host:8086`, or a reverse-proxy prefix such as `https://host/influx`), without a
    /// query; `/write` or `/api/v2/write` is appended.
    public var url: String
    /// 1 or 2; `nil` = inferred (see the type's documentation).
    public var version: Int?
    /// v1: the database (must exist; InfluxDB answers 404 otherwise, which pauses the forwarder).
    public var database: String?
    /// v1: the retention policy (`rp=`); `nil` = the database's default.
    public var retentionPolicy: String?
    /// v1: user name for HTTP Basic authentication.
    public var username: String?
    /// v1: password (literal, `env:NAME` or `file:PATH`).
    public var password: HTTPSecret?
    /// v2: organisation name or id.
    public var org: String?
    /// v2: bucket name.
    public var bucket: String?
    /// v2: API token (literal, `env:NAME` or `file:PATH`).
    public var token: HTTPSecret?
    /// Measurement name (default `emeter_interval`).
    public var measurement: String?
    /// At most this many records per write request when a backlog drains (default 100; 1 = one per request).
    public var batchSize: Int?
    public var timeout: HTTPTimeouts
    /// Pause on 401/403/404 or a redirect, seconds (default 600).
    public var pause: Double?

    /// The default ``batchSize``.
    public static let defaultBatchSize = 100

    /// The default measurement.
    public static let defaultMeasurement = "emeter_interval"

    public init(
        url: String, version: Int? = nil, database: String? = nil, retentionPolicy: String? = nil,
        username: String? = nil, password: HTTPSecret? = nil, org: String? = nil, bucket: String? = nil,
        token: HTTPSecret? = nil, measurement: String? = nil, batchSize: Int? = nil,
        timeout: HTTPTimeouts = HTTPTimeouts(), pause: Double? = nil
    ) {
        self.url = url
        self.version = version
        self.database = database
        self.retentionPolicy = retentionPolicy
        self.username = username
        self.password = password
        self.org = org
        self.bucket = bucket
        self.token = token
        self.measurement = measurement
        self.batchSize = batchSize
        self.timeout = timeout
        self.pause = pause
    }

    enum CodingKeys: String, CodingKey {
        case url, version, database, username, password, org, bucket, token, measurement, timeout, pause
        case retentionPolicy = "retention_policy"
        case batchSize = "batch_size"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        url = try container.decode(String.self, forKey: .url)
        version = try container.decodeIfPresent(Int.self, forKey: .version)
        database = try container.decodeIfPresent(String.self, forKey: .database)
        retentionPolicy = try container.decodeIfPresent(String.self, forKey: .retentionPolicy)
        username = try container.decodeIfPresent(String.self, forKey: .username)
        password = try container.decodeIfPresent(HTTPSecret.self, forKey: .password)
        org = try container.decodeIfPresent(String.self, forKey: .org)
        bucket = try container.decodeIfPresent(String.self, forKey: .bucket)
        token = try container.decodeIfPresent(HTTPSecret.self, forKey: .token)
        measurement = try container.decodeIfPresent(String.self, forKey: .measurement)
        batchSize = try container.decodeIfPresent(Int.self, forKey: .batchSize)
        timeout = try container.decodeIfPresent(HTTPTimeouts.self, forKey: .timeout) ?? HTTPTimeouts()
        pause = try container.decodeIfPresent(Double.self, forKey: .pause)
    }

    /// The version in effect: `version`, or 2 when `org`, `bucket` or `token` is given, else 1.
    public var effectiveVersion: Int {
        if let version { return version }
        return org != nil || bucket != nil || token != nil ? 2 : 1
    }
}

/// What a checked ``InfluxDBConfiguration`` resolves to: the write URL and the `Authorization` header.
public struct InfluxDBEndpoint: Sendable, Equatable {
    /// The full write URL with its query (`…/write?db=emeter&precision=s`).
    public var writeURL: String
    /// `Basic …` (v1 with credentials), `Token …` (v2) or `nil`.
    public var authorization: String?
    /// For logs: the write URL without userinfo (the query holds no secret: credentials go in a header).
    public var displayName: String
    public var measurement: String
    /// Records per write request at most.
    public var batchSize: Int

    /// Checks `configuration` and resolves its secrets.
    /// - Parameters:
    ///   - configuration: As decoded.
    ///   - environment: For `env:NAME` secrets.
    /// - Throws: ``HTTPConfigurationError`` naming the first bad or missing field.
    public init(
        _ configuration: InfluxDBConfiguration, environment: [String: String]
    ) throws(HTTPConfigurationError) {
        try httpValidateURL(configuration.url, field: "url")
        guard !configuration.url.contains("?"), !configuration.url.contains("#") else {
            throw HTTPConfigurationError(
                field: "url",
                "expected the server's base URL without a query (e.g. `http://host:8086`); "
                    + "database, bucket and org are separate keys")
        }
        let measurement = configuration.measurement ?? InfluxDBConfiguration.defaultMeasurement
        guard !measurement.isEmpty, !measurement.hasPrefix("_") else {
            throw HTTPConfigurationError(
                field: "measurement", "expected a non-empty name not starting with `_`, got `\(measurement)`")
        }
        self.measurement = measurement
        batchSize = configuration.batchSize ?? InfluxDBConfiguration.defaultBatchSize
        guard (1...5000).contains(batchSize) else {
            throw HTTPConfigurationError(field: "batch_size", "expected 1 to 5000 records, got \(batchSize)")
        }
        var base = configuration.url
        while base.hasSuffix("/") { base.removeLast() }

        func required(_ value: String?, _ field: String, _ what: String) throws(HTTPConfigurationError) -> String {
            guard let value, !value.trimmingWhitespace().isEmpty else {
                throw HTTPConfigurationError(field: field, "version \(configuration.effectiveVersion) needs \(what)")
            }
            return value
        }
        func forbidden(_ present: Bool, _ field: String, version: Int) throws(HTTPConfigurationError) {
            if present {
                throw HTTPConfigurationError(
                    field: field,
                    "is a version \(version) key; this forwarder is version \(configuration.effectiveVersion)")
            }
        }

        switch configuration.effectiveVersion {
        case 1:
            try forbidden(configuration.org != nil, "org", version: 2)
            try forbidden(configuration.bucket != nil, "bucket", version: 2)
            try forbidden(configuration.token != nil, "token", version: 2)
            let database = try required(configuration.database, "database", "`database:` (an existing database)")
            var query = [("db", database)]
            if let policy = configuration.retentionPolicy {
                guard !policy.isEmpty else {
                    throw HTTPConfigurationError(field: "retention_policy", "expected a non-empty name")
                }
                query.append(("rp", policy))
            }
            query.append(("precision", "s"))
            let pathAndQuery = "/write?" + ThingSpeakFields.formBody(query)
            writeURL = base + pathAndQuery
            displayName = HTTPRedaction.url(base) + pathAndQuery
            switch (configuration.username, configuration.password) {
            case (nil, nil):
                authorization = nil
            case (let username?, let password?):
                guard !username.isEmpty, !username.contains(":") else {
                    throw HTTPConfigurationError(field: "username", "expected a non-empty name without `:`")
                }
                let secret = try password.resolve(field: "password", environment: environment)
                authorization = "Basic " + Data("\(username):\(secret)".utf8).base64EncodedString()
            case (nil, _):
                throw HTTPConfigurationError(field: "username", "`password:` is given without `username:`")
            case (_, nil):
                throw HTTPConfigurationError(field: "password", "`username:` is given without `password:`")
            }
        case 2:
            try forbidden(configuration.database != nil, "database", version: 1)
            try forbidden(configuration.retentionPolicy != nil, "retention_policy", version: 1)
            try forbidden(configuration.username != nil, "username", version: 1)
            try forbidden(configuration.password != nil, "password", version: 1)
            let org = try required(configuration.org, "org", "`org:` (the organisation name or id)")
            let bucket = try required(configuration.bucket, "bucket", "`bucket:`")
            guard let token = configuration.token else {
                throw HTTPConfigurationError(
                    field: "token", "version 2 needs `token:` (an API token with write access)")
            }
            let secret = try token.resolve(field: "token", environment: environment)
            let pathAndQuery =
                "/api/v2/write?" + ThingSpeakFields.formBody([("org", org), ("bucket", bucket), ("precision", "s")])
            writeURL = base + pathAndQuery
            displayName = HTTPRedaction.url(base) + pathAndQuery
            authorization = "Token " + secret
        default:
            throw HTTPConfigurationError(
                field: "version",
                "expected 1 (InfluxDB 1.x) or 2 (InfluxDB 2.x/3.x), got \(configuration.effectiveVersion)")
        }
    }
}

/// Interval records → InfluxDB line protocol. Pure.
///
/// The fields come from the one record JSON (``Payloads/record(_:device:)``), so InfluxDB gets the same names and
/// units as every other sink. Each record part (`p1`, `ade9000`) is one point stamped with the record's `end` (Unix
/// seconds, `precision=s`), so a backlog drained late lands at the time it was measured:
///
/// ```text
/// emeter_interval,device=E0025000123,source=p1 id="00000001-7-9",start=1795283940i,flags="",average_power_w=480i,… 1795284000
/// ```
///
/// - Tags: `device` and `source` (`p1` or `ade9000`); a record with both parts gives two points.
/// - Fields: the record's `id` (de-duplication key), `start` and `flags` (the names joined by `,`), then every member
///   of the part in key order. Numbers are integers (`i` suffix: Wh, W, litres, Unix seconds), except members whose
///   unit is volts or amperes (`…_v`, `…_a`), which are floats. A per-phase array (`import_wh: [a, b, c]`) gives
///   its sum under the member's name and the phases as `import_wh_a`, `import_wh_b`, `import_wh_c`. `null` members
///   are left out.
///
/// A point re-sent after a lost acknowledgement has the same series and timestamp, so InfluxDB overwrites it: a
/// re-send never counts twice.
public enum InfluxLineProtocol {
    /// One field value.
    public enum FieldValue: Sendable, Equatable {
        case integer(Int64)
        case float(Double)
        case string(String)
    }

    /// The record parts written as points, with their `source` tag.
    public static let sources = ["p1", "ade9000"]

    /// The points for `record`, one line each (no trailing newline); empty when the record has no part.
    public static func lines(for record: IntervalRecord, device: String, measurement: String) -> [String] {
        guard let json = HTTPJSON.parse(Payloads.record(record, device: device)) else { return [] }
        var common: [(String, FieldValue)] = []
        if let id = json["id"]?.stringValue { common.append(("id", .string(id))) }
        if let start = json["start"].flatMap(integer) { common.append(("start", .integer(start))) }
        if case .array(let flags)? = json["flags"] {
            common.append(("flags", .string(flags.compactMap(\.stringValue).joined(separator: ","))))
        }
        var lines: [String] = []
        for source in sources {
            guard case .object(let members)? = json[source] else { continue }
            var fields = common
            for key in members.keys.sorted() {
                if let value = members[key] { fields += self.fields(key, value) }
            }
            lines.append(
                line(
                    measurement: measurement, tags: [("device", device), ("source", source)], fields: fields,
                    time: record.end.seconds))
        }
        return lines
    }

    /// One line: `measurement[,tag=value…] field=value[,…] time`. Tags with an empty value are left out (line
    /// protocol has no empty tag values).
    public static func line(
        measurement: String, tags: [(String, String)], fields: [(String, FieldValue)], time: Int64
    ) -> String {
        var text = escape(measurement, special: [",", " "])
        for (key, value) in tags where !key.isEmpty && !value.isEmpty {
            text += "," + escape(key, special: [",", "=", " "]) + "=" + escape(value, special: [",", "=", " "])
        }
        text += " "
        text += fields.map { key, value in escape(key, special: [",", "=", " "]) + "=" + format(value) }
            .joined(separator: ",")
        return text + " " + String(time)
    }

    /// A field value as written: `12i`, `229.8`, `"text"` (with `"` and `\` escaped, a line break as a space).
    public static func format(_ value: FieldValue) -> String {
        switch value {
        case .integer(let number):
            return "\(number)i"
        case .float(let number):
            // Shortest round-trip form: 229.8, 231.0; never `inf`/`nan` (``fields(_:_:)`` leaves those out).
            return "\(number)"
        case .string(let text):
            var result = "\""
            for character in text.unicodeScalars {
                switch character {
                case "\"", "\\": result += "\\" + String(character)
                case "\n", "\r": result += " "
                default: result.unicodeScalars.append(character)
                }
            }
            return result + "\""
        }
    }

    /// Backslash-escapes the `special` characters; a line break (which would end the line) becomes an escaped
    /// space, other control characters are kept.
    static func escape(_ text: String, special: Set<Character>) -> String {
        var result = ""
        for character in text {
            if character == "\n" || character == "\r" || character == "\r\n" {
                result += special.contains(" ") ? "\\ " : " "
            } else if special.contains(character) {
                result += "\\" + String(character)
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// The field(s) for one member of a record part.
    static func fields(_ key: String, _ value: HTTPJSON) -> [(String, FieldValue)] {
        let isFloat = key.hasSuffix("_v") || key.hasSuffix("_a")
        func number(_ value: HTTPJSON) -> FieldValue? {
            guard let double = value.numberValue, double.isFinite else { return nil }
            if isFloat { return .float(double) }
            return integer(value).map { .integer($0) }
        }
        switch value {
        case .number:
            return number(value).map { [(key, $0)] } ?? []
        case .array(let elements):
            let values = elements.compactMap(number)
            guard values.count == elements.count, !values.isEmpty else { return [] }
            let names = elements.count == 3 ? ["a", "b", "c"] : elements.indices.map(String.init)
            let total: FieldValue =
                isFloat
                ? .float(elements.compactMap(\.numberValue).reduce(0, +))
                : .integer(
                    values.reduce(0) { sum, value in
                        if case .integer(let number) = value { return sum &+ number }
                        return sum
                    })
            return [(key, total)] + zip(names, values).map { ("\(key)_\($0)", $1) }
        case .string(let text):
            return [(key, .string(text))]
        default:
            return []
        }
    }

    /// A JSON number that is a whole number within Int64's range.
    private static func integer(_ value: HTTPJSON) -> Int64? {
        guard let double = value.numberValue, double.isFinite, double == double.rounded(),
            abs(double) < 9.2e18
        else { return nil }
        return Int64(double)
    }
}
