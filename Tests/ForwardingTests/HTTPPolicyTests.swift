import CivilTime
import Foundation
import Testing

@testable import Firmware
@testable import Forwarding

/// The §4.4 retry table, `Retry-After`, redaction, JWT `exp`, secrets and configuration decoding (all pure).
struct HTTPPolicyTests {
    static let pause: Duration = .seconds(600)

    @Test(arguments: [
        (200, HTTPBackendKind.generic, nil as ForwardError.Action?),
        (201, .generic, nil), (204, .orion, nil),
        (301, .jwt, .pause(for: pause)), (308, .generic, .pause(for: pause)),
        (400, .generic, .drop), (405, .orion, .drop), (411, .orion, .drop), (413, .generic, .drop),
        (415, .orion, .drop), (422, .orion, .drop), (421, .thingSpeak, .drop),
        (401, .generic, .pause(for: pause)), (403, .generic, .pause(for: pause)),
        (401, .thingSpeak, .pause(for: pause)), (402, .thingSpeak, .pause(for: pause)),
        (404, .generic, .pause(for: pause)), (404, .orion, .pause(for: pause)),
        (409, .orion, .pause(for: pause)), (409, .thingSpeak, .drop),
        (408, .generic, .retry(after: nil)), (425, .generic, .retry(after: nil)), (429, .generic, .retry(after: nil)),
        (429, .thingSpeak, .retry(after: .seconds(15))),
        (500, .generic, .retry(after: nil)), (502, .orion, .retry(after: nil)), (503, .jwt, .retry(after: nil)),
        (504, .generic, .retry(after: nil)),
    ])
    func statusTable(status: Int, backend: HTTPBackendKind, expected: ForwardError.Action?) {
        #expect(
            HTTPStatusPolicy.action(status: status, retryAfter: nil, now: .epoch, backend: backend, pause: Self.pause)
                == expected)
    }

    @Test func retryAfterSecondsAndDates() {
        let now = UnixTime(seconds: 784_111_777 - 120)  // two minutes before Sun, 06 Nov 1994 08:49:37 GMT
        #expect(HTTPStatusPolicy.parseRetryAfter("2", now: now) == .seconds(2))
        #expect(HTTPStatusPolicy.parseRetryAfter(" 120 ", now: now) == .seconds(120))
        #expect(HTTPStatusPolicy.parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == .seconds(120))
        #expect(HTTPStatusPolicy.parseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now: now) == .seconds(120))
        #expect(HTTPStatusPolicy.parseRetryAfter("Sun Nov  6 08:49:37 1994", now: now) == .seconds(120))
        #expect(HTTPStatusPolicy.parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now: now + .seconds(1000)) == .zero)
        #expect(HTTPStatusPolicy.parseRetryAfter("99999999999999999999999", now: now) == .seconds(3600))
        #expect(HTTPStatusPolicy.parseRetryAfter("soon", now: now) == nil)
        #expect(HTTPStatusPolicy.parseRetryAfter("-5", now: now) == nil)
        #expect(HTTPStatusPolicy.parseHTTPDate("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPStatusPolicy.parseHTTPDate("Sat, 21 Nov 2026 18:00:00 GMT") == 1_795_284_000)
        #expect(HTTPStatusPolicy.parseHTTPDate("Sun, 32 Nov 1994 08:49:37 GMT") == nil)
        // 429 and 503 honour the header; ThingSpeak never waits less than 15 s.
        #expect(
            HTTPStatusPolicy.action(status: 429, retryAfter: "2", now: now, backend: .generic, pause: Self.pause)
                == .retry(after: .seconds(2)))
        #expect(
            HTTPStatusPolicy.action(
                status: 503, retryAfter: "Sun, 06 Nov 1994 08:49:37 GMT", now: now,
                backend: .orion, pause: Self.pause) == .retry(after: .seconds(120)))
        #expect(
            HTTPStatusPolicy.action(status: 429, retryAfter: "2", now: now, backend: .thingSpeak, pause: Self.pause)
                == .retry(after: .seconds(15)))
        #expect(
            HTTPStatusPolicy.action(status: 429, retryAfter: "40", now: now, backend: .thingSpeak, pause: Self.pause)
                == .retry(after: .seconds(40)))
    }

    @Test func redactionRemovesUserinfoAndQueryValues() {
        #expect(
            HTTPRedaction.url("https://user:pw@host:8080/update?api_key=SECRET&x=1")
                == "https://host:8080/update?api_key=***&x=***")
        #expect(HTTPRedaction.url("http://127.0.0.1:1026/v2/op/update") == "http://127.0.0.1:1026/v2/op/update")
        #expect(HTTPRedaction.url("http://host/a@b") == "http://host/a@b")
        #expect(HTTPRedaction.excerpt(Array("line1\nline2".utf8)) == "line1 line2")
        #expect(HTTPRedaction.excerpt(Array(String(repeating: "x", count: 300).utf8), limit: 10) == "xxxxxxxxxx…")
    }

    @Test func jwtExpiryIsReadWithoutVerifying() {
        #expect(HTTPJWT.expiry(of: makeTestJWT(exp: 1_795_286_400)) == 1_795_286_400)
        // Payload whose base64url form needs `-`/`_` and padding.
        let payload = Data(#"{"exp":1795286401,"jti":"??>>"}"#.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        #expect(HTTPJWT.expiry(of: "eyJhbGciOiJIUzI1NiJ9.\(payload).sig") == 1_795_286_401)
        #expect(HTTPJWT.expiry(of: "not-a-jwt") == nil)
        #expect(HTTPJWT.expiry(of: "a.b.c") == nil)
        #expect(HTTPJWT.expiry(of: "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoiMSJ9.sig") == nil)  // no exp
    }

    @Test func secretsResolveFromLiteralEnvironmentAndFile() throws {
        let environment = ["EMETER_TOKEN": "tok-123"]
        #expect(
            try HTTPSecret("env:EMETER_TOKEN").resolve(field: "auth.bearer_token", environment: environment)
                == "tok-123")
        #expect(
            throws: HTTPConfigurationError(
                field: "auth.bearer_token",
                "environment variable `MISSING` is not set or empty")
        ) {
            try HTTPSecret("env:MISSING").resolve(field: "auth.bearer_token", environment: environment)
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("emeter-secret-\(UUID()).txt").path
        try Data("s3cret pass\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try HTTPSecret("file:\(path)").resolve(field: "auth.password") == "s3cret pass")
        #expect(throws: HTTPConfigurationError(field: "auth.password", "cannot read secret file `/nonexistent/x`")) {
            try HTTPSecret("file:/nonexistent/x").resolve(field: "auth.password")
        }
        #expect(try HTTPSecret("literal").resolve(field: "x") == "literal")
        #expect(HTTPSecret("literal").description == "<secret>")
        #expect(HTTPSecret("env:EMETER_TOKEN").description == "<secret env:EMETER_TOKEN>")
    }

    @Test func configurationsDecodeFromSnakeCase() throws {
        let json = #"""
            {"url": "https://example.org/api/readings/",
             "auth": {"token_url": "https://example.org/api/token/", "username": "meter",
                      "password": "env:EMETER_PASSWORD", "header_type": "JWT"},
             "live_url": "https://example.org/api/live/", "live_min_interval": 5,
             "timeout": {"connect": 3}}
            """#
        let http = try JSONDecoder().decode(HTTPForwarderConfiguration.self, from: Data(json.utf8))
        #expect(http.url == "https://example.org/api/readings/")
        #expect(http.liveURL == "https://example.org/api/live/")
        #expect(http.liveMinInterval == 5)
        #expect(http.timeout == HTTPTimeouts(connect: 3, total: 30))
        guard case .jwt(let jwt) = http.auth else {
            Issue.record("expected JWT auth, got \(http.auth)")
            return
        }
        #expect(jwt.tokenURL == "https://example.org/api/token/")
        #expect(jwt.effectiveRefreshURL == "https://example.org/api/token/refresh/")
        #expect(jwt.password == HTTPSecret("env:EMETER_PASSWORD"))
        #expect(jwt.headerType == "JWT")

        let bearer = try JSONDecoder().decode(
            HTTPForwarderConfiguration.self,
            from: Data(#"{"url":"http://h/x","auth":{"bearer_token":"file:/etc/t"}}"#.utf8))
        #expect(bearer.auth == .bearer(token: HTTPSecret("file:/etc/t")))
        let anonymous = try JSONDecoder().decode(
            HTTPForwarderConfiguration.self, from: Data(#"{"url":"http://h/x"}"#.utf8))
        #expect(anonymous.auth == .none)
        #expect(anonymous.timeout == HTTPTimeouts())
        let shortTimeout = try JSONDecoder().decode(
            HTTPForwarderConfiguration.self,
            from: Data(#"{"url":"http://h/x","timeout":5}"#.utf8))
        #expect(shortTimeout.timeout == HTTPTimeouts(connect: 10, total: 5))

        let orion = try JSONDecoder().decode(
            OrionConfiguration.self,
            from: Data(
                #"""
                {"url":"http://orion:1026","service":"emeter","service_path":"/home","entity_type":"ACMeasurement",
                 "phase_type":"singlePhase","token":"env:T","token_header":"Authorization","live_min_interval":60}
                """#.utf8))
        #expect(orion.servicePath == "/home")
        #expect(orion.entityType == "ACMeasurement")
        #expect(orion.phaseType == "singlePhase")
        #expect(orion.tokenHeader == "Authorization")

        let thingSpeak = try JSONDecoder().decode(
            ThingSpeakConfiguration.self,
            from: Data(#"{"api_key":"env:K","fields":{"field1":"p1.import_t1_wh"},"min_interval":20}"#.utf8))
        #expect(thingSpeak.url == "https://api.thingspeak.com/update")
        #expect(thingSpeak.fields == ["field1": "p1.import_t1_wh"])
        #expect(thingSpeak.minInterval == 20)
    }

    @Test func thingSpeakFieldMappingIsChecked() throws {
        #expect(throws: HTTPConfigurationError(field: "fields.field9", "expected a key `field1` … `field8`")) {
            try ThingSpeakFields.validate(["field9": "p1.gas_l"])
        }
        #expect(throws: HTTPConfigurationError.self) { try ThingSpeakFields.validate(["field1": "p1.gas"]) }
        #expect(throws: HTTPConfigurationError.self) { try ThingSpeakFields.validate(["field1": "device"]) }
        let mapping = try ThingSpeakFields.validate(ThingSpeakConfiguration.defaultFields)
        #expect(mapping.map(\.0) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(ThingSpeakFields.formEncode("2026-11-21T18:00:00Z") == "2026-11-21T18%3A00%3A00Z")
        #expect(ThingSpeakFields.formEncode("a b&c=é") == "a%20b%26c%3D%C3%A9")
    }

    @Test func orionLiveEntityKeepsPhaseKeysPositional() {
        let reading = LiveReading.ade9000(
            ADESample(
                time: UnixTime(milliseconds: 1_795_284_000_999), importMilliwattHours: [0, 0, 0],
                exportMilliwattHours: [0, 0, 0],
                powerW: [.nan, 10, 20],
                voltageV: [230, 231, 232]),
            demand: DemandView(quarterHourDemandW: 0, monthPeakDemandW: 0, monthPeakTime: nil))
        let identity = OrionEntity.Identity(id: "urn:ngsi-ld:ACMeasurement:d", type: "ACMeasurement", phases: 1)
        let single = OrionEntity.entity(for: reading, identity: identity)
        #expect(single?["phaseVoltage"]?["value"] == .object(["L1": .number(230)]))
        #expect(single?["activePower"] == nil)  // phase A power is NaN: nothing to say
        #expect(single?["current"] == nil)
        #expect(single?["phaseType"]?["value"] == .string("singlePhase"))
        #expect(single?["phaseVoltage"]?["metadata"]?["timestamp"]?["value"] == .string("2026-11-21T18:00:00Z"))
        let three = OrionEntity.entity(
            for: reading, identity: OrionEntity.Identity(id: "x", type: "ThreePhaseAcMeasurement", phases: 3))
        #expect(three?["activePower"]?["value"] == .object(["L2": .number(10), "L3": .number(20)]))
    }

    @Test func orionSettingsRejectBadHeadersAndIds() {
        #expect(throws: HTTPConfigurationError.self) {
            try OrionSettings(OrionConfiguration(url: "http://o:1026", servicePath: "home"), device: "d")
        }
        #expect(throws: HTTPConfigurationError.self) {
            try OrionSettings(OrionConfiguration(url: "http://o:1026", service: "my-tenant"), device: "d")
        }
        #expect(throws: HTTPConfigurationError.self) {
            try OrionSettings(OrionConfiguration(url: "http://o:1026"), device: "meter(1)")
        }
        #expect(throws: HTTPConfigurationError.self) {
            try OrionSettings(OrionConfiguration(url: "http://o:1026", entityType: "Thing"), device: "d")
        }
        #expect(throws: HTTPConfigurationError.self) {
            try OrionSettings(OrionConfiguration(url: "ftp://o"), device: "d")
        }
        let settings = try? OrionSettings(
            OrionConfiguration(url: "http://o:1026/", service: "Emeter", servicePath: "/a/b_c/"), device: "E1")
        #expect(settings?.updateURL == "http://o:1026/v2/op/update")
        #expect(settings?.service == "emeter")
        #expect(settings?.servicePath == "/a/b_c")
        #expect(settings?.entity.id == "urn:ngsi-ld:ThreePhaseAcMeasurement:E1")
    }
}

/// An unsigned JWT-shaped token (`alg: HS256` header, dummy signature) carrying `exp`.
func makeTestJWT(exp: Int64, id: String = "1") -> String {
    func base64URL(_ text: String) -> String {
        Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
    return base64URL(#"{"alg":"HS256","typ":"JWT"}"#) + "."
        + base64URL(#"{"token_type":"access","exp":\#(exp),"jti":"\#(id)","user_id":"1"}"#) + ".c2lnbmF0dXJl"
}
