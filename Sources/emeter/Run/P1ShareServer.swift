import Logging
import NIOCore
import NIOPosix
import P1
import Synchronization

/// P1 sharing: re-serves the P1 telegrams, byte for byte as read, to any number of TCP clients — what ser2net gives
/// a P1 cable, so Home Assistant's DSMR integration or dsmr-reader read the meter next to emeter.
///
/// Built on SwiftNIO (NIOPosix, already used by the MQTT client): one listening socket and the client sockets live on
/// NIO's shared event loops, so no thread is added and no C module is imported outside HAL.
///
/// The reader thread calls ``publish(_:)`` with one whole telegram (or one whole encrypted frame) at a time, so a
/// client that connects receives bytes from the next telegram boundary on, never half a telegram.
/// ``publish(_:)`` never blocks: it adds the telegram to each client's queue on that client's event loop. A client
/// whose unsent bytes would exceed ``clientBufferLimit`` (it does not read, or reads slower than the meter sends) is
/// dropped, so a slow client costs at most that much memory and never slows the reader. The kernel's send buffer of
/// each client socket is set small (``socketSendBuffer``) so that "slow" is judged by that limit, not hidden by
/// megabytes of kernel buffering.
/// Bytes a client sends are read and discarded.
final class P1ShareServer: Sendable {
    /// Unsent bytes allowed per client before it is dropped.
    static let clientBufferLimit = 64 * 1024
    /// The kernel send buffer of each client socket (`SO_SNDBUF`).
    static let socketSendBuffer = 16 * 1024
    /// Clients served at once; more are refused (64 × 64 KiB bounds the memory slow clients can take).
    static let maximumClients = 64

    /// One connected client.
    final class Client: Sendable {
        let channel: any Channel
        let address: String
        /// Bytes handed to NIO and not yet written to the socket.
        let pending = Atomic<Int>(0)

        init(channel: any Channel, address: String) {
            self.channel = channel
            self.address = address
        }
    }

    private struct State {
        var clients: [ObjectIdentifier: Client] = [:]
        var stopped = false
    }

    /// Where the server listens (with the port the kernel chose when 0 was asked for).
    let address: String
    let port: Int
    private let listener: any Channel
    private let registry: Registry
    private let logger: Logger

    private init(listener: any Channel, registry: Registry, logger: Logger) {
        self.listener = listener
        self.registry = registry
        self.logger = logger
        port = listener.localAddress?.port ?? 0
        address = Self.text(listener.localAddress)
    }

    /// Connected clients.
    var clientCount: Int { registry.count }
    /// Clients dropped for not keeping up, since start.
    var droppedCount: Int { registry.dropped }

    /// Binds `host:port` and starts accepting clients.
    /// - Throws: NIO's error when the address cannot be bound (in use, not an address of this host).
    static func start(
        host: String, port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) async throws -> P1ShareServer {
        let registry = Registry(logger: logger)
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_sndbuf), value: SocketOptionValue(socketSendBuffer))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let client = registry.add(channel) else {
                        channel.close(promise: nil)
                        return
                    }
                    try channel.pipeline.syncOperations.addHandler(ClientHandler(client: client, registry: registry))
                }
            }
            .bind(host: host, port: port).get()
        let server = P1ShareServer(listener: listener, registry: registry, logger: logger)
        logger.info("P1 sharing: listening", metadata: ["address": "\(server.address)"])
        return server
    }

    /// `192.168.1.20:51234` or `[::1]:51234` for logs (NIO's own description repeats the address).
    static func text(_ address: SocketAddress?) -> String {
        guard let address, let ip = address.ipAddress, let port = address.port else {
            return address.map { "\($0)" } ?? "?"
        }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    /// Queues one whole telegram (or frame) for every client; drops clients that would exceed their buffer.
    /// Returns at once: called on the P1 reader thread.
    func publish(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        let clients = registry.snapshot()
        guard !clients.isEmpty else { return }
        let buffer = ByteBuffer(bytes: bytes)
        let count = bytes.count
        for client in clients {
            let pending = client.pending.add(count, ordering: .relaxed).newValue
            if pending > Self.clientBufferLimit {
                client.pending.subtract(count, ordering: .relaxed)
                registry.drop(
                    client, reason: "too slow: more than \(Self.clientBufferLimit / 1024) KiB of telegrams unsent")
                continue
            }
            client.channel.writeAndFlush(buffer).whenComplete { _ in
                client.pending.subtract(count, ordering: .relaxed)
            }
        }
    }

    /// Stops listening and disconnects every client.
    func stop() {
        listener.close(promise: nil)
        for client in registry.stop() { client.channel.close(promise: nil) }
        logger.info("P1 sharing: stopped", metadata: ["address": "\(address)"])
    }

    /// The connected clients, shared by the event loops (accept, close) and the reader thread (publish).
    private final class Registry: Sendable {
        private let state = Mutex(State())
        private let droppedTotal = Atomic<Int>(0)
        let logger: Logger

        init(logger: Logger) { self.logger = logger }

        var count: Int { state.withLock { $0.clients.count } }
        var dropped: Int { droppedTotal.load(ordering: .relaxed) }

        func snapshot() -> [Client] { state.withLock { Array($0.clients.values) } }

        /// Registers a new connection; `nil` when stopped or full (the caller closes it).
        func add(_ channel: any Channel) -> Client? {
            let address = P1ShareServer.text(channel.remoteAddress)
            let client = Client(channel: channel, address: address)
            let (added, count) = state.withLock { state -> (Bool, Int) in
                guard !state.stopped, state.clients.count < P1ShareServer.maximumClients else {
                    return (false, state.clients.count)
                }
                state.clients[ObjectIdentifier(channel)] = client
                return (true, state.clients.count)
            }
            if added {
                logger.info("P1 sharing: client connected", metadata: ["client": "\(address)", "clients": "\(count)"])
            } else {
                logger.warning(
                    "P1 sharing: client refused (stopping, or \(P1ShareServer.maximumClients) clients already)",
                    metadata: ["client": "\(address)", "clients": "\(count)"])
            }
            return added ? client : nil
        }

        /// Drops a client that does not keep up: unregisters it, logs, closes its connection.
        func drop(_ client: Client, reason: String) {
            guard let count = remove(client) else { return }
            droppedTotal.add(1, ordering: .relaxed)
            logger.warning(
                "P1 sharing: client dropped",
                metadata: ["client": "\(client.address)", "reason": "\(reason)", "clients": "\(count)"])
            client.channel.close(promise: nil)
        }

        /// The client closed its connection (or it failed).
        func disconnected(_ client: Client) {
            guard let count = remove(client) else { return }
            logger.info(
                "P1 sharing: client disconnected", metadata: ["client": "\(client.address)", "clients": "\(count)"])
        }

        /// Unregisters; the clients left, or `nil` when it was not registered (already dropped).
        private func remove(_ client: Client) -> Int? {
            state.withLock { state in
                guard state.clients.removeValue(forKey: ObjectIdentifier(client.channel)) != nil else { return nil }
                return state.clients.count
            }
        }

        /// Refuses new clients from now on; returns the connected ones (the caller closes them).
        func stop() -> [Client] {
            state.withLock { state in
                state.stopped = true
                defer { state.clients = [:] }
                return Array(state.clients.values)
            }
        }
    }

    /// Discards what a client sends; unregisters it when its connection ends.
    private final class ClientHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let client: Client
        let registry: Registry

        init(client: Client, registry: Registry) {
            self.client = client
            self.registry = registry
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

        func channelInactive(context: ChannelHandlerContext) {
            registry.disconnected(client)
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}

/// The reader thread's side of P1 sharing: cuts the bytes read into whole telegrams (or whole encrypted frames) and
/// publishes each one.
///
/// - Plaintext meters: the telegrams exactly as read, from `/` through the CRC line.
/// - Encrypted meters (Smarty), `decrypted: false`: the DLMS frames exactly as read (clients decrypt with their own
///   key, e.g. dsmr_parser's Smarty reader); `decrypted: true`: each decrypted telegram once it is authentic and not
///   replayed. Plaintext telegrams between frames (a meter with P1 security off) are served as read in both modes.
/// `lastTelegram` (the HTTP API's `GET /api/v1/telegram`) gets every whole plaintext telegram: as read, or
/// decrypted for an encrypted meter. With `server: nil` and `lastTelegram: nil` it does nothing.
struct P1ShareTap: P1StreamTap {
    let server: P1ShareServer?
    let encrypted: Bool
    let decrypted: Bool
    let lastTelegram: (@Sendable ([UInt8]) -> Void)?
    private var telegrams = P1TelegramSplitter()
    private var frames = P1FrameSplitter()

    init(
        server: P1ShareServer?, encrypted: Bool, decrypted: Bool,
        lastTelegram: (@Sendable ([UInt8]) -> Void)? = nil
    ) {
        self.server = server
        self.encrypted = encrypted
        self.decrypted = decrypted
        self.lastTelegram = lastTelegram
    }

    mutating func received(_ bytes: [UInt8]) {
        guard server != nil || lastTelegram != nil else { return }
        let server = server
        let lastTelegram = lastTelegram
        guard encrypted else {
            telegrams.feed(bytes) { telegram in
                server?.publish(telegram)
                lastTelegram?(telegram)
            }
            return
        }
        let publishFrames = !decrypted && server != nil
        for byte in bytes {
            if frames.isSeeking && byte != P1DLMSFrame.tag {
                telegrams.feed(byte) { telegram in
                    server?.publish(telegram)
                    lastTelegram?(telegram)
                }
            } else {
                frames.feed(byte) { frame in if publishFrames { server?.publish(frame) } }
            }
        }
    }

    mutating func decrypted(_ plaintext: [UInt8]) {
        if decrypted { server?.publish(plaintext) }
        lastTelegram?(plaintext)
    }

    /// Drops a telegram or frame in progress (the port was reopened).
    mutating func reset() {
        telegrams.reset()
        frames.reset()
    }
}
