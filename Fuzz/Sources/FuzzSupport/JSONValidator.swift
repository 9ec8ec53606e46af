import CJSONValidator

/// Checks that bytes are exactly one JSON text (RFC 8259): well-formed UTF-8, one value, nothing after it but
/// whitespace. Builds nothing, so it is cheap enough to run on every payload a fuzz target produces
/// (`JSONSerialization` took half of P1Fuzz's time). Nesting deeper than 512 levels is refused.
///
/// The parser is C (`CJSONValidator`), which scripts/fuzz does not instrument: as instrumented Swift it was 9 % of
/// P1Fuzz's time (every byte comparison traced for libFuzzer), and its coverage told the fuzzer nothing about the
/// code under test.
public enum JSONValidator {
    /// Whether `bytes` is one valid JSON text.
    public static func isValid(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { fuzz_json_is_valid($0.baseAddress, $0.count) }
    }
}
