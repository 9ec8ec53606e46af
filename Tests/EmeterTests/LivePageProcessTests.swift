import Foundation
import TestSupport
import Testing

/// The live page at `GET /` of `emeter run` (simulator board), loaded in a real headless browser (Debian's
/// chromium): the numbers it shows are those of `/api/v1/data`, its live stream delivered events, its chart has
/// points, the health section is filled. Its screenshot is kept as `.build/artifacts/live-page.png`.
@Suite(.serialized) struct LivePageProcessTests {
    /// Debian's chromium; installed here when missing and this user can install packages (as `scripts/setup` does).
    static let chromium: String? = {
        let path = "/usr/bin/chromium"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
        guard getuid() == 0 else { return nil }
        let install = Process()
        install.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        install.arguments = ["600", "apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]
        install.environment = ["DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        install.standardOutput = FileHandle.nullDevice
        install.standardError = FileHandle.nullDevice
        do { try install.run() } catch { return nil }
        install.waitUntilExit()
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }()

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs headless chromium on `url` with `options`, bounded to 90 s; its standard output.
    static func browse(_ url: String, options: [String], profile: URL) async throws -> String {
        let output = profile.appendingPathComponent("out-\(UInt32.random(in: 0...UInt32.max)).txt")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        let browser = Process()
        browser.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        browser.arguments =
            [
                "80", chromium ?? "/usr/bin/chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--user-data-dir=\(profile.path)", "--virtual-time-budget=10000",
            ] + options + [url]
        browser.standardOutput = handle
        browser.standardError = FileHandle.nullDevice
        browser.standardInput = FileHandle.nullDevice
        try browser.run()
        let deadline = ContinuousClock.now.advanced(by: .seconds(90))
        while browser.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
        if browser.isRunning { browser.terminate() }
        browser.waitUntilExit()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard browser.terminationStatus == 0 else {
            throw Failure(description: "chromium exited with \(browser.terminationStatus): \(text.prefix(500))")
        }
        return text
    }

    /// The attribute `name` of the element with id `id` in `dom` (the first match).
    static func attribute(_ name: String, ofID id: String, in dom: String) -> String? {
        guard let element = dom.range(of: "id=\"\(id)\"") else { return nil }
        let tagStart = dom[..<element.lowerBound].lastIndex(of: "<") ?? dom.startIndex
        guard let tagEnd = dom[element.upperBound...].firstIndex(of: ">") else { return nil }
        let tag = dom[tagStart..<tagEnd]
        guard let start = tag.range(of: " \(name)=\"") else { return nil }
        let rest = tag[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    /// The text inside the element with id `id` up to its first child or end tag.
    static func text(ofID id: String, in dom: String) -> String? {
        guard let element = dom.range(of: "id=\"\(id)\"") else { return nil }
        guard let open = dom[element.upperBound...].firstIndex(of: ">") else { return nil }
        let rest = dom[dom.index(after: open)...]
        return String(rest[..<(rest.firstIndex(of: "<") ?? rest.endIndex)])
    }

    @Test(
        .enabled(if: chromium != nil, "chromium is not installed and cannot be installed here (Debian: chromium)"),
        .timeLimit(.minutes(5)))
    func theLivePageShowsWhatTheAPIServes() async throws {
        let run = try await HomeWizardProcessTests.Run.start(profile: "belgian-3phase")
        defer { Task { await run.stop() } }
        let profile = try temporaryDirectory("chromium")
        defer { try? FileManager.default.removeItem(at: profile) }

        // A health report (ring, forwarders) before the page loads; health_interval is 1 s.
        var ready = false
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while !ready && ContinuousClock.now < deadline {
            let status = try? await run.request("/api/v1/status")
            let object = status.flatMap { jsonObject($0.body) }
            ready = object?["health"] is [String: Any] && object?["live"] is [String: Any]
            if !ready { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(ready, "no health report in /api/v1/status: \(run.emeter.standardError)")
        let page = try await run.request("/")
        #expect(page.status == 200)
        #expect(page.body.contains("<svg id=\"chart\""))

        // /api/v1/data every 250 ms while the browser loads the page (the meter sends a telegram a second), so the
        // answers span the page's whole life: what it shows must be one of them.
        let keys = ["active_power_w", "active_power_l1_w", "active_power_l2_w", "active_power_l3_w"]
        let poller = Task { () -> [[Int?]] in
            var answers: [[Int?]] = []
            let end = ContinuousClock.now.advanced(by: .seconds(100))
            while !Task.isCancelled && ContinuousClock.now < end {
                if let data = try? await run.request("/api/v1/data"), let object = jsonObject(data.body) {
                    answers.append(keys.map { object[$0] as? Int })
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
            return answers
        }
        let started = ContinuousClock.now
        let dom: String
        do {
            dom = try await Self.browse(run.baseURL + "/?events=2", options: ["--dump-dom"], profile: profile)
        } catch {
            poller.cancel()
            throw error
        }
        // Answers from up to 5 s after the dump too (a telegram in flight when it was taken).
        try await Task.sleep(for: .seconds(2))
        poller.cancel()
        let answers = await poller.value
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(!answers.isEmpty, "no /api/v1/data answer while the page loaded")

        let ids = ["p-total", "p-l1", "p-l2", "p-l3"]
        let shown = ids.map { Self.attribute("data-w", ofID: $0, in: dom).flatMap { Int($0) } }
        #expect(!shown.contains(nil), "the page shows no power: \(dom.prefix(3000))")
        #expect(answers.contains(shown), "the page shows \(shown), /api/v1/data said \(answers)")
        #expect(dom.contains("data-events=\"2\""), "the page got no two live events")
        let points = Self.attribute("data-points", ofID: "chart", in: dom).flatMap { Int($0) } ?? 0
        #expect(points >= 1, "the chart has no points")
        #expect(Self.attribute("points", ofID: "chart-line", in: dom)?.isEmpty == false)
        let demand = Self.attribute("data-w", ofID: "demand", in: dom).flatMap { Int($0) }
        #expect(demand != nil, "no quarter-hour demand shown")
        #expect(Self.attribute("data-w", ofID: "peak", in: dom).flatMap { Int($0) } != nil)
        #expect(Self.text(ofID: "ring", in: dom)?.contains("records") == true, "no ring health shown")
        #expect(dom.contains("waiting"), "no forwarder shown")

        // The screenshot: CI keeps it as an artifact.
        let artifacts = repositoryRoot.appendingPathComponent(".build/artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let screenshot = artifacts.appendingPathComponent("live-page.png")
        try? FileManager.default.removeItem(at: screenshot)
        _ = try await Self.browse(
            run.baseURL + "/?events=2", options: ["--screenshot=\(screenshot.path)", "--window-size=1200,800"],
            profile: profile)
        let png = try Data(contentsOf: screenshot)
        #expect(
            Array(png.prefix(4)) == [0x89, 0x50, 0x4E, 0x47] && png.count > 10_000, "screenshot: \(png.count) bytes")
        await run.stop()
    }
}
