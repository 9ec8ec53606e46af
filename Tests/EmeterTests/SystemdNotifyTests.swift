import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A datagram socket standing in for systemd's notification socket (`$NOTIFY_SOCKET`).
final class NotifySocket {
    let path: String
    private let descriptor: Int32

    init(path: String) throws {
        self.path = path
        unlink(path)
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard descriptor >= 0, bound == 0 else { throw POSIXError(.EADDRNOTAVAIL) }
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// Every datagram waiting, without blocking.
    func drain() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes {
                recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT))
            }
            guard count > 0 else { return messages }
            messages.append(String(decoding: buffer[..<count], as: UTF8.self))
        }
    }
}

/// Issue "Hostile input" item 8: under systemd (`Type=notify`, `WatchdogSec=`) emeter says READY=1 once its loop
/// runs and pings WATCHDOG=1 from the loop at half the watchdog interval, so a stalled loop gets restarted.
@Test func runTellsSystemdItIsReadyAndPingsTheWatchdogFromTheLoop() async throws {
    let directory = try temporaryDirectory("notify")
    defer { try? FileManager.default.removeItem(at: directory) }
    let socket = try NotifySocket(path: directory.appendingPathComponent("notify").path)
    let process = try EmeterProcess(
        ["run", "--board", "boards/simulator.yaml", "--no-live", "--duration", "3s"],
        environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "400000"])
    var messages: [String] = []
    let deadline = ContinuousClock.now.advanced(by: .seconds(30))
    while process.process.isRunning && ContinuousClock.now < deadline {
        messages += socket.drain()
        try await Task.sleep(for: .milliseconds(50))
    }
    let status = await process.wait(timeout: .seconds(30))
    messages += socket.drain()
    #expect(status == 0, "\(process.standardError)")
    #expect(messages.first == "READY=1\nSTATUS=measuring")
    let pings = messages.filter { $0 == "WATCHDOG=1" }.count
    // The simulator board's loop ticks once a second; a ping is due at every tick (half of 400 ms has passed), so
    // 3 s of loop give about 3 pings, each from a tick the loop finished.
    #expect((2...5).contains(pings), "\(messages)")
    #expect(messages.last == "STOPPING=1")
    #expect(process.standardError.contains("systemd watchdog"))
}

/// Without `$NOTIFY_SOCKET` (not under systemd) nothing is sent and nothing is said about it.
@Test func runOutsideSystemdSendsNothing() async throws {
    let result = try await runEmeter(["run", "--board", "boards/simulator.yaml", "--no-live", "--duration", "1s"])
    #expect(result.status == 0)
    #expect(!result.err.contains("systemd watchdog"))
}
