/// When the reconnecting client tries again. Pure: the random source is passed in, so tests are exact.
///
/// Exponential backoff with full jitter (MQTT reconnect base 1 s, cap 60–120 s, reset after a success); CONNACK
/// return codes 1, 2, 4, 5 (OASIS MQTT 3.1.1 §3.2.2.3) are configuration errors: long backoff and a loud error;
/// 3 (server unavailable) is transient: normal backoff.
public struct MQTTReconnectPolicy: Sendable, Equatable {
    /// First backoff step (attempt 0): the delay is drawn from `0...base`.
    public var base: Duration
    /// Upper bound of the exponential step.
    public var cap: Duration
    /// Fixed wait after a permanent CONNACK refusal (bad credentials, not authorized, identifier rejected,
    /// unacceptable protocol version) — no reconnect storm against a misconfigured broker account.
    public var refusedDelay: Duration
    /// The failure counter is reset only when a connection stayed up at least this long, so a broker that
    /// accepts and then immediately kicks us (client-id take-over, ACL) still backs off exponentially.
    public var stableConnection: Duration

    public init(
        base: Duration = .seconds(1), cap: Duration = .seconds(60), refusedDelay: Duration = .seconds(300),
        stableConnection: Duration = .seconds(10)
    ) {
        self.base = base
        self.cap = cap
        self.refusedDelay = refusedDelay
        self.stableConnection = stableConnection
    }

    /// Upper bound of the delay after `failures` consecutive failures (1 = first failure):
    /// `min(cap, base · 2^(failures − 1))`.
    public func ceiling(failures: Int) -> Duration {
        let exponent = min(max(failures - 1, 0), 30)
        let step = base * (1 << exponent)
        return step < cap ? step : cap
    }

    /// Full-jitter delay: uniformly random in `0...ceiling(failures:)`, in whole milliseconds.
    public func delay(failures: Int, using random: inout some RandomNumberGenerator) -> Duration {
        let ceiling = ceiling(failures: failures)
        let milliseconds = ceiling.components.seconds * 1000 + ceiling.components.attoseconds / 1_000_000_000_000_000
        guard milliseconds > 0 else { return .zero }
        return .milliseconds(Int64.random(in: 0...milliseconds, using: &random))
    }

    /// The wait before the next attempt after `error` ended attempt number `failures`.
    public func delay(
        after error: MQTTError, failures: Int, using random: inout some RandomNumberGenerator
    )
        -> Duration
    {
        error.isPermanentRefusal ? refusedDelay : delay(failures: failures, using: &random)
    }
}
