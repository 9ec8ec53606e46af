/// One entry of the power-failure event log `1-0:99.97.0` (DSMR 5.0.2 §6.11).
public struct P1PowerFailure: Hashable, Sendable, Codable {
    /// End of the failure; `nil` when the meter sent a placeholder date.
    public var end: P1Timestamp?
    /// Duration in seconds (values above 2³¹ occur, hence `Int64`); `nil` when empty.
    public var durationSeconds: Int64?

    public init(end: P1Timestamp?, durationSeconds: Int64?) {
        self.end = end
        self.durationSeconds = durationSeconds
    }
}

/// One month of the Belgian capacity-tariff history `0-0:98.1.0` (e-MUCS 1.7.1).
public struct P1MonthlyPeak: Hashable, Sendable, Codable {
    /// Start of the month (the meter prints the 1st, 00:00 local).
    public var month: P1Timestamp?
    /// When the month's highest 15-minute average occurred; `nil` for `632525252525W` (no peak yet).
    public var occurred: P1Timestamp?
    /// The peak, in the unit sent (kW).
    public var value: P1Decimal?
    public var unit: P1Unit?

    public init(month: P1Timestamp?, occurred: P1Timestamp?, value: P1Decimal?, unit: P1Unit?) {
        self.month = month
        self.occurred = occurred
        self.value = value
        self.unit = unit
    }
}

/// The value of one line (or one group inside a list), typed by its field's `P1ValueKind` or, for unknown codes,
/// by what the text looks like.
public enum P1Value: Hashable, Sendable {
    /// `()`.
    case empty
    case number(P1Decimal, unit: P1Unit?)
    /// `nil` for a placeholder date (`632525252525S`, `700101010000W`, …).
    case timestamp(P1Timestamp?)
    /// Text exactly as sent.
    case text(String)
    /// A hex-printed octet string exactly as sent; `decodedText` gives the text.
    case hexText(String)
    /// An OBIS code appearing as a value (`(0-0:96.7.19)`).
    case obis(String)
    /// A value with its capture time (M-Bus, `1-0:1.6.0`, DSMR 2.2/3 profile).
    case captured(time: P1Timestamp?, value: P1Decimal?, unit: P1Unit?)
    case failureLog([P1PowerFailure])
    case peakHistory([P1MonthlyPeak])
    /// Several groups of an unknown or irregular line, each typed on its own.
    case list([P1Value])

    /// The number, for `.number` and `.captured`.
    public var decimal: P1Decimal? {
        switch self {
        case .number(let value, _): value
        case .captured(_, let value, _): value
        default: nil
        }
    }

    /// The unit, for `.number` and `.captured`.
    public var unit: P1Unit? {
        switch self {
        case .number(_, let unit): unit
        case .captured(_, _, let unit): unit
        default: nil
        }
    }

    /// Text for `.text`, `.hexText` (raw hex) and `.obis`.
    public var text: String? {
        switch self {
        case .text(let text), .hexText(let text), .obis(let text): text
        default: nil
        }
    }

    /// For `.hexText` (and `.text` that is valid hex): the bytes decoded as text (ISO 8859-1, one scalar per byte).
    /// `nil` if the text is not an even number of hex digits.
    public var decodedText: String? {
        switch self {
        case .hexText(let hex), .text(let hex): P1Value.decodeHex(hex)
        default: nil
        }
    }

    /// Decodes `4B38…` to `K8…`; `nil` for odd length or non-hex characters.
    public static func decodeHex(_ hex: String) -> String? {
        if let decoded = hex.utf8.withContiguousStorageIfAvailable(decodeHex(bytes:)) { return decoded }
        return Array(hex.utf8).withUnsafeBufferPointer(decodeHex(bytes:))  // a bridged, non-contiguous string
    }

    /// Decodes hex digits to text, one Unicode scalar (U+0000…U+00FF, ISO 8859-1) per pair of digits.
    /// The UTF-8 of the result is written straight into the new string: one byte per scalar below 0x80, two above.
    static func decodeHex(bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard bytes.count % 2 == 0 else { return nil }
        var utf8Count = 0
        var index = 0
        while index < bytes.count {
            guard let hi = hexDigit(bytes[index]), hexDigit(bytes[index + 1]) != nil else { return nil }
            utf8Count += hi >= 8 ? 2 : 1
            index += 2
        }
        return String(unsafeUninitializedCapacity: utf8Count) { output in
            var written = 0
            var index = 0
            // Every digit was checked above, so the `?? 0` never applies.
            while index < bytes.count {
                let byte = (hexDigit(bytes[index]) ?? 0) << 4 | (hexDigit(bytes[index + 1]) ?? 0)
                if byte < 0x80 {
                    output[written] = byte
                    written += 1
                } else {  // U+0080…U+00FF in UTF-8: 110000xx 10xxxxxx
                    output[written] = 0xC0 | byte >> 6
                    output[written + 1] = 0x80 | byte & 0x3F
                    written += 2
                }
                index += 2
            }
            return written
        }
    }

    static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}

/// One data line of a telegram: the OBIS code exactly as sent, the field it matched (if any) and its value.
public struct P1Line: Hashable, Sendable {
    /// The code as sent (`1-0:1.8.0*255` keeps its `*255`); the key of the JSON `obis` object.
    public var obisText: String
    public var obis: ObisCode
    /// The known field, or `nil` for a line kept generically.
    public var field: P1Field?
    /// M-Bus channel for per-channel fields, else 0.
    public var channel: UInt8
    public var value: P1Value

    public init(obisText: String, obis: ObisCode, field: P1Field?, channel: UInt8, value: P1Value) {
        self.obisText = obisText
        self.obis = obis
        self.field = field
        self.channel = channel
        self.value = value
    }
}

/// A per-line problem that did not make the telegram invalid (the telegram is only rejected for CRC or framing
/// failures).
public struct P1Diagnostic: Hashable, Sendable, CustomStringConvertible {
    public enum Problem: Hashable, Sendable {
        /// The line does not start with an OBIS code; kept in `P1Telegram.unparsedLines`.
        case notAnObisLine
        /// The value of a known field did not have the expected form; it was kept generically.
        case malformedValue(expected: P1ValueKind)
        /// A known field came with a unit that cannot be converted to the expected one.
        case unexpectedUnit(expected: P1Unit, got: P1Unit?)
        /// Text after the last `)`.
        case trailingText
        /// A `(value)` continuation line with no line before it.
        case orphanContinuation
        /// More than `P1LineParser.maximumGroups` groups; the rest were dropped.
        case tooManyGroups
    }

    /// 1-based line number within the telegram (the header is line 1).
    public var line: Int
    /// The OBIS code as sent, or the start of the line.
    public var obis: String
    public var problem: Problem

    public var description: String {
        switch problem {
        case .notAnObisLine: "line \(line) '\(obis)': no OBIS code at line start; kept raw"
        case .malformedValue(let kind): "line \(line) \(obis): value is not a valid \(kind); kept as text"
        case .unexpectedUnit(let expected, let got):
            "line \(line) \(obis): expected unit \(expected), got \(got.map(\.symbol) ?? "none")"
        case .trailingText: "line \(line) \(obis): text after the last ')' ignored"
        case .orphanContinuation: "line \(line): continuation '(…)' line without a line before it"
        case .tooManyGroups: "line \(line) \(obis): more than \(P1LineParser.maximumGroups) groups; rest dropped"
        }
    }
}

/// A complete, CRC-checked telegram, built line by line while the bytes arrived.
public struct P1Telegram: Hashable, Sendable {
    /// The identification line without `/` (`ISk5\2MT382-1000`), bytes mapped one-to-one to Unicode scalars.
    public var header: String
    public var lines: [P1Line]
    /// Lines between the header and `!` that do not start with an OBIS code (kept, never an error).
    public var unparsedLines: [String]
    public var diagnostics: [P1Diagnostic]
    /// The CRC sent after `!`; `nil` for DSMR 2.2/3 and EasyMeter telegrams without one.
    public var transmittedCRC: UInt16?
    /// CRC-16/ARC computed over `/` … `!`.
    public var computedCRC: UInt16

    public init(
        header: String, lines: [P1Line] = [], unparsedLines: [String] = [], diagnostics: [P1Diagnostic] = [],
        transmittedCRC: UInt16? = nil, computedCRC: UInt16 = 0
    ) {
        self.header = header
        self.lines = lines
        self.unparsedLines = unparsedLines
        self.diagnostics = diagnostics
        self.transmittedCRC = transmittedCRC
        self.computedCRC = computedCRC
    }

    /// The first line of `field` on `channel` (0 for the meter's own fields).
    public func line(_ field: P1Field, channel: UInt8 = 0) -> P1Line? {
        lines.first { $0.field == field && $0.channel == channel }
    }

    /// The value of the first line of `field` on `channel`.
    public func value(_ field: P1Field, channel: UInt8 = 0) -> P1Value? { line(field, channel: channel)?.value }

    /// The first line whose code equals `obis` (`*255` ignored).
    public func line(obis: ObisCode) -> P1Line? { lines.first { $0.obis == obis } }

    /// The number of `field` on `channel`.
    public func decimal(_ field: P1Field, channel: UInt8 = 0) -> P1Decimal? { value(field, channel: channel)?.decimal }

    /// The normalised reading (energy in Wh, power in W, per-phase values, M-Bus devices, country).
    public var reading: P1Reading { P1Reading(self) }

    /// Parses one complete telegram held in memory (a file, a decrypted frame).
    /// - Throws: `P1Error.rejected` with the framer's reason, or `P1Error.noTelegram` when no `/`…`!` frame ends
    ///   in `bytes`.
    public static func parse(_ bytes: some Collection<UInt8>, options: P1Framer.Options = .init()) throws(P1Error)
        -> P1Telegram
    {
        var framer = P1Framer(options: options)
        var result: P1Telegram?
        var rejection: P1Rejection?
        framer.feed(bytes) { event in
            switch event {
            case .telegram(let telegram): if result == nil { result = telegram }
            case .rejected(let reason): if result == nil, rejection == nil { rejection = reason }
            }
        }
        if let result { return result }
        if let rejection { throw .rejected(rejection) }
        throw .noTelegram(reason: framer.isInsideTelegram ? "input ends before '!' and its line end" : "no '/' found")
    }
}
