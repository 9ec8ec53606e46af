import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import P1
import TestSupport
import Testing

/// `emeter run` with `api:` on the simulator board, read by real clients over loopback: python-homewizard-energy
/// (the client of Home Assistant's HomeWizard integration) for the HomeWizard P1 API, AsyncHTTPClient and
/// `promtool check metrics` for `/metrics` and the token.
@Suite(.serialized) struct HomeWizardProcessTests {
    static let token = "api-test-token"

    /// A running `emeter run` with the API on a free loopback port, a simulated meter of `profile` and an HTTP
    /// forwarder (so the forwarder metrics have something to count).
    struct Run {
        let emeter: EmeterProcess
        let port: Int
        let directory: URL
        let http: TestHTTPServer
        var baseURL: String { "http://127.0.0.1:\(port)" }

        static func start(profile: String) async throws -> Run {
            let port = try ServerProcess.loopbackPort()
            let http = try await TestHTTPServer.start()
            http.setFallback(.status(201))
            let directory = try temporaryDirectory("homewizard")
            let board = directory.appendingPathComponent("board.yaml")
            try """
            name: HomeWizard API test
            p1:
              simulate: {profile: \(profile), start: 2025-01-06T19:00:00Z}
              serial: 115200-8N1

            """.write(to: board, atomically: true, encoding: .utf8)
            let config = directory.appendingPathComponent("config.yaml")
            try """
            device: hw-test
            health_interval: 1s
            stdout: {live: true, records: false}
            forward:
              - http: {url: "\(http.baseURL)/records/"}
            api:
              listen: "127.0.0.1:\(port)"
              token: \(HomeWizardProcessTests.token)

            """.write(to: config, atomically: true, encoding: .utf8)
            let emeter = try EmeterProcess([
                "run", "--board", board.path, "--config", config.path, "--interval", "1s", "--duration", "90s",
            ])
            let run = Run(emeter: emeter, port: port, directory: directory, http: http)
            let ready = await emeter.waitFor(timeout: .seconds(30)) {
                $0.standardError.contains("HTTP API: listening")
                    && $0.outputLines.contains { $0.contains("\"type\":\"p1\"") }
            }
            if !ready {
                await run.stop()
                throw TestFailure("emeter did not start the API and print a P1 reading: \(emeter.standardError)")
            }
            return run
        }

        func stop() async {
            if emeter.process.isRunning { emeter.signal(SIGTERM) }
            _ = await emeter.wait(timeout: .seconds(60))
            await http.stop()
            try? FileManager.default.removeItem(at: directory)
        }

        /// One request with AsyncHTTPClient; status and body.
        func request(_ path: String, method: HTTPMethod = .GET, authorization: String? = nil) async throws -> (
            status: UInt, body: String
        ) {
            var request = HTTPClientRequest(url: baseURL + path)
            request.method = method
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 20)
            return (response.status.code, String(buffer: body))
        }
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// One simulated meter and the fields of python-homewizard-energy's `Data` its telegrams must fill.
    struct Case: CustomStringConvertible, Sendable {
        var description: String
        var profile: String
        var fields: [String]
    }

    static let common = [
        "smr_version", "meter_model", "unique_meter_id", "active_tariff", "total_energy_import_kwh",
        "total_energy_import_t1_kwh", "total_energy_import_t2_kwh", "total_energy_export_kwh",
        "total_energy_export_t1_kwh", "total_energy_export_t2_kwh", "active_power_w", "active_power_l1_w",
        "active_power_l2_w", "active_power_l3_w", "active_voltage_l1_v", "active_voltage_l2_v", "active_voltage_l3_v",
        "active_current_l1_a", "active_current_l2_a", "active_current_l3_a", "total_gas_m3", "gas_timestamp",
        "gas_unique_id", "external_devices",
    ]

    static let cases = [
        Case(
            description: "Belgian 3-phase meter with gas and water",
            profile: "belgian-3phase",
            fields: common + ["active_power_average_w", "monthly_power_peak_w", "monthly_power_peak_timestamp"]),
        Case(
            description: "Dutch DSMR 5 meter",
            profile: "dsmr5-nl",
            fields: common + [
                "voltage_sag_l1_count", "voltage_sag_l2_count", "voltage_sag_l3_count", "voltage_swell_l1_count",
                "voltage_swell_l2_count", "voltage_swell_l3_count", "any_power_fail_count", "long_power_fail_count",
            ]),
    ]

    @Test(
        .enabled(if: P1ShareProcessTests.pythonAvailable, "python3 with venv/pip is not installed: skipped"),
        .timeLimit(.minutes(5)), arguments: cases)
    func pythonHomeWizardEnergyReadsEveryField(_ meter: Case) async throws {
        let python = try P1ShareProcessTests.python()
        let run = try await Run.start(profile: meter.profile)
        defer { Task { await run.stop() } }

        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: python)
        reader.arguments = [
            repositoryRoot.appendingPathComponent("scripts/homewizard_read.py").path, "127.0.0.1:\(run.port)",
        ]
        let out = Pipe(), err = Pipe()
        reader.standardOutput = out
        reader.standardError = err
        try reader.run()
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while reader.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if reader.isRunning { reader.terminate() }
        reader.waitUntilExit()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(reader.terminationStatus == 0, "homewizard_read: \(errors)")
        let result = try #require(jsonObject(output), "homewizard_read printed: \(output) \(errors)")
        let device = try #require(result["device"] as? [String: Any])
        #expect(device["product_type"] as? String == "HWE-P1")
        #expect(device["api_version"] as? String == "v1")
        #expect(device["serial"] as? String == "hw-test")
        let data = try #require(result["data"] as? [String: Any])
        for field in meter.fields {
            #expect(data[field] != nil && !(data[field] is NSNull), "python-homewizard-energy has no \(field)")
        }
        // Fields of other products (sockets, water meters) or that P1 meters never send stay empty.
        for field in ["active_liter_lpm", "total_liter_m3", "active_frequency_hz"] {
            #expect(data[field] is NSNull, "\(field) should be empty")
        }

        // The same telegram, as emeter printed it on stdout. The registers narrow it down, but at 2 kW a register in
        // Wh keeps its value over a few 1 s telegrams: of those, the one whose levels are the API's (the checks below
        // then hold), else the first (and they fail, showing the difference).
        let t1 = try #require(data["total_energy_import_t1_kwh"] as? Double)
        let t2 = try #require(data["total_energy_import_t2_kwh"] as? Double)
        let candidates = run.emeter.outputLines.compactMap(jsonObject).filter {
            $0["type"] as? String == "p1" && ($0["import_t1_wh"] as? Int).map(Double.init) == (t1 * 1000).rounded()
                && ($0["import_t2_wh"] as? Int).map(Double.init) == (t2 * 1000).rounded()
        }
        let line = try #require(
            candidates.first { data["active_power_w"] as? Int == $0["power_w"] as? Int } ?? candidates.first,
            "no P1 line on stdout with import t1 \(t1) kWh, t2 \(t2) kWh")
        #expect(data["active_power_w"] as? Int == line["power_w"] as? Int)
        let exportT1 = try #require(data["total_energy_export_t1_kwh"] as? Double)
        #expect(Int((exportT1 * 1000).rounded()) == line["export_t1_wh"] as? Int)
        let voltages = ["active_voltage_l1_v", "active_voltage_l2_v", "active_voltage_l3_v"].map {
            data[$0] as? Double
        }
        #expect(voltages == (line["voltage_v"] as? [Double] ?? []).map { Optional($0) })
        let currents = ["active_current_l1_a", "active_current_l2_a", "active_current_l3_a"].map {
            data[$0] as? Double
        }
        #expect(currents == (line["current_a"] as? [Double] ?? []).map { Optional($0) })
        #expect(data["active_tariff"] as? Int == line["tariff"] as? Int)
        #expect(data["unique_meter_id"] as? String == line["equipment_id"] as? String)
        let gas = try #require(data["total_gas_m3"] as? Double)
        #expect(Int((gas * 1000).rounded()) == line["gas_l"] as? Int)
        let external = try #require(data["external_devices"] as? [[String: Any]])
        #expect(external.contains { $0["meter_type"] as? String == "GAS_METER" && $0["value"] as? Double == gas })

        // The raw telegram is a whole, valid telegram of this meter.
        let telegramText = try #require(result["telegram"] as? String)
        let telegram = try P1Telegram.parse(Array(telegramText.utf8))
        #expect(telegram.transmittedCRC == nil || telegram.transmittedCRC == telegram.computedCRC)
        #expect(data["meter_model"] as? String == telegram.header)
        await run.stop()
    }

    static let promtoolAvailable = FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool")

    @Test(
        .enabled(if: promtoolAvailable, "promtool is not installed (Debian: prometheus; scripts/setup installs it)"),
        .timeLimit(.minutes(3)))
    func metricsPassPromtoolAndCountWhatTheLoopDid() async throws {
        let run = try await Run.start(profile: "belgian-3phase")
        defer { Task { await run.stop() } }
        // A record delivered by the forwarder and a health report after it.
        let delivered = await run.emeter.waitFor(timeout: .seconds(30)) { _ in !run.http.requests.isEmpty }
        #expect(delivered, "the HTTP forwarder delivered nothing: \(run.emeter.standardError)")
        var metrics = ""
        let counted = await eventually(timeout: .seconds(20)) {
            metrics = (try? await run.request("/metrics").body) ?? ""
            return value(of: "emeter_forwarder_acknowledged_records_total{", in: metrics) ?? 0 > 0
                && value(of: "emeter_p1_telegrams_total", in: metrics) ?? 0 > 0
        }
        #expect(counted, "/metrics: \(metrics)")
        #expect((value(of: "emeter_loop_ticks_total", in: metrics) ?? 0) > 0)
        #expect((value(of: "emeter_loop_lateness_seconds_count", in: metrics) ?? 0) > 0)
        #expect(value(of: "emeter_power_watts{meter=\"p1\"}", in: metrics) != nil)
        #expect((value(of: "emeter_energy_import_watthours{meter=\"p1\"}", in: metrics) ?? 0) > 0)
        #expect((value(of: "emeter_forwarder_last_success_timestamp_seconds{", in: metrics) ?? 0) > 0)
        #expect(metrics.contains("emeter_forwarder_backlog_records{"))
        #expect(metrics.contains("emeter_ade9000_spi_crc_errors_total"))

        let promtool = Process()
        promtool.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        promtool.arguments = ["check", "metrics"]
        let input = Pipe(), out = Pipe()
        promtool.standardInput = input
        promtool.standardOutput = out
        promtool.standardError = out
        try promtool.run()
        input.fileHandleForWriting.write(Data(metrics.utf8))
        try input.fileHandleForWriting.close()
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while promtool.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if promtool.isRunning { promtool.terminate() }
        promtool.waitUntilExit()
        let report = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(promtool.terminationStatus == 0, "promtool check metrics: \(report)")

        // Reading needs no token; changing state (identify) needs the configured one.
        #expect(try await run.request("/api/v1/data").status == 200)
        #expect(try await run.request("/api/v1/identify", method: .PUT).status == 401)
        #expect(try await run.request("/api/v1/identify", method: .PUT, authorization: "Bearer wrong").status == 401)
        let identify = try await run.request(
            "/api/v1/identify", method: .PUT, authorization: "Bearer \(Self.token)")
        #expect(identify.status == 200)
        #expect(try await run.request("/api/v2/data").status == 404)
        #expect(
            try await run.request("/api/v1/data", method: .POST, authorization: "Bearer \(Self.token)").status == 405)
        #expect(await run.emeter.waitFor(timeout: .seconds(5)) { $0.standardError.contains("identify requested") })
        await run.stop()
    }

    @Test(.timeLimit(.minutes(2)))
    func liveStreamsOneEventPerTelegram() async throws {
        let run = try await Run.start(profile: "dsmr5-nl")
        defer { Task { await run.stop() } }
        let request = HTTPClientRequest(url: run.baseURL + "/api/v1/live")
        // Bounded: two events (a telegram a second) or 30 s, whichever comes first.
        let (contentType, frames) = try await withThrowingTaskGroup(of: (String?, [String])?.self) { group in
            group.addTask {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                var text = ""
                var frames: [String] = []
                for try await chunk in response.body {
                    text += String(buffer: chunk)
                    while let end = text.range(of: "\n\n") {
                        frames.append(String(text[..<end.lowerBound]))
                        text = String(text[end.upperBound...])
                    }
                    if frames.count >= 2 { break }
                }
                return (response.headers.first(name: "content-type"), frames)
            }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first ?? (nil, [])
        }
        #expect(contentType == "text/event-stream")
        let events = frames.compactMap { $0.hasPrefix("data: ") ? jsonObject(String($0.dropFirst(6))) : nil }
        #expect(events.count == 2, "frames: \(frames)")
        for event in events {
            #expect(event["total_power_import_t1_kwh"] as? Double != nil)
            #expect(event["active_power_w"] as? Int != nil)
            #expect(event["meter_model"] as? String == "ISK5\\2M550T-1012")
        }
        await run.stop()
    }

    @Test(.timeLimit(.minutes(2)))
    func anAddressInUseStopsTheStartNamingApiListen() async throws {
        let taken = try await TestHTTPServer.start()  // holds the port for the whole test
        defer { Task { await taken.stop() } }
        let directory = try temporaryDirectory("homewizard-taken")
        defer { try? FileManager.default.removeItem(at: directory) }
        let board = directory.appendingPathComponent("board.yaml")
        try "name: taken\np1:\n  simulate: {profile: dsmr5-nl, start: 2025-01-06T19:00:00Z}\n  serial: 115200-8N1\n"
            .write(to: board, atomically: true, encoding: .utf8)
        let config = directory.appendingPathComponent("config.yaml")
        try "device: taken\napi: {listen: \"127.0.0.1:\(taken.port)\"}\n".write(
            to: config, atomically: true, encoding: .utf8)
        let (status, _, errors) = try await runEmeter(
            ["run", "--board", board.path, "--config", config.path, "--duration", "30s"])
        #expect(status == 69, "stderr: \(errors)")
        #expect(errors.contains("api.listen: cannot listen on 127.0.0.1:\(taken.port)"), "stderr: \(errors)")
    }

    /// The value of the first sample whose line starts with `prefix`.
    private func value(of prefix: String, in metrics: String) -> Double? {
        for line in metrics.split(separator: "\n") where line.hasPrefix(prefix) {
            if let text = line.split(separator: " ").last, let value = Double(text) { return value }
        }
        return nil
    }

    private func eventually(timeout: Duration, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return await condition()
    }
}
