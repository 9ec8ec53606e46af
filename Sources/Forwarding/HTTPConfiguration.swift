import Firmware

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A configuration problem found while building an HTTP forwarder: names the field and what was expected.
public struct HTTPConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Dotted key path in the configuration, e.g. `auth.password` or `fields.field9`.
    public var field: String
    public var message: String

    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// A secret in a configuration file: a literal, `env:NAME` (an environment variable) or `file:PATH` (the file's
/// contents, surrounding whitespace and the final newline removed, as written by `echo token > file`).
///
/// `description` never shows a literal secret, so a configuration can be logged.
public struct HTTPSecret: Codable, Sendable, Equatable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The text as written in the configuration.
    public var specification: String

    public init(_ specification: String) { self.specification = specification }
    public init(stringLiteral value: String) { self.specification = value }

    public init(from decoder: any Decoder) throws {
        specification = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(specification)
    }

    public var description: String {
        if specification.hasPrefix("env:") || specification.hasPrefix("file:") { return "<secret \(specification)>" }
        return "<secret>"
    }

    /// The secret's value.
    /// - Parameters:
    ///   - field: Key path reported in errors (`auth.password`).
    ///   - environment: Where `env:NAME` is looked up (the process environment by default).
    /// - Throws: ``HTTPConfigurationError`` when the variable is unset or empty, the file unreadable or empty.
    public func resolve(
        field: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(HTTPConfigurationError) -> String {
        if specification.hasPrefix("env:") {
            let name = String(specification.dropFirst(4))
            guard let value = environment[name], !value.isEmpty else {
                throw HTTPConfigurationError(field: field, "environment variable `\(name)` is not set or empty")
            }
            return value
        }
        if specification.hasPrefix("file:") {
            let path = String(specification.dropFirst(5))
            guard let data = FileManager.default.contents(atPath: path) else {
                throw HTTPConfigurationError(field: field, "cannot read secret file `\(path)`")
            }
            let value = String(decoding: data, as: UTF8.self).trimmingWhitespace()
            guard !value.isEmpty else {
                throw HTTPConfigurationError(field: field, "secret file `\(path)` is empty")
            }
            return value
        }
        guard !specification.isEmpty else { throw HTTPConfigurationError(field: field, "expected a non-empty secret") }
        return specification
    }
}

/// Per-request time limits (`spec/forwarding.md` §4.4: 10 s connect, 30 s total).
///
/// In a configuration either `timeout: {connect: 10, total: 30}` (each key optional) or `timeout: 30` (total only).
public struct HTTPTimeouts: Codable, Sendable, Equatable {
    /// TCP connect (+ TLS handshake), seconds.
    public var connect: Double
    /// The whole exchange, from sending the request to the last body byte, seconds.
    public var total: Double

    public init(connect: Double = 10, total: Double = 30) {
        self.connect = connect
        self.total = total
    }

    public init(from decoder: any Decoder) throws {
        if let total = try? decoder.singleValueContainer().decode(Double.self) {
            connect = 10
            self.total = total
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        connect = try container.decodeIfPresent(Double.self, forKey: .connect) ?? 10
        total = try container.decodeIfPresent(Double.self, forKey: .total) ?? 30
    }

    enum CodingKeys: String, CodingKey { case connect, total }

    /// Both timeouts must be finite, above 0 and at most a day (they become nanosecond counts: `1e10` would
    /// overflow).
    func validate(field: String) throws(HTTPConfigurationError) {
        for (name, seconds) in [("connect", connect), ("total", total)]
        where !(seconds.isFinite && seconds > 0 && seconds <= 86_400) {
            throw HTTPConfigurationError(
                field: "\(field).\(name)", "expected seconds above 0 and at most 86400, got \(seconds)")
        }
    }
}

/// How the generic JSON forwarder authenticates.
///
/// YAML/JSON forms (snake_case): nothing (no `auth` key), `{bearer_token: "env:TOKEN"}`, or
/// `{token_url: "https://host/api/token/", refresh_url: "https://host/api/token/refresh/", username: "meter",
/// password: "file:/etc/emeter/password"}` for djangorestframework-simplejwt.
public enum HTTPAuthConfiguration: Codable, Sendable, Equatable {
    /// No `Authorization` header.
    case none
    /// `Authorization: Bearer <token>`; a 401/403 is a configuration error (pause).
    case bearer(token: HTTPSecret)
    /// JWT obtained from a token endpoint (`spec/forwarding.md` §4.1).
    case jwt(HTTPJWTConfiguration)

    enum CodingKeys: String, CodingKey {
        case bearerToken = "bearer_token"
        case tokenURL = "token_url"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let token = try container.decodeIfPresent(HTTPSecret.self, forKey: .bearerToken) {
            self = .bearer(token: token)
        } else if container.contains(.tokenURL) {
            self = .jwt(try HTTPJWTConfiguration(from: decoder))
        } else {
            self = .none
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .none:
            _ = encoder.container(keyedBy: CodingKeys.self)
        case .bearer(let token):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(token, forKey: .bearerToken)
        case .jwt(let configuration):
            try configuration.encode(to: encoder)
        }
    }
}

/// djangorestframework-simplejwt endpoints and credentials.
///
/// **URLs are used exactly as configured.** Django's `APPEND_SLASH` answers a POST to `…/api/token` (no trailing
/// slash) with a redirect (or a 404 without CommonMiddleware), and a client following a 301/302 re-sends a POST as a
/// GET without its body. The forwarders never follow redirects: a 3xx is reported as a configuration error naming
/// the `Location`, so write simplejwt URLs with their trailing slash (`…/api/token/`, `…/api/token/refresh/`).
public struct HTTPJWTConfiguration: Codable, Sendable, Equatable {
    /// `POST {"username","password"}` → `200 {"refresh","access"}`.
    public var tokenURL: String
    /// `POST {"refresh"}` → `200 {"access"}` (+ `"refresh"` with `ROTATE_REFRESH_TOKENS`). When absent:
    /// `tokenURL` + `refresh/` if `tokenURL` ends with `/`, else `tokenURL` + `/refresh`.
    public var refreshURL: String?
    public var username: String
    public var password: HTTPSecret
    /// The scheme word in `Authorization: <type> <token>` (simplejwt `AUTH_HEADER_TYPES`; default `Bearer`).
    public var headerType: String?
    /// Refresh this long before the access token's `exp`, seconds (default 30).
    public var refreshMargin: Double?

    public init(
        tokenURL: String, refreshURL: String? = nil, username: String, password: HTTPSecret,
        headerType: String? = nil, refreshMargin: Double? = nil
    ) {
        self.tokenURL = tokenURL
        self.refreshURL = refreshURL
        self.username = username
        self.password = password
        self.headerType = headerType
        self.refreshMargin = refreshMargin
    }

    enum CodingKeys: String, CodingKey {
        case tokenURL = "token_url"
        case refreshURL = "refresh_url"
        case username, password
        case headerType = "header_type"
        case refreshMargin = "refresh_margin"
    }

    /// The refresh endpoint actually used.
    public var effectiveRefreshURL: String {
        if let refreshURL { return refreshURL }
        return tokenURL.hasSuffix("/") ? tokenURL + "refresh/" : tokenURL + "/refresh"
    }
}

/// The generic JSON backend: every interval record is `POST`ed as ``Payloads/record(_:device:)`` JSON to `url`.
///
/// ```yaml
/// url: https://example.org/api/readings/
/// auth: {token_url: https://example.org/api/token/, username: meter, password: env:EMETER_PASSWORD}
/// live_url: https://example.org/api/live/
/// live_min_interval: 10
/// timeout: {connect: 10, total: 30}
/// ```
public struct HTTPForwarderConfiguration: Codable, Sendable, Equatable {
    /// Where records are posted, used exactly as written (see ``HTTPJWTConfiguration`` on trailing slashes).
    public var url: String
    public var auth: HTTPAuthConfiguration
    /// Where live readings are posted (``Payloads/live(_:device:)``), best effort; `nil` = no live data.
    public var liveURL: String?
    /// At least this many seconds (of reading time) between two live posts (default 10).
    public var liveMinInterval: Double?
    /// Where health counters are posted (``Health`` JSON), best effort; `nil` = none.
    public var healthURL: String?
    /// Extra request headers (e.g. an API gateway key). Never logged.
    public var headers: [String: String]?
    public var timeout: HTTPTimeouts
    /// How long to pause on a configuration error (401/403 with a static token, 404, redirect), seconds
    /// (default 600).
    public var pause: Double?

    public init(
        url: String, auth: HTTPAuthConfiguration = .none, liveURL: String? = nil, liveMinInterval: Double? = nil,
        healthURL: String? = nil, headers: [String: String]? = nil, timeout: HTTPTimeouts = HTTPTimeouts(),
        pause: Double? = nil
    ) {
        self.url = url
        self.auth = auth
        self.liveURL = liveURL
        self.liveMinInterval = liveMinInterval
        self.healthURL = healthURL
        self.headers = headers
        self.timeout = timeout
        self.pause = pause
    }

    enum CodingKeys: String, CodingKey {
        case url, auth, headers, timeout, pause
        case liveURL = "live_url"
        case liveMinInterval = "live_min_interval"
        case healthURL = "health_url"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        url = try container.decode(String.self, forKey: .url)
        auth = try container.decodeIfPresent(HTTPAuthConfiguration.self, forKey: .auth) ?? .none
        liveURL = try container.decodeIfPresent(String.self, forKey: .liveURL)
        liveMinInterval = try container.decodeIfPresent(Double.self, forKey: .liveMinInterval)
        healthURL = try container.decodeIfPresent(String.self, forKey: .healthURL)
        headers = try container.decodeIfPresent([String: String].self, forKey: .headers)
        timeout = try container.decodeIfPresent(HTTPTimeouts.self, forKey: .timeout) ?? HTTPTimeouts()
        pause = try container.decodeIfPresent(Double.self, forKey: .pause)
    }
}

/// Checks that `url` is an absolute `http`/`https` URL with a host.
func httpValidateURL(_ url: String, field: String) throws(HTTPConfigurationError) {
    guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
        scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
    else {
        throw HTTPConfigurationError(
            field: field, "expected an absolute http:// or https:// URL, got `\(HTTPRedaction.url(url))`")
    }
}

/// Seconds from a configuration → `Duration`, checking the range.
func httpConfiguredDuration(_ seconds: Double?, default value: Duration, field: String) throws(HTTPConfigurationError)
    -> Duration
{
    guard let seconds else { return value }
    guard seconds.isFinite, seconds >= 0, seconds <= 86_400 * 7 else {
        throw HTTPConfigurationError(field: field, "expected seconds between 0 and 604800, got \(seconds)")
    }
    return .milliseconds(Int64((seconds * 1000).rounded()))
}
