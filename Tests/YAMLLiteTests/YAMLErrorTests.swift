import Testing
import YAMLLite

private func parseError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> YAMLError? {
    do {
        let node = try YAML.parse(text)
        Issue.record("expected an error, parsed \(node)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

@Suite("YAMLLite errors")
struct YAMLErrorTests {
    @Test func tabIndentation() throws {
        let error = try #require(parseError("a:\n\tb: 1\n"))
        #expect(error.line == 2)
        #expect(error.column == 1)
        #expect(error.message.contains("tab"))
        #expect(error.description == "YAML error at line 2, column 1: \(error.message)")
    }

    @Test func tabAfterSpacesInIndentation() throws {
        let error = try #require(parseError("a:\n  b: 1\n  \tc: 2\n"))
        #expect(error.line == 3)
        #expect(error.column == 3)
        #expect(error.message.contains("tab"))
    }

    @Test func tabsAllowedAsSeparationAndInFlow() throws {
        #expect(try YAML.parse("a:\tb\t# c\n") == .mapping([("a", .plain("b"))]))
        #expect(try YAML.parse("{\n\t\"a\": [\n\t\t1\n\t]\n}") == .mapping([("a", .sequence([.plain("1")]))]))
        #expect(try YAML.parse("a: 1\n\t\n# x\n") == .mapping([("a", .plain("1"))]))
    }

    @Test func unterminatedDoubleQuote() throws {
        let error = try #require(parseError("a: 1\nb: \"open\nc: 2\n"))
        #expect(error.line == 2)
        #expect(error.column == 4)
        #expect(error.message.contains("unterminated double-quoted"))
    }

    @Test func unterminatedSingleQuote() throws {
        let error = try #require(parseError("x:\n  y: 'abc\n"))
        #expect(error.line == 2)
        #expect(error.column == 6)
        #expect(error.message.contains("unterminated single-quoted"))
    }

    @Test func unterminatedFlowCollections() throws {
        let seq = try #require(parseError("a: [1, 2\nb: 3\n"))
        #expect(seq.line == 1)
        #expect(seq.column == 4)
        #expect(seq.message.contains("expected ',' or ']'") || seq.message.contains("unterminated"))
        let map = try #require(parseError("a: {b: c\n"))
        #expect(map.line == 1 && map.column == 4)
        #expect(map.message.contains("unterminated flow mapping"))
    }

    @Test func badIndentation() throws {
        let error = try #require(parseError("a:\n  b: 1\n c: 2\n"))
        #expect(error.line == 3)
        #expect(error.column == 2)
        #expect(error.message.contains("bad indentation"))

        let seq = try #require(parseError("items:\n  - a\n - b\n"))
        #expect(seq.line == 3 && seq.column == 2)
        #expect(seq.message.contains("bad indentation"))
        // A deeper "- b" is a continuation of the plain scalar, as in YAML proper.
        #expect(try YAML.parse("items:\n  - a\n   - b\n")["items"] == .sequence([.plain("a - b")]))
    }

    @Test func sequenceEntryInsideMapping() throws {
        let error = try #require(parseError("a: 1\n- b\n"))
        #expect(error.line == 2)
        #expect(error.message.contains("sequence entry"))
    }

    @Test func mappingValueNotAllowed() throws {
        let error = try #require(parseError("a: b: c\n"))
        #expect(error.line == 1)
        #expect(error.column == 5)
        #expect(error.message.contains("mapping values are not allowed"))
    }

    @Test func duplicateKeys() throws {
        let block = try #require(parseError("a: 1\nb: 2\na: 3\n"))
        #expect(block.line == 3 && block.column == 1)
        #expect(block.message.contains("duplicate mapping key \"a\""))
        let flow = try #require(parseError("{a: 1, a: 2}"))
        #expect(flow.line == 1 && flow.column == 8)
    }

    @Test func unsupportedFeatures() throws {
        #expect(try #require(parseError("a: &x 1\n")).message.contains("anchors"))
        #expect(try #require(parseError("a: *x\n")).message.contains("aliases"))
        #expect(try #require(parseError("a: !!str 1\n")).message.contains("tags"))
        #expect(try #require(parseError("? a\n: b\n")).message.contains("explicit"))
        #expect(try #require(parseError("[a]: b\n")).message.contains("mapping keys"))
        #expect(try #require(parseError("a: @x\n")).message.contains("reserved"))
    }

    @Test func invalidEscapes() throws {
        let bad = try #require(parseError("a: \"x\\qy\"\n"))
        #expect(bad.line == 1 && bad.column == 6)
        #expect(bad.message.contains("invalid escape"))
        #expect(try #require(parseError(#"a: "\ud800x""#)).message.contains("surrogate"))
        #expect(try #require(parseError(#"a: "\uZZZZ""#)).message.contains("hexadecimal"))
        #expect(try #require(parseError(#"a: "\U00110000""#)).message.contains("code point"))
    }

    @Test func garbageAfterValues() throws {
        #expect(try #require(parseError("a: \"x\" y\n")).message.contains("after quoted scalar"))
        #expect(try #require(parseError("a: [1] 2\n")).message.contains("after flow collection"))
        #expect(try #require(parseError("a: [1,,2]\n")).message.contains("unexpected ','"))
        #expect(try #require(parseError("a: |x\n  b\n")).message.contains("block scalar header"))
        #expect(try #require(parseError("a: |0\n  b\n")).message.contains("indentation indicator"))
        #expect(try #require(parseError("a: 1\n]\n")).line == 2)
        #expect(try #require(parseError("x\n  - y: 1\n")).message.contains("mapping values"))
    }

    @Test func deepNestingRejected() throws {
        let flow = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        let error = try #require(parseError(flow))
        #expect(error.message.contains("maximum depth of 100"))
        #expect(error.column == 101)

        let mixed = String(repeating: "{a: [", count: 3000)
        #expect(try #require(parseError(mixed)).message.contains("maximum depth"))

        var block = ""
        for level in 0..<150 {
            block += String(repeating: " ", count: level) + "k:\n"
        }
        let blockError = try #require(parseError(block))
        #expect(blockError.message.contains("maximum depth"))
        #expect(blockError.line == 101)

        let dashes = String(repeating: "- ", count: 2000) + "x\n"
        #expect(try #require(parseError(dashes)).message.contains("maximum depth"))

        // Exactly at the limit is fine.
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try YAML.parse(ok) }
        // The limit is configurable.
        #expect(throws: YAMLError.self) { try YAML.parse("[[[1]]]", maxDepth: 2) }
    }
}
