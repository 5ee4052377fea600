import Testing
@testable import KubeRequest

@Suite("QueryItems")
struct QueryTests {
    @Test func splitsPairsInOrder() throws {
        let query = try QueryItems(parsing: "limit=500&resourceVersion=0&watch=true")
        #expect(query.items == [
            .init(name: "limit", value: "500"),
            .init(name: "resourceVersion", value: "0"),
            .init(name: "watch", value: "true"),
        ])
    }

    @Test func decodesEscapesAndPlus() throws {
        let query = try QueryItems(parsing: "labelSelector=app%3Dweb%2Ctier+in+%28a%2Cb%29&x%20y=%E2%9C%93")
        #expect(query["labelSelector"] == "app=web,tier in (a,b)")
        #expect(query["x y"] == "✓")
    }

    @Test func literalPlusNeedsEscaping() throws {
        let query = try QueryItems(parsing: "a=1%2B1&b=1+1")
        #expect(query["a"] == "1+1")
        #expect(query["b"] == "1 1")
    }

    @Test func repeatedKeysKeepAllValuesFirstWins() throws {
        let query = try QueryItems(parsing: "watch=false&watch=true&container=a&container=b")
        #expect(query["watch"] == "false")
        #expect(query.values(for: "container") == ["a", "b"])
        #expect(query.values(for: "missing") == [])
    }

    @Test func valuelessAndEmptyParts() throws {
        let query = try QueryItems(parsing: "&&verbose&=orphan&a=&b==c&")
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
        let query = try QueryItems(parsing: "")
        #expect(query.isEmpty)
        #expect(query["a"] == nil)
        #expect(Array(query).isEmpty)
    }

    @Test func isASequence() throws {
        let names = try QueryItems(parsing: "a=1&b=2").map(\.name)
        #expect(names == ["a", "b"])
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var raw: String
        var error: QueryError
        var message: String
        var testDescription: String { raw }
    }

    static let bad: [Bad] = [
        .init(raw: "a=%zz", error: .init(kind: .invalidPercentEscape("%zz"), offset: 2),
              message: "invalid query string: invalid URL escape \"%zz\" at offset 2"),
        .init(raw: "a=1&b=%4", error: .init(kind: .invalidPercentEscape("%4"), offset: 6),
              message: "invalid query string: invalid URL escape \"%4\" at offset 6"),
        .init(raw: "ok=1&%=x", error: .init(kind: .invalidPercentEscape("%=x"), offset: 5),
              message: "invalid query string: invalid URL escape \"%=x\" at offset 5"),
        .init(raw: "a=%", error: .init(kind: .invalidPercentEscape("%"), offset: 2),
              message: "invalid query string: invalid URL escape \"%\" at offset 2"),
        .init(raw: "x=1&a=%FF", error: .init(kind: .invalidUTF8, offset: 4),
              message: "invalid query string: percent-escapes at offset 4 do not decode to UTF-8"),
        .init(raw: "a=%C3%28", error: .init(kind: .invalidUTF8, offset: 0),
              message: "invalid query string: percent-escapes at offset 0 do not decode to UTF-8"),
        .init(raw: "a=1;b=2", error: .init(kind: .semicolonSeparator, offset: 3),
              message: "invalid query string: invalid semicolon separator at offset 3"),
    ]

    @Test(arguments: bad)
    func rejects(_ bad: Bad) {
        do {
            _ = try QueryItems(parsing: bad.raw)
            Issue.record("expected \(bad.error)")
        } catch {
            #expect(error == bad.error)
            #expect(error.message == bad.message)
            #expect(error.description == bad.message)
        }
    }

    @Test func substringInput() throws {
        let target = "/x?a=1&b=2"
        let raw = target[target.index(after: target.firstIndex(of: "?")!)...]
        #expect(try QueryItems(parsing: raw)["b"] == "2")
    }
}
