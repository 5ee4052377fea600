import Testing
@testable import YAMLLite

private func p(_ s: String) -> YAMLNode { .scalar(s, .plain) }
private func dq(_ s: String) -> YAMLNode { .scalar(s, .doubleQuoted) }
private func sq(_ s: String) -> YAMLNode { .scalar(s, .singleQuoted) }

@Suite("YAMLLite block structure")
struct BlockStructureTests {
    @Test func simpleMapping() throws {
        let node = try YAML.parse("a: 1\nb: two\nc: three words\n")
        #expect(node == .mapping([("a", p("1")), ("b", p("two")), ("c", p("three words"))]))
        #expect(node.keys == ["a", "b", "c"])
        #expect(node["a"]?.int == 1)
        #expect(node["b"]?.string == "two")
        #expect(node["missing"] == nil)
    }

    @Test func nestedMappingsKeepOrder() throws {
        let node = try YAML.parse("""
        outer:
          z: 1
          a:
            deep: yes
          m: 3
        last: x
        """)
        #expect(node["outer"]?.keys == ["z", "a", "m"])
        #expect(node["outer"]?["a"]?["deep"]?.bool == true)
        #expect(node["last"]?.string == "x")
    }

    @Test func indentedSequence() throws {
        let node = try YAML.parse("items:\n  - a\n  - b\n  - c\n")
        #expect(node["items"] == .sequence([p("a"), p("b"), p("c")]))
        #expect(node["items"]?[1]?.string == "b")
        #expect(node["items"]?[3] == nil)
    }

    @Test func sequenceAtSameIndentationAsParentKey() throws {
        let node = try YAML.parse("""
        clusters:
        - name: a
          cluster:
            server: https://a
        - name: b
        users:
        - u1
        """)
        let clusters = try #require(node["clusters"]?.array)
        #expect(clusters.count == 2)
        #expect(clusters[0]["name"]?.string == "a")
        #expect(clusters[0]["cluster"]?["server"]?.string == "https://a")
        #expect(clusters[1] == .mapping([("name", p("b"))]))
        #expect(node["users"] == .sequence([p("u1")]))
    }

    @Test func sequenceOfMappingsWithIndentedDash() throws {
        let node = try YAML.parse("""
        list:
          - name: x
            value: 1
          -   name: y
              value: 2
        """)
        #expect(node["list"] == .sequence([
            .mapping([("name", p("x")), ("value", p("1"))]),
            .mapping([("name", p("y")), ("value", p("2"))]),
        ]))
    }

    @Test func nestedCompactSequences() throws {
        let node = try YAML.parse("- - a\n  - b\n- - c\n")
        #expect(node == .sequence([.sequence([p("a"), p("b")]), .sequence([p("c")])]))
    }

    @Test func sequenceItemOnNextLine() throws {
        let node = try YAML.parse("-\n  a: 1\n-\n- x\n")
        #expect(node == .sequence([.mapping([("a", p("1"))]), .null, p("x")]))
    }

    @Test func sameIndentSequenceInsideCompactMapping() throws {
        let node = try YAML.parse("""
        - name: a
          items:
          - x
          - y
          after: 1
        - name: b
        """)
        #expect(node == .sequence([
            .mapping([("name", p("a")), ("items", .sequence([p("x"), p("y")])), ("after", p("1"))]),
            .mapping([("name", p("b"))]),
        ]))
    }

    @Test func emptyValuesAndNulls() throws {
        let node = try YAML.parse("""
        a:
        b: ~
        c: null
        d: NULL
        e: "null"
        f: ''
        g:
        """)
        #expect(node == .mapping([
            ("a", .null), ("b", .null), ("c", .null), ("d", .null),
            ("e", dq("null")), ("f", sq("")), ("g", .null),
        ]))
        #expect(node["a"]?.isNull == true)
        #expect(node["e"]?.isNull == false)
    }

    @Test func comments() throws {
        let node = try YAML.parse("""
        # leading comment
        a: 1 # trailing
        b: "x # not a comment" # comment
        c: value#not-a-comment
          # indented comment line

        d:   # comment after key
          e: 2
        url: http://host/#frag
        """)
        #expect(node == .mapping([
            ("a", p("1")),
            ("b", dq("x # not a comment")),
            ("c", p("value#not-a-comment")),
            ("d", .mapping([("e", p("2"))])),
            ("url", p("http://host/#frag")),
        ]))
    }

    @Test func colonsInsidePlainScalars() throws {
        let node = try YAML.parse("server: https://127.0.0.1:6443/base\ntime: 12:30\nkey:with:colons: v\n")
        #expect(node["server"]?.string == "https://127.0.0.1:6443/base")
        #expect(node["time"]?.string == "12:30")
        #expect(node["key:with:colons"]?.string == "v")
    }

    @Test func quotedKeys() throws {
        let node = try YAML.parse("\"a b\": 1\n'c: d': 2\n\"\": empty\n")
        #expect(node == .mapping([("a b", p("1")), ("c: d", p("2")), ("", p("empty"))]))
    }

    @Test func documentMarkers() throws {
        #expect(try YAML.parse("---\na: 1\n...\n") == .mapping([("a", p("1"))]))
        #expect(try YAML.parse("%YAML 1.2\n---\n- x\n") == .sequence([p("x")]))
        #expect(try YAML.parse("--- text\n") == p("text"))
        #expect(try YAML.parse("--- {a: b}\n") == .mapping([("a", p("b"))]))
        #expect(try YAML.parse("") == .null)
        #expect(try YAML.parse("# only a comment\n") == .null)
        #expect(try YAML.parse("---\n") == .null)
        let docs = try YAML.parseDocuments("a: 1\n---\nb: 2\n...\n---\n- c\n")
        #expect(docs == [.mapping([("a", p("1"))]), .mapping([("b", p("2"))]), .sequence([p("c")])])
    }

    @Test func multipleDocumentsRejectedByParse() throws {
        let error = #expect(throws: YAMLError.self) { try YAML.parse("a: 1\n---\nb: 2\n") }
        #expect(error?.line == 2)
        #expect(error?.message.contains("single document") == true)
        // Empty documents (bare markers) do not count.
        #expect(try YAML.parse("a: 1\n---\n") == .mapping([("a", .plain("1"))]))
        #expect(try YAML.parse("---\n---\n- x\n---\n") == .sequence([.plain("x")]))
    }

    @Test func topLevelScalarAndCRLF() throws {
        #expect(try YAML.parse("hello world\n") == p("hello world"))
        #expect(try YAML.parse("a: 1\r\nb:\r\n  - x\r\n") == .mapping([("a", p("1")), ("b", .sequence([p("x")]))]))
        #expect(try YAML.parse("\u{FEFF}a: 1") == .mapping([("a", p("1"))]))
    }

    @Test func multiLinePlainScalars() throws {
        let node = try YAML.parse("""
        a: first
          second

          third
        b: x
        """)
        #expect(node == .mapping([("a", p("first second\nthird")), ("b", p("x"))]))
        let seq = try YAML.parse("- one\n  two\n- three\n")
        #expect(seq == .sequence([p("one two"), p("three")]))
    }

    @Test func unicodeContent() throws {
        let node = try YAML.parse("name: héllo 世界\n\"ключ\": 'значение'\n")
        #expect(node["name"]?.string == "héllo 世界")
        #expect(node["ключ"]?.string == "значение")
    }
}

@Suite("YAMLLite scalars")
struct ScalarTests {
    @Test func singleQuoted() throws {
        #expect(try YAML.parse("a: 'it''s # fine'") == .mapping([("a", sq("it's # fine"))]))
        #expect(try YAML.parse("'a\n  b\n\n  c'") == sq("a b\nc"))
        #expect(try YAML.parse("'  padded  '") == sq("  padded  "))
        #expect(try YAML.parse("'back\\slash'") == sq("back\\slash"))
    }

    @Test func doubleQuotedEscapes() throws {
        let node = try YAML.parse(#"v: "tab\there\nnew \"q\" back\\slash \u00e9 \x41 \U0001F600 \/ \0end""#)
        #expect(node["v"]?.string == "tab\there\nnew \"q\" back\\slash é A 😀 / \u{0}end")
        #expect(node["v"]?.scalarStyle == .doubleQuoted)
    }

    @Test func doubleQuotedSurrogatePairAndFolding() throws {
        #expect(try YAML.parse(#""\ud83d\ude00""#) == dq("😀"))
        #expect(try YAML.parse("\"a\n   b\n\n c\"") == dq("a b\nc"))
        #expect(try YAML.parse("\"line \\\n    joined\"") == dq("line joined"))
        #expect(try YAML.parse("\"trailing   \n  x\"") == dq("trailing x"))
        #expect(try YAML.parse("\"escaped space\\ \n  x\"") == dq("escaped space  x"))
    }

    @Test func literalBlockScalars() throws {
        let node = try YAML.parse("""
        clip: |
          line 1
            indented
          line 3

        strip: |-
          text

        keep: |+
          text


        after: x
        """)
        #expect(node["clip"] == .scalar("line 1\n  indented\nline 3\n", .literal))
        #expect(node["strip"] == .scalar("text", .literal))
        #expect(node["keep"] == .scalar("text\n\n\n", .literal))
        #expect(node["after"]?.string == "x")
    }

    @Test func foldedBlockScalars() throws {
        let node = try YAML.parse("""
        folded: >
          one
          two

          three
            more indented
          four
        strip: >-
          a
          b
        """)
        #expect(node["folded"] == .scalar("one two\nthree\n  more indented\nfour\n", .folded))
        #expect(node["strip"] == .scalar("a b", .folded))
    }

    @Test func blockScalarHeaderVariants() throws {
        let node = try YAML.parse("""
        a: |2
            two extra
          base
        b: |-  # comment
          x
        c: |
        d: >+
          y
        """)
        #expect(node["a"]?.string == "  two extra\nbase\n")
        #expect(node["b"]?.string == "x")
        #expect(node["c"] == .scalar("", .literal))
        #expect(node["d"]?.string == "y\n")
    }

    @Test func blockScalarInSequenceAndPEM() throws {
        let node = try YAML.parse("""
        - |
          -----BEGIN CERTIFICATE-----
          MIIB
          -----END CERTIFICATE-----
        - tail
        """)
        #expect(node[0]?.string == "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
        #expect(node[1]?.string == "tail")
    }

    @Test func typedAccessors() throws {
        let node = try YAML.parse("""
        t: true
        f: False
        y: yes
        q: "true"
        i: -42
        h: 0x1F
        o: 0o17
        big: 99999999999999999999
        d: 2.5
        e: 1e3
        s: text
        """)
        #expect(node["t"]?.bool == true)
        #expect(node["f"]?.bool == false)
        #expect(node["y"]?.bool == true)
        #expect(node["q"]?.bool == nil)
        #expect(node["q"]?.string == "true")
        #expect(node["i"]?.int == -42)
        #expect(node["h"]?.int == 31)
        #expect(node["o"]?.int == 15)
        #expect(node["big"]?.int == nil)
        #expect(node["d"]?.double == 2.5)
        #expect(node["e"]?.double == 1000)
        #expect(node["s"]?.int == nil)
        #expect(node["s"]?.bool == nil)
        #expect(node["s"]?.array == nil)
        #expect(node.entries?.count == 11)
    }
}

@Suite("YAMLLite flow collections and JSON")
struct FlowTests {
    @Test func flowMappingAndSequence() throws {
        let node = try YAML.parse("context: {cluster: kube-lab, user: admin}\nlist: [a, b, 'c d', \"e\"]\n")
        #expect(node["context"] == .mapping([("cluster", p("kube-lab")), ("user", p("admin"))]))
        #expect(node["list"] == .sequence([p("a"), p("b"), sq("c d"), dq("e")]))
    }

    @Test func nestedFlowAcrossLines() throws {
        let node = try YAML.parse("""
        a: {x: [1, 2, {y: z}], empty: {}, none: [],
            url: http://h:80/p, k}
        b: [ [ ] , [a,b,], ]
        """)
        #expect(node["a"] == .mapping([
            ("x", .sequence([p("1"), p("2"), .mapping([("y", p("z"))])])),
            ("empty", .mapping([])),
            ("none", .sequence([])),
            ("url", p("http://h:80/p")),
            ("k", .null),
        ]))
        #expect(node["b"] == .sequence([.sequence([]), .sequence([p("a"), p("b")])]))
    }

    @Test func flowSinglePairAndComments() throws {
        let node = try YAML.parse("[a: 1, b, # comment\n c: ]")
        #expect(node == .sequence([.mapping([("a", p("1"))]), p("b"), .mapping([("c", .null)])]))
    }

    @Test func jsonDocument() throws {
        let json = """
        {
        \t"apiVersion": "v1",
        \t"kind": "Config",
        \t"clusters": [{"name":"c","cluster":{"server":"https://[::1]:6443","insecure-skip-tls-verify":true}}],
        \t"n": -1.5e3, "nil": null, "esc": "a\\"b\\u00e9\\/",
        \t"nested": {"deep": [[], {}, [1, [2, [3]]]]}
        }
        """
        let node = try YAML.parse(json)
        #expect(node["apiVersion"] == dq("v1"))
        #expect(node["clusters"]?[0]?["cluster"]?["server"]?.string == "https://[::1]:6443")
        #expect(node["clusters"]?[0]?["cluster"]?["insecure-skip-tls-verify"]?.bool == true)
        #expect(node["n"]?.double == -1500)
        #expect(node["nil"] == .null)
        #expect(node["esc"]?.string == "a\"bé/")
        #expect(node["nested"]?["deep"]?[2]?[1]?[1]?[0]?.int == 3)
    }

    @Test func compactJSON() throws {
        let node = try YAML.parse(#"{"a":[1,2,{"b":"c"}],"d":{"e":false}}"#)
        #expect(node == .mapping([
            ("a", .sequence([p("1"), p("2"), .mapping([("b", dq("c"))])])),
            ("d", .mapping([("e", p("false"))])),
        ]))
    }
}
