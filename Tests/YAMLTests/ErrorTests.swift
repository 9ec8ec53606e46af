import Testing

@testable import YAML

@Suite struct ErrorTests {
    @Test func unterminated() {
        #expect(errorText("name: test\np1:\n  port: [/dev/ttyUSB0\n") == "4:1: did not find expected ',' or ']'")
        #expect(errorText("a: [x y: z\n") == "2:1: did not find expected ',' or ']'")
        #expect(errorText("a: [x, \"y\" z]") == "1:12: did not find expected ',' or ']'")
        #expect(errorText("a: {x: 1\nb: 2") == "2:2: did not find expected ',' or '}'")
        #expect(errorText("a: {x: '1' y}") == "1:12: did not find expected ',' or '}'")
        #expect(errorText("a: \"open\nb: 2\n") == "1:4: unterminated double-quoted string")
        #expect(errorText("a: 'open\n") == "1:4: unterminated single-quoted string")
        #expect(errorText("a: \"\\") == "1:5: unterminated double-quoted string")
    }

    @Test func indentation() {
        #expect(errorText("a:\n  b: 1\n c: 2\n") == "3:2: bad indentation of a mapping entry")
        #expect(errorText("a:\n  b: 1\n   c: 2\n") == "3:5: mapping values are not allowed here")
        #expect(errorText("a: b: c") == "1:5: mapping values are not allowed here")
        #expect(errorText("- a\nb: c\n") == "2:1: did not find expected '-' indicator")
        #expect(errorText("a: 1\n- b\n") == "2:1: did not find expected key")
        #expect(errorText("a: 1\nfoo\n") == "2:4: could not find expected ':'")
        #expect(errorText("a: - b") == "1:4: block sequence entries are not allowed here")
        #expect(errorText("a: \"x\" y") == "1:8: did not find expected comment or line break")
        #expect(errorText("\"x\"\nb") == "2:1: did not find expected end of document")
    }

    @Test func tabs() throws {
        #expect(errorText("a:\n\tb: 1\n") == "2:1: found a tab character where indentation is expected")
        #expect(errorText("a:\n  \tb: 1\n") == "2:3: found a tab character where indentation is expected")
        #expect(errorText("\ta: 1") == "1:1: found a tab character where indentation is expected")
        #expect(try compose(yaml: "a:\t1\t# tab separated\n\t# tab before a comment\n")?.mapping?["a"]?.string == "1")
    }

    @Test func duplicateKeys() {
        #expect(errorText("port: 1\nname: x\nport: 2\n") == "3:1: duplicate key `port`")
        #expect(errorText("a:\n  port: 1\n  'port': 2\n") == "3:3: duplicate key `port`")
        #expect(errorText("a: {port: 1, port: 2}") == "1:14: duplicate key `port`")
    }

    @Test func limits() throws {
        let deepFlow = String(repeating: "[", count: 101) + String(repeating: "]", count: 101)
        #expect(errorText(deepFlow) == "1:101: nesting is deeper than 100 levels")
        #expect(try compose(yaml: String(repeating: "[", count: 100) + String(repeating: "]", count: 100)) != nil)
        var deepBlock = ""
        for level in 0..<101 { deepBlock += String(repeating: " ", count: level) + "k:\n" }
        deepBlock += String(repeating: " ", count: 101) + "k: v\n"
        #expect(errorText(deepBlock) == "101:101: nesting is deeper than 100 levels")
        #expect(errorText(String(repeating: "- ", count: 200) + "x") == "1:201: nesting is deeper than 100 levels")

        var bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 {
            let previous = level == 1 ? "*a" : "*l\(level - 1)"
            bomb += "l\(level): &l\(level) [" + Array(repeating: previous, count: 10).joined(separator: ", ") + "]\n"
        }
        // Each level is ten times the one before: l4 (line 5) would be more than 100 000 nodes.
        #expect(composeError(bomb)?.problem == "aliases expand to more than 100000 nodes")
        #expect(composeError(bomb)?.mark?.line == 5)
        #expect(
            errorText("a: &a []\nb: [" + Array(repeating: "*a", count: 100_001).joined(separator: ",") + "]").hasSuffix(
                ": aliases expand to more than 100000 nodes"))
    }

    @Test func aliasesAndProperties() {
        #expect(errorText("a: *nope\n") == "1:4: undefined alias `nope`")
        #expect(errorText("a: !!str 1\n") == "1:4: tags are not supported")
        #expect(errorText("a: !custom x\n") == "1:4: tags are not supported")
        #expect(errorText("? complex\n: value\n") == "1:1: complex keys (`? `) are not supported")
        #expect(errorText("a:\n  ? complex\n") == "2:3: complex keys (`? `) are not supported")
        #expect(errorText("%YAML 1.2\n---\na: 1\n") == "1:1: directives are not supported")
        #expect(errorText("a: & x") == "1:5: did not find expected anchor name (letters, digits, '-' or '_')")
        #expect(errorText("&a k: v") == "1:4: anchors on mapping keys are not supported")
    }

    @Test func documents() {
        #expect(errorText("a: 1\n---\nb: 2\n") == "2:1: found a second document; only one document is supported")
        #expect(errorText("a: 1\n...\n---\nb: 2\n") == "3:1: found a second document; only one document is supported")
        #expect(errorText("a: 1\n...\nb: 2\n") == "3:1: did not find expected end of document")
        #expect(errorText("--- a: b\n") == "1:6: mapping values are not allowed here")
    }

    @Test func escapes() {
        #expect(errorText(#"a: "bad \q escape""#) == "1:9: invalid escape sequence `\\q`")
        #expect(errorText(#"a: "\x4""#) == "1:5: expected 2 hexadecimal digits after `\\x`")
        #expect(errorText(#"a: "\uD800""#) == "1:5: escape `\\u` is not a valid Unicode scalar")
        #expect(errorText("a: |0\n  x") == "1:5: block scalar indentation indicator must be 1 to 9")
        #expect(errorText("a: |x\n  x") == "1:5: did not find expected comment or line break")
    }

    @Test func misc() {
        #expect(errorText("a: @x") == "1:4: found character that cannot start any token")
        #expect(errorText("a: [|]") == "1:5: block scalars are not allowed inside flow collections")
        #expect(errorText("a: [,]") == "1:5: did not find expected node content")
        #expect(errorText("a: {[x]: 1}") == "1:5: complex keys (collections as keys) are not supported")
        #expect(errorText("[a]: 1") == "1:4: mapping values are not allowed here")
        #expect(YAMLError(mark: nil, problem: "p").description == "p")
    }
}
