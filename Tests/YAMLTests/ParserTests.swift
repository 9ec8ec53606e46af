import Testing

@testable import YAML

/// The scalar text at `path` of the document `yaml`.
private func text(_ yaml: String, _ path: String = "a") throws -> String? {
    value(path, in: try node(yaml))?.string
}

@Suite struct ScalarTests {
    @Test func plainScalars() throws {
        let root = try node(
            """
            url: tcp://host:1234
            port: /dev/ttyUSB0
            serial: 115200-8N1
            address: 0x50
            wiring: 3P4W
            small: 1e-5
            infinite: .inf
            words: several words here  # comment
            hash: a#b
            colon: a:b
            dash: -5
            question: ?x
            """)
        let expected = [
            "url": "tcp://host:1234", "port": "/dev/ttyUSB0", "serial": "115200-8N1", "address": "0x50",
            "wiring": "3P4W", "small": "1e-5", "infinite": ".inf", "words": "several words here", "hash": "a#b",
            "colon": "a:b", "dash": "-5", "question": "?x",
        ]
        for (key, text) in expected { #expect(value(key, in: root)?.string == text, "\(key)") }
        #expect(value("url", in: root)?.scalar?.style == .plain)
    }

    @Test func multiLinePlainFolds() throws {
        #expect(try text("a: one\n  two\n\n  three\nb: x") == "one two\nthree")
        #expect(try text("- one\n  two # c\n- x", "0") == "one two")
        #expect(try node("just\ntext\n").string == "just text")
    }

    @Test func singleQuoted() throws {
        #expect(try text("a: 'it''s # not a comment'") == "it's # not a comment")
        #expect(try text("a: ''") == "")
        #expect(try text("a: 'one\n  two\n\n  three  '") == "one two\nthree  ")
        #expect(try node("a: 'x'").mapping?["a"]?.scalar?.style == .singleQuoted)
    }

    @Test func doubleQuotedEscapes() throws {
        #expect(
            try text(#"a: "\\ \" \n \t \r \0 \/ \x41 \u00e9 \U0001F600 \e \ ""#) == "\\ \" \n \t \r \0 / A é 😀 \u{1B}  "
        )
        #expect(try text("a: \"one\n   two\\\n   three\"") == "one twothree")
        #expect(try text("a: \"x  \n\n  y\"") == "x\ny")
        #expect(try text("a: \"null\"") == "null")
        #expect(try node("a: \"null\"").mapping?["a"]?.isNull == false)
    }

    @Test func literalBlockScalars() throws {
        #expect(try text("a: |\n  one\n   two\n\n  three\n\n\nb: x") == "one\n two\n\nthree\n")
        #expect(try text("a: |-\n  one\n  two\n\nb: x") == "one\ntwo")
        #expect(try text("a: |+\n  one\n\n\nb: x") == "one\n\n\n")
        #expect(try text("a: |2\n    indented\n  base\n") == "  indented\nbase\n")
        #expect(try text("a: | # comment\n  text") == "text")
        #expect(try text("a: |\nb: x") == "")
        #expect(try text("- |\n  in a list\n- x", "0") == "in a list\n")
        #expect(try node("a: |\n  x").mapping?["a"]?.scalar?.style == .literal)
    }

    @Test func foldedBlockScalars() throws {
        #expect(try text("a: >\n  one\n  two\n\n  three\n   more\n  four\n") == "one two\nthree\n more\nfour\n")
        #expect(try text("a: >-\n  one\n  two\n") == "one two")
        #expect(try text("a: >+\n  one\n\n") == "one\n\n")
        #expect(try node("a: >\n  x").mapping?["a"]?.scalar?.style == .folded)
    }

    @Test func nulls() throws {
        let root = try node("a:\nb: ~\nc: null\nd: Null\ne: NULL\nf: 'null'\ng: # comment\nh: nil\n")
        for key in ["a", "b", "c", "d", "e", "g"] { #expect(value(key, in: root)?.isNull == true, "\(key)") }
        #expect(value("f", in: root)?.isNull == false)
        #expect(value("h", in: root)?.isNull == false)
        #expect(try compose(yaml: "") == nil)
        #expect(try compose(yaml: "# only a comment\n\n   \n") == nil)
        #expect(try compose(yaml: "---\n...\n") == nil)
        #expect(try node("~").isNull)
    }
}

@Suite struct StructureTests {
    @Test func nestedBlockCollections() throws {
        let root = try node(
            """
            top:
              list:
              - a
              - b: 1
                c: 2
              - - x
                - y
              map:
                deep:
                  deeper: z
            other: w
            """)
        #expect(value("top.list.0", in: root)?.string == "a")
        #expect(value("top.list.1.c", in: root)?.string == "2")
        #expect(value("top.list.2.1", in: root)?.string == "y")
        #expect(value("top.map.deep.deeper", in: root)?.string == "z")
        #expect(value("other", in: root)?.string == "w")
        #expect(value("top.list", in: root)?.sequence?.count == 3)
    }

    @Test func flowCollections() throws {
        let root = try node(
            """
            a: { voltage: 230, current: 2.0, angle: 10 }
            b: [a, b, c]
            c: [ [1, 2], {x: y}, ]
            d: {
              spans: lines,   # comment
              list: [1,
                2],
            }
            e: [k: v, "q": w, single]
            f: {empty:, "json":"style", set}
            g: []
            h: {}
            """)
        #expect(value("a.current", in: root)?.string == "2.0")
        #expect(value("b", in: root)?.sequence?.compactMap(\.string) == ["a", "b", "c"])
        #expect(value("c.0.1", in: root)?.string == "2")
        #expect(value("c.1.x", in: root)?.string == "y")
        #expect(value("c", in: root)?.sequence?.count == 2)
        #expect(value("d.list.1", in: root)?.string == "2")
        #expect(value("e.0.k", in: root)?.string == "v")
        #expect(value("e.1.q", in: root)?.string == "w")
        #expect(value("e.2", in: root)?.string == "single")
        #expect(value("f.empty", in: root)?.isNull == true)
        #expect(value("f.json", in: root)?.string == "style")
        #expect(value("f.set", in: root)?.isNull == true)
        #expect(value("g", in: root)?.sequence?.isEmpty == true)
        #expect(value("h", in: root)?.mapping?.isEmpty == true)
    }

    @Test func marks() throws {
        let root = try node(
            """
            # comment
            name: test
            p1:
              port: /dev/ttyUSB0
              serial:   auto
              list:
              - one
              -
              - "two"
              flow: [x, { y: z }]
              empty:
            """)
        #expect(at(root) == "2:1")
        #expect(at(key("name", in: root)) == "2:1")
        #expect(at(value("name", in: root)) == "2:7")
        #expect(at(value("p1", in: root)) == "4:3")
        #expect(at(key("p1.serial", in: root)) == "5:3")
        #expect(at(value("p1.serial", in: root)) == "5:13")
        #expect(at(value("p1.list", in: root)) == "7:3")
        #expect(at(value("p1.list.1", in: root)) == "8:4")
        #expect(at(value("p1.list.2", in: root)) == "9:5")
        #expect(at(value("p1.flow", in: root)) == "10:9")
        #expect(at(value("p1.flow.1", in: root)) == "10:13")
        #expect(at(value("p1.flow.1.y", in: root)) == "10:18")
        #expect(at(value("p1.empty", in: root)) == "11:9")
        #expect(at(try node("a: |\n  x").mapping?["a"]) == "1:4")
        #expect(at(try node("\u{FEFF}é: ü").mapping?["é"]) == "1:4")
        #expect(at(try node("a: 1\r\nb: 2\r\n").mapping?["b"]) == "2:4")
    }

    @Test func documentMarkers() throws {
        #expect(try node("---\na: 1\n...\n").mapping?["a"]?.string == "1")
        #expect(try node("--- # comment\na: 1\n").mapping?["a"]?.string == "1")
        #expect(try node("--- text\n").string == "text")
        #expect(try node("--- |\n  block\n").string == "block\n")
        #expect(try node("a: 1\n...\n# trailing comment\n").mapping?.count == 1)
    }

    @Test func anchorsAndAliases() throws {
        let root = try node(
            """
            base: &base
              voltage: 230
              current: 2
            phases:
              - *base
              - &other { voltage: 231 }
              - *other
            name: &name text
            copy: *name
            list: [&x 1, *x]
            """)
        #expect(value("phases.0.voltage", in: root)?.string == "230")
        #expect(value("phases.2.voltage", in: root)?.string == "231")
        #expect(value("copy", in: root)?.string == "text")
        #expect(value("list.1", in: root)?.string == "1")
        #expect(value("phases.0", in: root) == value("base", in: root))
    }

    @Test func commentsEverywhere() throws {
        let root = try node(
            """
            # head
            a: 1 # after
              # indented comment
            b:   # before a nested mapping
              # inside
              c: 2

            # between
            d: [1, # in flow
                2]
            """)
        #expect(value("a", in: root)?.string == "1")
        #expect(value("b.c", in: root)?.string == "2")
        #expect(value("d.1", in: root)?.string == "2")
    }

    @Test func nodeAPI() throws {
        let root = try node("a: 1\nb: [x]\n")
        let mapping = try #require(root.mapping)
        #expect(mapping.keys.compactMap(\.string) == ["a", "b"])
        #expect(mapping["b"]?.sequence?.first?.string == "x")
        #expect(mapping["missing"] == nil)
        var keys: [String] = []
        for (key, _) in mapping { keys.append(key.string ?? "") }
        #expect(keys == ["a", "b"])
        #expect(root.string == nil && root.sequence == nil && root.scalar == nil)
        #expect(Node.mapping([:]).mapping?.isEmpty == true)
        #expect(try node("a: 1") == node("a:   1  # other marks"))
    }
}
