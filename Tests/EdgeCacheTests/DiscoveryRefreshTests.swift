import CacheStore
@testable import EdgeCache
import Filters
import NIOHTTP1
import OutpostTesting
import Synchronization
import Testing

/// Discovery fetched by Outpost itself (no client asked) answers offline, bounded in concurrency;
/// an OpenAPI document a client asked once is fetched in the negotiated form and answered offline.
@Suite("Discovery refresh", .serialized)
struct DiscoveryRefreshTests {
    static let documents: [String: String] = [
        "/version": #"{"major": "1", "minor": "20", "gitVersion": "v1.20.2"}"#,
        "/api": #"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]}"#,
        "/api/v1": #"{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"pods","namespaced":true,"kind":"Pod","verbs":["get","list"]}]}"#,
        "/apis": #"{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}},{"name":"batch","versions":[{"groupVersion":"batch/v1","version":"v1"},{"groupVersion":"batch/v1beta1","version":"v1beta1"}]},{"name":"node.k8s.io","versions":[{"groupVersion":"node.k8s.io/v1","version":"v1"}]}]}"#,
        "/apis/apps/v1": #"{"kind":"APIResourceList","groupVersion":"apps/v1","resources":[]}"#,
        "/apis/batch/v1": #"{"kind":"APIResourceList","groupVersion":"batch/v1","resources":[]}"#,
        "/apis/batch/v1beta1": #"{"kind":"APIResourceList","groupVersion":"batch/v1beta1","resources":[]}"#,
        "/apis/node.k8s.io/v1": #"{"kind":"APIResourceList","groupVersion":"node.k8s.io/v1","resources":[]}"#,
    ]

    /// Answers from `documents` (and an OpenAPI document by Accept), counting requests in flight.
    final class Upstream: Sendable {
        let inFlight = Atomic<Int>(0)
        let maxInFlight = Atomic<Int>(0)
        let asked = Mutex<[String]>([])
        /// Paths whose next fetches fail as a cut link does (count each).
        let failures = Mutex<[String: Int]>([:])

        /// Changes the OpenAPI document's ETag after this many ranged answers (a document that
        /// changes while it is fetched in ranges).
        let changeETagAfter = Atomic<Int>(Int.max)
        let ranges = Mutex<[Range<Int>?]>([])

        func fetch(_ request: DiscoveryRefresher.Request) async throws -> DiscoveryRefresher.Fetched {
            let path = request.path, accept = request.accept, large = request.large
            let n = inFlight.add(1, ordering: .relaxed).newValue
            _ = maxInFlight.max(n, ordering: .relaxed)
            defer { inFlight.subtract(1, ordering: .relaxed) }
            if large { ranges.withLock { $0.append(request.range) } }
            if large && request.range?.lowerBound ?? 0 > 0 {
                // later ranges are not counted as asks
            } else {
                asked.withLock { $0.append(path + (large ? " " + accept : "")) }
            }
            try await Task.sleep(for: .milliseconds(20))
            let fail = failures.withLock { f -> Bool in
                guard let n = f[path], n > 0 else { return false }
                f[path] = n - 1
                return true
            }
            if fail { throw CancellationError() }
            if path == "/openapi/v2" {
                guard accept.contains("protobuf") else {
                    return .init(status: 200, contentType: "application/json", body: Array(#"{"swagger":"2.0"}"#.utf8))
                }
                let doc = DiscoveryRefreshTests.bigDocument, ct = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
                guard let r = request.range else { return .init(status: 200, contentType: ct, body: doc) }
                let end = min(r.upperBound, doc.count)
                let served = ranges.withLock { $0.count }
                let etag = served > changeETagAfter.load(ordering: .relaxed) ? "\"v2\"" : "\"v1\""
                return .init(status: 206, contentType: ct, body: Array(doc[r.lowerBound..<end]), etag: etag,
                             contentRange: "bytes \(r.lowerBound)-\(end - 1)/\(doc.count)")
            }
            guard let body = DiscoveryRefreshTests.documents[path] else { return .init(status: 404, contentType: "application/json", body: Array("{}".utf8)) }
            return .init(status: 200, contentType: "application/json", body: Array(body.utf8))
        }
    }

    /// Larger than an offline answer's slice: it is streamed in several.
    static let bigDocument: [UInt8] = (0..<(600 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }

    static let settings = DiscoveryRefresher.Settings(startJitter: .zero, recoveryJitter: .zero, concurrency: 2, retryDelays: [],
                                                      rangeSize: 256 << 10)

    @Test func aRefreshStoresEveryResourceListAndServesThemOffline() async throws {
        try await withCachedProxy { h, cluster, cache in
            let upstream = Upstream()
            let refresher = cache.discoveryRefresher(Self.settings)
            #expect(await refresher.refresh(fetch: upstream.fetch))
            #expect(upstream.maxInFlight.load(ordering: .relaxed) <= 2, "bounded concurrency")
            // a group version the apiserver no longer lists is forgotten; a group's own document stays
            try cache.store.putDocument(key: "doc:/apis/gone.example.com/v1", StoredDocument(contentType: "application/json", body: Array("{}".utf8)))
            try cache.store.putDocument(key: "doc:/apis/apps", StoredDocument(contentType: "application/json", body: Array("{}".utf8)))
            #expect(await refresher.refresh(fetch: upstream.fetch))
            let keys = try cache.store.documentKeys(prefix: "doc:")
            #expect(keys == (Self.documents.keys.map { "doc:" + $0 } + ["doc:/apis/apps"]).sorted())
            #expect(cache.dialect.selectorStyle == .legacy, "/version taught the apiserver's dialect")

            cluster.link = .down
            let c = try await h.client()
            // kubectl 1.32's discovery Accept: the plain form, as the 1.20 apiserver answers it
            let aggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
            for path in Self.documents.keys.sorted() {
                let r = try await c.request(.GET, path, headers: [("Accept", aggregated)])
                #expect(r.status == 200, "\(path)")
                #expect(r.header("content-type") == "application/json")
                #expect(r.bodyString == Self.documents[path])
            }
            await c.close()
        }
    }

    @Test func triggersDuringARefreshFoldIntoOneMoreAndACutRefreshIsRetried() async throws {
        try await withCachedProxy { _, _, cache in
            let upstream = Upstream()
            upstream.failures.withLock { $0["/apis/batch/v1"] = 1 }
            let settings = DiscoveryRefresher.Settings(startJitter: .zero, recoveryJitter: .zero, concurrency: 3,
                                                       retryDelays: [.milliseconds(50)])
            let refresher = cache.discoveryRefresher(settings)
            let running = Task { await refresher.run(fetch: upstream.fetch, isOnline: { true }) }
            defer { running.cancel() }
            refresher.upstreamOnline()
            #expect(await waitUntil { upstream.asked.withLock { $0.contains("/version") } })
            for _ in 0..<4 { refresher.upstreamOnline() }
            // the first refresh misses /apis/batch/v1 and is retried 50 ms later; the four triggers
            // that came while it ran are one more refresh
            #expect(await waitUntil { upstream.asked.withLock { $0.filter { $0 == "/version" }.count } == 3 })
            try await Task.sleep(for: .milliseconds(300))
            #expect(upstream.asked.withLock { $0.filter { $0 == "/version" }.count } == 3)
            #expect(upstream.asked.withLock { $0.filter { $0 == "/apis/batch/v1" }.count } == 3)
            #expect(((try? cache.store.documentKeys(prefix: "doc:/apis/batch/")) ?? []) == ["doc:/apis/batch/v1", "doc:/apis/batch/v1beta1"])
            refresher.finish()
        }
    }

    @Test func anOpenAPIDocumentAskedOnceIsFetchedInItsFormAndAnsweredOffline() async throws {
        try await withCachedProxy { h, cluster, cache in
            let upstream = Upstream()
            let refresher = cache.discoveryRefresher(Self.settings)
            let running = Task { await refresher.run(fetch: upstream.fetch, isOnline: { true }) }
            defer { running.cancel() }
            let proto = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
            cluster.route("/openapi/v2", .respond(status: 200, headers: [("Content-Type", proto)], chunks: [.init("PB")], contentLength: true))
            let c = try await h.client()
            let online = try await c.request(.GET, "/openapi/v2", headers: [("Accept", proto)])
            #expect(online.status == 200)
            let key = "doc:/openapi/v2 accept=" + proto
            #expect(await waitUntil { ((try? cache.store.documentKeys(prefix: key)) ?? []) == [key] })
            // A refresh (the next recovery) fetches it again with the same Accept.
            #expect(await refresher.refresh(fetch: upstream.fetch))
            #expect(upstream.asked.withLock { $0 }.filter { $0.hasPrefix("/openapi") } == ["/openapi/v2 " + proto, "/openapi/v2 " + proto])
            let k = 256 << 10
            #expect(upstream.ranges.withLock { $0 } == [0..<k, k..<2 * k, 2 * k..<(600 << 10), 0..<k, k..<2 * k, 2 * k..<(600 << 10)],
                    "fetched in ranges, never whole")
            // a document that changes between its ranges is not stored; the previous one stays
            upstream.changeETagAfter.store(upstream.ranges.withLock { $0.count } + 1, ordering: .relaxed)
            #expect(await refresher.refresh(fetch: upstream.fetch))
            #expect(((try? cache.store.documentKeys(prefix: "staging:")) ?? []).isEmpty, "the half-fetched copy is gone")

            cluster.link = .down
            let offline = try await c.request(.GET, "/openapi/v2", headers: [("Accept", proto)])
            #expect(offline.status == 200)
            #expect(offline.header("content-type") == proto)
            #expect(offline.body == Self.bigDocument, "the whole document, streamed in slices")
            // never asked as JSON: unknown offline
            let json = try await c.request(.GET, "/openapi/v2", headers: [("Accept", "application/json")])
            #expect(json.status == 503)
            await c.close()
            refresher.finish()
        }
    }
}

@Suite struct DiscoveryDocumentsTests {
    @Test func resourceListPathsFromTheRoots() {
        #expect(DiscoveryDocuments.resourceListPaths(legacyVersions: ["v1"], groupVersions: ["apps/v1", "batch/v1", "apps/v1", "bad", "../x/v1", "a/b/c"])
                == ["/api/v1", "/apis/apps/v1", "/apis/batch/v1"])
    }

    @Test func contentRanges() {
        #expect(DiscoveryDocuments.ContentRange("bytes 0-1048575/3291799") == .init("bytes 0-1048575/3291799"))
        let r = DiscoveryDocuments.ContentRange("bytes 1048576-2097151/3291799")
        #expect(r?.start == 1048576 && r?.count == 1048576 && r?.total == 3291799)
        for bad in ["bytes 0-10/*", "bytes */100", "items 0-1/2", "bytes 5-4/10", "bytes 0-10/10", "bytes -1-2/3", "", "bytes 0-1/"] {
            #expect(DiscoveryDocuments.ContentRange(bad) == nil, "\(bad)")
        }
    }

    @Test func openAPIAsksRoundTripThroughTheirKeys() {
        let ask = DiscoveryDocuments.OpenAPIAsk(path: "/openapi/v2", accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf, application/json")
        #expect(ask.accept == "application/com.github.proto-openapi.spec.v2@v1.0+protobuf,application/json")
        #expect(DiscoveryDocuments.OpenAPIAsk(askedKey: ask.askedKey) == ask)
        #expect(DiscoveryDocuments.OpenAPIAsk(askedKey: "asked:/api accept=x") == nil)
        #expect(DiscoveryDocuments.isOpenAPI("/openapi/v3/apis/apps/v1"))
        #expect(!DiscoveryDocuments.isOpenAPI("/openapi/v2x"))
    }
}

@Suite struct DocumentSliceTests {
    @Test func slicesReadTheStoredBytesAndStopAtAReplacement() throws {
        let dir = temporaryDirectory()
        defer { removeDirectory(dir) }
        let store = try CacheStore(directory: dir)
        defer { store.close() }
        let body = (0..<1000).map { UInt8(truncatingIfNeeded: $0) }
        try store.putDocument(key: "doc:/openapi/v2 accept=x", StoredDocument(contentType: "application/octet-stream", body: body))
        let h = try #require(try store.documentHandle(key: "doc:/openapi/v2 accept=x"))
        #expect(h.length == 1000 && h.contentType == "application/octet-stream")
        #expect(try store.documentSlice(h, offset: 0, count: 400) == Array(body[0..<400]))
        #expect(try store.documentSlice(h, offset: 400, count: 600) == Array(body[400..<1000]))
        #expect(try store.documentSlice(h, offset: 900, count: 200) == nil, "past the end")
        try store.putDocument(key: "doc:/openapi/v2 accept=x", StoredDocument(contentType: "application/octet-stream", body: body))
        #expect(try store.documentSlice(h, offset: 0, count: 10) == nil, "a new version is not read as the rest of the old one")
        #expect(try store.documentHandle(key: "doc:/nothing") == nil)
    }
}
