import Logging
import NIOCore
import NIOPosix

/// A reconnecting MQTT 3.1.1 client: a reconnect supervisor around one connection at a time.
///
/// `run()` connects, serves the connection until it closes, waits (exponential backoff with full jitter,
/// `MQTTReconnectPolicy`, injected `Clock` and random source) and connects again, until `shutdown()` or
/// cancellation of the task running `run()`.
///
/// **Delivery contract (QoS 1).** `publish` returns after the broker's PUBACK. When the connection drops first,
/// `publish` throws (`.connectionClosed`/`.notConnected`) and the message is **reported failed; nothing is re-sent
/// by the client** (clean session: a re-send is a new message with a new packet id and DUP = 0, §1.6). The caller
/// removes a record from its ring buffer only after `publish` returned, and re-publishes the rest after
/// `waitForConnection()`. Acknowledged messages are never lost; a failed one may arrive twice.
///
/// **Refusals.** CONNACK 1, 2, 4, 5 (`MQTTError.isPermanentRefusal`) put the client into `.refused(error)`:
/// `publish` and `waitForConnection` throw that error at once (caller-visible), and the next attempt happens only
/// after `policy.refusedDelay` (default 5 min) — never a reconnect storm.
public actor MQTTClient {
    public enum State: Sendable, Equatable {
        case idle
        case connecting
        case connected
        /// Waiting `retryIn` before the next attempt because of `lastError` (transient).
        case waiting(retryIn: Duration, lastError: MQTTError)
        /// The broker refused us for a configuration reason; waiting `policy.refusedDelay`.
        case refused(MQTTError)
        case stopped
    }

    /// Incoming messages of all subscriptions, across reconnects. Finishes when the client stops.
    public nonisolated let messages: AsyncStream<MQTTMessage>
    public private(set) var state = State.idle
    /// Number of connection attempts so far (for monitoring and tests).
    public private(set) var connectionAttempts = 0
    /// The live connection, if any.
    public private(set) var connection: MQTTConnection?

    public let configuration: MQTTConfiguration
    public let policy: MQTTReconnectPolicy
    private let clock: any Clock<Duration>
    private var random: any RandomNumberGenerator & Sendable
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let onConnect: (@Sendable (MQTTConnection) async throws -> Void)?
    private let messagesContinuation: AsyncStream<MQTTMessage>.Continuation
    private var subscriptions: [MQTTSubscription] = []
    private var waiters: [Int: CheckedContinuation<MQTTConnection, any Error>] = [:]
    private var nextWaiterID = 0
    private var sleepTask: Task<Void, Never>?
    private var running = false
    private var stopped = false

    /// - Parameters:
    ///   - configuration: Broker, client id, credentials, will, keep-alive.
    ///   - policy: Backoff parameters (defaults: base 1 s, cap 60 s, 5 min after a refusal).
    ///   - clock: Clock used for backoff sleeps (a manual clock in tests).
    ///   - random: Random source for the jitter (seeded in tests).
    ///   - eventLoopGroup: Where the connections run (NIO's shared singleton by default).
    ///   - logger: Connection events and failures.
    ///   - onConnect: Runs after every CONNACK, before the client reports `.connected` — publish the retained
    ///     `online` availability and discovery configs here. If it throws, the connection is closed and retried.
    public init(
        configuration: MQTTConfiguration, policy: MQTTReconnectPolicy = MQTTReconnectPolicy(),
        clock: any Clock<Duration> = ContinuousClock(),
        random: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "emeter.mqtt"),
        onConnect: (@Sendable (MQTTConnection) async throws -> Void)? = nil
    ) {
        self.configuration = configuration
        self.policy = policy
        self.clock = clock
        self.random = random
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.onConnect = onConnect
        (messages, messagesContinuation) = AsyncStream.makeStream(
            of: MQTTMessage.self, bufferingPolicy: .bufferingNewest(max(1, configuration.incomingMessageBuffer)))
    }

    // MARK: Supervisor loop

    /// Connects and keeps reconnecting until `shutdown()` or cancellation. Call it once, from its own task.
    public func run() async {
        guard !running, !stopped else { return }
        running = true
        var failures = 0
        while !stopped && !Task.isCancelled {
            connectionAttempts += 1
            state = .connecting
            let error: MQTTError
            do {
                let connection = try await MQTTConnection.connect(
                    configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
                if stopped || Task.isCancelled {
                    await connection.disconnect()
                    break
                }
                let clock = self.clock
                let elapsed = Self.stopwatch(clock)
                error = await serve(connection)
                if elapsed() >= policy.stableConnection { failures = 0 }
            } catch let connectError {
                error = connectError
            }
            if stopped || Task.isCancelled { break }
            failures += 1
            var generator = random
            let delay = policy.delay(after: error, failures: failures, using: &generator)
            random = generator
            if error.isPermanentRefusal {
                state = .refused(error)
                logger.critical(
                    "MQTT: \(error.message); check the configuration. Next attempt in \(delay)",
                    metadata: ["clientID": "\(configuration.clientID)", "broker": "\(configuration.host)"])
                resumeWaiters(with: .failure(error))
            } else {
                state = .waiting(retryIn: delay, lastError: error)
                logger.warning("MQTT: \(error.message); reconnecting in \(delay) (failure \(failures))")
            }
            await sleep(delay)
        }
        finish()
    }

    /// Serves one connection until it closes. Returns why it closed.
    private func serve(_ connection: MQTTConnection) async -> MQTTError {
        do {
            if !subscriptions.isEmpty { try await connection.subscribe(subscriptions) }
            try await onConnect?(connection)
        } catch {
            let mqttError = error as? MQTTError ?? MQTTError(.protocolViolation, "onConnect failed: \(error)")
            logger.error("MQTT: setting up the connection failed: \(mqttError.message)")
            await connection.close()
            return mqttError
        }
        self.connection = connection
        state = .connected
        resumeWaiters(with: .success(connection))

        let continuation = messagesContinuation
        let reason = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await message in connection.messages { continuation.yield(message) }
            }
            return await withTaskCancellationHandler {
                await connection.waitUntilClosed()
            } onCancel: {
                connection.startDisconnect()
            }
        }
        self.connection = nil
        return reason
    }

    private func sleep(_ delay: Duration) async {
        let clock = self.clock
        let task = Task { _ = try? await clock.sleep(for: delay) }
        sleepTask = task
        await withTaskCancellationHandler {
            await task.value
        } onCancel: {
            task.cancel()
        }
        sleepTask = nil
    }

    private static func stopwatch<C: Clock<Duration>>(_ clock: C) -> () -> Duration {
        let start = clock.now
        return { start.duration(to: clock.now) }
    }

    private func finish() {
        stopped = true
        running = false
        state = .stopped
        resumeWaiters(with: .failure(MQTTError(.shutdown, "MQTT client stopped")))
        messagesContinuation.finish()
    }

    /// Stops reconnecting, sends DISCONNECT on the live connection (so the broker discards the will) and
    /// makes `run()` return.
    public func shutdown() async {
        stopped = true
        sleepTask?.cancel()
        if let connection { await connection.disconnect() }
        if !running { finish() }
    }

    // MARK: Use

    /// Waits until a connection is up (after `onConnect` ran) and returns it.
    /// - Throws: The refusal error while `.refused` (permanent, caller-visible); `.shutdown` when stopped or cancelled.
    public func waitForConnection() async throws(MQTTError) -> MQTTConnection {
        if let connection, state == .connected { return connection }
        if case .refused(let error) = state { throw error }
        if stopped { throw MQTTError(.shutdown, "MQTT client stopped") }
        let id = nextWaiterID
        nextWaiterID += 1
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    if Task.isCancelled {
                        continuation.resume(throwing: MQTTError(.shutdown, "waiting for a connection was cancelled"))
                    } else {
                        waiters[id] = continuation
                    }
                }
            } onCancel: {
                Task { await self.cancelWaiter(id) }
            }
        } catch {
            throw error as? MQTTError ?? MQTTError(.shutdown, "\(error)")
        }
    }

    private func cancelWaiter(_ id: Int) {
        waiters.removeValue(forKey: id)?.resume(
            throwing: MQTTError(.shutdown, "waiting for a connection was cancelled"))
    }

    private func resumeWaiters(with result: Result<MQTTConnection, MQTTError>) {
        let current = waiters
        waiters.removeAll()
        for continuation in current.values {
            switch result {
            case .success(let connection): continuation.resume(returning: connection)
            case .failure(let error): continuation.resume(throwing: error)
            }
        }
    }

    /// Publishes on the current connection. See the type's delivery contract.
    /// - Throws: `.notConnected` between connections, the refusal error while `.refused`, or what
    ///   `MQTTConnection.publish` throws (`.connectionClosed` = not acknowledged, keep the record).
    public func publish(
        topic: String, payload: [UInt8], qos: MQTTQoS = .atMostOnce, retain: Bool = false
    ) async throws(MQTTError) {
        guard let connection else {
            if case .refused(let error) = state { throw error }
            throw MQTTError(.notConnected, "not connected to \(configuration.host):\(configuration.port) (\(state))")
        }
        try await connection.publish(topic: topic, payload: payload, qos: qos, retain: retain)
    }

    /// Adds subscriptions that are (re-)established after every connect. When connected, subscribes right away
    /// and waits for the SUBACK; otherwise they are sent at the next connect.
    public func subscribe(_ newSubscriptions: [MQTTSubscription]) async throws(MQTTError) {
        for subscription in newSubscriptions { try MQTTCodec.validateTopicFilter(subscription.filter) }
        for subscription in newSubscriptions {
            subscriptions.removeAll { $0.filter == subscription.filter }
            subscriptions.append(subscription)
        }
        if let connection { try await connection.subscribe(newSubscriptions) }
    }
}
