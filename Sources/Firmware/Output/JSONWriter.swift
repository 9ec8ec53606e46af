import CivilTime

/// The one JSON writer of emeter: compact UTF-8 JSON appended to a byte buffer, no Foundation, no intermediate
/// tree. Every payload (stdout JSON Lines, MQTT, HTTP bodies, `emeter p1 parse`) is written with it, so they share
/// number formatting and string escaping.
///
/// Values are written in the order the caller gives; the writer inserts the commas. Numbers: integers as they
/// are, fixed-point values from scaled integers (`fixed(2301, decimals: 1)` → `230.1`, exact), doubles in Swift's
/// shortest round-trip form, and a non-finite double as `null` (JSON has no NaN or infinity).
public struct JSONWriter {
    /// What has been written so far.
    public private(set) var bytes: [UInt8]
    /// Whether the next value at the current level needs a comma before it.
    private var needsComma = false

    public init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Ends a line (JSON Lines): the next value starts a new top-level value.
    public mutating func newline() {
        bytes.append(0x0A)
        needsComma = false
    }

    /// Empties the buffer, keeping its capacity (a writer reused for many lines allocates once).
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        needsComma = false
    }

    /// The output as a string.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    // MARK: structure

    public mutating func objectStart() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func objectEnd() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func arrayStart() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func arrayEnd() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// An object member's name; the next call writes its value.
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        needsComma = false
    }

    /// An object member's name known only at run time (escaped like any string).
    public mutating func key(_ name: String) {
        string(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    // MARK: values

    public mutating func null() {
        separate()
        bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])  // null
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        separate()
        if value {
            bytes.append(contentsOf: [0x74, 0x72, 0x75, 0x65])  // true
        } else {
            bytes.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])  // false
        }
        needsComma = true
    }

    public mutating func int(_ value: Int64) {
        separate()
        appendDigits(value)
        needsComma = true
    }

    public mutating func int(_ value: Int) { int(Int64(value)) }

    /// `scaled / 10^decimals`, exactly, with `decimals` digits after the point (`fixed(-5, decimals: 3)` → `-0.005`).
    public mutating func fixed(_ scaled: Int64, decimals: Int) {
        separate()
        guard decimals > 0 else {
            appendDigits(scaled)
            needsComma = true
            return
        }
        var divisor: UInt64 = 1
        for _ in 0..<min(decimals, 18) { divisor *= 10 }
        let magnitude = scaled.magnitude
        if scaled < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(magnitude / divisor)
        bytes.append(UInt8(ascii: "."))
        appendDigits(magnitude % divisor, minimumCount: min(decimals, 18))
        needsComma = true
    }

    /// A double in its shortest round-trip form (`230.1`, `1e-05`); integral values without a fraction
    /// (`498`); `null` when not finite.
    public mutating func double(_ value: Double) {
        guard value.isFinite else { return null() }
        separate()
        if value == value.rounded(), abs(value) < 9.0e15 {
            appendDigits(Int64(value))
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
        needsComma = true
    }

    /// A number given as its exact decimal text (e.g. a meter value `0230.0` → `230.0`), written as is after
    /// dropping redundant leading zeros. The caller guarantees `text` is `-?digits[.digits]`.
    public mutating func decimalText(_ text: String) {
        separate()
        var utf8 = Substring(text).utf8[...]
        if utf8.first == UInt8(ascii: "-") {
            bytes.append(UInt8(ascii: "-"))
            utf8 = utf8.dropFirst()
        }
        while utf8.count > 1, utf8.first == UInt8(ascii: "0"),
            utf8[utf8.index(after: utf8.startIndex)] != UInt8(ascii: ".")
        {
            utf8 = utf8.dropFirst()
        }
        bytes.append(contentsOf: utf8)
        needsComma = true
    }

    /// A JSON string: `"` and `\` escaped, `\n` `\r` `\t` by name, other control characters and DEL as `\u00XX`.
    public mutating func string(_ text: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        let written = text.utf8.withContiguousStorageIfAvailable { utf8 in
            if !utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F }) {
                bytes.append(contentsOf: utf8)
                return true
            }
            return false
        }
        if written != true { escape(text.utf8) }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// Appends `utf8` with JSON escapes.
    private mutating func escape(_ utf8: String.UTF8View) {
        for byte in utf8 {
            switch byte {
            case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20, 0x7F:
                bytes.append(contentsOf: [
                    0x5C, UInt8(ascii: "u"), 0x30, 0x30, Self.hexDigit(byte >> 4), Self.hexDigit(byte & 0xF),
                ])
            default: bytes.append(byte)
            }
        }
    }

    /// Already-serialised JSON (one complete value), inserted as is.
    public mutating func raw(_ json: some Collection<UInt8>) {
        separate()
        bytes.append(contentsOf: json)
        needsComma = true
    }

    // MARK: members (a key and its value in one call)

    public mutating func field(_ key: StaticString, _ value: Int64?) {
        self.key(key)
        int(value)
    }

    public mutating func field(_ key: StaticString, _ value: Int) {
        self.key(key)
        int(Int64(value))
    }

    public mutating func field(_ key: StaticString, _ value: String?) {
        self.key(key)
        string(value)
    }

    public mutating func field(_ key: StaticString, fixed value: Int64?, decimals: Int) {
        self.key(key)
        fixed(value, decimals: decimals)
    }

    public mutating func field(_ key: StaticString, time value: Int64?) {
        self.key(key)
        time(value)
    }

    // MARK: optional helpers

    public mutating func int(_ value: Int64?) {
        if let value { int(value) } else { null() }
    }

    public mutating func string(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    public mutating func fixed(_ scaled: Int64?, decimals: Int) {
        if let scaled { fixed(scaled, decimals: decimals) } else { null() }
    }

    /// An ISO-8601 UTC time (`2025-03-30T01:59:59Z`) of Unix seconds, or `null`. Written digit by digit: payloads
    /// carry several times each, and going through `String` cost a quarter of `emeter p1 parse`.
    public mutating func time(_ unixSeconds: Int64?) {
        guard let unixSeconds else { return null() }
        let f = CivilTime.fields(unixSeconds: unixSeconds)
        guard (0...9999).contains(f.year) else { return string(Payloads.iso8601(unixSeconds)) }
        separate()
        bytes.append(UInt8(ascii: "\""))
        appendDigits(UInt64(f.year), minimumCount: 4)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(UInt64(f.month), minimumCount: 2)
        bytes.append(UInt8(ascii: "-"))
        appendDigits(UInt64(f.day), minimumCount: 2)
        bytes.append(UInt8(ascii: "T"))
        appendDigits(UInt64(f.hour), minimumCount: 2)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(UInt64(f.minute), minimumCount: 2)
        bytes.append(UInt8(ascii: ":"))
        appendDigits(UInt64(f.second), minimumCount: 2)
        bytes.append(contentsOf: [UInt8(ascii: "Z"), UInt8(ascii: "\"")])
        needsComma = true
    }

    // MARK: internals

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func appendDigits(_ value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude)
    }

    /// Appends the decimal digits of `value`, at least `minimumCount` of them (zero-padded), in place: this runs
    /// for every number of every payload.
    private mutating func appendDigits(_ value: UInt64, minimumCount: Int = 1) {
        var count = 1
        var probe = value
        while probe >= 10 {
            probe /= 10
            count += 1
        }
        count = max(count, minimumCount)
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: count))
        bytes.withUnsafeMutableBufferPointer { buffer in
            var rest = value
            var index = start + count - 1
            while rest > 0 {
                buffer[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
                index -= 1
            }
        }
    }
}
