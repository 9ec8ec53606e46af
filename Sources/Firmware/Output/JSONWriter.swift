import CivilTime

/// The one JSON writer of emeter: compact UTF-8 JSON appended to a byte buffer, no Foundation, no intermediate
/// tree. Every payload (stdout JSON Lines, MQTT, HTTP bodies, `emeter p1 parse`) is written with it, so they share
/// number formatting and string escaping.
///
/// Values are written in the order the caller gives; the writer inserts the commas. Numbers: integers as they
/// are, fixed-point values from scaled integers (`fixed(2301, decimals: 1)` → `230.1`, exact), doubles in Swift's
/// shortest round-trip form, and a non-finite double as `null` (JSON has no NaN or infinity).
///
/// The writer owns its buffer and is not copyable (pass it `inout`): every append is a capacity check and a store,
/// with no copy-on-write check per byte. That made `emeter p1 parse --format json` about twice as fast, where the
/// array-backed writer spent a third of its time in uniqueness checks and small temporary arrays.
public struct JSONWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes written so far.
    public private(set) var count = 0
    /// Whether the next value at the current level needs a comma before it.
    private var needsComma = false
    /// The civil dates of the days ``time(_:)`` wrote lately, by day number modulo ``dayCacheSize``: pairs of the
    /// day number and its date packed as `year << 16 | month << 8 | day`. The day-to-date conversion was 4 % of
    /// `emeter p1 parse --format json`, and a telegram repeats the same dozen days (meter time, gas and water
    /// capture times, a year of monthly peaks) in every telegram. Allocated by the first time written.
    private var days: UnsafeMutablePointer<Int64>?
    private static var dayCacheSize: Int { 32 }

    public init(capacity: Int = 512) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deallocate()
        days?.deallocate()
    }

    /// What has been written so far (a copy).
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Calls `body` with what has been written so far, without copying it.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Ends a line (JSON Lines): the next value starts a new top-level value.
    public mutating func newline() {
        put(0x0A)
        needsComma = false
    }

    /// Empties the buffer, keeping its capacity (a writer reused for many lines allocates once).
    public mutating func removeAll() {
        count = 0
        needsComma = false
    }

    /// The output as a string.
    public var text: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }

    // MARK: structure

    public mutating func objectStart() { open(UInt8(ascii: "{")) }
    public mutating func objectEnd() { close(UInt8(ascii: "}")) }
    public mutating func arrayStart() { open(UInt8(ascii: "[")) }
    public mutating func arrayEnd() { close(UInt8(ascii: "]")) }

    private mutating func open(_ bracket: UInt8) {
        reserve(2)
        separateReserved()
        store(bracket)
        needsComma = false
    }

    private mutating func close(_ bracket: UInt8) {
        put(bracket)
        needsComma = true
    }

    /// An object member's name; the next call writes its value.
    public mutating func key(_ name: StaticString) {
        let length = name.utf8CodeUnitCount
        reserve(length + 4)
        separateReserved()
        store(UInt8(ascii: "\""))
        (base + count).update(from: name.utf8Start, count: length)
        count += length
        store(UInt8(ascii: "\""))
        store(UInt8(ascii: ":"))
        needsComma = false
    }

    /// An object member's name known only at run time (escaped like any string).
    public mutating func key(_ name: String) {
        string(name)
        put(UInt8(ascii: ":"))
        needsComma = false
    }

    // MARK: values

    public mutating func null() {
        literal("null")
    }

    public mutating func bool(_ value: Bool) {
        literal(value ? "true" : "false")
    }

    public mutating func int(_ value: Int64) {
        reserve(21)
        separateReserved()
        storeDigits(value)
        needsComma = true
    }

    public mutating func int(_ value: Int) { int(Int64(value)) }

    /// `scaled / 10^decimals`, exactly, with `decimals` digits after the point (`fixed(-5, decimals: 3)` → `-0.005`).
    public mutating func fixed(_ scaled: Int64, decimals: Int) {
        guard decimals > 0 else { return int(scaled) }
        let decimals = min(decimals, 18)
        reserve(42)
        separateReserved()
        let magnitude = scaled.magnitude
        // Meter values have 1 to 3 decimals: dividing by a constant compiles to a multiplication, where a
        // divisor known only at run time takes a hardware division (two per value).
        let whole: UInt64
        let fraction: UInt64
        switch decimals {
        case 1: (whole, fraction) = (magnitude / 10, magnitude % 10)
        case 2: (whole, fraction) = (magnitude / 100, magnitude % 100)
        case 3: (whole, fraction) = (magnitude / 1000, magnitude % 1000)
        default:
            var divisor: UInt64 = 1
            for _ in 0..<decimals { divisor &*= 10 }
            (whole, fraction) = magnitude.quotientAndRemainder(dividingBy: divisor)
        }
        if scaled < 0 { store(UInt8(ascii: "-")) }
        storeDigits(whole)
        store(UInt8(ascii: "."))
        storeDigits(fraction, minimumCount: decimals)
        needsComma = true
    }

    /// A double in its shortest round-trip form (`230.1`, `1e-05`); integral values without a fraction
    /// (`498`); `null` when not finite.
    public mutating func double(_ value: Double) {
        guard value.isFinite else { return null() }
        if value == value.rounded(), abs(value) < 9.0e15 { return int(Int64(value)) }
        var text = value.description
        text.withUTF8 { raw(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
    }

    /// A number given as its exact decimal text (e.g. a meter value `0230.0` → `230.0`), written as is after
    /// dropping redundant leading zeros. The caller guarantees `text` is `-?digits[.digits]`.
    public mutating func decimalText(_ text: String) {
        var utf8 = Substring(text).utf8[...]
        var negative = false
        if utf8.first == UInt8(ascii: "-") {
            negative = true
            utf8 = utf8.dropFirst()
        }
        while utf8.count > 1, utf8.first == UInt8(ascii: "0"),
            utf8[utf8.index(after: utf8.startIndex)] != UInt8(ascii: ".")
        {
            utf8 = utf8.dropFirst()
        }
        reserve(utf8.count + 2)
        separateReserved()
        if negative { store(UInt8(ascii: "-")) }
        for byte in utf8 { store(byte) }
        needsComma = true
    }

    /// A JSON string: `"` and `\` escaped, `\n` `\r` `\t` by name, other control characters and DEL as `\u00XX`.
    public mutating func string(_ text: String) {
        // Native strings are contiguous UTF-8: borrowed without the copy `withUTF8` (mutating) would make.
        if text.utf8.withContiguousStorageIfAvailable({ string(utf8: $0) }) != nil { return }
        var text = text
        text.withUTF8 { string(utf8: $0) }
    }

    /// A JSON string from compile-time text (a unit symbol, a fixed reason), escaped like any string.
    public mutating func string(_ text: StaticString) {
        guard text.hasPointerRepresentation else { return string("\(text)") }
        string(utf8: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private mutating func string(utf8: UnsafeBufferPointer<UInt8>) {
        reserve(utf8.count + 3)
        separateReserved()
        store(UInt8(ascii: "\""))
        // Meter values, OBIS codes, units and keys almost never need an escape, so the text is copied first and
        // checked as it goes; only text that turns out to need one is written again, escaped. Short text (most of
        // it: OBIS codes, units) is copied and checked byte by byte: a Swift small string is handed over as a
        // fresh copy on the stack, and wider loads across that copy would stall on store forwarding. Longer text
        // is checked 8 bytes at a time, then copied at once.
        let length = utf8.count
        var clean: Bool
        if let start = utf8.baseAddress, length <= 16 {
            // ``escapes`` holds 1 for each ASCII byte that needs an escape: one load per byte, no branch.
            let escapes = Self.escapes.utf8Start
            var flags: UInt8 = 0
            for index in 0..<length {
                let byte = start[index]
                base[count &+ index] = byte
                flags |= byte < 0x80 ? escapes[Int(byte)] : 0
            }
            clean = flags & 1 == 0
        } else {
            clean = Self.cleanPrefix(utf8) == length
            if clean, let start = utf8.baseAddress { (base + count).update(from: start, count: length) }
        }
        if clean {
            count &+= length
        } else {
            var runStart = 0
            for index in 0..<length where Self.needsEscape(utf8[index]) {
                copy(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                escape(utf8[index])
                runStart = index + 1
            }
            copy(UnsafeBufferPointer(rebasing: utf8[runStart...]))
            reserve(2)
        }
        store(UInt8(ascii: "\""))
        needsComma = true
    }

    /// How many bytes at the start of `utf8` certainly need no escape: 8-byte words that ``mayNeedEscape(_:)``
    /// clears, then single bytes up to the first that ``needsEscape(_:)``.
    @inline(__always)
    private static func cleanPrefix(_ utf8: UnsafeBufferPointer<UInt8>) -> Int {
        guard let start = utf8.baseAddress else { return 0 }
        var index = 0
        while utf8.count - index >= 8 {
            let word = UInt64(littleEndian: UnsafeRawPointer(start + index).loadUnaligned(as: UInt64.self))
            if mayNeedEscape(word) { break }
            index &+= 8
        }
        while index < utf8.count, !needsEscape(start[index]) { index &+= 1 }
        return index
    }

    /// By ASCII byte, `1` (0x31) where ``needsEscape(_:)`` and `0` (0x30) where not: 0x00–0x1F, `"` (0x22),
    /// `\` (0x5C) and DEL (0x7F). A table in read-only data; the tests write every byte through it.
    // swift-format-ignore
    private static var escapes: StaticString {
        "11111111111111111111111111111111001000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000001"
    }

    @inline(__always)
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x22 || byte == 0x5C || byte == 0x7F
    }

    /// Whether any of the 8 bytes in `word` may need an escape: true if one is below 0x20 or equals `"`, `\` or DEL.
    /// Never false when one does (it may be true for bytes that do not: those are then checked one by one). Bit
    /// tricks from "Bit Twiddling Hacks" (S. E. Anderson): `hasless(x, n)` and `haszero(x)`.
    @inline(__always)
    private static func mayNeedEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        func hasZero(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highBits }
        let below0x20 = (word &- ones &* 0x20) & ~word & highBits
        return below0x20 | hasZero(word ^ (ones &* 0x22)) | hasZero(word ^ (ones &* 0x5C))
            | hasZero(word ^ (ones &* 0x7F))
            != 0
    }

    /// Appends the escape sequence of one byte that ``needsEscape(_:)``.
    private mutating func escape(_ byte: UInt8) {
        reserve(6)
        store(0x5C)
        switch byte {
        case 0x22, 0x5C: store(byte)
        case 0x0A: store(UInt8(ascii: "n"))
        case 0x0D: store(UInt8(ascii: "r"))
        case 0x09: store(UInt8(ascii: "t"))
        default:
            store(UInt8(ascii: "u"))
            store(0x30)
            store(0x30)
            store(Self.hexDigit(byte >> 4))
            store(Self.hexDigit(byte & 0xF))
        }
    }

    /// Appends `run` as it is.
    private mutating func copy(_ run: UnsafeBufferPointer<UInt8>) {
        guard let start = run.baseAddress, !run.isEmpty else { return }
        reserve(run.count)
        (base + count).update(from: start, count: run.count)
        count &+= run.count
    }

    /// Already-serialised JSON (one complete value), inserted as is.
    public mutating func raw(_ json: some Collection<UInt8>) {
        let length = json.count
        reserve(length + 1)
        separateReserved()
        let copied = json.withContiguousStorageIfAvailable { source in
            if let start = source.baseAddress { (base + count).update(from: start, count: source.count) }
            return source.count
        }
        if let copied {
            count += copied
        } else {
            for byte in json { put(byte) }
        }
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

    public mutating func field(_ key: StaticString, _ value: StaticString) {
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

    /// An ISO-8601 UTC time of `value` to the second (see ``time(_:)``), or `null`.
    public mutating func field(_ key: StaticString, time value: UnixTime?) {
        self.key(key)
        time(value?.seconds)
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

    /// An ISO-8601 UTC time (`2025-03-30T01:59:59Z`) of Unix seconds, or `null`. Written two digits at a time from
    /// a table: payloads carry many times each (a Belgian telegram 30), and going through `String` once cost a
    /// quarter of `emeter p1 parse`.
    public mutating func time(_ unixSeconds: Int64?) {
        guard let unixSeconds else { return null() }
        // Floor division and a non-negative remainder, with no intermediate that could overflow.
        var dayNumber = unixSeconds / 86_400
        var seconds = Int(unixSeconds % 86_400)
        if seconds < 0 {
            dayNumber -= 1
            seconds += 86_400
        }
        let cache = days ?? Self.makeDayCache()
        days = cache
        let entry = cache + 2 * Int(UInt64(bitPattern: dayNumber) % UInt64(Self.dayCacheSize))
        if entry[0] != dayNumber {
            let civil = CivilTime.civil(fromDays: dayNumber)
            guard (0...9999).contains(civil.year) else { return string(Payloads.iso8601(unixSeconds)) }
            entry[0] = dayNumber
            entry[1] = Int64(civil.year) << 16 | Int64(civil.month) << 8 | Int64(civil.day)
        }
        let date = (year: Int(entry[1] >> 16), month: Int(entry[1] >> 8 & 0xFF), day: Int(entry[1] & 0xFF))
        reserve(23)
        separateReserved()
        store(UInt8(ascii: "\""))
        storePair(date.year / 100)
        storePair(date.year % 100)
        store(UInt8(ascii: "-"))
        storePair(date.month)
        store(UInt8(ascii: "-"))
        storePair(date.day)
        store(UInt8(ascii: "T"))
        storePair(seconds / 3600)
        store(UInt8(ascii: ":"))
        storePair(seconds / 60 % 60)
        store(UInt8(ascii: ":"))
        storePair(seconds % 60)
        store(UInt8(ascii: "Z"))
        store(UInt8(ascii: "\""))
        needsComma = true
    }

    /// An empty day cache: every slot holds day `Int64.min`, which ``time(_:)`` never asks for (its day numbers
    /// stay within ±2⁴⁷).
    private static func makeDayCache() -> UnsafeMutablePointer<Int64> {
        let cache = UnsafeMutablePointer<Int64>.allocate(capacity: 2 * dayCacheSize)
        for slot in 0..<dayCacheSize {
            (cache + 2 * slot).initialize(to: .min)
            (cache + 2 * slot + 1).initialize(to: 0)
        }
        return cache
    }

    /// Stores `value` (0…99) as two digits; the caller reserved room.
    @inline(__always)
    private mutating func storePair(_ value: Int) {
        let pair = UInt8(truncatingIfNeeded: value)
        base[count] = UInt8(ascii: "0") &+ pair / 10
        base[count &+ 1] = UInt8(ascii: "0") &+ pair % 10
        count &+= 2
    }

    // MARK: internals

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// Makes room for `extra` more bytes (doubling), so the `store`s that follow need no check.
    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        let needed = count &+ extra
        if needed > capacity { grow(to: needed) }
    }

    private mutating func grow(to needed: Int) {
        var newCapacity = capacity &* 2
        while newCapacity < needed { newCapacity &*= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Stores one byte; the caller reserved room for it.
    @inline(__always)
    private mutating func store(_ byte: UInt8) {
        base[count] = byte
        count &+= 1
    }

    /// Appends one byte, making room for it.
    private mutating func put(_ byte: UInt8) {
        reserve(1)
        store(byte)
    }

    /// The comma before a value, when one is due; the caller reserved room for it.
    @inline(__always)
    private mutating func separateReserved() {
        if needsComma { store(UInt8(ascii: ",")) }
    }

    /// `null`, `true` or `false`.
    private mutating func literal(_ text: StaticString) {
        let length = text.utf8CodeUnitCount
        reserve(length + 1)
        separateReserved()
        (base + count).update(from: text.utf8Start, count: length)
        count += length
        needsComma = true
    }

    /// Stores a signed number's digits; the caller reserved 20 bytes.
    private mutating func storeDigits(_ value: Int64) {
        if value < 0 { store(UInt8(ascii: "-")) }
        storeDigits(value.magnitude)
    }

    /// Stores the decimal digits of `value`, at least `minimumCount` of them (zero-padded, at most 20); the caller
    /// reserved room for them. This runs for every number of every payload.
    private mutating func storeDigits(_ value: UInt64, minimumCount: Int = 1) {
        var digits = 1
        var probe = value
        while probe >= 10 {
            probe /= 10
            digits &+= 1
        }
        digits = max(digits, min(minimumCount, 20))
        var index = count &+ digits
        var rest = value
        // Two digits per 64-bit division (the small divisions by 10 compile to multiplications).
        while index &- count >= 2 {
            let pair = UInt8(truncatingIfNeeded: rest % 100)
            rest /= 100
            index &-= 2
            base[index] = UInt8(ascii: "0") &+ pair / 10
            base[index &+ 1] = UInt8(ascii: "0") &+ pair % 10
        }
        if index > count { base[count] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10) }
        count &+= digits
    }
}
