import Testing
@testable import KubeRequest

@Suite("QueryItems")
struct QueryTests {
    @Test func splitsPairsInOrder() throws {
        let query = QueryItems(parsing: "limit=500&resourceVersion=0&watch=true")
        #expect(query.items == [
            .init(name: "limit", value: "500"),
            .init(name: "resourceVersion", value: "0"),
            .init(name: "watch", value: "true"),
        ])
    }

    @Test func decodesEscapesAndPlus() throws {
        let query = QueryItems(parsing: "labelSelector=app%3Dweb%2Ctier+in+%28a%2Cb%29&x%20y=%E2%9C%93")
        #expect(query["labelSelector"] == "app=web,tier in (a,b)")
        #expect(query["x y"] == "✓")
    }

    @Test func literalPlusNeedsEscaping() throws {
        let query = QueryItems(parsing: "a=1%2B1&b=1+1")
        #expect(query["a"] == "1+1")
        #expect(query["b"] == "1 1")
    }

    @Test func repeatedKeysKeepAllValuesFirstWins() throws {
        let query = QueryItems(parsing: "watch=false&watch=true&container=a&container=b")
        #expect(query["watch"] == "false")
        #expect(query.values(for: "container") == ["a", "b"])
        #expect(query.values(for: "missing") == [])
    }

    @Test func valuelessAndEmptyParts() throws {
        let query = QueryItems(parsing: "&&verbose&=orphan&a=&b==c&")
        #expect(query.items == [
            .init(name: "verbose", value: ""),
            .init(name: "", value: "orphan"),
            .init(name: "a", value: ""),
            .init(name: "b", value: "=c"),
        ])
        #expect(query.contains("verbose"))
        #expect(query["verbose"] == "")
        #expect(!query.contains("c"))
    }

    @Test func emptyQuery() throws {
        let query = QueryItems(parsing: "")
        #expect(query.isEmpty)
        #expect(query["a"] == nil)
        #expect(Array(query).isEmpty)
    }

    @Test func isASequence() throws {
        let names = QueryItems(parsing: "a=1&b=2").map(\.name)
        #expect(names == ["a", "b"])
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var raw: String
        var kept: [QueryItems.Item]
        var dropped: [QueryError]
        var testDescription: String { raw }
    }

    /// Go's url.ParseQuery drops a pair it cannot decode and keeps the rest, and the apiserver
    /// then acts as if the pair was never sent.
    static let bad: [Bad] = [
        .init(raw: "a=%zz", kept: [], dropped: [.init(kind: .invalidPercentEscape("%zz"), offset: 2)]),
        .init(raw: "a=1&b=%4", kept: [.init(name: "a", value: "1")],
              dropped: [.init(kind: .invalidPercentEscape("%4"), offset: 6)]),
        .init(raw: "ok=1&%=x", kept: [.init(name: "ok", value: "1")],
              dropped: [.init(kind: .invalidPercentEscape("%=x"), offset: 5)]),
        .init(raw: "a=%", kept: [], dropped: [.init(kind: .invalidPercentEscape("%"), offset: 2)]),
        .init(raw: "labelSelector=%zz&labelSelector=app%3Da", kept: [.init(name: "labelSelector", value: "app=a")],
              dropped: [.init(kind: .invalidPercentEscape("%zz"), offset: 14)]),
        .init(raw: "a=1;b=2", kept: [], dropped: [.init(kind: .semicolonSeparator, offset: 3)]),
        .init(raw: "labelSelector=app=a&x=y;z", kept: [.init(name: "labelSelector", value: "app=a")],
              dropped: [.init(kind: .semicolonSeparator, offset: 23)]),
    ]

    @Test(arguments: bad)
    func dropsPairsGoCannotDecode(_ bad: Bad) {
        let query = QueryItems(parsing: bad.raw)
        #expect(query.items == bad.kept)
        #expect(query.dropped == bad.dropped)
    }

    @Test func droppedPairMessages() {
        #expect(QueryError(kind: .invalidPercentEscape("%zz"), offset: 2).message
                == "invalid query string: invalid URL escape \"%zz\" at offset 2")
        #expect(QueryError(kind: .semicolonSeparator, offset: 3).description
                == "invalid query string: invalid semicolon separator at offset 3")
    }

    /// Go keeps escapes that are not UTF-8 as raw bytes; errors quote them as `\xff`.
    @Test func keepsInvalidUTF8ValuesWithTheirBytes() {
        let query = QueryItems(parsing: "x=1&resourceVersion=%FF&a=%C3%28")
        #expect(query["x"] == "1")
        let rv = query.first("resourceVersion")
        #expect(rv?.invalidUTF8Bytes == [0xFF])
        #expect(rv?.goQuotedValue == "\"\\xff\"")
        #expect(query.first("a")?.goQuotedValue == "\"\\xc3(\"")
        #expect(query.first("x")?.invalidUTF8Bytes == nil)
    }

    @Test func substringInput() throws {
        let target = "/x?a=1&b=2"
        let raw = target[target.index(after: target.firstIndex(of: "?")!)...]
        #expect(QueryItems(parsing: raw)["b"] == "2")
    }
}
