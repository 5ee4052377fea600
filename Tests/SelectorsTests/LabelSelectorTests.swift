import Testing
@testable import Selectors

struct LabelMatchCase: Sendable, CustomStringConvertible {
    let selector: String
    let labels: [String: String]
    let expected: Bool
    var description: String { "\(selector) ~ \(labels) -> \(expected)" }
    init(_ s: String, _ l: [String: String], _ e: Bool) { selector = s; labels = l; expected = e }
}

let labelMatchCases: [LabelMatchCase] = [
    .init("", [:], true),
    .init("", ["a": "b"], true),
    .init("x=a", ["x": "a"], true),
    .init("x=a", ["x": "b"], false),
    .init("x=a", [:], false),
    .init("x==a", ["x": "a"], true),
    .init("x==a", ["x": "A"], false),
    .init("x!=a", ["x": "a"], false),
    .init("x!=a", ["x": "b"], true),
    .init("x!=a", [:], true),                       // absent key matches !=
    .init("x!=a", ["y": "a"], true),
    .init("x in (a,b)", ["x": "b"], true),
    .init("x in (a,b)", ["x": "c"], false),
    .init("x in (a,b)", [:], false),
    .init("x notin (a,b)", [:], true),               // absent key matches notin
    .init("x notin (a,b)", ["x": "a"], false),
    .init("x notin (a,b)", ["x": "c"], true),
    .init("x", ["x": ""], true),
    .init("x", [:], false),
    .init("!x", [:], true),
    .init("!x", ["x": "a"], false),
    .init("x>3", ["x": "4"], true),
    .init("x>3", ["x": "3"], false),
    .init("x>3", ["x": "abc"], false),
    .init("x>3", [:], false),
    .init("x>3", ["x": "+4"], true),                 // strconv.ParseInt accepts a sign
    .init("x>3", ["x": "99999999999999999999"], false), // out of int64 range
    .init("x>3", ["x": " 4"], false),
    .init("x>007", ["x": "8"], true),
    .init("x<3", ["x": "-1"], true),
    .init("x<3", ["x": "2"], true),
    .init("x<3", ["x": "3"], false),
    .init("x<3", [:], false),
    .init("x=a,y!=b", ["x": "a", "y": "c"], true),
    .init("x=a,y!=b", ["x": "a", "y": "b"], false),
    .init("x=a,y!=b", ["x": "a"], true),
    .init("x in (in)", ["x": "in"], true),
    .init("in in (notin)", ["in": "notin"], true),
    .init("x=", ["x": ""], true),
    .init("x=", ["x": "a"], false),
    .init("x=", [:], false),
    .init("x!=", [:], true),
    .init("x in ()", ["x": ""], true),
    .init("x in (,a)", ["x": ""], true),
    .init("x in (,a)", ["x": "a"], true),
    .init(" x = a ", ["x": "a"], true),
    .init("x\tin\t(a,\n b)", ["x": "b"], true),
    .init("x\r\n=a", ["x": "a"], true),
    .init("example.com/app=web", ["example.com/app": "web"], true),
    .init("example.com/app=web", ["app": "web"], false),
    .init("a,b,!c", ["a": "1", "b": "2"], true),
    .init("a,b,!c", ["a": "1", "b": "2", "c": "3"], false),
    .init("x=a,x=b", ["x": "a"], false),
    .init("x in (a,b),x notin (b)", ["x": "a"], true),
    .init("x>1,x<5", ["x": "3"], true),
    .init("x>1,x<5", ["x": "5"], false),
]

@Test("label selector matching", arguments: labelMatchCases)
func labelMatching(_ c: LabelMatchCase) throws {
    let s = try LabelSelector.parse(c.selector)
    #expect(s.matches(c.labels) == c.expected)
    #expect(s.matches { c.labels[$0] } == c.expected)
    let pairs: [(String, String)] = c.labels.map { ($0.key, $0.value) }
    #expect(s.matches(pairs: pairs) == c.expected)
}

// Non-ASCII value check above must be a valid selector first; verify it is rejected instead.
@Test func nonASCIIValueIsRejected() {
    #expect(throws: SelectorError.self) { try LabelSelector.parse("k=\u{212A}") }
}

let renderCases: [(String, String)] = [
    ("", ""),
    ("x=a", "x=a"),
    ("x==a", "x==a"),
    ("x!=a", "x!=a"),
    ("b=1,a=2", "a=2,b=1"),
    ("x in (c,b,a,b)", "x in (a,b,c)"),
    ("x notin (b,a)", "x notin (a,b)"),
    ("!x", "!x"),
    ("x", "x"),
    ("x>3", "x>3"),
    ("x<3", "x<3"),
    ("  y , !x ", "!x,y"),
    ("x in ()", "x in ()"),
    ("x in (,a)", "x in (,a)"),
    ("x in (a,)", "x in (,a)"),
    ("x in (,,a)", "x in (,a)"),
    ("x=", "x="),
    ("z,a.b/c in (2,1),m!=q", "a.b/c in (1,2),m!=q,z"),
    ("x=b,x=a", "x=b,x=a"),                  // stable for equal keys
    ("Z=1,a=1", "Z=1,a=1"),                  // byte order: 'Z' < 'a'
]

@Test("canonical rendering", arguments: renderCases)
func rendering(_ c: (String, String)) throws {
    let s = try LabelSelector.parse(c.0)
    #expect(s.description == c.1)
    #expect(try LabelSelector.parse(s.description).description == c.1)
}

@Test func requirementStructure() throws {
    let s = try LabelSelector.parse("x in (b,a,b), !y, z>10")
    #expect(s.requirements.map(\.key) == ["x", "y", "z"])
    #expect(s.requirements.map(\.operator) == [.in, .doesNotExist, .greaterThan])
    #expect(s.requirements[0].values == ["a", "b"])
    #expect(s.requirements[1].values == [])
    #expect(s.requirements[2].values == ["10"])
    #expect(LabelSelector.everything.isEmpty)
    #expect(try LabelSelector.parse("").isEmpty)
    #expect(try LabelSelector.parse("a=b").requiresExactMatch("a") == "b")
    #expect(try LabelSelector.parse("a in (b)").requiresExactMatch("a") == "b")
    #expect(try LabelSelector.parse("a in (b,c)").requiresExactMatch("a") == nil)
    #expect(try LabelSelector.parse("a!=b").requiresExactMatch("a") == nil)
}

let valueRegexMsg = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
let nameRegexMsg = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
let dnsMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
let long64 = String(repeating: "a", count: 64)

let invalidLabelCases: [(String, String)] = [
    ("x=a b", "found 'b', expected: ',' or 'end of string'"),
    ("x in a", "unable to parse requirement: found 'a' expected: '('"),
    ("x in (a", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"),
    ("x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier"),
    ("x in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
    ("x in (a,,)", "unable to parse requirement: found ')', expected: ',', or identifier"),
    (",x", "found ',', expected: !, identifier, or 'end of string'"),
    ("=a", "found '=', expected: !, identifier, or 'end of string'"),
    ("x,", "found '', expected: identifier after ','"),
    ("x,,y", "found ',', expected: identifier after ','"),
    ("x!", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"),
    ("x y", "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt"),
    ("x>=1", "unable to parse requirement: found '=', expected: identifier"),
    ("!", "unable to parse requirement: found '', expected: identifier"),
    ("!!x", "unable to parse requirement: found '!', expected: identifier"),
    ("x=(a)", "unable to parse requirement: found '(', expected: identifier"),
    ("x>a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer"),
    ("x>", "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer"),
    ("x>-1", "unable to parse requirement: values[0][x]: Invalid value: \"-1\": " + valueRegexMsg),
    ("x>-a", "unable to parse requirement: [values[0]: Invalid value: \"-a\": for 'Gt', 'Lt' operators, the value must be an integer, values[0][x]: Invalid value: \"-a\": " + valueRegexMsg + "]"),
    ("app=a$b", "unable to parse requirement: values[0][app]: Invalid value: \"a$b\": " + valueRegexMsg),
    ("x in (b$,a$)", "unable to parse requirement: [values[0][x]: Invalid value: \"a$\": " + valueRegexMsg + ", values[1][x]: Invalid value: \"b$\": " + valueRegexMsg + "]"),
    ("x=" + long64, "unable to parse requirement: values[0][x]: Invalid value: \"" + long64 + "\": must be no more than 63 characters"),
    ("a$=b", "unable to parse requirement: <nil>: Invalid value: \"a$\": " + nameRegexMsg),
    ("x=\"q\"", "unable to parse requirement: values[0][x]: Invalid value: \"\\\"q\\\"\": " + valueRegexMsg),
    ("a/b/c=x", "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"),
    ("/a", "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be non-empty"),
    ("Ex.com/a", "unable to parse requirement: <nil>: Invalid value: \"Ex.com/a\": prefix part " + dnsMsg),
    ("a/", "unable to parse requirement: <nil>: Invalid value: \"a/\": name part must be non-empty; " + nameRegexMsg),
    (long64, "unable to parse requirement: <nil>: Invalid value: \"" + long64 + "\": name part must be no more than 63 characters"),
    ("-x", "unable to parse requirement: <nil>: Invalid value: \"-x\": " + nameRegexMsg),
    ("x\u{1}=a", "unable to parse requirement: <nil>: Invalid value: \"x\\x01\": " + nameRegexMsg),
]

@Test("invalid label selectors (apiserver >= 1.22 wording)", arguments: invalidLabelCases)
func invalidLabel(_ c: (String, String)) {
    do {
        let s = try LabelSelector.parse(c.0)
        Issue.record("expected failure, parsed \(s)")
    } catch {
        #expect(error.kind == .invalidLabelSelector)
        #expect(error.message == c.1)
        #expect(error.description == c.1)
    }
}

let legacyCases: [(String, String)] = [
    ("app=a$b", "unable to parse requirement: invalid label value: \"a$b\": at key: \"app\": " + valueRegexMsg),
    ("a$=b", "unable to parse requirement: invalid label key \"a$\": " + nameRegexMsg),
    ("x>a", "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer"),
    ("x>-a", "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer"),
    ("x in (b$,a$)", "unable to parse requirement: invalid label value: \"a$\": at key: \"x\": " + valueRegexMsg),
    ("x,", "found '', expected: identifier after ','"),
    // Checked against kube-apiserver 1.20 by the e2e suite.
    ("a b", "unable to parse requirement: found 'b', expected: '=', '!=', '==', 'in', notin'"),
]

@Test("invalid label selectors (apiserver <= 1.21 wording)", arguments: legacyCases)
func invalidLabelLegacy(_ c: (String, String)) {
    #expect(throws: SelectorError(kind: .invalidLabelSelector, message: c.1)) {
        try LabelSelector.parse(c.0, style: .legacy)
    }
}

@Test func nulByteActsLikeGoLexer() throws {
    // Go's lexer reads a NUL byte as end-of-input at token start.
    #expect(try LabelSelector.parse("a \u{0}junk").description == "a")
    #expect(throws: SelectorError.self) { try LabelSelector.parse("a\u{0}b") }
}

@Test func goQuoteMatchesStrconvQuote() {
    #expect(goQuote("a\"b\\c") == "\"a\\\"b\\\\c\"")
    #expect(goQuote("\t\n\u{7F}\u{0}") == "\"\\t\\n\\x7f\\x00\"")
    #expect(goQuote("héllo") == "\"héllo\"")
    #expect(goQuote("\u{A0}\u{AD}") == "\"\\u00a0\\u00ad\"")
    #expect(goQuote("\u{E0001}") == "\"\\U000e0001\"")
}

@Test func goParseInt() {
    #expect(goParseInt64("0") == 0)
    #expect(goParseInt64("-9223372036854775808") == Int64.min)
    #expect(goParseInt64("9223372036854775807") == Int64.max)
    #expect(goParseInt64("9223372036854775808") == nil)
    #expect(goParseInt64("+12") == 12)
    #expect(goParseInt64("") == nil)
    #expect(goParseInt64("-") == nil)
    #expect(goParseInt64("1_000") == nil)
    #expect(goParseInt64("0x10") == nil)
}
