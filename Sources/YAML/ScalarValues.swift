/// How scalar text is read as booleans and numbers (YAML 1.2 core schema, plus YAML 1.1 `yes`/`no`/`on`/`off`
/// and `_` digit separators), shared by the decoder and by the encoder's quoting decision.
enum ScalarValues {
    static func bool(_ text: String) -> Bool? {
        switch text {
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": true
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": false
        default: nil
        }
    }

    /// Whether `text` is a plain null (`~`, `null`, `Null`, `NULL`, empty).
    static func isNull(_ text: String) -> Bool { Node.Scalar(text).isNull }

    /// Parses an integer literal (optional sign, then decimal digits or `0x`/`0o`/`0b` and digits of that base,
    /// `_` between digits allowed) as `T`: `nil` when `text` is no integer literal, `.outOfRange` when it does not
    /// fit in `T`.
    static func integer<T: FixedWidthInteger>(_ text: String, as type: T.Type) -> Result<T, OutOfRange>? {
        var digits = Substring(text)
        var negative = false
        if let sign = digits.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        var radix = 10
        if digits.count > 2, digits.first == "0", let prefix = digits.dropFirst().first, "xob".contains(prefix) {
            radix = prefix == "x" ? 16 : prefix == "o" ? 8 : 2
            digits = digits.dropFirst(2)
        }
        guard digits.first?.isHexDigit == true, digits.last != "_",
            digits.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.hexDigitValue ?? radix) < radix) })
        else { return nil }
        guard let value = T((negative ? "-" : "") + digits.filter { $0 != "_" }, radix: radix) else {
            return .failure(OutOfRange())
        }
        return .success(value)
    }

    struct OutOfRange: Error {}

    /// Parses `text` as a floating-point number: decimal with optional fraction and exponent, an integer literal,
    /// `.inf`/`-.inf`/`+.inf` or `.nan` (each as `.inf`, `.Inf` or `.INF`). `nil` when it is no number. A finite
    /// literal too large for `T` comes back infinite; the caller decides.
    static func float<T: BinaryFloatingPoint & LosslessStringConvertible>(_ text: String, as type: T.Type) -> T? {
        var body = Substring(text)
        var negative = false
        if let sign = body.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            body = body.dropFirst()
        }
        switch body {
        case ".inf", ".Inf", ".INF": return negative ? -T.infinity : T.infinity
        case ".nan", ".NaN", ".NAN": return body.count == text.count ? T.nan : nil
        default: break
        }
        if case .success(let value)? = integer(text, as: Int64.self) { return T(value) }
        if case .success(let value)? = integer(text, as: UInt64.self) { return T(value) }
        // digits [. digits] [e [+-] digits], with at least one mantissa digit; normalised to `0.5`, `1.0e5`.
        guard body.first != "_", body.last != "_" else { return nil }
        var whole = "", fraction = "", exponent = ""
        var part = 0  // 0: whole, 1: fraction, 2: exponent
        for c in body where c != "_" {
            switch c {
            case "0"..."9" where part == 0: whole.append(c)
            case "0"..."9" where part == 1: fraction.append(c)
            case "0"..."9": exponent.append(c)
            case "." where part == 0: part = 1
            case "e", "E": if part < 2 { part = 2 } else { return nil }
            case "+" where part == 2 && exponent.isEmpty, "-" where part == 2 && exponent.isEmpty: exponent.append(c)
            default: return nil
            }
        }
        guard !(whole.isEmpty && fraction.isEmpty), part < 2 || exponent.contains(where: \.isNumber) else {
            return nil
        }
        let normalised = (whole.isEmpty ? "0" : whole) + "." + (fraction.isEmpty ? "0" : fraction)
        return T((negative ? "-" : "") + normalised + (exponent.isEmpty ? "" : "e" + exponent))
    }
}
