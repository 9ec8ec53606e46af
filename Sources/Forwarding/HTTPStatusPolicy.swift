import CivilTime
import Firmware

/// What kind of backend a response came from: the §4.4 retry table has backend-specific rows.
public enum HTTPBackendKind: Sendable, Equatable {
    /// Generic JSON endpoint without credentials or with a static bearer token / header.
    case generic
    /// Generic JSON endpoint with JWT (the forwarder refreshes once on 401 before asking the policy).
    case jwt
    /// FIWARE Orion (`POST /v2/op/update` with `append`).
    case orion
    /// ThingSpeak update API.
    case thingSpeak
}

/// The status-code → action table of `spec/forwarding.md` §4.4. Pure: no I/O, time passed in.
public enum HTTPStatusPolicy {
    /// ThingSpeak accepts one update per 15 s on free accounts (§4.2).
    public static let thingSpeakMinimumWait: Duration = .seconds(15)
    /// A `Retry-After` longer than this is capped (a bad header must not park a backend for days).
    public static let maximumRetryAfter: Duration = .seconds(3600)

    /// The action for a response with `status`, or `nil` when it is a success (2xx).
    ///
    /// | Status | Action |
    /// |---|---|
    /// | 2xx | success |
    /// | 3xx | pause: redirects are not followed (a POST body would be lost); configure the final URL |
    /// | 408, 425, 429 | retry, after `Retry-After` if given (ThingSpeak: at least 15 s) |
    /// | 5xx | retry, after `Retry-After` if given |
    /// | 401, 403 (static token, API key, Orion, or JWT after the one refresh), ThingSpeak 402 | pause |
    /// | 404 | pause (wrong URL; Orion `append` creates missing entities, so a 404 means a wrong base URL) |
    /// | 409 | Orion `TooManyResults`: pause (configuration); otherwise (ThingSpeak conflict) drop |
    /// | 400, 405, 411, 413, 415, 422 and every other 4xx | drop this record |
    ///
    /// - Parameters:
    ///   - status: HTTP status code.
    ///   - retryAfter: The `Retry-After` header value, if any.
    ///   - now: The wall clock now (for an HTTP-date `Retry-After`).
    ///   - backend: Which backend answered.
    ///   - pause: How long a configuration error pauses the backend.
    public static func action(
        status: Int, retryAfter: String?, now: UnixTime, backend: HTTPBackendKind, pause: Duration
    ) -> ForwardError.Action? {
        switch status {
        case 200..<300:
            return nil
        case 300..<400:
            return .pause(for: pause)
        case 408, 425, 429:
            let after = retryAfter.flatMap { parseRetryAfter($0, now: now) }
            if backend == .thingSpeak { return .retry(after: max(after ?? .zero, thingSpeakMinimumWait)) }
            return .retry(after: after)
        case 500..<600:
            return .retry(after: retryAfter.flatMap { parseRetryAfter($0, now: now) })
        case 401, 402, 403, 404:
            return .pause(for: pause)
        case 409:
            return backend == .orion ? .pause(for: pause) : .drop
        case 400..<500:
            return .drop
        default:
            // 1xx as a final status, or a nonsense code: treat as transient.
            return .retry(after: nil)
        }
    }

    /// Parses `Retry-After` (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date (IMF-fixdate, obsolete RFC 850 or
    /// asctime form) turned into a delay from `now` (0 when in the past). Capped at ``maximumRetryAfter``.
    /// - Returns: `nil` when the value is neither form.
    public static func parseRetryAfter(_ value: String, now: UnixTime) -> Duration? {
        let text = value.trimmingWhitespace()
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) {
            guard let seconds = Int64(text) else { return maximumRetryAfter }  // too many digits
            return min(.seconds(seconds), maximumRetryAfter)
        }
        guard let date = parseHTTPDate(text) else { return nil }
        return min(max(.zero, UnixTime(seconds: date) - now), maximumRetryAfter)
    }

    /// Parses an HTTP-date to Unix seconds: `Sun, 06 Nov 1994 08:49:37 GMT`, `Sunday, 06-Nov-94 08:49:37 GMT`,
    /// `Sun Nov  6 08:49:37 1994`.
    public static func parseHTTPDate(_ text: String) -> Int64? {
        let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        func month(_ name: Substring) -> Int64? {
            months.firstIndex(of: name.lowercased()).map { Int64($0 + 1) }
        }
        func clock(_ text: Substring) -> Int64? {
            let parts = text.split(separator: ":")
            guard parts.count == 3, let h = Int64(parts[0]), let m = Int64(parts[1]), let s = Int64(parts[2]),
                (0..<24).contains(h), (0..<60).contains(m), (0...60).contains(s)
            else { return nil }
            return h * 3600 + m * 60 + s
        }
        func unix(year: Int64, month: Int64, day: Int64, seconds: Int64) -> Int64? {
            guard (1...31).contains(day), (1...12).contains(month), (1970...9999).contains(year) else { return nil }
            return CivilTime.seconds(
                year: Int(year), month: Int(month), day: Int(day), hour: 0, minute: 0, second: 0) + seconds
        }
        let words = text.split(separator: " ")
        if words.count == 6, words[0].hasSuffix(","), words[5] == "GMT" {
            // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
            guard let day = Int64(words[1]), let mon = month(words[2]), let year = Int64(words[3]),
                let seconds = clock(words[4])
            else { return nil }
            return unix(year: year, month: mon, day: day, seconds: seconds)
        }
        if words.count == 4, words[0].hasSuffix(","), words[3] == "GMT" {
            // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT (two-digit year: RFC 9110 says interpret within 50 years;
            // we take 19xx for ≥ 70, else 20xx)
            let date = words[1].split(separator: "-")
            guard date.count == 3, let day = Int64(date[0]), let mon = month(date[1]), let yy = Int64(date[2]),
                let seconds = clock(words[2])
            else { return nil }
            let year = date[2].count == 2 ? (yy >= 70 ? 1900 + yy : 2000 + yy) : yy
            return unix(year: year, month: mon, day: day, seconds: seconds)
        }
        if words.count == 5 {
            // asctime: Sun Nov  6 08:49:37 1994 (double space collapsed by split)
            guard let mon = month(words[1]), let day = Int64(words[2]), let seconds = clock(words[3]),
                let year = Int64(words[4])
            else { return nil }
            return unix(year: year, month: mon, day: day, seconds: seconds)
        }
        return nil
    }
}

/// Removing secrets from what is logged.
public enum HTTPRedaction {
    /// `url` without userinfo and with every query value replaced by `***`:
    /// `https://user:pw@host/update?api_key=K` → `https://host/update?api_key=***`.
    public static func url(_ url: String) -> String {
        var text = url
        var query: Substring?
        if let mark = text.firstIndex(of: "?") {
            query = text[text.index(after: mark)...]
            text = String(text[..<mark])
        }
        if let schemeEnd = text.firstRange(of: "://") {
            let authorityStart = schemeEnd.upperBound
            let authorityEnd = text[authorityStart...].firstIndex(of: "/") ?? text.endIndex
            if let at = text[authorityStart..<authorityEnd].lastIndex(of: "@") {
                text.removeSubrange(authorityStart...at)
            }
        }
        guard let query else { return text }
        let redacted = query.split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            guard let equals = pair.firstIndex(of: "=") else { return String(pair) }
            return String(pair[..<equals]) + "=***"
        }
        return text + "?" + redacted.joined(separator: "&")
    }

    /// The start of a response body for a log line: at most `limit` characters, control characters as spaces.
    public static func excerpt(_ body: [UInt8], limit: Int = 200) -> String {
        let text = String(decoding: body.prefix(limit * 4), as: UTF8.self)
        let cleaned = String(
            text.prefix(limit).map { $0.isASCII && $0.asciiValue.map { $0 < 0x20 } == true ? " " : $0 })
        return text.count > limit ? cleaned + "…" : cleaned
    }
}
