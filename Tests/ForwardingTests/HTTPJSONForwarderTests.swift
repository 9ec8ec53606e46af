import Foundation
import Logging
import TestSupport
import Testing

@testable import Firmware
@testable import Forwarding

/// `HTTPJSONForwarder` against a real loopback HTTP server (`TestHTTPServer`).
struct HTTPJSONForwarderTests {
    let clock = HTTPTestWallClock(HTTPTestData.end + 5)

    func makeForwarder(
        _ server: TestHTTPServer, path: String = "/api/readings/", auth: HTTPAuthConfiguration = .none,
        liveURL: String? = nil, healthURL: String? = nil, timeout: HTTPTimeouts = HTTPTimeouts(),
        logs: HTTPLogCapture = HTTPLogCapture(),
        environment: [String: String] = [:]
    ) throws -> HTTPJSONForwarder {
        try HTTPJSONForwarder(
            configuration: HTTPForwarderConfiguration(
                url: server.baseURL + path, auth: auth, liveURL: liveURL, healthURL: healthURL, timeout: timeout),
            device: "E0025000123", logger: logs.logger(), environment: environment, now: clock.closure)
    }

    @Test func recordIsPostedAsPayloadJSONAnd201Succeeds() async throws {
        try await withHTTPTestServer { server in
            server.enqueue("/api/readings/", .status(201, #"{"id":1}"#))
            let forwarder = try makeForwarder(
                server, auth: .bearer(token: "env:TOKEN"), environment: ["TOKEN": "t0k3n"])
            let error = await httpSendResult(forwarder, HTTPTestData.adeRecord)
            await forwarder.shutdown()
            #expect(error == nil)
            let requests = server.requests
            try #require(requests.count == 1)
            #expect(requests[0].method == "POST")
            #expect(requests[0].uri == "/api/readings/")
            #expect(requests[0].header("Content-Type") == "application/json")
            #expect(requests[0].header("Authorization") == "Bearer t0k3n")
            #expect(
                HTTPJSON.parse(requests[0].body)
                    == httpExpectedJSON(
                        #"""
                        {"type":"interval","device":"E0025000123","start":1795283940,"end":1795284000,
                         "start_utc":"2026-11-21T17:59:00Z","end_utc":"2026-11-21T18:00:00Z","id":"00000000-41-41","sequence":[41,41],
                         "flags":["gap"],
                         "ade9000":{"import_wh":[166,172,160],"export_wh":[0,0,5],"average_power_w":493,"max_power_w":700,
                                    "voltage_min_v":229.8,"voltage_max_v":231,"quarter_hour_demand_w":480,
                                    "month_peak_demand_w":0,"month_peak_time":null}}
                        """#))
        }
    }

    @Test func badRequestDropsTheRecordAndLogsIt() async throws {
        try await withHTTPTestServer { server in
            server.enqueue("/api/readings/", .json(400, #"{"end":["This field is required."]}"#))
            let logs = HTTPLogCapture()
            let forwarder = try makeForwarder(server, logs: logs)
            let error = await httpSendResult(forwarder, HTTPTestData.p1Record)
            await forwarder.shutdown()
            #expect(error?.action == .drop)
            #expect(error?.message.contains("HTTP 400") == true)
            let logged = logs.entries.filter { $0.level == .error }
            #expect(logged.count == 1)
            #expect(logged.first?.message.contains("record 7...9 dropped") == true)
            #expect(logged.first?.metadata.contains("This field is required.") == true)
        }
    }

    @Test func tooManyRequestsRetriesAfterTheAnnouncedDelay() async throws {
        try await withHTTPTestServer { server in
            server.enqueue("/api/readings/", .status(429, "slow down", headers: [("Retry-After", "2")]))
            server.enqueue(
                "/api/readings/", .status(503, "", headers: [("Retry-After", "Sat, 21 Nov 2026 18:01:05 GMT")]))
            let forwarder = try makeForwarder(server)
            let first = await httpSendResult(forwarder, HTTPTestData.p1Record)
            let second = await httpSendResult(forwarder, HTTPTestData.p1Record)
            await forwarder.shutdown()
            #expect(first?.action == .retry(after: .seconds(2)))
            #expect(second?.action == .retry(after: .seconds(60)))  // clock is at 18:00:05
        }
    }

    @Test func serverErrorsTimeoutsAndRefusedConnectionsAreRetried() async throws {
        try await withHTTPTestServer { server in
            server.enqueue("/api/readings/", .status(500, "boom"), .hang)
            let forwarder = try makeForwarder(server, timeout: HTTPTimeouts(connect: 2, total: 0.3))
            let serverError = await httpSendResult(forwarder, HTTPTestData.p1Record)
            let start = ContinuousClock.now
            let timeout = await httpSendResult(forwarder, HTTPTestData.p1Record)
            let waited = ContinuousClock.now - start
            await forwarder.shutdown()
            #expect(serverError?.action == .retry(after: nil))
            #expect(timeout?.action == .retry(after: nil))
            #expect(waited >= .milliseconds(250) && waited < .seconds(10))  // bounded by the 0.3 s limit
            #expect(server.requests.count == 2)
        }
        // Nothing listens on the port of a stopped server.
        let stopped = try await TestHTTPServer.start()
        let url = stopped.baseURL
        await stopped.stop()
        let forwarder = try HTTPJSONForwarder(
            configuration: HTTPForwarderConfiguration(
                url: url + "/api/readings/", timeout: HTTPTimeouts(connect: 0.5, total: 2)),
            device: "d", logger: HTTPLogCapture().logger())
        let start = ContinuousClock.now
        let refused = await httpSendResult(forwarder, HTTPTestData.p1Record)
        let waited = ContinuousClock.now - start
        await forwarder.shutdown()
        #expect(refused?.action == .retry(after: nil))
        #expect(waited < .seconds(8))  // the 0.5 s connect limit, not the 10 s default
        #expect(refused?.message.contains("Connection refused") == true)
    }

    @Test func staticTokenRejectedPausesAndRedirectsAreNotFollowed() async throws {
        try await withHTTPTestServer { server in
            server.enqueue("/api/readings/", .json(401, #"{"detail":"Invalid token."}"#))
            server.enqueue("/api/readings", .status(301, "", headers: [("Location", "/api/readings/")]))
            let logs = HTTPLogCapture()
            let secure = try makeForwarder(server, auth: .bearer(token: "SECRET-TOKEN-42"), logs: logs)
            let unauthorized = await httpSendResult(secure, HTTPTestData.p1Record)
            await secure.shutdown()
            let slashless = try makeForwarder(server, path: "/api/readings")
            let redirected = await httpSendResult(slashless, HTTPTestData.p1Record)
            await slashless.shutdown()
            #expect(unauthorized?.action == .pause(for: .seconds(600)))
            #expect(redirected?.action == .pause(for: .seconds(600)))
            #expect(redirected?.message.contains("redirect to /api/readings/") == true)
            #expect(server.requests.map(\.uri) == ["/api/readings/", "/api/readings"])  // not followed
            #expect(!logs.allText.contains("SECRET-TOKEN-42"))
            #expect(logs.entries.contains { $0.level == .error && $0.message.contains("paused") })
        }
    }

    // MARK: - JWT (djangorestframework-simplejwt)

    func jwtAuth(_ server: TestHTTPServer, refreshURL: String? = nil) -> HTTPAuthConfiguration {
        .jwt(
            HTTPJWTConfiguration(
                tokenURL: server.baseURL + "/api/token/", refreshURL: refreshURL, username: "meter",
                password: "env:EMETER_PASSWORD"))
    }

    @Test func jwtLoginThen401RefreshesOnceAndResends() async throws {
        try await withHTTPTestServer { server in
            let access1 = makeTestJWT(exp: clock.now + 300, id: "a1")
            let access2 = makeTestJWT(exp: clock.now + 600, id: "a2")
            server.enqueue("/api/token/", .json(200, #"{"refresh":"R1","access":"\#(access1)"}"#))
            server.enqueue(
                "/api/readings/", .status(201),
                .json(401, #"{"detail":"Given token not valid for any token type","code":"token_not_valid"}"#),
                .status(201))
            server.enqueue("/api/token/refresh/", .json(200, #"{"access":"\#(access2)"}"#))
            let logs = HTTPLogCapture()
            let forwarder = try makeForwarder(
                server, auth: jwtAuth(server), logs: logs, environment: ["EMETER_PASSWORD": "pa55-w0rd"])

            let first = await httpSendResult(forwarder, HTTPTestData.adeRecord)
            let second = await httpSendResult(forwarder, HTTPTestData.p1Record)
            await forwarder.shutdown()
            #expect(first == nil)
            #expect(second == nil)

            let requests = server.requests
            #expect(
                requests.map(\.uri) == [
                    "/api/token/", "/api/readings/", "/api/readings/", "/api/token/refresh/", "/api/readings/",
                ])
            try #require(requests.count == 5)
            #expect(
                HTTPJSON.parse(requests[0].body) == httpExpectedJSON(#"{"username":"meter","password":"pa55-w0rd"}"#))
            #expect(requests[0].header("Content-Type") == "application/json")
            #expect(requests[1].header("Authorization") == "Bearer \(access1)")
            #expect(requests[2].header("Authorization") == "Bearer \(access1)")
            #expect(HTTPJSON.parse(requests[3].body) == httpExpectedJSON(#"{"refresh":"R1"}"#))
            #expect(requests[4].header("Authorization") == "Bearer \(access2)")
            #expect(requests[4].body == requests[2].body)  // the same record, re-sent
            #expect(!logs.allText.contains("pa55-w0rd"))
            #expect(!logs.allText.contains(access1))
        }
    }

    @Test func jwtRefreshesThirtySecondsBeforeExpiryAndStoresARotatedRefreshToken() async throws {
        try await withHTTPTestServer { server in
            let access1 = makeTestJWT(exp: clock.now + 300, id: "a1")
            let access2 = makeTestJWT(exp: clock.now + 900, id: "a2")
            let access3 = makeTestJWT(exp: clock.now + 1500, id: "a3")
            server.enqueue("/api/token/", .json(200, #"{"refresh":"R1","access":"\#(access1)"}"#))
            server.enqueue(
                "/api/token/refresh/", .json(200, #"{"access":"\#(access2)","refresh":"R2"}"#),
                .json(200, #"{"access":"\#(access3)"}"#))
            server.setFallback(.status(201))
            let forwarder = try makeForwarder(
                server, auth: jwtAuth(server), environment: ["EMETER_PASSWORD": "pw"])

            #expect(await httpSendResult(forwarder, HTTPTestData.p1Record) == nil)
            clock.advance(by: 269)  // 31 s before exp: still valid
            #expect(await httpSendResult(forwarder, HTTPTestData.p1Record) == nil)
            clock.advance(by: 2)  // 29 s before exp: refresh first
            #expect(await httpSendResult(forwarder, HTTPTestData.p1Record) == nil)
            clock.advance(by: 600)  // past access2's margin: refresh with the rotated token
            #expect(await httpSendResult(forwarder, HTTPTestData.p1Record) == nil)
            await forwarder.shutdown()

            let requests = server.requests
            #expect(
                requests.map(\.uri) == [
                    "/api/token/", "/api/readings/", "/api/readings/", "/api/token/refresh/", "/api/readings/",
                    "/api/token/refresh/", "/api/readings/",
                ])
            try #require(requests.count == 7)
            #expect(requests[2].header("Authorization") == "Bearer \(access1)")
            #expect(HTTPJSON.parse(requests[3].body) == httpExpectedJSON(#"{"refresh":"R1"}"#))
            #expect(requests[4].header("Authorization") == "Bearer \(access2)")
            #expect(HTTPJSON.parse(requests[5].body) == httpExpectedJSON(#"{"refresh":"R2"}"#))
            #expect(requests[6].header("Authorization") == "Bearer \(access3)")
        }
    }

    @Test func jwtRejectedRefreshLogsInAgainAndPersistent401Pauses() async throws {
        try await withHTTPTestServer { server in
            let access1 = makeTestJWT(exp: clock.now + 300, id: "a1")
            let access2 = makeTestJWT(exp: clock.now + 300, id: "a2")
            server.enqueue(
                "/api/token/", .json(200, #"{"refresh":"R1","access":"\#(access1)"}"#),
                .json(200, #"{"refresh":"R2","access":"\#(access2)"}"#))
            server.enqueue(
                "/api/token/refresh/", .json(401, #"{"detail":"Token is invalid","code":"token_not_valid"}"#))
            server.enqueue("/api/readings/", .status(401), .status(401))
            let forwarder = try makeForwarder(server, auth: jwtAuth(server), environment: ["EMETER_PASSWORD": "pw"])
            let error = await httpSendResult(forwarder, HTTPTestData.p1Record)
            await forwarder.shutdown()
            #expect(error?.action == .pause(for: .seconds(600)))
            #expect(error?.message.contains("still rejected after a token refresh") == true)
            #expect(
                server.requests.map(\.uri) == [
                    "/api/token/", "/api/readings/", "/api/token/refresh/", "/api/token/", "/api/readings/",
                ])
            #expect(server.requests.last?.header("Authorization") == "Bearer \(access2)")
        }
    }

    @Test func concurrentSendersShareOneLogin() async throws {
        try await withHTTPTestServer { server in
            let access = makeTestJWT(exp: clock.now + 300)
            server.enqueue("/api/token/", .json(200, #"{"refresh":"R1","access":"\#(access)"}"#))
            server.setFallback(.status(201))
            let forwarder = try makeForwarder(
                server, auth: jwtAuth(server), liveURL: server.baseURL + "/api/live/",
                healthURL: server.baseURL + "/api/health/", environment: ["EMETER_PASSWORD": "pw"])
            await forwarder.publish(HTTPTestData.p1Live(atMillis: HTTPTestData.end * 1000))
            await forwarder.publish(Health())
            async let first = httpSendResult(forwarder, HTTPTestData.p1Record)
            async let second = httpSendResult(forwarder, HTTPTestData.adeRecord)
            let results = await [first, second]
            await forwarder.waitForBackgroundPosts()
            await forwarder.shutdown()
            #expect(results.allSatisfy { $0 == nil })
            let requests = server.requests
            #expect(requests.filter { $0.path == "/api/token/" }.count == 1)
            #expect(
                requests.filter { $0.path != "/api/token/" }.map(\.path).sorted()
                    == ["/api/health/", "/api/live/", "/api/readings/", "/api/readings/"])
            #expect(
                requests.filter { $0.path != "/api/token/" }.allSatisfy {
                    $0.header("Authorization") == "Bearer \(access)"
                })
            let health = try #require(server.requests(to: "/api/health/").first)
            #expect(HTTPJSON.parse(health.body)?["telegrams_accepted"] == .number(0))
            #expect(HTTPJSON.parse(health.body)?["type"] == .string("health"))
        }
    }

    @Test func jwtWrongCredentialsPauseWithoutPostingTheRecord() async throws {
        try await withHTTPTestServer { server in
            server.enqueue(
                "/api/token/",
                .json(401, #"{"detail":"No active account found with the given credentials"}"#))
            server.enqueue(
                "/api/token/", .json(200, #"{"refresh":"R","access":"\#(makeTestJWT(exp: clock.now + 1200))"}"#))
            server.enqueue("/api/readings/", .status(201))
            let forwarder = try makeForwarder(server, auth: jwtAuth(server), environment: ["EMETER_PASSWORD": "wrong"])
            let error = await httpSendResult(forwarder, HTTPTestData.p1Record)
            // Within the pause no new login is tried: same error, no request.
            clock.advance(by: 599)
            let again = await httpSendResult(forwarder, HTTPTestData.p1Record)
            #expect(server.requests.map(\.uri) == ["/api/token/"])
            // After the pause (password fixed on the server side) the login is tried again.
            clock.advance(by: 1)
            let later = await httpSendResult(forwarder, HTTPTestData.p1Record)
            await forwarder.shutdown()
            #expect(error?.action == .pause(for: .seconds(600)))
            #expect(error?.message.contains("No active account") == true)
            #expect(again == error)
            #expect(later == nil)
            #expect(server.requests.map(\.uri) == ["/api/token/", "/api/token/", "/api/readings/"])
        }
    }

    @Test func jwtTokenURLWithoutTrailingSlashIsReported() async throws {
        try await withHTTPTestServer { server in
            // Django without CommonMiddleware: 404 for `…/api/token` (spec §4.1, observed).
            server.enqueue("/api/token", .status(404, "<h1>Not Found</h1>"))
            let forwarder = try makeForwarder(
                server,
                auth: .jwt(
                    HTTPJWTConfiguration(
                        tokenURL: server.baseURL + "/api/token", username: "meter", password: "pw")))
            let error = await httpSendResult(forwarder, HTTPTestData.p1Record)
            await forwarder.shutdown()
            #expect(error?.action == .pause(for: .seconds(600)))
            #expect(error?.message.contains("no trailing `/`") == true)
            #expect(server.requests.map(\.uri) == ["/api/token"])
        }
    }

    // MARK: - Live readings

    @Test func liveReadingsArePostedBestEffortAndRateLimited() async throws {
        try await withHTTPTestServer { server in
            server.enqueue("/api/live/", .status(201), .status(500))
            server.enqueue("/api/readings/", .status(201))
            let logs = HTTPLogCapture()
            let forwarder = try makeForwarder(server, liveURL: server.baseURL + "/api/live/", logs: logs)
            let t0 = HTTPTestData.end * 1000
            await forwarder.publish(HTTPTestData.p1Live(atMillis: t0))
            await forwarder.waitForBackgroundPosts()
            await forwarder.publish(HTTPTestData.p1Live(atMillis: t0 + 1_000))  // within 10 s: skipped
            await forwarder.publish(HTTPTestData.p1Live(atMillis: t0 + 10_000))  // answered 500: ignored
            await forwarder.waitForBackgroundPosts()
            let error = await httpSendResult(forwarder, HTTPTestData.p1Record)
            await forwarder.shutdown()
            #expect(error == nil)
            let live = server.requests(to: "/api/live/")
            try #require(live.count == 2)
            #expect(
                HTTPJSON.parse(live[0].body)
                    == httpExpectedJSON(
                        #"""
                        {"type":"p1","device":"E0025000123","time":1795284000,"time_utc":"2026-11-21T18:00:00Z",
                         "power_w":480,"power_import_w":480,"power_export_w":0,"import_wh":9979835,"export_wh":1000,
                         "import_t1_wh":5779835,"import_t2_wh":4200000,"export_t1_wh":0,"export_t2_wh":1000,
                         "voltage_v":[230.1],"current_a":[],"phase_power_import_w":[],"phase_power_export_w":[],
                         "gas_l":null,"gas_time_utc":null,"water_l":null,"water_time_utc":null,
                         "quarter_hour_demand_w":2150,"month_peak_demand_w":4200,
                         "month_peak_time_utc":"2026-11-06T21:20:00Z","projected_quarter_hour_demand_w":2150,
                         "billed_peak_w":0,"tariff":null,"tariff_name":null,
                         "meter_time_utc":null,"equipment_id":null,"country":null,"p1_version":null,
                         "power_failures":null,"long_power_failures":null,"mbus":[]}
                        """#))
            #expect(HTTPJSON.parse(live[1].body)?["time"] == .number(1_795_284_010))
            let warnings = logs.entries.filter { $0.level == .warning }
            #expect(warnings.count == 1)
            #expect(warnings.first?.message == "live reading not delivered (best effort, not retried)")
            #expect(warnings.first?.metadata.contains("HTTP 500") == true)
        }
    }

    @Test func badConfigurationIsRejectedWithTheField() {
        #expect(throws: HTTPConfigurationError.self) {
            try HTTPJSONForwarder(
                configuration: HTTPForwarderConfiguration(url: "example.org/api"), device: "d",
                logger: HTTPLogCapture().logger())
        }
        #expect(
            throws: HTTPConfigurationError(field: "auth.password", "environment variable `NOPE` is not set or empty")
        ) {
            try HTTPJSONForwarder(
                configuration: HTTPForwarderConfiguration(
                    url: "http://127.0.0.1:9/x/",
                    auth: .jwt(
                        HTTPJWTConfiguration(
                            tokenURL: "http://127.0.0.1:9/api/token/", username: "u", password: "env:NOPE"))),
                device: "d", logger: HTTPLogCapture().logger(), environment: [:])
        }
    }

    /// Numbers that used to trap later (seconds → nanoseconds, margin → Int64) are refused with their field.
    @Test(arguments: [
        (HTTPTimeouts(connect: 10, total: 1e10), "timeout.total"),
        (HTTPTimeouts(connect: .infinity, total: 30), "timeout.connect"),
        (HTTPTimeouts(connect: .nan, total: 30), "timeout.connect"),
        (HTTPTimeouts(connect: 10, total: 0), "timeout.total"),
    ])
    func absurdTimeoutsAreConfigurationErrors(timeouts: HTTPTimeouts, field: String) {
        let error = #expect(throws: HTTPConfigurationError.self) {
            try HTTPJSONForwarder(
                configuration: HTTPForwarderConfiguration(url: "http://127.0.0.1:9/x/", timeout: timeouts),
                device: "d", logger: HTTPLogCapture().logger())
        }
        #expect(error?.field == field)
    }

    @Test func aNaNRefreshMarginIsAConfigurationError() {
        let error = #expect(throws: HTTPConfigurationError.self) {
            try HTTPJSONForwarder(
                configuration: HTTPForwarderConfiguration(
                    url: "http://127.0.0.1:9/x/",
                    auth: .jwt(
                        HTTPJWTConfiguration(
                            tokenURL: "http://127.0.0.1:9/api/token/", username: "u", password: "p",
                            refreshMargin: .nan))),
                device: "d", logger: HTTPLogCapture().logger(), environment: [:])
        }
        #expect(error?.field == "auth.refresh_margin")
    }
}
