import Testing
@testable import KubeRequest

private func read(_ query: String, own: String = "") throws(APIStatus) -> ListReadPlan {
    let options = try! ListOptions.decode(QueryItems(parsing: query))
    return try options.listRead(ownToken: { !own.isEmpty && $0 == own })
}

private func refusal(_ query: String) -> APIStatus? {
    do {
        _ = try read(query)
        return nil
    } catch {
        return error
    }
}

/// Where kube-apiserver 1.20's storage reads a list from, and what it refuses before reading
/// (each expectation measured against the lab's apiserver; see tests/e2e/test_param_parity.py).
@Suite("ResourceVersionRead")
struct ResourceVersionReadTests {
    static let readCases: [(String, ListReadPlan)] = [
        ("", .init(read: .latest, limit: 0)),
        ("limit=2", .init(read: .latest, limit: 2)),
        ("limit=-1", .init(read: .latest, limit: 0)),
        // The watch cache serves a set resourceVersion and ignores limit when it is "0".
        ("resourceVersion=0&limit=1", .init(read: .latest, limit: 0)),
        ("resourceVersion=7", .init(read: .notOlderThan(7, retryAfterSeconds: 1), limit: 0)),
        ("resourceVersion=01", .init(read: .notOlderThan(1, retryAfterSeconds: 1), limit: 0)),
        ("resourceVersion=7&resourceVersionMatch=NotOlderThan", .init(read: .notOlderThan(7, retryAfterSeconds: 1), limit: 0)),
        // etcd serves paged lists: a legacy paged read from a version reads exactly it.
        ("resourceVersion=7&limit=1", .init(read: .exact(7), limit: 1)),
        ("resourceVersion=7&limit=1&resourceVersionMatch=NotOlderThan", .init(read: .notOlderThan(7, retryAfterSeconds: 0), limit: 1)),
        ("resourceVersion=7&resourceVersionMatch=Exact", .init(read: .exact(7), limit: 0)),
        ("continue=own", .init(read: .continuing(.own("own")), limit: 0)),
        ("continue=own&resourceVersion=0&limit=3", .init(read: .continuing(.own("own")), limit: 3)),
    ]

    @Test(arguments: readCases)
    func reads(_ query: String, _ expected: ListReadPlan) throws {
        #expect(try read(query, own: "own") == expected)
    }

    static let refusedCases: [(String, Int, String)] = [
        ("resourceVersion=abc", 500, "resourceVersion: Invalid value: \"abc\": strconv.ParseUint: parsing \"abc\": invalid syntax"),
        ("resourceVersion=-1", 500, "resourceVersion: Invalid value: \"-1\": strconv.ParseUint: parsing \"-1\": invalid syntax"),
        ("resourceVersion=%2B5", 500, "resourceVersion: Invalid value: \"+5\": strconv.ParseUint: parsing \"+5\": invalid syntax"),
        ("resourceVersion=%FF", 500, "resourceVersion: Invalid value: \"\\xff\": strconv.ParseUint: parsing \"\\xff\": invalid syntax"),
        ("resourceVersion=99999999999999999999999", 500,
         "resourceVersion: Invalid value: \"99999999999999999999999\": strconv.ParseUint: parsing \"99999999999999999999999\": value out of range"),
        ("resourceVersion=abc&limit=1", 400,
         "invalid resource version: resourceVersion: Invalid value: \"abc\": strconv.ParseUint: parsing \"abc\": invalid syntax"),
        ("resourceVersion=abc&resourceVersionMatch=Exact", 400,
         "invalid resource version: resourceVersion: Invalid value: \"abc\": strconv.ParseUint: parsing \"abc\": invalid syntax"),
        ("resourceVersion=abc&continue=garbage", 400,
         "invalid resource version: resourceVersion: Invalid value: \"abc\": strconv.ParseUint: parsing \"abc\": invalid syntax"),
        ("continue=garbage", 400,
         "invalid continue token: continue key is not valid: invalid character '\\u0081' looking for beginning of value"),
        ("continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6LTEsInN0YXJ0IjoiY20tMFx1MDAwMCJ9&resourceVersion=5", 400,
         "specifying resource version is not allowed when using continue"),
    ]

    @Test(arguments: refusedCases)
    func refuses(_ query: String, _ code: Int, _ message: String) throws {
        let status = try #require(refusal(query))
        #expect(status.code == code)
        #expect(status.reason == (code == 400 ? "BadRequest" : ""))
        #expect(status.message == message)
    }

    @Test func watchParsesEvenAnEmptyVersion() throws {
        #expect(try ListOptions.decode(QueryItems(parsing: "watch=1")).watchResourceVersion() == 0)
        #expect(try ListOptions.decode(QueryItems(parsing: "watch=1&resourceVersion=9")).watchResourceVersion() == 9)
        #expect(throws: APIStatus.self) { try ListOptions.decode(QueryItems(parsing: "watch=1&resourceVersion=x")).watchResourceVersion() }
    }

    @Test(arguments: [("", nil), ("timeoutSeconds=0", nil), ("timeoutSeconds=5", 5), ("timeoutSeconds=-1", 0)] as [(String, Int64?)])
    func watchTimeouts(_ query: String, _ expected: Int64?) throws {
        #expect(try ListOptions.decode(QueryItems(parsing: query)).watchTimeoutSeconds == expected)
    }

    @Test func tooLargeStatusIsTheWatchCaches() {
        let s = APIStatus.tooLargeResourceVersion(99, current: 12, retryAfterSeconds: 1)
        #expect(s.code == 504 && s.reason == "Timeout")
        #expect(s.message == "Timeout: Too large resource version: 99, current: 12")
        #expect(s.causes == [.init(reason: "ResourceVersionTooLarge", message: "Too large resource version")])
    }
}

/// etcd3's `decodeContinue` with Go's base64 and encoding/json errors.
@Suite("APIContinueToken")
struct APIContinueTokenTests {
    static func b64(_ s: String) -> String { Base64URL.encode(Array(s.utf8)) }

    static let badTokens: [(String, String)] = [
        ("garbage", "invalid character '\\u0081' looking for beginning of value"),
        ("a", "illegal base64 data at input byte 0"),
        ("ab==", "illegal base64 data at input byte 2"),
        ("abcde", "illegal base64 data at input byte 4"),
        ("outpost1.00", "illegal base64 data at input byte 8"),
        ("Zm9v", "invalid character 'o' in literal false (expecting 'a')"),
        ("WzFd", "json: cannot unmarshal array into Go value of type etcd3.continueToken"),
        ("eyJ2Ijo", "unexpected end of JSON input"),
        (b64("{\"v\":\"x\"}"), "server does not recognize this encoded version \"x\""),
        (b64("{}"), "server does not recognize this encoded version \"\""),
        (b64("null"), "server does not recognize this encoded version \"\""),
        (b64("\"s\""), "json: cannot unmarshal string into Go value of type etcd3.continueToken"),
        (b64("{\"v\":\"meta.k8s.io/v1\",\"rv\":0,\"start\":\"x\"}"), "incorrect encoded start resourceVersion (version meta.k8s.io/v1)"),
        (b64("{\"v\":\"meta.k8s.io/v1\",\"rv\":5,\"start\":\"\"}"), "encoded start key empty (version meta.k8s.io/v1)"),
        (b64("{\"v\":\"meta.k8s.io/v1\",\"rv\":5,\"start\":\"a/../b\"}"), "a/../b"),
        (b64("{\"v\":\"meta.k8s.io/v1\",\"rv\":5,\"start\":\"a/\"}"), "a/"),
        (b64("{\"v\":\"meta.k8s.io/v1\",\"rv\":\"-5\",\"start\":\"x\"}"), "json: cannot unmarshal string into Go struct field continueToken.rv of type int64"),
        (b64("{\"v\":\"meta.k8s.io/v1\",\"rv\":1.5,\"start\":\"x\"}"), "json: cannot unmarshal number 1.5 into Go struct field continueToken.rv of type int64"),
        (b64("{\"v\":\"meta.k8s.io/v1\",\"rv\":5,\"start\":7}"), "json: cannot unmarshal number into Go struct field continueToken.start of type string"),
        (b64("{\"v\":\"meta.k8s.io/v1\",\"rv\":5 \"start\":\"x\"}"), "invalid character '\"' after object key:value pair"),
        (b64("{\"v\":tru}"), "invalid character '}' in literal true (expecting 'e')"),
        (b64("{\"v\":\"a\\qb\"}"), "invalid character 'q' in string escape code"),
        (b64("{\"v\" 1}"), "invalid character '1' after object key"),
        (b64("{1}"), "invalid character '1' looking for beginning of object key string"),
        (b64("[1 2]"), "invalid character '2' after array element"),
        (b64("{} x"), "invalid character 'x' after top-level value"),
        (b64("-x"), "invalid character 'x' in numeric literal"),
        (b64("1.x"), "invalid character 'x' after decimal point in numeric literal"),
        (b64("1ex"), "invalid character 'x' in exponent of numeric literal"),
        (b64("\"\\u12x4\""), "invalid character 'x' in \\u hexadecimal character escape"),
        (b64("\"a\u{1}\""), "invalid character '\\x01' in string literal"),
        (b64("'"), "invalid character '\\'' looking for beginning of value"),
    ]

    @Test(arguments: badTokens)
    func refuses(_ token: String, _ detail: String) {
        do {
            let decoded = try APIContinueToken(decoding: token)
            Issue.record("decoded \(decoded)")
        } catch {
            #expect(error.message == "continue key is not valid: " + detail)
        }
    }

    @Test func decodesTheApiserversTokens() throws {
        // Keys match case-insensitively and unknown keys are ignored, as encoding/json does.
        let token = Self.b64("{\"V\":\"meta.k8s.io/v1\",\"rv\":-1,\"Start\":\"cm-0\\u0000\",\"x\":[1,{}]}")
        #expect(try APIContinueToken(decoding: token) == .apiserver(resourceVersion: -1, startKey: "cm-0\u{0}"))
    }

    @Test func encodesLikeEtcd3AndRoundTrips() throws {
        let token = APIContinueToken.encode(resourceVersion: -1, startKey: "cm-0\u{0}")
        #expect(token == "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6LTEsInN0YXJ0IjoiY20tMFx1MDAwMCJ9")
        #expect(try APIContinueToken(decoding: token) == .apiserver(resourceVersion: -1, startKey: "cm-0\u{0}"))
    }
}

@Suite("Go text")
struct GoTextTests {
    @Test func quotesLikeGo() {
        #expect(goQuote("a\"b\u{1}\n") == "\"a\\\"b\\x01\\n\"")
        #expect(goQuote("\u{81}é\u{A0}") == "\"\\u0081é\\u00a0\"")
        #expect(goQuote(bytes: [0x61, 0xFF, 0xC3, 0xA9]) == "\"a\\xffé\"")
        #expect(goQuoteChar(0x81) == "'\\u0081'")
        #expect(goQuoteChar(0xA5) == "'¥'")
    }
}
