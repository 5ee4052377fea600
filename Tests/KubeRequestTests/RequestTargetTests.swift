import Testing
@testable import KubeRequest

@Suite("RequestTarget: splitting, decoding and refusing")
struct RequestTargetTests {
    @Test func splitsPathAndQuery() throws {
        let target = try RequestTarget("/api/v1/pods?limit=10&continue=abc")
        #expect(target.path == "/api/v1/pods")
        #expect(target.segments == ["api", "v1", "pods"])
        #expect(target.rawQuery == "limit=10&continue=abc")
        #expect(target.query["limit"] == "10")
        #expect(target.query["continue"] == "abc")
    }

    @Test func rootAndSlashOnlyPaths() throws {
        #expect(try RequestTarget("/").segments == [])
        #expect(try RequestTarget("//").segments == [])
        #expect(try RequestTarget("///").path == "/")
        #expect(try RequestTarget("/?x=1").query["x"] == "1")
    }

    @Test func decodesSegmentsButNotPlus() throws {
        let target = try RequestTarget("/api/v1/namespaces/a+b/configmaps/%E2%9C%93")
        #expect(target.segments == ["api", "v1", "namespaces", "a+b", "configmaps", "✓"])
        #expect(target.path == "/api/v1/namespaces/a+b/configmaps/✓")
    }

    @Test func keepsTrailingSlashInPathButNotInSegments() throws {
        let target = try RequestTarget("/apis/apps/v1/")
        #expect(target.path == "/apis/apps/v1/")
        #expect(target.segments == ["apis", "apps", "v1"])
        // Any number of trailing slashes is trimmed, as the apiserver does.
        #expect(try RequestTarget("/api/v1/pods//").segments == ["api", "v1", "pods"])
    }

    @Test func emptyQueryAfterQuestionMark() throws {
        let target = try RequestTarget("/version?")
        #expect(target.rawQuery == "")
        #expect(target.query.isEmpty)
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var target: String
        var error: RequestTargetError
        var testDescription: String { target.debugDescription }
    }

    static let refused: [Bad] = [
        .init(target: "", error: .empty),
        .init(target: "api/v1/pods", error: .notOriginForm),
        .init(target: "*", error: .notOriginForm),
        .init(target: "https://kube:6443/api/v1/pods", error: .notOriginForm),
        .init(target: "/api/v1/pods list", error: .invalidCharacter(offset: 12)),
        .init(target: "/api/v1/pods\r\n", error: .invalidCharacter(offset: 12)),
        .init(target: "/api/v1/pods#frag", error: .invalidCharacter(offset: 12)),
        .init(target: "/api/v1/namespaces/ü/pods", error: .invalidCharacter(offset: 19)),
        .init(target: "/api/v1/pods/%zz", error: .invalidPercentEscape(offset: 13)),
        .init(target: "/api/v1/pods/%4", error: .invalidPercentEscape(offset: 13)),
        .init(target: "/api/v1/pods/abc%", error: .invalidPercentEscape(offset: 16)),
        .init(target: "/api/v1/namespaces/a%2Fb/pods", error: .encodedSlash(offset: 19)),
        .init(target: "/api/v1/namespaces/a%2fb/pods", error: .encodedSlash(offset: 19)),
        .init(target: "/api/v1/pods/a%00b", error: .encodedControlCharacter(offset: 13)),
        .init(target: "/api/v1/pods/%0A", error: .encodedControlCharacter(offset: 13)),
        .init(target: "/api/v1/pods/%FF%FE", error: .invalidUTF8(offset: 13)),
        .init(target: "/api/v1/pods/%C3", error: .invalidUTF8(offset: 13)),
        .init(target: "/api/v1/pods/%ED%A0%80", error: .invalidUTF8(offset: 13)),
        .init(target: "/api//v1/pods", error: .emptySegment(offset: 5)),
        .init(target: "//api/v1/pods", error: .emptySegment(offset: 1)),
        .init(target: "/api/v1/namespaces/../secrets", error: .dotSegment(offset: 19)),
        .init(target: "/api/v1/namespaces/./pods", error: .dotSegment(offset: 19)),
        .init(target: "/api/v1/namespaces/%2E%2E/secrets", error: .dotSegment(offset: 19)),
        .init(target: "/..", error: .dotSegment(offset: 1)),
    ]

    @Test(arguments: refused)
    func refuses(_ bad: Bad) {
        #expect(throws: bad.error) {
            try RequestTarget(bad.target)
        }
    }

    @Test func requestInfoWrapsTargetErrors() {
        #expect(throws: RequestInfoError.invalidTarget(.encodedSlash(offset: 19))) {
            try RequestInfo(method: "GET", target: "/api/v1/namespaces/a%2Fb/pods")
        }
    }

    /// A query Go cannot fully decode is not an error: the bad pairs are dropped, as the
    /// apiserver drops them.
    @Test func badQueryPairsAreDroppedNotRefused() throws {
        let target = try RequestTarget("/api/v1/pods?labelSelector=%zz&limit=5")
        #expect(target.query.items == [.init(name: "limit", value: "5")])
        #expect(target.query.dropped.count == 1)
    }

    @Test func errorMessagesAreReadable() {
        #expect(RequestTargetError.encodedSlash(offset: 19).message
            == "invalid request path: encoded \"/\" in segment at offset 19")
        #expect(RequestTargetError.dotSegment(offset: 3).message
            == "invalid request path: \".\" or \"..\" segment at offset 3")
    }
}

@Suite("Garbage input never crashes")
struct GarbageInputTests {
    /// A target with a short name, so huge inputs do not flood the test log.
    struct Target: Sendable, CustomTestStringConvertible {
        var value: String
        var testDescription: String {
            value.utf8.count <= 60 ? value.debugDescription : "\(value.prefix(40).debugDescription)… (\(value.utf8.count) bytes)"
        }
    }

    static let targets: [Target] = [
        "", "/", "//", "///", "?", "/?", "/?&&&", "/?=", "/?==", "/?%", "/?%%%", "/%", "/%%", "/%2",
        "/api", "/apis", "/api/", "/apis//", "/api/v1/", "/api/v1/watch", "/api/v1/proxy",
        "/api/v1/namespaces/", "/api/v1/namespaces//pods", "/api/v1/namespaces/%FF/pods",
        "/api/v1/pods?fieldSelector=%5C", "/api/v1/pods?fieldSelector=%2C%2C%3D",
        "/api/v1/pods?fieldSelector=metadata.name%3D%5C", "/api/v1/pods?watch=%E2%82",
        "/api/v1/pods?limit=99999999999999999999", "/api/v1/pods?limit=-9223372036854775808",
        "\u{0}", "/\u{0}", "/api/v1/pods?\u{7F}", "/\u{1F600}", "/api/v1/pods?x=\u{1F600}",
        "/" + String(repeating: "a/", count: 10_000),
        "/api/v1/namespaces/" + String(repeating: "n", count: 100_000) + "/pods",
        "/api/v1/pods?" + String(repeating: "a=b&", count: 10_000),
        "/api/v1/pods?" + String(repeating: "%", count: 1_000),
        "/" + String(repeating: "%E2%82%AC", count: 5_000),
    ].map(Target.init(value:))

    static let methods = ["GET", "POST", "DELETE", "", "get", "BREW", "\u{0}"]

    @Test(arguments: targets, methods)
    func classifyOrThrow(_ target: Target, _ method: String) {
        do {
            let info = try RequestInfo(method: method, target: target.value)
            // Whatever it is, a resource request always has a resource and a version.
            if info.isResourceRequest {
                #expect(!info.resource.isEmpty)
                #expect(!info.apiVersion.isEmpty)
            }
        } catch {
            #expect(!error.message.isEmpty)
        }
    }

    @Test func veryLongResourcePathClassifies() throws {
        let name = String(repeating: "x", count: 100_000)
        let info = try RequestInfo(method: "GET", target: "/api/v1/namespaces/ns/configmaps/" + name)
        #expect(info.verb == .get)
        #expect(info.name.utf8.count == 100_000)
    }

    @Test func deepPathKeepsAllParts() throws {
        let target = "/api/v1/namespaces/ns/pods/p/proxy/" + Array(repeating: "d", count: 1_000).joined(separator: "/")
        let info = try RequestInfo(method: "GET", target: target)
        #expect(info.parts.count == 1_003)
        #expect(info.subresource == "proxy")
    }

    @Test func slashesOnlyIsRoot() throws {
        let info = try RequestInfo(method: "GET", target: "//")
        #expect(info.kind == .nonResource)
        #expect(info.path == "/")
        #expect(info.verb == "get")
    }

    @Test func emptyTargetThrows() {
        #expect(throws: RequestInfoError.invalidTarget(.empty)) {
            try RequestInfo(method: "GET", target: "")
        }
    }
}
