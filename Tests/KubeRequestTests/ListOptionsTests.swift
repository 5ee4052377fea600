import Testing
@testable import KubeRequest

private func options(_ raw: String, watchList: Bool = true) throws -> ListOptions {
    try ListOptions(query: QueryItems(parsing: raw), watchListFeatureEnabled: watchList)
}

private func listError(_ raw: String, watchList: Bool = true) -> ListOptionsError? {
    do {
        _ = try ListOptions(query: try QueryItems(parsing: raw), watchListFeatureEnabled: watchList)
        return nil
    } catch let error as ListOptionsError {
        return error
    } catch {
        Issue.record("unexpected \(error)")
        return nil
    }
}

@Suite("ListOptions: decoding")
struct ListOptionsDecodingTests {
    @Test func defaultsWhenAbsent() throws {
        let decoded = try options("")
        #expect(decoded == ListOptions())
        #expect(decoded.labelSelector == "")
        #expect(decoded.fieldSelector == "")
        #expect(decoded.watch == false)
        #expect(decoded.allowWatchBookmarks == false)
        #expect(decoded.resourceVersion == "")
        #expect(decoded.resourceVersionMatch == nil)
        #expect(decoded.timeoutSeconds == nil)
        #expect(decoded.limit == 0)
        #expect(decoded.continueToken == "")
        #expect(decoded.sendInitialEvents == nil)
    }

    @Test func kubectlStyleList() throws {
        let decoded = try options("labelSelector=app%3Dweb%2Cenv%21%3Dprod&fieldSelector=status.phase%3DRunning&limit=500&resourceVersion=12345&resourceVersionMatch=NotOlderThan")
        #expect(decoded.labelSelector == "app=web,env!=prod")
        #expect(decoded.fieldSelector == "status.phase=Running")
        #expect(decoded.limit == 500)
        #expect(decoded.resourceVersion == "12345")
        #expect(decoded.resourceVersionMatch == .notOlderThan)
        #expect(decoded.watch == false)
    }

    @Test func informerStyleWatch() throws {
        let decoded = try options("allowWatchBookmarks=true&resourceVersion=987&timeoutSeconds=431&watch=true")
        #expect(decoded.watch)
        #expect(decoded.allowWatchBookmarks)
        #expect(decoded.resourceVersion == "987")
        #expect(decoded.timeoutSeconds == 431)
    }

    @Test func streamingListWatch() throws {
        let decoded = try options("watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=1")
        #expect(decoded.watch)
        #expect(decoded.sendInitialEvents == true)
        #expect(decoded.resourceVersionMatch == .notOlderThan)
    }

    @Test func continuePaging() throws {
        let decoded = try options("limit=2&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ%3D%3D")
        #expect(decoded.limit == 2)
        #expect(decoded.continueToken == "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ==")
    }

    @Test(arguments: [
        ("true", true), ("1", true), ("TRUE", true), ("yes", true), ("", true), ("anything", true),
        ("false", false), ("False", false), ("FALSE", false), ("0", false),
    ])
    func booleansFollowApimachinery(_ raw: String, _ expected: Bool) throws {
        #expect(try options("watch=" + raw).watch == expected)
        #expect(try options("allowWatchBookmarks=" + raw).allowWatchBookmarks == expected)
    }

    @Test func firstValueWins() throws {
        let decoded = try options("limit=5&limit=x&watch=0&watch=1")
        #expect(decoded.limit == 5)
        #expect(decoded.watch == false)
    }

    @Test(arguments: [
        ("0", Int64(0)), ("%2B7", 7), ("-1", -1), ("9223372036854775807", Int64.max),
        ("-9223372036854775808", Int64.min),
    ])
    func limitRange(_ raw: String, _ expected: Int64) throws {
        #expect(try options("limit=" + raw).limit == expected)
    }

    @Test func unknownParametersIgnored() throws {
        #expect(try options("pretty=true&orphanDependents=false&dryRun=All") == ListOptions())
    }

    @Test func emptyResourceVersionMatchIsAbsent() throws {
        #expect(try options("resourceVersionMatch=").resourceVersionMatch == nil)
    }

    @Test func decodeDoesNotValidate() throws {
        let decoded = try ListOptions.decode(QueryItems(parsing: "sendInitialEvents=true"))
        #expect(decoded.sendInitialEvents == true)
        #expect(throws: ListOptionsError.self) { try decoded.validate() }
    }
}

@Suite("ListOptions: errors")
struct ListOptionsErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var query: String
        var kind: ListOptionsError.Kind
        var message: String
        var watchList = true
        var testDescription: String { query }
    }

    static let cases: [Case] = [
        .init(query: "limit=abc", kind: .badRequest,
              message: "limit: Invalid value: \"abc\": must be a base-10 64-bit integer"),
        .init(query: "limit=", kind: .badRequest,
              message: "limit: Invalid value: \"\": must be a base-10 64-bit integer"),
        .init(query: "limit=1.5", kind: .badRequest,
              message: "limit: Invalid value: \"1.5\": must be a base-10 64-bit integer"),
        .init(query: "limit=%2B", kind: .badRequest,
              message: "limit: Invalid value: \"+\": must be a base-10 64-bit integer"),
        // In a query `+` is a space, so an unescaped plus sign is not a sign.
        .init(query: "limit=+7", kind: .badRequest,
              message: "limit: Invalid value: \" 7\": must be a base-10 64-bit integer"),
        .init(query: "limit=%2010", kind: .badRequest,
              message: "limit: Invalid value: \" 10\": must be a base-10 64-bit integer"),
        .init(query: "limit=9223372036854775808", kind: .badRequest,
              message: "limit: Invalid value: \"9223372036854775808\": must be a base-10 64-bit integer"),
        .init(query: "timeoutSeconds=10s", kind: .badRequest,
              message: "timeoutSeconds: Invalid value: \"10s\": must be a base-10 64-bit integer"),
        .init(query: "fieldSelector=metadata.name", kind: .badRequest,
              message: "fieldSelector: Invalid value: \"metadata.name\": invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
        .init(query: "fieldSelector=a%3Db%5Cx", kind: .badRequest,
              message: "fieldSelector: Invalid value: \"a=b\\\\x\": invalid field selector: invalid escape sequence: \\x"),
        .init(query: "fieldSelector=a%3Db%3Dc", kind: .badRequest,
              message: "fieldSelector: Invalid value: \"a=b=c\": invalid field selector: unescaped character = in value"),
        // List validation.
        .init(query: "resourceVersionMatch=Exact", kind: .invalid,
              message: "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"),
        .init(query: "resourceVersion=0&resourceVersionMatch=Exact", kind: .invalid,
              message: "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\""),
        .init(query: "resourceVersion=0&resourceVersionMatch=foo", kind: .invalid,
              message: "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Unsupported value: \"foo\": supported values: \"Exact\", \"NotOlderThan\", \"\""),
        .init(query: "resourceVersion=5&resourceVersionMatch=NotOlderThan&continue=tok", kind: .invalid,
              message: "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided"),
        .init(query: "resourceVersionMatch=exact", kind: .invalid,
              message: "ListOptions.meta.k8s.io \"\" is invalid: [resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided, resourceVersionMatch: Unsupported value: \"exact\": supported values: \"Exact\", \"NotOlderThan\", \"\"]"),
        .init(query: "sendInitialEvents=true", kind: .invalid,
              message: "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"),
        // Watch validation.
        .init(query: "watch=true&resourceVersionMatch=NotOlderThan", kind: .invalid,
              message: "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"),
        .init(query: "watch=true&sendInitialEvents=true", kind: .invalid,
              message: "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"),
        .init(query: "watch=true&sendInitialEvents=true&resourceVersionMatch=Exact", kind: .invalid,
              message: "ListOptions.meta.k8s.io \"\" is invalid: [resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, resourceVersionMatch: Unsupported value: \"Exact\": supported values: \"NotOlderThan\"]"),
        .init(query: "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan", kind: .invalid,
              message: "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled",
              watchList: false),
        .init(query: "watch=true&sendInitialEvents=false&resourceVersionMatch=NotOlderThan&continue=x", kind: .invalid,
              message: "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided"),
    ]

    @Test(arguments: cases)
    func rejects(_ expected: Case) throws {
        let error = try #require(listError(expected.query, watchList: expected.watchList))
        #expect(error.kind == expected.kind)
        #expect(error.message == expected.message)
        #expect(error.statusCode == (expected.kind == .badRequest ? 400 : 422))
        #expect(error.reason == (expected.kind == .badRequest ? "BadRequest" : "Invalid"))
    }

    @Test func limitErrorCarriesFieldDetails() throws {
        let error = try #require(listError("limit=ten"))
        #expect(error.causes == [FieldError(field: "limit", type: .invalid(value: "ten"),
                                            detail: "must be a base-10 64-bit integer")])
        #expect(error.message.hasPrefix("limit: Invalid value"))
    }

    @Test(arguments: [
        "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true",
        "watch=true&sendInitialEvents=false&resourceVersionMatch=NotOlderThan",
        "resourceVersion=1&resourceVersionMatch=Exact",
        "resourceVersion=0&resourceVersionMatch=NotOlderThan",
        "watch=true&resourceVersion=0&allowWatchBookmarks=true&timeoutSeconds=300",
        "limit=-5",
    ])
    func accepts(_ query: String) throws {
        _ = try options(query)
    }

    @Test func fieldErrorFormatsControlCharactersLikeGo() {
        let error = FieldError(field: "limit", type: .invalid(value: "a\"b\u{1}"), detail: "x")
        #expect(error.description == "limit: Invalid value: \"a\\\"b\\x01\": x")
    }
}
