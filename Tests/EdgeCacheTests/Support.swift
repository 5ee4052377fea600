import CacheCrypto
import EdgeCache
import Filters
import Logging
import NIOCore
import NIOHTTP1
import OutpostProxy
import OutpostTesting
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the fake apiserver behaves right now.
enum Link: Sendable {
    case up
    /// Connections are closed at once (an apiserver restarting, a reset link).
    case down
    /// Requests get no answer at all (a silent cut: packets dropped).
    case silent
}

/// A fake apiserver whose answers and link state a test changes as it goes.
final class FakeCluster: Sendable {
    private let state = Mutex<(link: Link, routes: [String: FakeAPIServer.Behavior])>((.up, [:]))
    private let authorizer = Mutex<(@Sendable (FakeAPIServer.Request) -> FakeAPIServer.Behavior?)?>(nil)

    /// Answers requests before routing, as the apiserver's authentication and authorization do:
    /// a refusal (401/403) when `check` returns one.
    func authorize(_ check: @escaping @Sendable (FakeAPIServer.Request) -> FakeAPIServer.Behavior?) {
        authorizer.withLock { $0 = check }
    }

    var link: Link {
        get { state.withLock { $0.link } }
        set { state.withLock { $0.link = newValue } }
    }

    func route(_ pathAndQuery: String, _ behavior: FakeAPIServer.Behavior) {
        state.withLock { $0.routes[pathAndQuery] = behavior }
    }

    func handle(_ r: FakeAPIServer.Request) -> FakeAPIServer.Behavior {
        let (link, routes) = state.withLock { ($0.link, $0.routes) }
        switch link {
        case .down: return .closeImmediately
        case .silent: return .hangBeforeHeaders
        case .up: break
        }
        if r.uri.hasPrefix("/readyz") { return .json("ok") }
        if let refusal = authorizer.withLock({ $0 })?(r) { return refusal }
        if let b = routes[r.uri] { return b }
        let path = String(r.uri.prefix { $0 != "?" })
        if let b = routes[path] { return b }
        return .json(#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","reason":"NotFound","code":404}"#, status: 404)
    }
}

func configMap(_ name: String, ns: String = "demo", rv: Int, labels: [String: String] = [:], kindAndVersion: Bool = false) -> String {
    let l = labels.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",")
    let tm = kindAndVersion ? #""kind":"ConfigMap","apiVersion":"v1","# : ""
    return #"{\#(tm)"metadata":{"name":"\#(name)","namespace":"\#(ns)","resourceVersion":"\#(rv)","labels":{\#(l)}},"data":{"k":"v"}}"#
}

func configMapList(rv: Int, items: [String], continueToken: String = "") -> String {
    let cont = continueToken.isEmpty ? "" : #","continue":"\#(continueToken)""#
    return #"{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"\#(rv)"\#(cont)},"items":[\#(items.joined(separator: ","))]}"#
}

func temporaryDirectory() -> String {
    var template = Array("/tmp/outpost-edgecache-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { buf -> String in
        guard let p = mkdtemp(buf.baseAddress!) else { return "/tmp/outpost-edgecache-fallback" }
        return String(cString: p)
    }
    return path
}

func removeDirectory(_ path: String) {
    _ = path.withCString { p in
        // Test directories hold only the cache's files (cache.db, -wal, -shm).
        for suffix in ["/cache.db", "/cache.db-wal", "/cache.db-shm", "/cache.key"] {
            _ = (String(cString: p) + suffix).withCString { unlink($0) }
        }
        return rmdir(p)
    }
}

/// An EdgeCache in a temporary directory with Outpost in front of a `FakeCluster`.
func withCachedProxy(
    config: OutpostConfig = .default,
    directory: String? = nil,
    bookmarkInterval: TimeAmountSeconds = 1,
    writeQueueBudget: Int = 8 << 20,
    startupFallbackDelay: TimeAmount? = nil,
    keys: CacheKeys? = nil,
    accessLifetime: Int64? = 7 * 86400,
    quickCheckBudget: Duration? = .seconds(2),
    _ body: (ProxyHarness, FakeCluster, EdgeCache) async throws -> Void
) async throws {
    let dir = directory ?? temporaryDirectory()
    defer { if directory == nil { removeDirectory(dir) } }
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let cache = try EdgeCache(directory: dir, config: config, logger: logger, bookmarkInterval: .seconds(Int64(bookmarkInterval)),
                                writeQueueBudget: writeQueueBudget, quickCheckBudget: quickCheckBudget,
                                keys: keys ?? .generate(), accessLifetime: accessLifetime)
    defer { cache.close() }
    let cluster = FakeCluster()
    let settings = ProxySettings(responseHeadTimeout: .seconds(10), fallbackDelay: .milliseconds(200), confirmTimeout: .milliseconds(200),
                                 startupFallbackDelay: startupFallbackDelay)
    try await ProxyHarness.with(settings: settings, router: cache.router, fake: { cluster.handle($0) }) { h in
        try await body(h, cluster, cache)
    }
}

typealias TimeAmountSeconds = Int

/// Names of the items in a JSON list body, in order (a tiny scan; good enough for test fixtures).
func itemNames(_ body: String) -> [String] {
    var names: [String] = []
    var rest = Substring(body)
    while let r = rest.firstRange(of: #""name":""#) {
        rest = rest[r.upperBound...]
        let end = rest.firstIndex(of: "\"")!
        names.append(String(rest[..<end]))
        rest = rest[end...]
    }
    return names
}
