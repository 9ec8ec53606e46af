import Foundation
import Logging
import NIOCore
import NIOPosix
import P1
import Synchronization
import TestSupport
import Testing

@testable import emeter

// P1 sharing (`p1: {share: {listen: …}}`): the board file, the server's slow-client rule, and `emeter run` read by
// dsmr-parser's own TCP reader.

@Suite struct P1ShareBoardTests {
    private static let board = "name: shared\np1:\n  port: /dev/ttyUSB0\n  share:\n    listen: "

    @Test(arguments: ["0.0.0.0:2001", "127.0.0.1:2001", "[::1]:2001", "[::]:2001", "192.168.1.20:65535"])
    func acceptsIPAddressAndPort(_ listen: String) throws {
        #expect(problems(Self.board + "\"\(listen)\"\n").isEmpty)
        let address = try #require(ShareAddress(listen))
        #expect(address.description == listen)
    }

    @Test(arguments: [
        "2001", "0.0.0.0", "0.0.0.0:0", "0.0.0.0:65536", "localhost:2001", "256.0.0.1:2001", "1.2.3:2001",
        "::1:2001", "[::1]", "[host]:2001", "tcp://0.0.0.0:2001",
    ])
    func refusesWithAPreciseError(_ listen: String) {
        let found = problems(Self.board + "\"\(listen)\"\n")
        #expect(found.count == 1)
        #expect(found.first?.field == "p1.share.listen")
        #expect(
            found.first?.message
                == "expected an IP address and a port from 1 to 65535 like 0.0.0.0:2001, 127.0.0.1:2001 or "
                + "[::1]:2001, got `\(listen)`")
    }

    @Test func decryptedNeedsAnEncryptedMeter() {
        let found = problems(Self.board + "\"0.0.0.0:2001\"\n    decrypted: true\n")
        #expect(found.map(\.field) == ["p1.share.decrypted"])
        #expect(found.first?.message == "only used with `key:` (an encrypted meter)")
        #expect(
            problems(
                Self.board + "\"0.0.0.0:2001\"\n    decrypted: true\n  key: " + String(repeating: "a", count: 32) + "\n"
            ).isEmpty)
    }

    @Test func unknownKeyIsNamed() {
        let found = problems(Self.board + "\"0.0.0.0:2001\"\n    port: 3\n")
        #expect(found.first?.field == "p1.share.port")
    }
}

/// A TCP client of the share: collects what it receives (fast), or never reads (slow).
private final class ShareClient: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let received = Mutex<[UInt8]>([])
    let closed = Atomic<Bool>(false)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        received.withLock { $0 += bytes }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed.store(true, ordering: .relaxed)
        context.fireChannelInactive()
    }

    var count: Int { received.withLock { $0.count } }

    static func connect(port: Int, reads: Bool) async throws -> (ShareClient, any Channel) {
        let handler = ShareClient()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: reads)
            // A small receive buffer: a client that never reads fills up after a few KiB.
            .channelOption(.socketOption(.so_rcvbuf), value: reads ? 256 * 1024 : 4096)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return (handler, channel)
    }
}

/// Polls `condition` every 2 ms for up to `timeout` (bounded; the deadline only stops a hung test).
private func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while !condition() {
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return true
}

/// A 1 KiB telegram-like unit, numbered so a client's stream can be checked byte for byte.
private func telegram(_ number: Int) -> [UInt8] {
    let head = Array("/SIM5\\\(number)\r\n".utf8)
    return head + [UInt8](repeating: UInt8(ascii: "x"), count: 1024 - head.count - 7) + Array("!ABCD\r\n".utf8)
}

@Suite(.serialized) struct P1ShareServerTests {
    @Test(.timeLimit(.minutes(3)))
    func slowClientIsDroppedAndFastClientKeepsEveryTelegram() async throws {
        let server = try await P1ShareServer.start(host: "127.0.0.1", port: 0, logger: Logger(label: "test"))
        defer { server.stop() }
        let (fast, fastChannel) = try await ShareClient.connect(port: server.port, reads: true)
        let (_, slowChannel) = try await ShareClient.connect(port: server.port, reads: false)
        defer {
            fastChannel.close(promise: nil)
            slowChannel.close(promise: nil)
        }
        #expect(await eventually { server.clientCount == 2 })

        // The reader thread's side: telegrams published back to back, the fast client reading along. Waiting for
        // it every 8 telegrams (8 KiB, far below the 64 KiB limit) keeps a loaded CI box from making it "slow".
        var sent: [UInt8] = []
        var number = 0
        var late: (ShareClient, any Channel)?
        while server.droppedCount == 0 && number < 4096 {
            let unit = telegram(number)
            server.publish(unit)
            sent += unit
            number += 1
            if number % 8 == 0 {
                let expected = sent.count
                #expect(await eventually { fast.count >= expected }, "fast client stalled at telegram \(number)")
            }
            if number == 16 { late = try await ShareClient.connect(port: server.port, reads: true) }
        }
        #expect(server.droppedCount == 1, "the slow client was not dropped after \(number) telegrams")
        // A slow client costs at most its 64 KiB, the kernel's buffers and one telegram.
        #expect(number * 1024 < P1ShareServer.clientBufferLimit + 512 * 1024)
        // The server closed it: once the slow client reads again it reaches the end of the stream.
        try await slowChannel.setOption(.autoRead, value: true).get()
        #expect(await eventually { !slowChannel.isActive })

        // The fast client keeps receiving after the drop.
        for _ in 0..<32 {
            let unit = telegram(number)
            server.publish(unit)
            sent += unit
            number += 1
        }
        let expected = sent.count
        #expect(await eventually { fast.count >= expected })
        let fastGotEverything = fast.received.withLock { $0 } == sent  // (a Bool: a failure prints no megabytes)
        #expect(fastGotEverything)
        #expect(server.clientCount == 2)

        // A client that connected mid-stream starts at a telegram boundary and then gets whole telegrams.
        let (lateClient, lateChannel) = try #require(late)
        defer { lateChannel.close(promise: nil) }
        let last = telegram(number - 1)
        #expect(await eventually { lateClient.received.withLock { $0.suffix(last.count).elementsEqual(last) } })
        let lateBytes = lateClient.received.withLock { $0 }
        #expect(lateBytes.first == UInt8(ascii: "/"))
        #expect(lateBytes.count % 1024 == 0 && !lateBytes.isEmpty)
        let lateIsASuffix = sent.suffix(lateBytes.count).elementsEqual(lateBytes)
        #expect(lateIsASuffix)
    }

    @Test(.timeLimit(.minutes(3)))
    func clientsThatLeaveAreCountedAndStopDisconnectsTheRest() async throws {
        let server = try await P1ShareServer.start(host: "127.0.0.1", port: 0, logger: Logger(label: "test"))
        let (_, first) = try await ShareClient.connect(port: server.port, reads: true)
        let (second, secondChannel) = try await ShareClient.connect(port: server.port, reads: true)
        #expect(await eventually { server.clientCount == 2 })
        #expect(server.address == "127.0.0.1:\(server.port)")
        try await first.close()
        #expect(await eventually { server.clientCount == 1 })
        server.publish(telegram(1))
        #expect(await eventually { second.count == 1024 })
        server.stop()
        #expect(await eventually { second.closed.load(ordering: .relaxed) })
        #expect(server.droppedCount == 0)
        _ = secondChannel
    }

    @Test func tapServesWholeTelegramsAsReadAndDropsNoise() async throws {
        // The splitter the reader thread uses: noise before the first `/` and a cut-off telegram are not served.
        let fixture = Array("/FLU5\\253769484_A\r\n\r\n1-0:1.8.1(000123.456*kWh)\r\n!1A2B\r\n".utf8)
        var splitter = P1TelegramSplitter()
        var out: [[UInt8]] = []
        let stream = Array("garbage(1)\r\n".utf8) + fixture + Array("/CUT\r\n1-0:".utf8) + fixture + fixture
        for byte in stream { splitter.feed(byte) { out.append($0) } }
        #expect(out == [fixture, fixture, fixture])
        #expect(splitter.dropped == 1)
        var whole = P1TelegramSplitter()
        out = []
        whole.feed(stream) { out.append($0) }
        #expect(out == [fixture, fixture, fixture])
        // DSMR 2.2: no CRC after `!`.
        let old = Array("/ISk5\\2MT382-1000\r\n\r\n0-0:96.1.1(12)\r\n!\r\n".utf8)
        out = []
        whole.feed(old) { out.append($0) }
        #expect(out == [old])
    }
}

/// `emeter run` on a simulated Belgian meter sharing its P1 port; dsmr-parser's own TCP reader (`SocketReader`, what
/// Home Assistant's DSMR integration uses for a network connection) reads the share and must parse telegrams whose
/// values equal what emeter printed.
@Suite(.serialized) struct P1ShareProcessTests {
    /// python3 with venv (and so pip) is installed: the one reason to skip.
    static let pythonAvailable: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import venv, ensurepip"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    /// The venv's python with dsmr-parser (scripts/python-tools installs it when missing; bounded in time).
    static func python() throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["bash", repositoryRoot.appendingPathComponent("scripts/python-tools").path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, !path.isEmpty else {
            throw ShareTestError("scripts/python-tools failed (exit \(process.terminationStatus)): no dsmr-parser")
        }
        return path
    }

    struct ShareTestError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// One way of sharing: the simulated meter, the share settings, how dsmr-parser reads it, what to compare.
    struct Case: CustomStringConvertible, Sendable {
        var description: String
        var simulate: String
        var share: String
        var readerArguments: [String]
        var keys: [String]
        var voltages: Int
    }

    static let cases: [Case] = [
        Case(
            description: "Belgian plaintext telegrams",
            simulate: "{profile: belgian-3phase, start: 2025-01-06T19:00:00Z}",
            share: "", readerArguments: ["3", "BELGIUM_FLUVIUS"],
            keys: ["import_t1_wh", "import_t2_wh", "export_t1_wh", "export_t2_wh", "power_import_w", "power_export_w"],
            voltages: 3),
        Case(
            description: "Smarty, decrypted telegrams",
            simulate: "{profile: smarty, start: 2025-01-06T19:00:00Z, speedup: 10}", share: ", decrypted: true",
            readerArguments: ["2", "LUXEMBOURG_SMARTY"],
            keys: ["import_wh", "export_wh", "power_import_w", "power_export_w"], voltages: 3),
        Case(
            description: "Smarty, encrypted frames as read (dsmr-parser decrypts)",
            simulate: "{profile: smarty, start: 2025-01-06T19:00:00Z, speedup: 10}", share: "",
            readerArguments: ["2", "MSN", String(repeating: "AA", count: 16)],
            keys: ["import_wh", "export_wh", "power_import_w", "power_export_w"], voltages: 3),
    ]

    @Test(
        .enabled(if: pythonAvailable, "python3 with venv/pip is not installed (Debian: python3-venv): skipped"),
        .timeLimit(.minutes(5)), arguments: cases)
    func dsmrParserReadsTheShareOfEmeterRun(_ sharing: Case) async throws {
        let python = try Self.python()
        let port = try ServerProcess.loopbackPort()
        let directory = try temporaryDirectory("p1-share")
        defer { try? FileManager.default.removeItem(at: directory) }
        let board = directory.appendingPathComponent("p1-share.yaml")
        try """
        name: P1 sharing test
        p1:
          simulate: \(sharing.simulate)
          serial: 115200-8N1
          share: {listen: "127.0.0.1:\(port)"\(sharing.share)}

        """.write(to: board, atomically: true, encoding: .utf8)
        let emeter = try EmeterProcess(["run", "--board", board.path, "--duration", "60s"])
        defer { if emeter.process.isRunning { emeter.signal(SIGTERM) } }
        let listening = await emeter.waitFor(timeout: .seconds(20)) {
            $0.standardError.contains("P1 sharing: listening")
        }
        try #require(listening, "stderr: \(emeter.standardError)")

        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: python)
        reader.arguments =
            [
                repositoryRoot.appendingPathComponent("scripts/p1_share_read.py").path, "127.0.0.1", "\(port)",
            ] + sharing.readerArguments
        let out = Pipe(), err = Pipe()
        reader.standardOutput = out
        reader.standardError = err
        try reader.run()
        let readerDone = await eventually(timeout: .seconds(60)) { !reader.isRunning }
        if !readerDone { reader.terminate() }
        reader.waitUntilExit()
        let parsed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .split(separator: "\n").compactMap { jsonObject(String($0)) }
        let readerErrors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(reader.terminationStatus == 0, "dsmr-parser: \(readerErrors)")
        #expect(parsed.count >= 2, "dsmr-parser parsed \(parsed.count) telegrams: \(readerErrors)")
        #expect(emeter.standardError.contains("P1 sharing: client connected"))

        // Every telegram dsmr-parser parsed is one emeter printed: same meter time, same registers and levels.
        for telegram in parsed {
            let time = try #require(telegram["meter_time_utc"] as? String)
            let printed = await emeter.waitFor(timeout: .seconds(10)) {
                $0.standardOutput.contains("\"meter_time_utc\":\"\(time)\"")
            }
            #expect(printed, "emeter printed no telegram of \(time)")
            let line = try #require(
                emeter.outputLines.compactMap(jsonObject).first {
                    $0["type"] as? String == "p1" && $0["meter_time_utc"] as? String == time
                })
            for key in sharing.keys {
                #expect((telegram[key] as? Int) != nil, "dsmr-parser has no \(key)")
                #expect(telegram[key] as? Int == line[key] as? Int, "\(key) at \(time)")
            }
            let voltages = telegram["voltage_v"] as? [Double] ?? []
            #expect(voltages.count == sharing.voltages)
            if sharing.voltages > 0 {
                #expect(voltages == line["voltage_v"] as? [Double], "voltages at \(time)")
            }
        }
        emeter.signal(SIGTERM)
        #expect(await emeter.wait(timeout: .seconds(60)) == 0)
        #expect(emeter.standardError.contains("P1 sharing: client disconnected"))
    }
}
