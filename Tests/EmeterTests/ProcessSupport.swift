import Foundation
import TestSupport

/// The built `emeter` executable (next to the test bundle, or in .build/debug).
let emeterExecutable: String = {
    let besideBundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("emeter").path
    if FileManager.default.isExecutableFile(atPath: besideBundle) { return besideBundle }
    for candidate in [".build/debug/emeter", ".build/x86_64-unknown-linux-gnu/debug/emeter"] {
        let path = repositoryRoot.appendingPathComponent(candidate).path
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return besideBundle
}()

/// A running `emeter` process whose stdout and stderr are collected.
final class EmeterProcess: @unchecked Sendable {
    // Safety: `process` is only touched from the test's task; the pipes' buffers are guarded by `lock`.
    let process = Process()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    /// The state directory this class made for the process (removed in `deinit`).
    private var stateDirectory: URL?

    init(_ arguments: [String], directory: URL = repositoryRoot, environment: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: emeterExecutable)
        process.arguments = arguments
        // Each process gets its own state directory (device id, Home Assistant entities) unless the test sets one:
        // nothing is read from or left in the user's ~/.local/state.
        var environment = environment
        if environment["STATE_DIRECTORY"] == nil {
            let state = FileManager.default.temporaryDirectory.appendingPathComponent(
                "emeter-state-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            environment["STATE_DIRECTORY"] = state.path
            stateDirectory = state
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.currentDirectoryURL = directory
        let stdout = Pipe(), stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        stdout.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.lock.withLock { self?.out.append(data) }
        }
        stderr.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            self?.lock.withLock { self?.err.append(data) }
        }
        try process.run()
    }

    deinit {
        if let stateDirectory { try? FileManager.default.removeItem(at: stateDirectory) }
    }

    var standardOutput: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    var standardError: String { lock.withLock { String(decoding: err, as: UTF8.self) } }
    var outputLines: [String] { standardOutput.split(separator: "\n").map(String.init) }

    /// Waits (bounded) for the process to exit; kills it when it does not.
    func wait(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        try? await Task.sleep(for: .milliseconds(50))  // let the pipes drain
        return process.terminationStatus
    }

    /// Waits (bounded) until `condition` holds on the output so far.
    func waitFor(timeout: Duration, _ condition: (EmeterProcess) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if condition(self) { return true }
            if !process.isRunning { return condition(self) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition(self)
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }
}

/// Runs `emeter` to completion (bounded) and returns status, stdout and stderr.
func runEmeter(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> (
    status: Int32?, out: String, err: String
) {
    let process = try EmeterProcess(arguments)
    let status = await process.wait(timeout: timeout)
    return (status, process.standardOutput, process.standardError)
}

func temporaryDirectory(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
        "emeter-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Decodes a JSON line into a dictionary.
func jsonObject(_ line: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
}
