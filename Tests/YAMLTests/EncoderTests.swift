import Testing

@testable import YAML

private struct Settings: Codable, Equatable {
    struct Ring: Codable, Equatable {
        var storage: String
        var path: String?
    }
    enum Mode: String, Codable { case fast, slow }
    var device: String
    var interval: Int
    var ratio: Double
    var small: Float
    var enabled: Bool
    var ring: Ring
    var ringOptional: Ring?
    var phases: [[Double]]
    var labels: [String: String]
    var modes: [Mode]
    var empty: [Int]
    var emptyMap: [String: Int]
    var optionals: [Int?]
    var bytes: [UInt8]
    var extremes: [Int64]
}

private let settings = Settings(
    device: "emeter", interval: 60, ratio: 10.2, small: 0.1, enabled: true,
    ring: .init(storage: "file", path: "/var/lib/emeter/ring.bin"), ringOptional: nil,
    phases: [[230, 2.0, 10], [231, 1.2, -5]], labels: ["b": "two", "a": "one"], modes: [.fast, .slow], empty: [],
    emptyMap: [:], optionals: [1, nil, 3], bytes: [0, 255], extremes: [Int64.min, Int64.max])

/// Odd strings that plain style would read back differently (or not at all).
let oddStrings = [
    "", " leading", "trailing ", "a: b", "a #b", "#comment", "- dash", "-", "? q", ": c", "[x]", "{y}", "x]", "a,b",
    "&anchor", "*alias", "!tag", "|", ">", "'single'", "\"double\"", "%", "@", "`", "null", "Null", "NULL", "~",
    "true", "False", "yes", "off", "60", "-5", "+5", "0x50", "0o7", "0b1", "1_000", "1e-5", "1.", ".5", ".inf", "-.inf",
    ".nan", "...", "---", "line\nbreak", "tab\there", "cr\rhere", "nul\u{0}", "bell\u{7}", "del\u{7F}", "\u{85}nel",
    "ls\u{2028}", "\u{FEFF}bom", "back\\slash", "quote\"inside", "it's", "é ü 😀", "tcp://host:1234", "/dev/ttyUSB0",
    "key:", "a:b", "a#b", "  ", "\n", "multi\n\nline\n", "x: ", "1.2.3", "3P4W", "60s",
]

@Suite struct EncoderTests {
    @Test func blockOutput() throws {
        struct Small: Encodable {
            var name = "test"
            var port: Int? = nil
            var list = [1, 2]
            var nested = ["k": [true]]
            var items = [["a": 1, "b": 2]]
            var lists = [[1, 2], []]
            var none: [Int] = []
            var quoted = "null"
        }
        #expect(
            try YAMLEncoder().encode(Small()) == """
                name: test
                list:
                  - 1
                  - 2
                nested:
                  k:
                    - true
                items:
                  - a: 1
                    b: 2
                lists:
                  - - 1
                    - 2
                  - []
                none: []
                quoted: "null"

                """)
        #expect(try YAMLEncoder().encode([String: Int]()) == "{}\n")
        #expect(try YAMLEncoder().encode([Int]()) == "[]\n")
        #expect(try YAMLEncoder().encode("x") == "x\n")
        #expect(
            try YAMLEncoder().encode([Double.infinity, -.infinity, .nan, 1e300, 0.1])
                == "- .inf\n- -.inf\n- .nan\n- 1e+300\n- 0.1\n")
        #expect(try YAMLEncoder().encode(["a\tb", "é"]) == "- \"a\\tb\"\n- é\n")
    }

    @Test func roundTripsNestedValues() throws {
        let text = try YAMLEncoder().encode(settings)
        #expect(try YAMLDecoder().decode(Settings.self, from: text) == settings)
        #expect(try YAMLEncoder().encode(settings) == text, "dictionary order is stable")
        let node = try YAMLEncoder().encodeToNode(settings)
        #expect(try YAMLDecoder().decode(Settings.self, from: node) == settings)
        #expect(node.mapping?["ringOptional"] == nil)
    }

    @Test(arguments: oddStrings) func roundTripsOddStrings(_ string: String) throws {
        struct Holder: Codable, Equatable {
            var value: String
            var list: [String]
            var map: [String: String]
        }
        let holder = Holder(value: string, list: [string, string], map: [string: string])
        let text = try YAMLEncoder().encode(holder)
        #expect(try YAMLDecoder().decode(Holder.self, from: text) == holder, "\(text)")
        #expect(try YAMLDecoder().decode(String.self, from: YAMLEncoder().encode(string)) == string)
    }

    @Test func roundTripsNumbers() throws {
        let doubles: [Double] = [
            0, -0.0, 1, -1, 0.1, 1e-5, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 123456.789, .pi,
        ]
        #expect(try YAMLDecoder().decode([Double].self, from: YAMLEncoder().encode(doubles)) == doubles)
        let floats: [Float] = [0.1, .greatestFiniteMagnitude, .leastNonzeroMagnitude]
        #expect(try YAMLDecoder().decode([Float].self, from: YAMLEncoder().encode(floats)) == floats)
        let special = try YAMLDecoder().decode([Double].self, from: YAMLEncoder().encode([Double.nan, .infinity]))
        #expect(special[0].isNaN && special[1] == .infinity)
        let ints: [Int8] = [.min, .max]
        #expect(try YAMLDecoder().decode([Int8].self, from: YAMLEncoder().encode(ints)) == ints)
        let unsigned: [UInt64] = [.max]
        #expect(try YAMLDecoder().decode([UInt64].self, from: YAMLEncoder().encode(unsigned)) == unsigned)
    }

    @Test func customContainers() throws {
        struct Custom: Codable, Equatable {
            var a: Int
            var b: [String]
            enum Keys: String, CodingKey { case a, nested, list, explicitNil }
            enum Inner: String, CodingKey { case b }
            init(a: Int, b: [String]) {
                self.a = a
                self.b = b
            }
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: Keys.self)
                a = try Int(from: container.superDecoder(forKey: .a))
                var list = try container.nestedContainer(keyedBy: Inner.self, forKey: .nested).nestedUnkeyedContainer(
                    forKey: .b)
                b = []
                while !list.isAtEnd { b.append(try list.decode(String.self)) }
                #expect(try container.decodeNil(forKey: .explicitNil))
            }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                try a.encode(to: container.superEncoder(forKey: .a))
                var nested = container.nestedContainer(keyedBy: Inner.self, forKey: .nested)
                var list = nested.nestedUnkeyedContainer(forKey: .b)
                for item in b { try list.encode(item) }
                var empty = container.nestedUnkeyedContainer(forKey: .list)
                try empty.encodeNil()
                try container.encodeNil(forKey: .explicitNil)
            }
        }
        let value = Custom(a: 7, b: ["x", "true"])
        let text = try YAMLEncoder().encode(value)
        #expect(text == "a: 7\nnested:\n  b:\n    - x\n    - \"true\"\nlist:\n  - null\nexplicitNil: null\n")
        #expect(try YAMLDecoder().decode(Custom.self, from: text) == value)
    }
}
