import Testing
@testable import KubeRequest

private func options(_ raw: String, watchList: Bool = true) throws -> ListOptions {
    try ListOptions(query: QueryItems(parsing: raw), watchListFeatureEnabled: watchList)
}

private func listError(_ raw: String, watchList: Bool = true) -> ListOptionsError? {
    do {
        _ = try ListOptions(query: QueryItems(parsing: raw), watchListFeatureEnabled: watchList)
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
        // The apiserver passes strconv's error on as the whole message (measured on 1.20).
        .init(query: "limit=abc", kind: .badRequest, message: "strconv.ParseInt: parsing \"abc\": invalid syntax"),
        .init(query: "limit=", kind: .badRequest, message: "strconv.ParseInt: parsing \"\": invalid syntax"),
        .init(query: "limit=1.5", kind: .badRequest, message: "strconv.ParseInt: parsing \"1.5\": invalid syntax"),
        .init(query: "limit=0x10", kind: .badRequest, message: "strconv.ParseInt: parsing \"0x10\": invalid syntax"),
        .init(query: "limit=%2B", kind: .badRequest, message: "strconv.ParseInt: parsing \"+\": invalid syntax"),
        // In a query `+` is a space, so an unescaped plus sign is not a sign.
        .init(query: "limit=+7", kind: .badRequest, message: "strconv.ParseInt: parsing \" 7\": invalid syntax"),
        .init(query: "limit=%2010", kind: .badRequest, message: "strconv.ParseInt: parsing \" 10\": invalid syntax"),
        .init(query: "limit=9223372036854775808", kind: .badRequest,
              message: "strconv.ParseInt: parsing \"9223372036854775808\": value out of range"),
        .init(query: "limit=-9223372036854775809", kind: .badRequest,
              message: "strconv.ParseInt: parsing \"-9223372036854775809\": value out of range"),
        .init(query: "limit=%FF", kind: .badRequest, message: "strconv.ParseInt: parsing \"\\xff\": invalid syntax"),
        .init(query: "timeoutSeconds=10s", kind: .badRequest, message: "strconv.ParseInt: parsing \"10s\": invalid syntax"),
        // timeoutSeconds is decoded before limit; the first value of each counts.
        .init(query: "limit=y&timeoutSeconds=x", kind: .badRequest, message: "strconv.ParseInt: parsing \"x\": invalid syntax"),
        .init(query: "limit=abc&limit=1", kind: .badRequest, message: "strconv.ParseInt: parsing \"abc\": invalid syntax"),
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

    @Test func integerErrorIsABareMessage() throws {
        let error = try #require(listError("limit=ten"))
        #expect(error.causes.isEmpty)
        #expect(error.status == APIStatus(code: 400, reason: "BadRequest", message: "strconv.ParseInt: parsing \"ten\": invalid syntax"))
    }

    @Test func invalidStatusCarriesCauses() throws {
        let error = try #require(listError("resourceVersionMatch=bad&continue=x"))
        let status = error.status
        #expect(status.code == 422 && status.reason == "Invalid")
        #expect(status.group == "meta.k8s.io" && status.kind == "ListOptions")
        #expect(status.causes == [
            .init(reason: "FieldValueForbidden", message: "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided", field: "resourceVersionMatch"),
            .init(reason: "FieldValueForbidden", message: "Forbidden: resourceVersionMatch is forbidden when continue is provided", field: "resourceVersionMatch"),
            .init(reason: "FieldValueNotSupported", message: "Unsupported value: \"bad\": supported values: \"Exact\", \"NotOlderThan\", \"\"", field: "resourceVersionMatch"),
        ])
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

/// apiserver 1.20–1.26 validate list options with one set of checks for lists and watches and
/// do not know `sendInitialEvents` (the lab's 1.20 answers, measured).
@Suite("ListOptions: 1.20 validation")
struct LegacyValidationTests {
    static let cases: [(String, String?)] = [
        ("watch=1&resourceVersionMatch=NotOlderThan",
         "ListOptions.meta.k8s.io \"\" is invalid: [resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch, resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided]"),
        ("watch=1&resourceVersionMatch=NotOlderThan&resourceVersion=0&sendInitialEvents=true",
         "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch"),
        ("watch=1&resourceVersionMatch=bad&resourceVersion=0&continue=x",
         "ListOptions.meta.k8s.io \"\" is invalid: [resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch, resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided, resourceVersionMatch: Unsupported value: \"bad\": supported values: \"Exact\", \"NotOlderThan\", \"\"]"),
        ("resourceVersionMatch=Exact&resourceVersion=0",
         "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\""),
        ("sendInitialEvents=true", nil),
        ("watch=1&sendInitialEvents=true", nil),
        ("resourceVersionMatch=NotOlderThan&resourceVersion=0&sendInitialEvents=false", nil),
    ]

    @Test(arguments: cases)
    func validates(_ query: String, _ message: String?) throws {
        let options = try ListOptions.decode(QueryItems(parsing: query))
        do {
            try options.validate(rules: .beforeWatchList)
            #expect(message == nil)
        } catch {
            #expect(error.message == message)
            #expect(error.statusCode == 422)
        }
    }

    @Test func rulesFollowTheMinorVersion() {
        #expect(ListOptions.ValidationRules.forMinorVersion(20) == .beforeWatchList)
        #expect(ListOptions.ValidationRules.forMinorVersion(26) == .beforeWatchList)
        #expect(ListOptions.ValidationRules.forMinorVersion(27) == .watchList(featureEnabled: true))
        #expect(ListOptions.ValidationRules.forMinorVersion(nil) == .watchList(featureEnabled: true))
    }
}
