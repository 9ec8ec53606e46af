/// Cuts a plaintext P1 byte stream into whole telegrams, byte for byte as received: from `/` through the line end
/// after `!` and its CRC (DSMR 2.2/3 send `!` with no CRC). Nothing is parsed or checked: telegrams with a bad CRC
/// pass as read, and bytes outside telegrams (noise before the first `/`) are dropped.
///
/// Used to re-serve telegrams (P1 sharing) without ever handing out part of one. Memory is bounded: a "telegram"
/// longer than `maximumLength` is dropped and the splitter waits for the next `/`.
public struct P1TelegramSplitter: Sendable {
    private enum State { case seek, body, trailer }

    /// Longest telegram passed on, bytes (real telegrams are 0.2–2.5 KB).
    public let maximumLength: Int
    /// Telegrams dropped as too long or cut off (a new `/` before the end, a trailer that is not `CRC CR LF`).
    public private(set) var dropped = 0
    private var state = State.seek
    private var buffer: [UInt8] = []
    private var trailerCount = 0

    /// `!` + 4 CRC digits + CR LF.
    private static let maximumTrailer = 6

    public init(maximumLength: Int = 16_384) {
        self.maximumLength = maximumLength
    }

    /// Drops a telegram in progress (e.g. after the port was reopened).
    public mutating func reset() {
        if state != .seek { dropped += 1 }
        state = .seek
        buffer.removeAll(keepingCapacity: true)
    }

    /// Feeds bytes; `handler` receives each complete telegram's bytes, exactly as fed.
    public mutating func feed(_ bytes: some Sequence<UInt8>, _ handler: ([UInt8]) -> Void) {
        for byte in bytes { feed(byte, handler) }
    }

    public mutating func feed(_ byte: UInt8, _ handler: ([UInt8]) -> Void) {
        if byte == UInt8(ascii: "/") {
            // A new telegram starts: one in progress was cut off.
            if state != .seek { dropped += 1 }
            buffer.removeAll(keepingCapacity: true)
            buffer.append(byte)
            state = .body
            return
        }
        switch state {
        case .seek:
            return
        case .body:
            buffer.append(byte)
            if byte == UInt8(ascii: "!") {
                state = .trailer
                trailerCount = 0
            }
        case .trailer:
            buffer.append(byte)
            trailerCount += 1
            if byte == UInt8(ascii: "\n") {
                state = .seek
                handler(buffer)
                buffer.removeAll(keepingCapacity: true)
                return
            }
            if trailerCount >= Self.maximumTrailer {
                reset()
                return
            }
        }
        if buffer.count > maximumLength { reset() }
    }
}
