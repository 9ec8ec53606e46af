/// The line parser: turns one line (`OBIS(group)(group)…`) into a typed `P1Line`.
///
/// Pure and tolerant (STYLE §B.5): the OBIS code is anchored at the start of the line, the rest is a list of
/// parenthesised groups, each interpreted according to the field's `P1ValueKind`; unknown codes are parsed
/// generically and kept; a malformed value produces a `P1Diagnostic`, never a rejection.
public enum P1LineParser {
    /// Groups beyond this many on one line are dropped with a diagnostic (a 13-month `0-0:98.1.0` has 42).
    public static let maximumGroups = 128

    /// Parses one line of text (without CR LF). Returns `nil` for an empty line or a line without an OBIS code.
    public static func parse(line text: String) -> P1Line? {
        var builder = P1TelegramBuilder()
        builder.begin()
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBufferPointer { buffer in builder.addLine(UnsafeBufferPointer(buffer)) }
        return builder.lines.first
    }
}

/// Builds a `P1Telegram` incrementally, one line at a time, as the framer completes them.
struct P1TelegramBuilder {
    var header = ""
    var lines: [P1Line] = []
    var unparsed: [String] = []
    var diagnostics: [P1Diagnostic] = []
    var lineNumber = 0
    /// Set by a `1-3:0.2.8` of 4 or more or an e-MUCS `0-0:96.1.4`: such telegrams must carry a CRC.
    var requiresCRC = false
    private var groups: [Range<Int>] = []
    /// Reuses the strings of identifiers and headers a meter repeats in every telegram (see `P1StringCache`).
    private var strings = P1StringCache()

    init() {
        groups.reserveCapacity(P1LineParser.maximumGroups)
    }

    mutating func begin() {
        header = ""
        // Reuse the previous telegram's line storage when nobody holds on to that telegram any more (the usual
        // case: the reading was taken and the telegram dropped); if it is still referenced, `removeAll` leaves it
        // alone and allocates fresh storage of the same capacity (copy-on-write).
        if lines.capacity >= 48 {
            lines.removeAll(keepingCapacity: true)
        } else {
            lines = []
            lines.reserveCapacity(48)
        }
        if !unparsed.isEmpty { unparsed = [] }
        if !diagnostics.isEmpty { diagnostics = [] }
        lineNumber = 0
        requiresCRC = false
    }

    mutating func finish(transmittedCRC: UInt16?, computedCRC: UInt16) -> P1Telegram {
        P1Telegram(
            header: header, lines: lines, unparsedLines: unparsed, diagnostics: diagnostics,
            transmittedCRC: transmittedCRC, computedCRC: computedCRC)
    }

    /// The identification line, without the leading `/` (and without CR LF).
    mutating func addHeader(_ line: UnsafeBufferPointer<UInt8>) {
        lineNumber = 1
        let end = trimmedEnd(line)
        header = strings.latin1(UnsafeBufferPointer(rebasing: line[0..<end]), line: lineNumber)
    }

    /// One data line (without CR LF).
    mutating func addLine(_ line: UnsafeBufferPointer<UInt8>) {
        lineNumber += 1
        var start = 0
        let end = trimmedEnd(line)
        while start < end, line[start] == 0x20 || line[start] == 0x09 { start += 1 }
        guard start < end else { return }  // the blank line after the header
        if line[start] == UInt8(ascii: "(") {
            addContinuation(line, start..<end)
            return
        }
        var paren = start
        while paren < end, line[paren] != UInt8(ascii: "(") { paren += 1 }
        var codeEnd = paren
        while codeEnd > start, line[codeEnd - 1] == 0x20 { codeEnd -= 1 }
        let codeBytes = UnsafeBufferPointer(rebasing: line[start..<codeEnd])
        guard let code = strings.code(codeBytes, line: lineNumber) else {
            let text = Self.latin1(line, start..<end)
            unparsed.append(text)
            diagnostics.append(P1Diagnostic(line: lineNumber, obis: String(text.prefix(20)), problem: .notAnObisLine))
            return
        }
        let (obisText, obis, match) = (code.text, code.obis, code.match)
        splitGroups(line, paren..<end, obisText: obisText)
        let value: P1Value
        if let match {
            value = typedValue(match.field, line, obisText: obisText)
            if match.field == .p1Version, case .text(let version) = value, let first = version.utf8.first,
                first >= UInt8(ascii: "4"), first <= UInt8(ascii: "9")
            {
                requiresCRC = true
            }
            if match.field == .belgianVersion { requiresCRC = true }
        } else {
            value = genericValue(line)
        }
        lines.append(
            P1Line(obisText: obisText, obis: obis, field: match?.field, channel: match?.channel ?? 0, value: value))
    }

    // MARK: groups

    private mutating func splitGroups(_ line: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, obisText: String) {
        // Emptied from the end: `removeAll(keepingCapacity:)` goes through a generic `replaceSubrange`, which was
        // 1 % of `emeter p1 parse --format json`; a line has one or two groups.
        while !groups.isEmpty { groups.removeLast() }
        var index = range.lowerBound
        var trailing = false
        while index < range.upperBound {
            let byte = line[index]
            if byte == UInt8(ascii: "(") {
                var close = index + 1
                while close < range.upperBound, line[close] != UInt8(ascii: ")") { close += 1 }
                if groups.count < P1LineParser.maximumGroups {
                    groups.append((index + 1)..<close)
                } else if groups.count == P1LineParser.maximumGroups {
                    diagnostics.append(P1Diagnostic(line: lineNumber, obis: obisText, problem: .tooManyGroups))
                    groups.append(close..<close)  // marker so the diagnostic is added once
                }
                index = close + 1
            } else if byte == 0x20 || byte == 0x09 {
                index += 1
            } else {
                trailing = true
                break
            }
        }
        if groups.count > P1LineParser.maximumGroups { groups.removeLast() }
        if trailing { diagnostics.append(P1Diagnostic(line: lineNumber, obis: obisText, problem: .trailingText)) }
    }

    private mutating func addContinuation(_ line: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) {
        guard var last = lines.popLast() else {
            diagnostics.append(P1Diagnostic(line: lineNumber, obis: "(", problem: .orphanContinuation))
            unparsed.append(Self.latin1(line, range))
            return
        }
        splitGroups(line, range, obisText: last.obisText)
        if last.field == .mbusLegacyReading, case .captured(let time, nil, let unit) = last.value,
            let first = groups.first, let number = numberGroup(line, first)
        {
            last.value = .captured(time: time, value: number.0, unit: number.1 ?? unit)
        } else {
            var items: [P1Value]
            if case .list(let existing) = last.value { items = existing } else { items = [last.value] }
            for group in groups { items.append(genericGroup(line, group)) }
            last.value = .list(items)
        }
        lines.append(last)
    }

    // MARK: typed values

    private mutating func typedValue(_ field: P1Field, _ line: UnsafeBufferPointer<UInt8>, obisText: String)
        -> P1Value
    {
        switch field.kind {
        case .number:
            guard groups.count == 1 else { return genericValue(line) }
            let group = groups[0]
            if group.isEmpty { return .empty }
            guard let (number, unit) = numberGroup(line, group) else {
                malformed(obisText, .number)
                return genericGroup(line, group)
            }
            if let expected = field.unit, !(unit?.isCompatible(with: expected) ?? false) {
                diagnostics.append(
                    P1Diagnostic(
                        line: lineNumber, obis: obisText, problem: .unexpectedUnit(expected: expected, got: unit)))
            }
            return .number(number, unit: unit)
        case .string:
            guard groups.count == 1 else { return genericValue(line) }
            return groups[0].isEmpty
                ? .empty : .text(strings.utf8(UnsafeBufferPointer(rebasing: line[groups[0]]), line: lineNumber))
        case .hexText:
            guard groups.count == 1 else { return genericValue(line) }
            return groups[0].isEmpty
                ? .empty : .hexText(strings.utf8(UnsafeBufferPointer(rebasing: line[groups[0]]), line: lineNumber))
        case .timestamp:
            guard groups.count == 1 else { return genericValue(line) }
            if groups[0].isEmpty { return .empty }
            guard let parsed = P1Timestamp.parse(UnsafeBufferPointer(rebasing: line[groups[0]])) else {
                malformed(obisText, .timestamp)
                return genericGroup(line, groups[0])
            }
            return .timestamp(Self.time(parsed))
        case .capturedValue:
            return capturedValue(line, obisText: obisText)
        case .legacyProfile:
            guard let first = groups.first,
                let parsed = P1Timestamp.parse(UnsafeBufferPointer(rebasing: line[first]))
            else {
                malformed(obisText, .legacyProfile)
                return genericValue(line)
            }
            let unit = groups.count >= 6 && !groups[5].isEmpty ? P1Unit(symbol: Self.utf8(line, groups[5])) : nil
            return .captured(time: Self.time(parsed), value: nil, unit: unit)
        case .failureLog:
            return failureLog(line, obisText: obisText)
        case .peakHistory:
            return peakHistory(line)
        }
    }

    private mutating func malformed(_ obisText: String, _ kind: P1ValueKind) {
        diagnostics.append(P1Diagnostic(line: lineNumber, obis: obisText, problem: .malformedValue(expected: kind)))
    }

    /// `(TST)(value*unit)`, `(value*unit)(TST)`, `(value)` or `(TST)()`.
    private mutating func capturedValue(_ line: UnsafeBufferPointer<UInt8>, obisText: String) -> P1Value {
        var time: P1Timestamp?
        var number: P1Decimal?
        var unit: P1Unit?
        var sawTime = false
        var sawNumber = false
        for group in groups {
            if group.isEmpty { continue }
            if !sawTime, group.count >= 12, group.count <= 13,
                let parsed = P1Timestamp.parse(UnsafeBufferPointer(rebasing: line[group]))
            {
                time = Self.time(parsed)
                sawTime = true
            } else if !sawNumber, let (value, valueUnit) = numberGroup(line, group) {
                number = value
                unit = valueUnit
                sawNumber = true
            } else {
                malformed(obisText, .capturedValue)
                return genericValue(line)
            }
        }
        if !sawTime && !sawNumber { return .empty }
        return .captured(time: time, value: number, unit: unit)
    }

    /// `(z)(0-0:96.7.19)(TST)(seconds*s)…`; also the empty forms `(0)(0-0:96.7.19)`, `(0)()`, `()`, `(1)()()()`.
    private mutating func failureLog(_ line: UnsafeBufferPointer<UInt8>, obisText: String) -> P1Value {
        guard let first = groups.first, !first.isEmpty else { return .failureLog([]) }
        guard let count = numberGroup(line, first)?.0, count.scale == 0, count.mantissa >= 0 else {
            malformed(obisText, .failureLog)
            return genericValue(line)
        }
        var entries: [P1PowerFailure] = []
        var index = 2
        while entries.count < Int(min(count.mantissa, 64)), index < groups.count {
            let endGroup = groups[index]
            let end = endGroup.isEmpty ? nil : P1Timestamp.parse(UnsafeBufferPointer(rebasing: line[endGroup]))
            var duration: Int64?
            if index + 1 < groups.count, !groups[index + 1].isEmpty,
                let number = numberGroup(line, groups[index + 1])?.0
            {
                duration = number.roundedInteger
            }
            entries.append(P1PowerFailure(end: end.flatMap(Self.time), durationSeconds: duration))
            index += 2
        }
        return .failureLog(entries)
    }

    /// Belgian layout `(n)(1-0:1.6.0)(1-0:1.6.0)[(month)(occurred)(value*kW)]×n`; any other layout (Hungary's
    /// billing values) is kept generically.
    private mutating func peakHistory(_ line: UnsafeBufferPointer<UInt8>) -> P1Value {
        guard groups.count >= 3, let count = numberGroup(line, groups[0])?.0, count.scale == 0,
            ObisCode.parse(UnsafeBufferPointer(rebasing: line[groups[1]])) != nil
        else { return genericValue(line) }
        var entries: [P1MonthlyPeak] = []
        // One allocation for all entries instead of regrowing while appending.
        entries.reserveCapacity(max(0, min(Int(min(count.mantissa, 64)), (groups.count - 3) / 3)))
        var index = 3
        while entries.count < Int(min(count.mantissa, 64)), index + 2 < groups.count {
            let month = P1Timestamp.parse(UnsafeBufferPointer(rebasing: line[groups[index]])).flatMap(Self.time)
            let occurred = P1Timestamp.parse(UnsafeBufferPointer(rebasing: line[groups[index + 1]])).flatMap(Self.time)
            let number = numberGroup(line, groups[index + 2])
            entries.append(P1MonthlyPeak(month: month, occurred: occurred, value: number?.0, unit: number?.1))
            index += 3
        }
        return .peakHistory(entries)
    }

    // MARK: generic values

    /// One group: a line value for a single group, a list for several.
    private func genericValue(_ line: UnsafeBufferPointer<UInt8>) -> P1Value {
        if groups.isEmpty { return .empty }
        if groups.count == 1 { return genericGroup(line, groups[0]) }
        return .list(groups.map { genericGroup(line, $0) })
    }

    /// Types a group by its form: empty, `TST` with S/W, number with optional unit, OBIS code, else text.
    private func genericGroup(_ line: UnsafeBufferPointer<UInt8>, _ group: Range<Int>) -> P1Value {
        if group.isEmpty { return .empty }
        let bytes = UnsafeBufferPointer(rebasing: line[group])
        if bytes.count == 13, let parsed = P1Timestamp.parse(bytes) { return .timestamp(Self.time(parsed)) }
        if let (number, unit) = numberGroup(line, group) { return .number(number, unit: unit) }
        if ObisCode.parse(bytes) != nil { return .obis(String(decoding: bytes, as: UTF8.self)) }
        return .text(Self.utf8(line, group))
    }

    /// `digits[.digits][*unit]`.
    private func numberGroup(_ line: UnsafeBufferPointer<UInt8>, _ group: Range<Int>) -> (P1Decimal, P1Unit?)? {
        var star = group.lowerBound
        while star < group.upperBound, line[star] != UInt8(ascii: "*") { star += 1 }
        guard let number = P1Decimal.parse(UnsafeBufferPointer(rebasing: line[group.lowerBound..<star])) else {
            return nil
        }
        if star + 1 < group.upperBound {
            return (number, P1Unit(bytes: UnsafeBufferPointer(rebasing: line[(star + 1)..<group.upperBound])))
        }
        return (number, nil)
    }

    // MARK: helpers

    private static func time(_ parsed: P1Timestamp.Parsed) -> P1Timestamp? {
        if case .time(let time) = parsed { return time }
        return nil
    }

    private func trimmedEnd(_ line: UnsafeBufferPointer<UInt8>) -> Int {
        var end = line.count
        while end > 0, line[end - 1] <= 0x20 { end -= 1 }
        return end
    }

    static func utf8(_ line: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: line[range]), as: UTF8.self)
    }

    /// Bytes as ISO 8859-1 (one scalar per byte), so a control byte such as 0x02 in a header survives.
    static func latin1(_ line: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        let slice = UnsafeBufferPointer(rebasing: line[range])
        if !slice.contains(where: { $0 >= 0x80 }) { return String(decoding: slice, as: UTF8.self) }
        var scalars = String.UnicodeScalarView()
        for byte in slice { scalars.append(Unicode.Scalar(byte)) }
        return String(scalars)
    }
}

/// Remembers the longer strings the parser made for the previous telegram, one per line number, so that text a
/// meter repeats in every telegram (the header, the equipment and M-Bus identifiers: 17–34 characters each) is not
/// allocated anew each time: if line n carries the same bytes as line n of the previous telegram, its string is
/// reused.
///
/// Only ASCII texts of 16…96 bytes go through it: shorter strings are stored inline by Swift (no allocation), and
/// for ASCII bytes decoding as UTF-8 and as ISO 8859-1 both give exactly the string whose UTF-8 is those bytes, so
/// a cached string with the same bytes is the string that would have been made. Bounded: 64 slots (line numbers
/// modulo 64) of at most 96 bytes.
struct P1StringCache {
    private static var slotCount: Int { 64 }
    private static var cachedLengths: ClosedRange<Int> { 16...96 }
    private var slots: [String] = []
    /// The OBIS codes by line number: the text, the parsed code and the field it matched.
    private var codes: [Code?] = []

    /// A line's OBIS code as sent, parsed and looked up.
    struct Code {
        var text: String
        var obis: ObisCode
        var match: (field: P1Field, channel: UInt8)?
    }

    /// The bytes decoded as UTF-8 (invalid sequences repaired), like `String(decoding:as: UTF8.self)`.
    mutating func utf8(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) -> String {
        guard isCacheable(bytes) else { return String(decoding: bytes, as: UTF8.self) }
        return lookup(bytes, line) ?? remember(String(decoding: bytes, as: UTF8.self), line)
    }

    /// The bytes as ISO 8859-1 (one scalar per byte), like `P1TelegramBuilder.latin1`.
    mutating func latin1(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) -> String {
        guard isCacheable(bytes) else { return P1TelegramBuilder.latin1(bytes, 0..<bytes.count) }
        return lookup(bytes, line) ?? remember(P1TelegramBuilder.latin1(bytes, 0..<bytes.count), line)
    }

    /// The OBIS code of a line: its text (`String(decoding: bytes, as: UTF8.self)`), the code
    /// (`ObisCode.parse`) and its field (`P1Field.lookup`); `nil` when the bytes are not an OBIS code. A meter
    /// sends the same code on the same line of every telegram, so when the bytes equal the previous telegram's
    /// code of this line, that code is the answer: one comparison instead of parsing, a lookup and a new string
    /// (together 6 % of `emeter p1 parse --format json`).
    mutating func code(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) -> Code? {
        let slot = line & (Self.slotCount - 1)
        if !codes.isEmpty, let cached = codes[slot], Self.equal(cached.text, bytes) { return cached }
        guard let obis = ObisCode.parse(bytes) else { return nil }
        let code = Code(text: String(decoding: bytes, as: UTF8.self), obis: obis, match: P1Field.lookup(obis))
        if codes.isEmpty { codes = [Code?](repeating: nil, count: Self.slotCount) }
        codes[slot] = code
        return code
    }

    /// Whether the UTF-8 of `string` is `bytes`.
    private static func equal(_ string: String, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard string.utf8.count == bytes.count else { return false }
        return string.utf8.withContiguousStorageIfAvailable { stored in
            var index = 0
            while index < stored.count, stored[index] == bytes[index] { index += 1 }
            return index == stored.count
        } ?? string.utf8.elementsEqual(bytes)
    }

    private func isCacheable(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        Self.cachedLengths.contains(bytes.count) && !bytes.contains { $0 >= 0x80 }
    }

    private func lookup(_ bytes: UnsafeBufferPointer<UInt8>, _ line: Int) -> String? {
        guard !slots.isEmpty else { return nil }
        let cached = slots[line & (Self.slotCount - 1)]
        return Self.equal(cached, bytes) ? cached : nil
    }

    private mutating func remember(_ string: String, _ line: Int) -> String {
        if slots.isEmpty { slots = [String](repeating: "", count: Self.slotCount) }
        slots[line & (Self.slotCount - 1)] = string
        return string
    }
}
