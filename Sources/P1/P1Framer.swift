/// Why the framer dropped a telegram. Every rejection is counted in `P1Framer.Statistics`.
public enum P1RejectReason: Int, CaseIterable, Hashable, Sendable, CustomStringConvertible {
    /// The CRC after `!` differs from the CRC-16/ARC computed over `/`…`!`.
    case crcMismatch
    /// A DSMR 4+/e-MUCS telegram (it declared `1-3:0.2.8` ≥ 4 or `0-0:96.1.4`) ended with `!` and no CRC, or
    /// `Options.requireCRC` is set.
    case missingCRC
    /// Something other than up to 4 hex digits and the line end followed `!`.
    case malformedCRC
    /// A line longer than `Options.maximumLineLength`.
    case lineTooLong
    /// More bytes than `Options.maximumTelegramLength` between `/` and `!`.
    case telegramTooLong
    /// More lines than `Options.maximumLines`.
    case tooManyLines
    /// A new `/` arrived before the telegram's `!` and final line feed (a cut-off telegram).
    case truncated
    /// The stream was reset (`P1Framer.reset()`, e.g. the serial port was reopened) inside a telegram.
    case interrupted

    public var description: String {
        switch self {
        case .crcMismatch: "CRC mismatch"
        case .missingCRC: "CRC missing"
        case .malformedCRC: "malformed CRC line"
        case .lineTooLong: "line too long"
        case .telegramTooLong: "telegram too long"
        case .tooManyLines: "too many lines"
        case .truncated: "truncated (new '/' before the end)"
        case .interrupted: "interrupted by a reset"
        }
    }
}

/// A dropped telegram: the reason plus what is known about it.
public struct P1Rejection: Hashable, Sendable, CustomStringConvertible {
    public var reason: P1RejectReason
    /// The identification line, if it was complete.
    public var header: String?
    /// Bytes from `/` to the point of rejection.
    public var byteCount: Int
    /// For `.crcMismatch`: the CRC sent and the CRC computed.
    public var transmittedCRC: UInt16?
    public var computedCRC: UInt16?

    public var description: String {
        var text = "P1 telegram rejected: \(reason)"
        if let transmittedCRC, let computedCRC {
            text += " (sent \(P1Framer.hex4(transmittedCRC)), computed \(P1Framer.hex4(computedCRC)))"
        }
        if let header { text += " [/\(header)]" }
        return text + " after \(byteCount) bytes"
    }
}

/// What the framer reports.
public enum P1FramerEvent: Hashable, Sendable {
    case telegram(P1Telegram)
    case rejected(P1Rejection)
}

/// Streaming P1 framer: a byte-level state machine fed any chunking of the serial stream.
///
/// It waits for `/`, collects one line at a time in a bounded line buffer (allocated once), hands each complete
/// line to the incremental parser, and ends the telegram at `!`, up to 4 hex CRC digits (upper or lower case, a
/// 3-digit unpadded CRC such as `!B9F` included, NUL and CR tolerated) and the line feed. The CRC-16/ARC over
/// `/`…`!` is updated as bytes arrive (DSMR 5.0.2 §6.2); no telegram is ever buffered as bytes.
/// DSMR 2.2/3 and EasyMeter telegrams (`!` without CRC) are accepted unless the telegram declared DSMR ≥ 4.
///
/// Resynchronisation: bytes before `/` are skipped (garbage, 0xFF runs, a telegram joined mid-way); a `/` inside a
/// telegram starts a new one (the old one is rejected as `.truncated`); an over-long line or telegram drops the
/// telegram and waits for the next `/`.
public struct P1Framer: Sendable {
    /// Limits and policies.
    public struct Options: Sendable, Hashable {
        /// Longest line accepted: a DSMR 5 text message is up to 2048 hex digits on one line (§6.12), plus code and
        /// parentheses.
        public var maximumLineLength: Int
        /// Largest telegram accepted, `/` to `!` (real ones: 0.2–2.5 KB; a full text message adds 2 KB).
        public var maximumTelegramLength: Int
        /// Most lines accepted in one telegram.
        public var maximumLines: Int
        /// Reject telegrams without CRC even when they look like DSMR 2.2/3.
        public var requireCRC: Bool
        /// Clear bit 7 of every byte: lets a port opened at 8N1 read a 7E1 meter (the parity bit lands in bit 7).
        public var stripParityBit: Bool

        public init(
            maximumLineLength: Int = 2200, maximumTelegramLength: Int = 8192, maximumLines: Int = 256,
            requireCRC: Bool = false, stripParityBit: Bool = false
        ) {
            self.maximumLineLength = maximumLineLength
            self.maximumTelegramLength = maximumTelegramLength
            self.maximumLines = maximumLines
            self.requireCRC = requireCRC
            self.stripParityBit = stripParityBit
        }
    }

    /// Counters since creation.
    public struct Statistics: Hashable, Sendable {
        public var telegrams = 0
        /// Bytes seen outside any telegram (garbage, trailers, 0xFF runs).
        public var skippedBytes = 0
        public var bytes = 0
        private var counts = [Int](repeating: 0, count: P1RejectReason.allCases.count)

        public init() {}

        /// Rejections for `reason`.
        public subscript(reason: P1RejectReason) -> Int {
            get { counts[reason.rawValue] }
            set { counts[reason.rawValue] = newValue }
        }

        /// All rejections.
        public var rejected: Int { counts.reduce(0, +) }
    }

    private enum State { case idle, header, data, checksum }

    public let options: Options
    public private(set) var statistics = Statistics()
    private var state = State.idle
    private var crc = CRC16()
    private var line: [UInt8]
    private var lineLength = 0
    private var lineCount = 0
    private var telegramLength = 0
    private var openParenthesis = false
    /// True right after a line feed: `!` ends the telegram only there (also when a wrapped value is still open).
    private var physicalLineStart = true
    private var crcDigits = 0
    private var crcValue: UInt16 = 0
    private var builder = P1TelegramBuilder()

    public init(options: Options = .init()) {
        self.options = options
        line = [UInt8](repeating: 0, count: max(options.maximumLineLength, 16))
    }

    /// Whether a telegram has started and not ended yet.
    public var isInsideTelegram: Bool { state != .idle }

    /// Feeds bytes in any chunking; `handler` is called for every telegram completed or rejected, in order.
    @inlinable
    public mutating func feed(_ bytes: some Collection<UInt8>, _ handler: (P1FramerEvent) -> Void) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in feed(buffer: buffer, handler) }
        if done == nil {
            for byte in bytes { feed(byte, handler) }
        }
    }

    /// Feeds bytes and returns the events (convenience; allocates an array).
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [P1FramerEvent] {
        var events: [P1FramerEvent] = []
        feed(bytes) { events.append($0) }
        return events
    }

    /// Feeds a contiguous buffer.
    public mutating func feed(buffer: UnsafeBufferPointer<UInt8>, _ handler: (P1FramerEvent) -> Void) {
        CRC16.table.withUnsafeBufferPointer { table in
            var index = 0
            while index < buffer.count {
                if state == .idle {
                    // skip to the next "/"
                    var next = index
                    while next < buffer.count {
                        let byte = options.stripParityBit ? buffer[next] & 0x7F : buffer[next]
                        if byte == UInt8(ascii: "/") { break }
                        next += 1
                    }
                    statistics.skippedBytes &+= next - index
                    statistics.bytes &+= next - index
                    index = next
                    if index == buffer.count { break }
                } else if state == .data || state == .header {
                    let consumed = ordinaryRun(buffer, from: index, table)
                    index += consumed
                    if index == buffer.count { break }
                }
                step(buffer[index], table, handler)
                index += 1
            }
        }
    }

    /// Consumes a run of ordinary line bytes (no CR, LF, NUL, `/`, `!`) in one tight loop: CRC update, copy into the
    /// line buffer, parenthesis tracking. Stops before any byte that needs `step`, before the line buffer or the
    /// telegram limit would overflow. Returns how many bytes it consumed.
    @inline(__always)
    private mutating func ordinaryRun(
        _ buffer: UnsafeBufferPointer<UInt8>, from start: Int, _ table: UnsafeBufferPointer<UInt16>
    ) -> Int {
        let strip: UInt8 = options.stripParityBit ? 0x7F : 0xFF
        let limit = min(
            buffer.count, start + (options.maximumTelegramLength - telegramLength), start + (line.count - lineLength))
        guard limit > start else { return 0 }
        var crcValue = crc.value
        var length = lineLength
        var open = openParenthesis
        var index = start
        line.withUnsafeMutableBufferPointer { lineBuffer in
            while index < limit {
                let byte = buffer[index] & strip
                if byte <= UInt8(ascii: "/") {
                    if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") || byte == 0
                        || byte == UInt8(ascii: "/")
                        || byte == UInt8(ascii: "!")
                    {
                        break
                    }
                    if byte == UInt8(ascii: "(") {
                        open = true
                    } else if byte == UInt8(ascii: ")") {
                        open = false
                    }
                }
                crcValue = (crcValue >> 8) ^ table[Int(UInt8(truncatingIfNeeded: crcValue) ^ byte)]
                lineBuffer[length] = byte
                length += 1
                index += 1
            }
        }
        let consumed = index - start
        if consumed > 0 {
            crc = CRC16(value: crcValue)
            lineLength = length
            openParenthesis = open
            physicalLineStart = false
            telegramLength += consumed
            statistics.bytes &+= consumed
        }
        return consumed
    }

    /// Drops a telegram in progress (counted as `.interrupted`), e.g. after the serial port was reopened.
    public mutating func reset(_ handler: (P1FramerEvent) -> Void = { _ in }) {
        if state != .idle { reject(.interrupted, handler) }
    }

    /// Feeds one byte.
    public mutating func feed(_ input: UInt8, _ handler: (P1FramerEvent) -> Void) {
        CRC16.table.withUnsafeBufferPointer { table in step(input, table, handler) }
    }

    @inline(__always)
    private mutating func step(
        _ input: UInt8, _ table: UnsafeBufferPointer<UInt16>, _ handler: (P1FramerEvent) -> Void
    ) {
        let byte = options.stripParityBit ? input & 0x7F : input
        statistics.bytes &+= 1
        switch state {
        case .idle:
            if byte == UInt8(ascii: "/") { start() } else { statistics.skippedBytes &+= 1 }
        case .header, .data:
            telegramLength += 1
            if byte == UInt8(ascii: "/") {
                reject(.truncated, handler)
                start()
                return
            }
            if telegramLength > options.maximumTelegramLength {
                reject(.telegramTooLong, handler)
                return
            }
            crc.update(byte, table: table)
            switch byte {
            case UInt8(ascii: "\n"):
                physicalLineStart = true
                if openParenthesis && state == .data { return }  // a value wrapped over lines continues
                completeLine(handler)
            case UInt8(ascii: "\r"), 0:
                return
            case UInt8(ascii: "!") where physicalLineStart && state == .data:
                state = .checksum
                crcDigits = 0
                crcValue = 0
            default:
                physicalLineStart = false
                if lineLength == line.count {
                    reject(.lineTooLong, handler)
                    return
                }
                if byte == UInt8(ascii: "(") {
                    openParenthesis = true
                } else if byte == UInt8(ascii: ")") {
                    openParenthesis = false
                }
                line[lineLength] = byte
                lineLength += 1
            }
        case .checksum:
            if let digit = P1Value.hexDigit(byte) {
                guard crcDigits < 4 else {
                    reject(.malformedCRC, handler)
                    return
                }
                crcValue = crcValue << 4 | UInt16(digit)
                crcDigits += 1
                return
            }
            switch byte {
            case UInt8(ascii: "\r"), 0, 0x20:
                return
            case UInt8(ascii: "\n"):
                complete(handler)
            case UInt8(ascii: "/"):
                reject(.truncated, handler)
                start()
            default:
                reject(.malformedCRC, handler)
            }
        }
    }

    private mutating func start() {
        state = .header
        crc = CRC16()
        crc.update(UInt8(ascii: "/"))
        lineLength = 0
        lineCount = 0
        telegramLength = 1
        openParenthesis = false
        physicalLineStart = false
        builder.begin()
    }

    private mutating func completeLine(_ handler: (P1FramerEvent) -> Void) {
        lineCount += 1
        if lineCount > options.maximumLines {
            reject(.tooManyLines, handler)
            return
        }
        let length = lineLength
        if state == .header {
            line.withUnsafeBufferPointer { builder.addHeader(UnsafeBufferPointer(rebasing: $0[0..<length])) }
            state = .data
        } else {
            line.withUnsafeBufferPointer { builder.addLine(UnsafeBufferPointer(rebasing: $0[0..<length])) }
        }
        lineLength = 0
        openParenthesis = false
    }

    private mutating func complete(_ handler: (P1FramerEvent) -> Void) {
        if lineLength > 0 {  // a wrapped value cut off by `!`: parse what there is
            let length = lineLength
            line.withUnsafeBufferPointer { builder.addLine(UnsafeBufferPointer(rebasing: $0[0..<length])) }
            lineLength = 0
        }
        if crcDigits == 0 {
            if options.requireCRC || builder.requiresCRC {
                reject(.missingCRC, handler)
                return
            }
            state = .idle
            statistics.telegrams &+= 1
            handler(.telegram(builder.finish(transmittedCRC: nil, computedCRC: crc.value)))
            return
        }
        guard crcValue == crc.value else {
            reject(.crcMismatch, handler, transmitted: crcValue, computed: crc.value)
            return
        }
        state = .idle
        statistics.telegrams &+= 1
        handler(.telegram(builder.finish(transmittedCRC: crcValue, computedCRC: crc.value)))
    }

    private mutating func reject(
        _ reason: P1RejectReason, _ handler: (P1FramerEvent) -> Void, transmitted: UInt16? = nil,
        computed: UInt16? = nil
    ) {
        let header = state == .header ? nil : builder.header
        state = .idle
        lineLength = 0
        statistics[reason] += 1
        handler(
            .rejected(
                P1Rejection(
                    reason: reason, header: header, byteCount: telegramLength, transmittedCRC: transmitted,
                    computedCRC: computed)))
    }

    static func hex4(_ value: UInt16) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([12, 8, 4, 0].map { digits[Int(value >> UInt16($0) & 0xF)] })
    }
}
