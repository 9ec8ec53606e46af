import Foundation
import Logging
import TestSupport
import Testing

@testable import Firmware
@testable import Forwarding

/// `OrionForwarder` (NGSI-v2 bodies and headers) and `ThingSpeakForwarder` (fields, rate limit) against a real
/// loopback HTTP server.
struct HTTPOrionForwarderTests {
    @Test func threePhaseRecordUpsertsTheEntityWithHeaders() async throws {
        try await withHTTPTestServer { server in
            server.enqueue("/v2/op/update", .status(204))
            let forwarder = try OrionForwarder(
                configuration: OrionConfiguration(
                    url: server.baseURL + "/", service: "emeter", servicePath: "/home/meters", token: "env:ORION"),
                device: "E0025000123", logger: HTTPLogCapture().logger(), environment: ["ORION": "pep-token"])
            let error = await httpSendResult(forwarder, HTTPTestData.adeRecord)
            await forwarder.shutdown()
            #expect(error == nil)
            let requests = server.requests
            try #require(requests.count == 1)
            #expect(requests[0].method == "POST")
            #expect(requests[0].uri == "/v2/op/update")
            #expect(requests[0].header("Content-Type") == "application/json")
            #expect(requests[0].header("Fiware-Service") == "emeter")
            #expect(requests[0].header("Fiware-ServicePath") == "/home/meters")
            #expect(requests[0].header("X-Auth-Token") == "pep-token")
            #expect(requests[0].header("Authorization") == nil)
            #expect(
                HTTPJSON.parse(requests[0].body)
                    == httpExpectedJSON(
                        #"""
                        {"actionType":"append","entities":[{
                          "id":"urn:ngsi-ld:ThreePhaseAcMeasurement:E0025000123","type":"ThreePhaseAcMeasurement",
                          "dateEnergyMeteringStarted":{"type":"DateTime","value":"2026-11-21T17:59:00Z"},
                          "dateObserved":{"type":"DateTime","value":"2026-11-21T18:00:00Z"},
                          "activeEnergyImport":{"type":"StructuredValue","value":{"L1":0.166,"L2":0.172,"L3":0.16}},
                          "activeEnergyExport":{"type":"StructuredValue","value":{"L1":0,"L2":0,"L3":0.005}},
                          "totalActiveEnergyImport":{"type":"Number","value":0.498},
                          "totalActiveEnergyExport":{"type":"Number","value":0.005},
                          "totalActivePower":{"type":"Number","value":493,"metadata":{
                            "measurementType":{"type":"Text","value":"average"},
                            "measurementInterval":{"type":"Number","value":60},
                            "timestamp":{"type":"DateTime","value":"2026-11-21T18:00:00Z"}}}}]}
                        """#))
        }
    }

    @Test func singlePhaseP1RecordIsAnACMeasurement() async throws {
        try await withHTTPTestServer { server in
            server.enqueue("/v2/op/update", .status(204))
            let forwarder = try OrionForwarder(
                configuration: OrionConfiguration(
                    url: server.baseURL, phaseType: "singlePhase", location: [4.89, 52.37], token: "t",
                    tokenHeader: "Authorization"),
                device: "E0025000123", logger: HTTPLogCapture().logger())
            let error = await httpSendResult(forwarder, HTTPTestData.p1Record)
            await forwarder.shutdown()
            #expect(error == nil)
            let request = try #require(server.requests.first)
            #expect(request.header("Fiware-Service") == nil)
            #expect(request.header("Fiware-ServicePath") == nil)
            #expect(request.header("Authorization") == "Bearer t")
            #expect(
                HTTPJSON.parse(request.body)
                    == httpExpectedJSON(
                        #"""
                        {"actionType":"append","entities":[{
                          "id":"urn:ngsi-ld:ACMeasurement:E0025000123","type":"ACMeasurement",
                          "phaseType":{"type":"Text","value":"singlePhase"},
                          "location":{"type":"geo:json","value":{"type":"Point","coordinates":[4.89,52.37]}},
                          "dateEnergyMeteringStarted":{"type":"DateTime","value":"2026-11-21T17:59:00Z"},
                          "dateObserved":{"type":"DateTime","value":"2026-11-21T18:00:00Z"},
                          "totalActiveEnergyImport":{"type":"Number","value":0.015},
                          "totalActiveEnergyExport":{"type":"Number","value":0.007},
                          "totalActivePower":{"type":"Number","value":480,"metadata":{
                            "measurementType":{"type":"Text","value":"average"},
                            "measurementInterval":{"type":"Number","value":60},
                            "timestamp":{"type":"DateTime","value":"2026-11-21T18:00:00Z"}}}}]}
                        """#))
        }
    }

    @Test func orionErrorsMapToDropAndPause() async throws {
        try await withHTTPTestServer { server in
            server.enqueue(
                "/v2/op/update",
                .json(422, #"{"error":"PartialUpdate","description":"do not exist: E1 - [ x ]"}"#),
                .json(413, #"{"error":"RequestEntityTooLarge","description":"payload size: 1048577"}"#),
                .json(404, #"{"error":"NotFound","description":"The requested entity has not been found."}"#),
                .json(503, #"{"error":"ServiceUnavailable"}"#))
            let logs = HTTPLogCapture()
            let forwarder = try OrionForwarder(
                configuration: OrionConfiguration(url: server.baseURL), device: "E1", logger: logs.logger())
            var actions: [ForwardError.Action?] = []
            for _ in 0..<4 { actions.append(await httpSendResult(forwarder, HTTPTestData.adeRecord)?.action) }
            await forwarder.shutdown()
            #expect(actions == [.drop, .drop, .pause(for: .seconds(600)), .retry(after: nil)])
            #expect(logs.entries.first?.metadata.contains("HTTP 422 PartialUpdate: do not exist") == true)
        }
    }

    @Test func liveReadingsUpsertPerPhaseValues() async throws {
        try await withHTTPTestServer { server in
            server.setFallback(.status(204))
            let forwarder = try OrionForwarder(
                configuration: OrionConfiguration(url: server.baseURL, liveMinInterval: 60),
                device: "E1", logger: HTTPLogCapture().logger())
            await forwarder.publish(HTTPTestData.adeLive)
            await forwarder.waitForBackgroundPosts()
            await forwarder.publish(HTTPTestData.adeLive)  // same time: within the interval, skipped
            await forwarder.waitForBackgroundPosts()
            await forwarder.shutdown()
            let requests = server.requests
            try #require(requests.count == 1)
            let stamp = #"{"timestamp":{"type":"DateTime","value":"2026-11-21T18:00:00Z"}}"#
            #expect(
                HTTPJSON.parse(requests[0].body)
                    == httpExpectedJSON(
                        #"""
                        {"actionType":"append","entities":[{"id":"urn:ngsi-ld:ThreePhaseAcMeasurement:E1",
                          "type":"ThreePhaseAcMeasurement",
                          "phaseVoltage":{"type":"StructuredValue","value":{"L1":230.1,"L2":229.8,"L3":231},"metadata":\#(stamp)},
                          "activePower":{"type":"StructuredValue","value":{"L1":166,"L2":172,"L3":160},"metadata":\#(stamp)},
                          "current":{"type":"StructuredValue","value":{"L1":0.721,"L2":0.75,"L3":0.7},"metadata":\#(stamp)}}]}
                        """#))
        }
    }
}

struct HTTPThingSpeakForwarderTests {
    func makeForwarder(
        _ server: TestHTTPServer, fields: [String: String]? = nil, uptime: HTTPTestUptime = HTTPTestUptime(),
        logs: HTTPLogCapture = HTTPLogCapture()
    ) throws -> ThingSpeakForwarder {
        try ThingSpeakForwarder(
            configuration: ThingSpeakConfiguration(
                url: server.baseURL + "/update", apiKey: "env:TS_KEY", fields: fields),
            device: "E1", logger: logs.logger(), environment: ["TS_KEY": "WRITEKEY123"], uptime: uptime.closure)
    }

    @Test func defaultFieldMappingAndCreatedAt() async throws {
        try await withHTTPTestServer { server in
            server.enqueue("/update", .status(200, "4711"))
            let logs = HTTPLogCapture()
            let forwarder = try makeForwarder(server, logs: logs)
            let error = await httpSendResult(forwarder, HTTPTestData.p1Record)
            await forwarder.shutdown()
            #expect(error == nil)
            let request = try #require(server.requests.first)
            #expect(request.method == "POST")
            #expect(request.uri == "/update")  // the key is in the body, never in the URL
            #expect(request.header("Content-Type") == "application/x-www-form-urlencoded")
            let pairs = httpFormPairs(request.text)
            #expect(
                pairs.map(\.0) == ["api_key", "field1", "field2", "field3", "field4", "field5", "field6", "created_at"])
            #expect(pairs.map(\.1) == ["WRITEKEY123", "12", "3", "0", "7", "480", "9", "2026-11-21T18:00:00Z"])
            #expect(!logs.allText.contains("WRITEKEY123"))
        }
    }

    @Test func customMappingWithArraySumsIndicesAndDecimals() async throws {
        try await withHTTPTestServer { server in
            server.enqueue("/update", .status(200, "4712"))
            let forwarder = try makeForwarder(
                server,
                fields: [
                    "field1": "ade9000.import_wh", "field2": "ade9000.export_wh.2", "field5": "ade9000.voltage_min_v",
                    "field8": "end",
                ])
            #expect(await httpSendResult(forwarder, HTTPTestData.adeRecord) == nil)
            await forwarder.shutdown()
            let pairs = httpFormPairs(try #require(server.requests.first).text)
            #expect(pairs.map(\.0) == ["api_key", "field1", "field2", "field5", "field8", "created_at"])
            #expect(pairs.map(\.1) == ["WRITEKEY123", "498", "5", "229.8", "1795284000", "2026-11-21T18:00:00Z"])
        }
    }

    @Test func rateLimitAndZeroBody() async throws {
        try await withHTTPTestServer { server in
            server.enqueue("/update", .status(200, "1"), .status(200, "0"), .status(200, "2"))
            let uptime = HTTPTestUptime()
            let forwarder = try makeForwarder(server, uptime: uptime)
            #expect(await httpSendResult(forwarder, HTTPTestData.p1Record) == nil)
            uptime.advance(by: .seconds(5))
            // Too early: refused locally, no request.
            #expect(await httpSendResult(forwarder, HTTPTestData.p1Record)?.action == .retry(after: .seconds(10)))
            #expect(server.requests.count == 1)
            uptime.advance(by: .seconds(10))
            // ThingSpeak's `0`: not stored, retry after 15 s.
            let refused = await httpSendResult(forwarder, HTTPTestData.p1Record)
            #expect(refused?.action == .retry(after: .seconds(15)))
            #expect(refused?.message.contains("body `0`") == true)
            uptime.advance(by: .seconds(15))
            #expect(await httpSendResult(forwarder, HTTPTestData.p1Record) == nil)
            await forwarder.shutdown()
            #expect(server.requests.count == 3)
        }
    }

    @Test func thingSpeakErrorCodes() async throws {
        try await withHTTPTestServer { server in
            server.enqueue(
                "/update",
                .json(
                    401,
                    #"{"status":"401","error":{"error_code":"error_auth_required","message":"Please provide proper authentication details."}}"#
                ),
                .status(429, "", headers: [("Retry-After", "3")]),
                .json(402, #"{"status":"402","error":{"error_code":"error_payment_required"}}"#))
            let uptime = HTTPTestUptime()
            let forwarder = try makeForwarder(server, uptime: uptime)
            var actions: [ForwardError.Action?] = []
            for _ in 0..<3 {
                actions.append(await httpSendResult(forwarder, HTTPTestData.p1Record)?.action)
                uptime.advance(by: .seconds(20))
            }
            await forwarder.shutdown()
            #expect(actions == [.pause(for: .seconds(600)), .retry(after: .seconds(15)), .pause(for: .seconds(600))])
        }
    }
}
