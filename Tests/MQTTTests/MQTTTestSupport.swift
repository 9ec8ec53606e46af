import Synchronization
import TestSupport
import Testing

@testable import MQTT

/// SplitMix64: a tiny deterministic generator for jitter tests.
struct MQTTSeededRandom: RandomNumberGenerator, Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Always returns the same word: 1 draws the bottom of any range, `UInt64.max` the top. (Not 0: the stdlib's
/// rejection sampling in `next(upperBound:)` would then loop forever on a constant generator.)
struct MQTTConstantRandom: RandomNumberGenerator, Sendable {
    var value: UInt64
    mutating func next() -> UInt64 { value }
}

struct MQTTTimeoutError: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Runs `operation`, failing with `MQTTTimeoutError` if it takes longer than `timeout` (real time).
func mqttWithTimeout<T: Sendable>(
    _ timeout: Duration, _ what: String, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw MQTTTimeoutError(what: what)
        }
        defer { group.cancelAll() }
        guard let result = try await group.next() else { throw MQTTTimeoutError(what: what) }
        return result
    }
}

/// Polls `condition` every 10 ms (real time) until it holds; throws `MQTTTimeoutError` after `timeout`.
func mqttWaitUntil(
    _ what: String, timeout: Duration = .seconds(5), _ condition: @escaping @Sendable () async -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while !(await condition()) {
        if ContinuousClock.now >= deadline { throw MQTTTimeoutError(what: what) }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// Collects messages from `stream` until `count` arrived or `timeout` passed; returns what arrived.
func mqttCollect(
    _ count: Int, from stream: AsyncStream<MQTTMessage>, timeout: Duration = .seconds(5)
) async -> [MQTTMessage] {
    let box = MQTTLocked<[MQTTMessage]>([])
    _ = try? await mqttWithTimeout(timeout, "\(count) messages") {
        for await message in stream {
            let done = box.withLock {
                $0.append(message)
                return $0.count >= count
            }
            if done { break }
        }
    }
    return box.value
}

/// A `Mutex` in a class, so tasks and escaping closures can share it.
final class MQTTLocked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    var value: Value { mutex.withLock { $0 } }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
