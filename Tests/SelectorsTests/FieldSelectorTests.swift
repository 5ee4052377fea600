import Testing
@testable import Selectors

let fieldParseCases: [(String, [FieldSelector.Term], String)] = [
    ("", [], ""),
    (",,", [], ""),
    ("a=b", [.init(field: "a", operator: .equals, value: "b")], "a=b"),
    ("a==b", [.init(field: "a", operator: .equals, value: "b")], "a=b"),
    ("a!=b", [.init(field: "a", operator: .notEquals, value: "b")], "a!=b"),
    ("b=1,a=2", [.init(field: "a", operator: .equals, value: "2"), .init(field: "b", operator: .equals, value: "1")], "a=2,b=1"),
    ("a=x\\,y", [.init(field: "a", operator: .equals, value: "x,y")], "a=x\\,y"),
    ("a=x\\=y", [.init(field: "a", operator: .equals, value: "x=y")], "a=x\\=y"),
    ("a=x\\\\y", [.init(field: "a", operator: .equals, value: "x\\y")], "a=x\\\\y"),
    ("a=", [.init(field: "a", operator: .equals, value: "")], "a="),
    ("a!=", [.init(field: "a", operator: .notEquals, value: "")], "a!="),
    (" a = b ", [.init(field: " a ", operator: .equals, value: " b ")], " a = b "),
    ("a=!b", [.init(field: "a", operator: .equals, value: "!b")], "a=!b"),
    ("a!b=c", [.init(field: "a!b", operator: .equals, value: "c")], "a!b=c"),
    ("=b", [.init(field: "", operator: .equals, value: "b")], "=b"),
    ("a===b", [], ""), // placeholder: rejected, see invalid table
].filter { $0.0 != "a===b" }

@Test("field selector parsing and rendering", arguments: fieldParseCases)
func fieldParse(_ c: (String, [FieldSelector.Term], String)) throws {
    let s = try FieldSelector.parse(c.0)
    #expect(s.terms == c.1)
    #expect(s.description == c.2)
    #expect(s.isEmpty == c.1.isEmpty)
}

let invalidFieldCases: [(String, String)] = [
    ("foo", "invalid selector: 'foo'; can't understand 'foo'"),
    ("a=b,foo", "invalid selector: 'a=b,foo'; can't understand 'foo'"),
    ("a!b", "invalid selector: 'a!b'; can't understand 'a!b'"),
    ("a=x\\!y", "invalid field selector: invalid escape sequence: \\!"),
    ("a=x\\", "invalid field selector: invalid escape sequence: \\"),
    ("a=b=c", "invalid field selector: unescaped character in value: 61"),
    ("a===b", "invalid field selector: unescaped character in value: 61"),
    ("a=\\é", "invalid field selector: invalid escape sequence: \\é"),
]

@Test("invalid field selectors", arguments: invalidFieldCases)
func invalidField(_ c: (String, String)) {
    #expect(throws: SelectorError(kind: .invalidFieldSelector, message: c.1)) {
        try FieldSelector.parse(c.0)
    }
}

struct FieldMatchCase: Sendable, CustomStringConvertible {
    let selector: String
    let fields: [String: String]
    let expected: Bool
    var description: String { "\(selector) ~ \(fields) -> \(expected)" }
    init(_ s: String, _ f: [String: String], _ e: Bool) { selector = s; fields = f; expected = e }
}

let fieldMatchCases: [FieldMatchCase] = [
    .init("", [:], true),
    .init("spec.nodeName=n1", ["spec.nodeName": "n1"], true),
    .init("spec.nodeName=n1", ["spec.nodeName": "n2"], false),
    .init("spec.nodeName=n1", [:], false),
    .init("spec.nodeName=", [:], true),               // missing reads as ""
    .init("spec.nodeName=", ["spec.nodeName": ""], true),
    .init("spec.nodeName!=", [:], false),
    .init("spec.nodeName!=n1", [:], true),
    .init("spec.nodeName!=n1", ["spec.nodeName": "n1"], false),
    .init("a=1,b!=2", ["a": "1", "b": "3"], true),
    .init("a=1,b!=2", ["a": "1", "b": "2"], false),
    .init("a=x\\,y", ["a": "x,y"], true),
    .init("a=K", ["a": "\u{212A}"], false),           // byte comparison
]

@Test("field selector matching", arguments: fieldMatchCases)
func fieldMatching(_ c: FieldMatchCase) throws {
    let s = try FieldSelector.parse(c.selector)
    #expect(s.matches(c.fields) == c.expected)
    #expect(s.matches { c.fields[$0] } == c.expected)
}

@Test func escapeRoundTrip() throws {
    for v in ["", "plain", "a,b", "a=b", "a\\b", "\\,=", "é,ü"] {
        let esc = FieldSelector.escapeValue(v)
        #expect(try FieldSelector.unescapeValue(esc) == v)
        let s = try FieldSelector.parse("f=" + esc)
        #expect(s.terms == [.init(field: "f", operator: .equals, value: v)])
    }
    #expect(FieldSelector.escapeValue("a\\b,c=d") == "a\\\\b\\,c\\=d")
}

@Test func exactMatch() throws {
    let s = try FieldSelector.parse("metadata.name=foo,spec.nodeName!=x")
    #expect(s.requiresExactMatch("metadata.name") == "foo")
    #expect(s.requiresExactMatch("spec.nodeName") == nil)
}
