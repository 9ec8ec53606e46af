import Foundation
import HAL
import Logging
import P1
import Simulator
import Synchronization
import TestSupport
import Testing

@testable import emeter

/// What the reader thread reported.
final class ReaderLog: Sendable {
    let telegrams = Mutex<[P1Telegram]>([])
    let detected = Mutex<[SerialConfiguration]>([])
    let errors = Mutex<[String]>([])
    let rejected = Mutex<Int>(0)

    func handle(_ event: P1ReaderThread.Event) {
        switch event {
        case .stream(.telegram(let telegram), _): telegrams.withLock { $0.append(telegram) }
        case .stream(.rejected, _), .stream(.frameFailed, _): rejected.withLock { $0 += 1 }
        case .detected(let setting): detected.withLock { $0.append(setting) }
        case .portError(let message): errors.withLock { $0.append(message) }
        }
    }
    var count: Int { telegrams.withLock { $0.count } }
}

@Suite(.serialized) struct P1TTYTests {
    static func run(profile: P1SimulatedProfile, expect setting: SerialConfiguration) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("emeter-pty-\(getpid())-\(profile)")
            .path
        let simulator = try P1MeterSimulator(profile: profile, startEpoch: 1_736_148_600)
        let meter = P1PseudoTerminalMeter(simulator: simulator, path: path)
        try meter.start(speedup: Double(profile.interval.components.seconds) * 5)  // a telegram every 200 ms
        defer { meter.stop() }
        let log = ReaderLog()
        let reader = P1ReaderThread(
            endpoint: .tty(path), serial: nil, decryptor: nil, dataRequest: .none,
            detectionWindow: .seconds(2), logger: Logger(label: "test")
        ) { log.handle($0) }
        reader.start()
        defer { reader.stop() }

        #expect(await waitUntil(.seconds(20)) { log.count >= 3 }, "errors: \(log.errors.withLock { $0 })")
        #expect(log.detected.withLock { $0 } == [setting])
        // The telegrams went through the real tty and parse back to the simulator's registers.
        let last = try #require(log.telegrams.withLock { $0.last })
        let counters = meter.counters
        #expect(last.reading.importWh[tariff: 1]?.roundedInteger ?? -1 <= counters.importWh[0])
        #expect((last.reading.importWh[tariff: 1]?.roundedInteger ?? 0) > 1_000_000)

        // Unplug: the pty hangs up and comes back at the same path; the reader reports it and recovers.
        let before = log.count
        meter.unplug(for: .milliseconds(800))
        #expect(await waitUntil(.seconds(10)) { !log.errors.withLock { $0 }.isEmpty })
        #expect(await waitUntil(.seconds(20)) { log.count >= before + 3 }, "errors: \(log.errors.withLock { $0 })")
        #expect(meter.generation == 2)
        // After the replug the detected setting is kept (no new detection round).
        #expect(log.detected.withLock { $0 } == [setting])
    }

    @Test func belgianMeterAt115200_8N1IsDetectedAndSurvivesAnUnplug() async throws {
        try await Self.run(profile: .belgian3PhaseGasWater, expect: .dsmr5)
    }

    @Test func dsmr22MeterAt9600_7E1IsDetectedAndSurvivesAnUnplug() async throws {
        try await Self.run(profile: .dsmr22, expect: .dsmr22)
    }

    @Test func kaifaMeterAt115200_7E1IsDetected() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("emeter-pty-\(getpid())-kaifa").path
        let meter = P1PseudoTerminalMeter(simulator: try P1MeterSimulator(profile: .dsmr42), path: path)
        try meter.start(speedup: 50)
        defer { meter.stop() }
        let log = ReaderLog()
        let reader = P1ReaderThread(
            endpoint: .tty(path), serial: nil, decryptor: nil, dataRequest: .none,
            detectionWindow: .seconds(2), logger: Logger(label: "test")
        ) { log.handle($0) }
        reader.start()
        defer { reader.stop() }
        #expect(await waitUntil(.seconds(20)) { log.count >= 2 })
        #expect(log.detected.withLock { $0 } == [.dsmr42Kaifa])
        #expect(log.telegrams.withLock { $0 }.allSatisfy { $0.transmittedCRC != nil })
    }

    @Test func theSimulatedUARTMangles7E1ReadAt8N1() {
        let telegram = Array("/KFM5KAIFA-METER\r\n".utf8)
        let garbled = P1PseudoTerminalMeter.asReceived(telegram, sent: .dsmr42Kaifa, readerSettings: .dsmr5)
        #expect(garbled != telegram)
        #expect(garbled[0] == 0xAF)  // "/" with its even-parity bit in bit 7
        #expect(P1PseudoTerminalMeter.asReceived(telegram, sent: .dsmr5, readerSettings: .dsmr5) == telegram)
        #expect(
            !P1PseudoTerminalMeter.asReceived(telegram, sent: .dsmr22, readerSettings: .dsmr5).contains(
                UInt8(ascii: "/")))
    }
}

/// A listening TCP socket on 127.0.0.1, port chosen by the kernel.
func listenOnLoopback(backlog: Int32) throws -> (fd: Int32, port: UInt16) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard fd >= 0, bound == 0, listen(fd, backlog) == 0 else {
        throw HALError(.other, subsystem: "test", device: "tcp", operation: "listen")
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, UInt16(bigEndian: address.sin_port))
}

/// A one-shot TCP server on loopback that sends `bytes` to the first client, like ser2net or a network P1 dongle.
final class TelegramServer: Sendable {
    let port: UInt16
    private let fd: Int32

    init(bytes: [UInt8]) throws {
        (fd, port) = try listenOnLoopback(backlog: 1)
        let fd = self.fd
        let thread = Thread {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return }
            var offset = 0
            while offset < bytes.count {
                let chunk = min(97, bytes.count - offset)  // odd chunks: telegrams split across reads
                let written = bytes.withUnsafeBytes { write(client, $0.baseAddress! + offset, chunk) }
                if written <= 0 { break }
                offset += written
                usleep(1000)
            }
            usleep(300_000)
            close(client)
        }
        thread.start()
    }

    deinit { close(fd) }
}

@Test func tcpSourceReadsTelegramsLikeSer2net() async throws {
    let fixture = repositoryRoot.appendingPathComponent("fixtures/p1/nl_dsmr50_iskra_mt382_v5.txt")
    let bytes = [UInt8](try Data(contentsOf: fixture))
    let server = try TelegramServer(bytes: Array(repeating: bytes, count: 3).flatMap { $0 })
    let log = ReaderLog()
    let reader = P1ReaderThread(
        endpoint: .tcp(host: "127.0.0.1", port: server.port), serial: .dsmr5, decryptor: nil,
        dataRequest: .none, logger: Logger(label: "test")
    ) { log.handle($0) }
    reader.start()
    defer { reader.stop() }
    #expect(await waitUntil(.seconds(10)) { log.count == 3 })
    #expect(log.telegrams.withLock { $0 }.allSatisfy { $0.transmittedCRC == 0x6EEE })
    // The server hangs up after sending: the reader reports it (and keeps trying to reconnect).
    #expect(await waitUntil(.seconds(10)) { !log.errors.withLock { $0 }.isEmpty })
}

@Test func endpointsParse() {
    #expect(P1Endpoint("/dev/ttyUSB0") == .tty("/dev/ttyUSB0"))
    #expect(P1Endpoint("tcp://192.0.2.10:2001") == .tcp(host: "192.0.2.10", port: 2001))
    #expect(P1Endpoint("tcp://[::1]:23") == .tcp(host: "::1", port: 23))
    #expect(P1Endpoint("tcp://host") == nil)
    #expect(P1Endpoint("COM3") == nil)
}

/// A TCP server on loopback that accepts every connection and closes it at once (a P1 dongle or ser2net whose
/// serial side is dead), counting the connections.
final class HangUpServer: Sendable {
    let port: UInt16
    private let fd: Int32
    private let accepted = Mutex(0)
    var connections: Int { accepted.withLock { $0 } }

    init() throws {
        (fd, port) = try listenOnLoopback(backlog: 16)
        let thread = Thread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }  // the listening socket was shut down
                accepted.withLock { $0 += 1 }
                close(client)
            }
        }
        thread.start()
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}

/// Field report: a network P1 dongle that accepts and closes at once made the reader reconnect in a tight loop
/// with no pause (the open succeeded, the first read hit EOF). It must back off: 0.5 s, 1 s, 2 s … — a handful of
/// connections in 3 s, not thousands — and say why.
@Test func aServerThatHangsUpAtOnceIsRetriedWithBackoff() async throws {
    let server = try HangUpServer()
    defer { server.stop() }
    let log = ReaderLog()
    let reader = P1ReaderThread(
        endpoint: .tcp(host: "127.0.0.1", port: server.port), serial: .dsmr5, decryptor: nil,
        dataRequest: .none, logger: Logger(label: "test")
    ) { log.handle($0) }
    let started = ContinuousClock.now
    reader.start()
    try await Task.sleep(for: .seconds(3))
    reader.stop()
    // The wall time actually spent (a loaded machine may stretch the sleep) bounds the connections the backoff
    // allows: one, then one after each pause of 0.5, 1, 2, 4, 8, 10, 10 … s. A tight loop makes thousands.
    let elapsed = Double((ContinuousClock.now - started).components.seconds) + 1
    var allowed = 1
    var waited = 0.0
    var pause = 0.5
    while waited + pause <= elapsed {
        waited += pause
        allowed += 1
        pause = min(pause * 2, 10)
    }
    #expect(server.connections >= 2, "the reader should retry")
    #expect(server.connections <= allowed, "\(server.connections) connections in \(elapsed) s: no backoff")
    #expect(log.errors.withLock { $0 }.contains { $0.contains("closed the connection") })
}
