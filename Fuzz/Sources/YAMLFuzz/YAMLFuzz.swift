import ADE9000
import Simulator
import YAML

/// libFuzzer entry point (built with `-sanitize=fuzzer,address`, run by `scripts/fuzz`).
///
/// One input is a YAML text (invalid UTF-8 is repaired, as `String(decoding:as:)` does when a file is read).
/// `compose(yaml:)` must compose it or throw `YAMLError`, never trap. When it composes, the node is decoded into
/// `Scenario` (Simulator), `Calibration` (ADE9000) and ``Sample`` (nested arrays, optionals, dictionaries); each
/// value that decodes must encode (`YAMLEncoder`), the text must compose again and decode again to a value that
/// encodes to the same text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    YAMLFuzz.run(String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self))
    return 0
}

/// A small configuration-like shape: nested arrays, optionals and dictionaries.
struct Sample: Codable {
    struct Inner: Codable {
        var label: String?
        var ratio: Double?
        var enabled: Bool?
    }
    var name: String
    var port: Int?
    var matrix: [[Int]]?
    var tags: [String: [String]]?
    var inner: Inner?
    var list: [Inner?]?
    var limits: [String: Int64]?
}

enum YAMLFuzz {
    static func run(_ text: String) {
        let node: Node?
        do {
            node = try compose(yaml: text)
        } catch {
            _ = error.description
            return
        }
        guard let node else { return }
        _ = (node.mark, node.string, node.isNull)
        roundTrip(Scenario.self, node)
        roundTrip(Calibration.self, node)
        roundTrip(Sample.self, node)
        roundTrip([String: String].self, node)
    }

    /// Decodes `type` from `node`; a value that decodes must survive encode → compose → decode → encode.
    static func roundTrip<T: Codable>(_ type: T.Type, _ node: Node) {
        guard let value = try? YAMLDecoder().decode(type, from: node) else { return }
        let text: String
        do {
            text = try YAMLEncoder().encode(value)
        } catch {
            check(false, "\(T.self) decoded but does not encode: \(error)")
            return
        }
        do {
            let again = try YAMLDecoder().decode(type, from: text)
            let textAgain = try YAMLEncoder().encode(again)
            check(textAgain == text, "\(T.self) changes through a round trip:\n\(text)\n---\n\(textAgain)")
        } catch {
            check(false, "\(T.self) encoded as text that does not compose and decode (\(error)):\n\(text)")
        }
    }

    /// Traps on a broken invariant: libFuzzer records the input as a crash.
    static func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fatalError("YAML fuzz invariant broken: \(message())") }
    }
}
