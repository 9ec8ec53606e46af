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
        if let header { text += " [/\(header.terminalSafe)]" }
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
    ///
    /// The CRC of the buffer's bytes is computed lazily: `crcFrom` is where the telegram bytes not yet folded into
    /// `crc` start (`nil` outside a telegram). They are folded in at once when `!` ends the CRC range, or when the
    /// buffer ends inside a telegram: one long slicing-by-16 loop over the buffer instead of short runs and single
    /// line-end bytes interleaved with the parsing, whose serial CRC dependency chain was the framer's main cost.
    /// Bytes of a telegram that is rejected before its `!` are never folded in at all.
    public mutating func feed(buffer: UnsafeBufferPointer<UInt8>, _ handler: (P1FramerEvent) -> Void) {
        CRC16.slicingTables.withUnsafeBufferPointer { tables in
            var crcFrom: Int? = state == .header || state == .data ? 0 : nil
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
                } else if (state == .data || state == .header)
                    && !Self.endsRun(options.stripParityBit ? buffer[index] & 0x7F : buffer[index])
                {
                    let consumed = ordinaryRun(buffer, from: index)
                    index += consumed
                    if index == buffer.count { break }
                }
                let wasInTelegram = state == .header || state == .data
                step(buffer[index], tables, handler, deferCRC: true)
                if state == .header && telegramLength == 1 {
                    crcFrom = index  // this `/` started a telegram (`start()` reset `crc`)
                } else if wasInTelegram && state == .checksum, let from = crcFrom {
                    foldCRC(buffer, from..<(index + 1), tables)  // `/` … `!` complete
                    crcFrom = nil
                } else if state == .idle {
                    crcFrom = nil  // the telegram was rejected (or, from `.checksum`, completed)
                }
                index += 1
            }
            if let from = crcFrom, state == .header || state == .data {
                foldCRC(buffer, from..<buffer.count, tables)  // the telegram continues in the next buffer
            }
        }
    }

    /// Adds `buffer[range]` to the CRC, as the framer sees the bytes (parity bit stripped if asked).
    private mutating func foldCRC(
        _ buffer: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ tables: UnsafeBufferPointer<UInt16>
    ) {
        crc.update(
            buffer: UnsafeBufferPointer(rebasing: buffer[range]), mask: options.stripParityBit ? 0x7F : 0xFF,
            tables: tables)
    }

    /// Bytes that end an ordinary run (all below 64): NUL, LF, CR, `!` and `/`, as a bit set indexed by the byte.
    private static let runEndMask: UInt64 =
        1 << 0 | 1 << UInt64(UInt8(ascii: "\n")) | 1 << UInt64(UInt8(ascii: "\r"))
        | 1 << UInt64(UInt8(ascii: "!")) | 1 << UInt64(UInt8(ascii: "/"))

    /// Whether `byte` (parity bit already stripped if asked) needs `step`: NUL, CR, LF, `/` or `!`.
    @inline(__always)
    private static func endsRun(_ byte: UInt8) -> Bool {
        byte < 64 && (runEndMask >> UInt64(byte)) & 1 != 0
    }

    /// Whether any of the 8 bytes in `word` may end a run: true if one is below 0x22 (NUL, LF, CR, `!`; also the
    /// space and other control bytes, which `endsRun` then clears byte by byte) or equals `/` (0x2F). Never false
    /// when a byte does end the run. Bit tricks from "Bit Twiddling Hacks" (S. E. Anderson): `hasless(x, n)` and
    /// `haszero(x)`, exact as to *whether* some byte matches.
    @inline(__always)
    private static func mayEndRun(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let below0x22 = (word &- ones &* 0x22) & ~word & highBits
        let slashes = word ^ (ones &* UInt64(UInt8(ascii: "/")))
        let hasSlash = (slashes &- ones) & ~slashes & highBits
        return below0x22 | hasSlash != 0
    }

    /// Consumes a run of ordinary line bytes (no CR, LF, NUL, `/`, `!`) eight bytes at a time: for each word it
    /// checks for a byte that ends the run and copies the bytes into the line buffer; at the end it sets the
    /// parenthesis state from the last `(` or `)` of the run. Stops before any byte that needs `step`, before the
    /// line buffer or the telegram limit would overflow. Returns how many bytes it consumed. The run's CRC is
    /// folded in later by `feed(buffer:_:)`.
    @inline(__always)
    private mutating func ordinaryRun(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        let limit = min(
            buffer.count, start + (options.maximumTelegramLength - telegramLength), start + (line.count - lineLength))
        guard limit > start, let input = buffer.baseAddress else { return 0 }
        let strip: UInt8 = options.stripParityBit ? 0x7F : 0xFF
        let stripWord: UInt64 = options.stripParityBit ? 0x7F7F_7F7F_7F7F_7F7F : ~0
        var index = start
        var length = lineLength
        var open = openParenthesis
        line.withUnsafeMutableBufferPointer { lineBuffer in
            guard let output = lineBuffer.baseAddress else { return }
            while index < limit {
                // Up to 8 bytes, first byte in the low bits. `limit` keeps `length + available` inside the line
                // buffer (and the telegram limit), and `index + available` inside `buffer`.
                let available = min(8, limit - index)
                var word: UInt64 = 0
                if buffer.count - index >= 8 {
                    // 8 bytes inside `buffer`: one unaligned load (bytes past `available` are ignored below).
                    word = UInt64(littleEndian: UnsafeRawPointer(input + index).loadUnaligned(as: UInt64.self))
                } else {
                    for offset in 0..<available { word |= UInt64(input[index + offset]) << (8 * offset) }
                }
                word &= stripWord
                var count = available
                if available < 8 || Self.mayEndRun(word) {
                    count = 0
                    while count < available, !Self.endsRun(UInt8(truncatingIfNeeded: word >> (8 * count)) & strip) {
                        count += 1
                    }
                }
                if count == 0 { break }
                if available == 8 {
                    // All 8 bytes fit in the line buffer; those past `count` are overwritten later.
                    UnsafeMutableRawPointer(output + length).storeBytes(of: word.littleEndian, as: UInt64.self)
                } else {
                    for offset in 0..<count {
                        output[length + offset] = UInt8(truncatingIfNeeded: word >> (8 * offset))
                    }
                }
                index += count
                length += count
                if count < available { break }  // stopped at a byte that needs `step`
            }
            // Only the last parenthesis of the run decides whether a value is still open.
            var back = length
            while back > lineLength {
                back -= 1
                if output[back] == UInt8(ascii: "(") {
                    open = true
                    break
                } else if output[back] == UInt8(ascii: ")") {
                    open = false
                    break
                }
            }
        }
        let consumed = index - start
        if consumed > 0 {
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

    /// Handles one byte. With `deferCRC` telegram bytes are not added to `crc` here: `feed(buffer:_:)` folds them
    /// in later, from the buffer.
    @inline(__always)
    private mutating func step(
        _ input: UInt8, _ table: UnsafeBufferPointer<UInt16>, _ handler: (P1FramerEvent) -> Void,
        deferCRC: Bool = false
    ) {
        let byte = options.stripParityBit ? input & 0x7F : input
        statistics.bytes &+= 1
        switch state {
        case .idle:
            if byte == UInt8(ascii: "/") { start(deferCRC: deferCRC) } else { statistics.skippedBytes &+= 1 }
        case .header, .data:
            telegramLength += 1
            if byte == UInt8(ascii: "/") {
                reject(.truncated, handler)
                start(deferCRC: deferCRC)
                return
            }
            if telegramLength > options.maximumTelegramLength {
                reject(.telegramTooLong, handler)
                return
            }
            if !deferCRC { crc.update(byte, table: table) }
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
                start(deferCRC: deferCRC)
            default:
                reject(.malformedCRC, handler)
            }
        }
    }

    /// Begins a telegram at its `/` (added to the CRC unless the caller folds it in later).
    private mutating func start(deferCRC: Bool) {
        state = .header
        crc = CRC16()
        if !deferCRC { crc.update(UInt8(ascii: "/")) }
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

    /// `6796`: a CRC as the meter prints it (four upper-case hex digits). Written straight into a small string
    /// (no allocation): `emeter p1 parse --format json` calls it for every telegram, and the former array of
    /// characters cost 3 % of it.
    public static func hex4(_ value: UInt16) -> String {
        String(unsafeUninitializedCapacity: 4) { digits in
            for index in 0..<4 {
                let nibble = UInt8(truncatingIfNeeded: value >> UInt16(12 - 4 * index)) & 0xF
                digits[index] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "A") + nibble - 10
            }
            return 4
        }
    }
}
