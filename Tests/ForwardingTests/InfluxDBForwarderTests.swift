import CivilTime
import Foundation
import Logging
import TestSupport
import Testing

@testable import Firmware
@testable import Forwarding

/// Line protocol encoding (pure).
struct InfluxLineProtocolTests {
    @Test func p1RecordIsOnePointAtItsEndWithIntegerFields() {
        let lines = InfluxLineProtocol.lines(
            for: HTTPTestData.p1Record, device: "E0025000123", measurement: "emeter_interval")
        #expect(
            lines == [
                "emeter_interval,device=E0025000123,source=p1 id=\"00000000-7-9\",start=1795283940i,flags=\"\","
                    + "average_power_w=480i,export_t1_wh=0i,export_t2_wh=7i,gas_l=9i,import_t1_wh=12i,import_t2_wh=3i,"
                    + "max_export_power_w=420i,max_import_power_w=950i,month_peak_demand_w=4200i,"
                    + "month_peak_time=1794000000i,quarter_hour_demand_w=2150i,voltage_max_v=233.4,voltage_min_v=229.1,"
                    + "water_l=0i 1795284000"
            ])
    }

    @Test func adeRecordHasPhaseFieldsTotalsAndFlags() {
        let lines = InfluxLineProtocol.lines(for: HTTPTestData.adeRecord, device: "d", measurement: "m")
        #expect(
            lines == [
                "m,device=d,source=ade9000 id=\"00000000-41-41\",start=1795283940i,flags=\"gap\",average_power_w=493i,"
                    + "export_wh=5i,export_wh_a=0i,export_wh_b=0i,export_wh_c=5i,import_wh=498i,import_wh_a=166i,"
                    + "import_wh_b=172i,import_wh_c=160i,max_power_w=700i,month_peak_demand_w=0i,"
                    + "quarter_hour_demand_w=480i,voltage_max_v=231.0,voltage_min_v=229.8 1795284000"
            ])
    }

    @Test func recordWithBothPartsIsTwoPointsWithTheSameTimestamp() {
        var record = HTTPTestData.p1Record
        record.ade9000 = HTTPTestData.adeRecord.ade9000
        record.flags = [.merged, .gap]
        let lines = InfluxLineProtocol.lines(for: record, device: "d", measurement: "m")
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("m,device=d,source=p1 "))
        #expect(lines[1].hasPrefix("m,device=d,source=ade9000 "))
        #expect(lines.allSatisfy { $0.hasSuffix(" 1795284000") })
        #expect(lines.allSatisfy { $0.contains(#"flags="merged,gap""#) })
        #expect(
            InfluxLineProtocol.lines(
                for: IntervalRecord(start: UnixTime(seconds: 0), end: UnixTime(seconds: 60)), device: "d",
                measurement: "m"
            ).isEmpty)
    }

    @Test func escapingFollowsTheLineProtocolRules() {
        let line = InfluxLineProtocol.line(
            measurement: "my meas,x=1", tags: [("dev ice", "meter 1,a=b"), ("empty", "")],
            fields: [("na me", .string(#"say "hi" \ bye"#)), ("n", .integer(-3))], time: 7)
        #expect(line == #"my\ meas\,x=1,dev\ ice=meter\ 1\,a\=b na\ me="say \"hi\" \\ bye",n=-3i 7"#)
        // A line break would end the point: never written raw.
        let broken = InfluxLineProtocol.line(
            measurement: "m", tags: [("device", "a\nb")], fields: [("s", .string("x\ny"))], time: 1)
        #expect(!broken.contains("\n"))
        #expect(broken == #"m,device=a\ b s="x y" 1"#)
    }

    @Test func valuesAreTypedByUnit() {
        #expect(InfluxLineProtocol.format(.float(229.8)) == "229.8")
        #expect(InfluxLineProtocol.format(.float(231)) == "231.0")
        #expect(InfluxLineProtocol.format(.integer(0)) == "0i")
        #expect(InfluxLineProtocol.format(.integer(Int64.min)) == "-9223372036854775808i")
        // Volts (and amperes) are floats even when whole; everything else is an integer; null is left out.
        func written(_ key: String, _ value: HTTPJSON) -> [String] {
            InfluxLineProtocol.fields(key, value).map { "\($0.0)=\(InfluxLineProtocol.format($0.1))" }
        }
        #expect(written("voltage_min_v", .number(230)) == ["voltage_min_v=230.0"])
        #expect(written("gas_l", .number(9)) == ["gas_l=9i"])
        #expect(written("month_peak_time", .null).isEmpty)
        #expect(written("x_w", .number(.nan)).isEmpty)
        #expect(
            written("import_wh", .array([.number(1), .number(2)])) == [
                "import_wh=3i", "import_wh_0=1i", "import_wh_1=2i",
            ])
    }
}

/// Configuration checks and the request/status handling against a scripted loopback server.
struct InfluxDBForwarderTests {
    private func endpointError(_ configuration: InfluxDBConfiguration, environment: [String: String] = [:])
        -> HTTPConfigurationError?
    {
        do {
            _ = try InfluxDBEndpoint(configuration, environment: environment)
            return nil
        } catch {
            return error
        }
    }

    @Test func configurationErrorsNameTheField() {
        let url = "http://127.0.0.1:8086"
        #expect(endpointError(InfluxDBConfiguration(url: url, version: 1))?.field == "database")
        #expect(endpointError(InfluxDBConfiguration(url: url, version: 1, database: " "))?.field == "database")
        #expect(endpointError(InfluxDBConfiguration(url: url, version: 2, bucket: "b", token: "t"))?.field == "org")
        #expect(endpointError(InfluxDBConfiguration(url: url, version: 2, org: "o", token: "t"))?.field == "bucket")
        #expect(endpointError(InfluxDBConfiguration(url: url, version: 2, org: "o", bucket: "b"))?.field == "token")
        #expect(
            endpointError(InfluxDBConfiguration(url: url, org: "o", bucket: "b", token: "env:INFLUX_TOKEN"))?.message
                == "environment variable `INFLUX_TOKEN` is not set or empty")
        #expect(endpointError(InfluxDBConfiguration(url: url, version: 3, database: "d"))?.field == "version")
        #expect(endpointError(InfluxDBConfiguration(url: "influx:8086", database: "d"))?.field == "url")
        #expect(endpointError(InfluxDBConfiguration(url: "ftp://host", database: "d"))?.field == "url")
        #expect(endpointError(InfluxDBConfiguration(url: url + "/write?db=d", database: "d"))?.field == "url")
        #expect(
            endpointError(InfluxDBConfiguration(url: url, database: "d", username: "u"))?.field == "password")
        #expect(
            endpointError(InfluxDBConfiguration(url: url, database: "d", password: "p"))?.field == "username")
        #expect(
            endpointError(InfluxDBConfiguration(url: url, version: 1, database: "d", token: "t"))?.description
                == "token: is a version 2 key; this forwarder is version 1")
        #expect(
            endpointError(InfluxDBConfiguration(url: url, database: "d", org: "o", bucket: "b", token: "t"))?.field
                == "database")
        #expect(endpointError(InfluxDBConfiguration(url: url, database: "d", measurement: ""))?.field == "measurement")
        #expect(endpointError(InfluxDBConfiguration(url: url, database: "d", batchSize: 0))?.field == "batch_size")
        #expect(endpointError(InfluxDBConfiguration(url: url, database: "d")) == nil)
    }

    @Test func endpointsAndAuthorization() throws {
        let v1 = try InfluxDBEndpoint(
            InfluxDBConfiguration(
                url: "http://host:8086/", database: "my db", retentionPolicy: "one_year", username: "meter",
                password: "env:PW"),
            environment: ["PW": "s3cret"])
        #expect(v1.writeURL == "http://host:8086/write?db=my%20db&rp=one_year&precision=s")
        #expect(v1.authorization == "Basic " + Data("meter:s3cret".utf8).base64EncodedString())
        #expect(v1.displayName == "http://host:8086/write?db=my%20db&rp=one_year&precision=s")
        let v2 = try InfluxDBEndpoint(
            InfluxDBConfiguration(url: "https://host/influx", org: "home", bucket: "emeter", token: "tok"),
            environment: [:])
        #expect(v2.writeURL == "https://host/influx/api/v2/write?org=home&bucket=emeter&precision=s")
        #expect(v2.authorization == "Token tok")
        #expect(!v2.displayName.contains("tok"))
        let anonymous = try InfluxDBEndpoint(
            InfluxDBConfiguration(url: "http://h:8086", database: "d"), environment: [:])
        #expect(anonymous.authorization == nil)
    }

    @Test func configurationDecodesFromSnakeCase() throws {
        let json = #"{"url":"http://h:8086","database":"emeter","retention_policy":"rp","timeout":5}"#
        let decoded = try JSONDecoder().decode(InfluxDBConfiguration.self, from: Data(json.utf8))
        #expect(decoded.retentionPolicy == "rp")
        #expect(decoded.timeout.total == 5)
        #expect(decoded.effectiveVersion == 1)
        let v2 = try JSONDecoder().decode(
            InfluxDBConfiguration.self, from: Data(#"{"url":"http://h","org":"o","bucket":"b","token":"t"}"#.utf8))
        #expect(v2.effectiveVersion == 2)
    }

    @Test func v2WriteSendsTheTokenAndLineProtocol() async throws {
        try await withHTTPTestServer { server in
            server.enqueue("/api/v2/write", .status(204))
            let forwarder = try InfluxDBForwarder(
                configuration: InfluxDBConfiguration(
                    url: server.baseURL, version: 2, org: "home", bucket: "emeter", token: "env:TOKEN"),
                device: "E0025000123", logger: HTTPLogCapture().logger(), environment: ["TOKEN": "abc=="])
            let error = await httpSendResult(forwarder, HTTPTestData.p1Record)
            await forwarder.shutdown()
            #expect(error == nil)
            let requests = server.requests
            try #require(requests.count == 1)
            #expect(requests[0].method == "POST")
            #expect(requests[0].uri == "/api/v2/write?org=home&bucket=emeter&precision=s")
            #expect(requests[0].header("Authorization") == "Token abc==")
            #expect(requests[0].header("Content-Type") == "text/plain; charset=utf-8")
            #expect(
                requests[0].text
                    == InfluxLineProtocol.lines(
                        for: HTTPTestData.p1Record, device: "E0025000123", measurement: "emeter_interval")[0] + "\n")
        }
    }

    @Test func v1WriteUsesBasicAuthAndNoRequestForAnEmptyRecord() async throws {
        try await withHTTPTestServer { server in
            server.enqueue("/write", .status(204))
            let forwarder = try InfluxDBForwarder(
                configuration: InfluxDBConfiguration(
                    url: server.baseURL, database: "emeter", username: "u", password: "p"),
                device: "d", logger: HTTPLogCapture().logger())
            #expect(
                await httpSendResult(forwarder, IntervalRecord(start: UnixTime(seconds: 0), end: UnixTime(seconds: 60)))
                    == nil)
            #expect(server.requests.isEmpty)
            #expect(await httpSendResult(forwarder, HTTPTestData.adeRecord) == nil)
            await forwarder.shutdown()
            #expect(server.requests.map(\.uri) == ["/write?db=emeter&precision=s"])
            #expect(server.requests.first?.header("Authorization") == "Basic dTpw")
        }
    }

    @Test(arguments: [
        (400, "", ForwardError.Action.drop),
        (413, "", .drop),
        (422, "", .drop),
        (401, "", .pause(for: .seconds(600))),
        (403, "", .pause(for: .seconds(600))),
        (404, "", .pause(for: .seconds(600))),
        (429, "7", .retry(after: .seconds(7))),
        (503, "", .retry(after: nil)),
        (500, "", .retry(after: nil)),
    ])
    func statusesMapToTheRetryTable(status: Int, retryAfter: String, action: ForwardError.Action) async throws {
        try await withHTTPTestServer { server in
            let headers = retryAfter.isEmpty ? [] : [("Retry-After", retryAfter)]
            server.enqueue(
                "/write",
                .status(status, #"{"error":"partial write: field type conflict dropped=1"}"#, headers: headers))
            let forwarder = try InfluxDBForwarder(
                configuration: InfluxDBConfiguration(url: server.baseURL, database: "emeter"),
                device: "d", logger: HTTPLogCapture().logger())
            let error = await httpSendResult(forwarder, HTTPTestData.p1Record)
            await forwarder.shutdown()
            #expect(error?.action == action)
            #expect(error?.message.contains("HTTP \(status)") == true)
            #expect(error?.message.contains("field type conflict") == true)
        }
    }

    /// Batched drain: 5 records, batches of 3. The first batch is refused for good (400), so its records go one at
    /// a time and only the bad one (the second) is dropped; the rest drains as one batch of 2. Everything else is
    /// acknowledged exactly once in the ring.
    @Test func backlogDrainsInBatchesAndARefusedBatchIsSentOneByOne() async throws {
        try await withHTTPTestServer { server in
            server.enqueue(
                "/write", .status(400, #"{"error":"unable to parse"}"#), .status(204),
                .status(400, #"{"error":"partial write"}"#), .status(204), .status(204))
            let store = try RecordStore(storage: RAMRingStorage(), nominalInterval: 60, logger: Logger(label: "test"))
            let consumer = ConsumerID("influxdb")
            try await store.register(consumer)
            for minute in 0..<5 { _ = try await store.append(record(Int64(minute), importWh: Int64(10 + minute))) }
            let forwarder = try InfluxDBForwarder(
                configuration: InfluxDBConfiguration(url: server.baseURL, database: "emeter", batchSize: 3),
                device: "d", logger: HTTPLogCapture().logger())
            #expect(forwarder.maximumBatch == 3)
            let drain = ForwardingDrain(
                store: store, consumer: consumer, forwarder: forwarder, clock: ManualClock(),
                logger: Logger(label: "test"))
            let task = Task { await drain.run() }
            for _ in 0..<2000 where await store.statistics.backlog["influxdb"] != 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            task.cancel()
            let statistics = await task.value
            await forwarder.shutdown()
            #expect(statistics.delivered == 4)
            #expect(statistics.dropped == 1)
            let lineCounts = server.requests.map { $0.text.split(separator: "\n").count }
            #expect(lineCounts == [3, 1, 1, 1, 2])
            // The third request was the second record alone: the one dropped.
            #expect(server.requests.count == 5 && server.requests[2].text.contains("import_t1_wh=11i"))
            #expect(await store.statistics.backlog["influxdb"] == 0)
        }
    }

    @Test func connectionRefusedIsRetried() async throws {
        let server = try await TestHTTPServer.start()
        let url = server.baseURL
        await server.stop()
        let forwarder = try InfluxDBForwarder(
            configuration: InfluxDBConfiguration(
                url: url, database: "emeter", timeout: HTTPTimeouts(connect: 2, total: 5)),
            device: "d", logger: HTTPLogCapture().logger())
        let error = await httpSendResult(forwarder, HTTPTestData.p1Record)
        await forwarder.shutdown()
        #expect(error?.action == .retry(after: nil))
    }
}
