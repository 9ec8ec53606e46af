import Testing

@testable import YAML

/// SplitMix64: a small seeded generator, so every run tests the same inputs.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Any YAML value, for decoding whatever composes and encoding it again.
private enum AnyValue: Codable, Equatable {
    case null
    case string(String)
    case list([AnyValue])
    case map([String], [String: AnyValue])

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        if let container = try? decoder.container(keyedBy: Key.self) {
            var values: [String: AnyValue] = [:]
            for key in container.allKeys { values[key.stringValue] = try container.decode(AnyValue.self, forKey: key) }
            self = .map(container.allKeys.map(\.stringValue), values)
        } else if var container = try? decoder.unkeyedContainer() {
            var items: [AnyValue] = []
            while !container.isAtEnd { items.append(try container.decode(AnyValue.self)) }
            self = .list(items)
        } else {
            let container = try decoder.singleValueContainer()
            self = container.decodeNil() ? .null : .string(try container.decode(String.self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .string(let string):
            var container = encoder.singleValueContainer()
            try container.encode(string)
        case .list(let items):
            var container = encoder.unkeyedContainer()
            for item in items { try container.encode(item) }
        case .map(let keys, let values):
            var container = encoder.container(keyedBy: Key.self)
            for key in keys { try container.encode(values[key], forKey: Key(stringValue: key)) }
        }
    }
}

/// Characters that matter to YAML, plus some that do not.
private let alphabet = Array(" \n\t:-?,[]{}#&*!|>'\"%@`\\~.0123456789abcxyz_+eé\r\u{FEFF}😀".unicodeScalars)

private func mutate(_ text: String, _ random: inout SeededGenerator) -> String {
    var scalars = Array(text.unicodeScalars)
    for _ in 0..<Int.random(in: 1...4, using: &random) {
        let at = scalars.isEmpty ? 0 : Int.random(in: 0..<scalars.count, using: &random)
        switch Int.random(in: 0..<6, using: &random) {
        case 0:  // insert a few characters
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                scalars.insert(alphabet[Int.random(in: 0..<alphabet.count, using: &random)], at: at)
            }
        case 1:  // delete a range
            scalars.removeSubrange(at..<min(scalars.count, at + Int.random(in: 1...20, using: &random)))
        case 2:  // duplicate a range somewhere else
            let piece = scalars[at..<min(scalars.count, at + Int.random(in: 1...80, using: &random))]
            scalars.insert(contentsOf: piece, at: Int.random(in: 0...scalars.count, using: &random))
        case 3:  // truncate
            scalars.removeSubrange(at...)
        case 4:  // replace one character
            if at < scalars.count { scalars[at] = alphabet[Int.random(in: 0..<alphabet.count, using: &random)] }
        default:  // shift a line's indentation
            scalars.insert(contentsOf: Array(repeating: " ", count: Int.random(in: 1...3, using: &random)), at: at)
        }
    }
    var result = ""
    result.unicodeScalars.append(contentsOf: scalars)
    return result
}

/// Inputs aimed at limits and at the end of the text in every context.
private let handWritten: [String] = [
    String(repeating: "[", count: 10_000), String(repeating: "{a: ", count: 10_000),
    String(repeating: "- ", count: 10_000),
    String(repeating: "a:\n ", count: 5_000), String(repeating: "&a ", count: 100), String(repeating: "*", count: 100),
    String(repeating: "\"", count: 1001), String(repeating: "'", count: 1001), String(repeating: "a ", count: 20_000),
    String(repeating: "a: b\n", count: 20_000), "[" + String(repeating: "a,", count: 20_000) + "]",
    String(repeating: "\n", count: 10_000) + "|", "a: |\n" + String(repeating: "\n", count: 10_000) + "  x",
    "a: \"" + String(repeating: "\\", count: 10_001), "\"\\U", "\"\\UFFFFFFFF\"", "\"\\u", "a: >", "a: |+", "- |-1",
    "|9\n x", "&", "*", "!", "? ", ": ", "-", "--", "---", "...", "--- ...", "... ---", "a: &x\n", "a: *x", "[&a]",
    "{&a: *a}", "[*a]", "{? a}", "[a: b: c]", "{a: [}", "[{]", "a:\n\t", "\t", " \t\n", "#", "a #", "a: 'x'y",
    "a:\n- b\n -c", "a:\n  - b\n - c", "- a\n  - b", "a: b\n  c", "\u{FEFF}", "\r", "\r\n\r\n", "a\r:\rb",
    "a: \"\n\n\n", "a: '\n'", "[a\n", "{a\n", "a: [\n  b,\n", "a: {b: [c, {d: [e", "- - - - - -",
]

@Test func hostileInputNeverTraps() throws {
    var inputs = handWritten
    var random = SeededGenerator(state: 20_240_601)
    let fixtures = try repositoryYAMLFiles.map(repositoryFile)
    for round in 0..<700 {
        inputs.append(mutate(fixtures[round % fixtures.count], &random))
    }
    var composed = 0
    for input in inputs {
        let root: Node?
        do {
            root = try compose(yaml: input)
        } catch {
            #expect(error.mark == nil || error.mark?.line ?? 0 >= 1 && error.mark?.column ?? 0 >= 1)
            continue
        }
        composed += 1
        guard let root, input.utf8.count < 10_000 else { continue }
        // Whatever composes decodes, encodes and reads back as the same value.
        let value = try YAMLDecoder().decode(AnyValue.self, from: root)
        let text = try YAMLEncoder().encode(value)
        #expect(try YAMLDecoder().decode(AnyValue.self, from: text) == value, "\(input.debugDescription)")
    }
    #expect(composed > 100, "the mutations should not all be errors")
}

@Test func longDocumentsComposeQuickly() throws {
    let rows = (0..<5_000).map { "key\($0): { voltage: 230, current: 2.0, list: [a, 'b', \"c\"] }  # c" }
    let root = try node(rows.joined(separator: "\n"))
    #expect(root.mapping?.count == 5_000)
    #expect(at(value("key4999.list.2", in: root)) == "5000:55")
}
