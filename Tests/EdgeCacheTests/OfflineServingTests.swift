import EdgeCache
import Filters
import NIOHTTP1
import OutpostTesting
import Testing

/// Outpost with its cache in front of a fake apiserver: what flows through is cached, and
/// when the apiserver goes away the cache answers with the apiserver's semantics.
@Suite("Offline serving", .serialized)
struct OfflineServingTests {
    static let listPath = "/api/v1/namespaces/demo/configmaps"

    func seed(_ cluster: FakeCluster, rv: Int = 100) {
        cluster.route(Self.listPath, .json(configMapList(rv: rv, items: [
            configMap("a", rv: 10, labels: ["app": "web", "tier": "front"]),
            configMap("b", rv: 11, labels: ["app": "web", "tier": "back"]),
            configMap("c", rv: 12, labels: ["app": "db"]),
            configMap("skip-d", rv: 13, labels: ["app": "web"]),
        ])))
    }

    /// Lists once online (the cache fills), waits until the write landed, then cuts the link.
    func warmAndCut(_ h: ProxyHarness, _ cluster: FakeCluster, _ cache: EdgeCache, link: Link = .down) async throws {
        let c = try await h.client()
        let online = try await c.request(.GET, Self.listPath)
        await c.close()
        #expect(online.status == 200)
        #expect(itemNames(online.bodyString) == ["a", "b", "c"], "the skip- object is filtered online")
        #expect(await waitUntil { ((try? cache.store.stats().objects) ?? 0) == 3 })
        cluster.link = link
    }

    /// Asks the apiserver (link up) for each of `uris`: whatever it answers (404 included)
    /// confirms the caller's access, which offline answers require (see AccessGate).
    func confirmOnline(_ h: ProxyHarness, _ uris: [String]) async throws {
        let c = try await h.client()
        for uri in uris { _ = try await c.request(.GET, uri) }
        await c.close()
    }

    @Test func listIsServedFromCacheWithSelectorsAfterTheLinkDrops() async throws {
        try await withCachedProxy { h, cluster, cache in
            seed(cluster)
            try await warmAndCut(h, cluster, cache)
            let c = try await h.client()
            let all = try await c.request(.GET, Self.listPath)
            #expect(all.status == 200)
            #expect(all.header("x-outpost-cache") == "hit")
            #expect(itemNames(all.bodyString) == ["a", "b", "c"])
            #expect(all.bodyString.contains(#""kind":"ConfigMapList""#))
            #expect(all.bodyString.contains(#""resourceVersion":"100""#), "the list's resourceVersion is the cache's")
            #expect(all.bodyString.contains(#""kind":"ConfigMap","apiVersion":"v1""#), "stored items carry their type")

            let web = try await c.request(.GET, Self.listPath + "?labelSelector=app%3Dweb")
            #expect(itemNames(web.bodyString) == ["a", "b"])
            let notWeb = try await c.request(.GET, Self.listPath + "?labelSelector=app!%3Dweb")
            #expect(itemNames(notWeb.bodyString) == ["c"])
            let set = try await c.request(.GET, Self.listPath + "?labelSelector=tier%20in%20(front),app")
            #expect(itemNames(set.bodyString) == ["a"])
            let noTier = try await c.request(.GET, Self.listPath + "?labelSelector=!tier")
            #expect(itemNames(noTier.bodyString) == ["c"])
            let byName = try await c.request(.GET, Self.listPath + "?fieldSelector=metadata.name%3Db")
            #expect(itemNames(byName.bodyString) == ["b"])
            await c.close()
        }
    }

    @Test func invalidSelectorsGetTheApiserversBadRequest() async throws {
        try await withCachedProxy { h, cluster, cache in
            seed(cluster)
            try await warmAndCut(h, cluster, cache)
            let c = try await h.client()
            let bad = try await c.request(.GET, Self.listPath + "?labelSelector=a%20b")
            #expect(bad.status == 400)
            #expect(bad.bodyString.contains(#""reason":"BadRequest""#))
            let field = try await c.request(.GET, Self.listPath + "?fieldSelector=spec.nodeName%3Dx")
            #expect(field.status == 400)
            #expect(field.bodyString.contains(#"\"spec.nodeName\" is not a known field selector"#))
            await c.close()
        }
    }

    @Test func paginationWalksTheCacheWithContinueTokens() async throws {
        try await withCachedProxy { h, cluster, cache in
            seed(cluster)
            try await warmAndCut(h, cluster, cache)
            let c = try await h.client()
            var names: [String] = []
            var token = ""
            var pages = 0
            repeat {
                let uri = Self.listPath + "?limit=2" + (token.isEmpty ? "" : "&continue=\(token)")
                let r = try await c.request(.GET, uri)
                #expect(r.status == 200)
                names += itemNames(r.bodyString)
                pages += 1
                if let range = r.bodyString.firstRange(of: #""continue":""#) {
                    let rest = r.bodyString[range.upperBound...]
                    token = String(rest.prefix { $0 != "\"" })
                } else {
                    token = ""
                }
            } while !token.isEmpty && pages < 10
            #expect(names == ["a", "b", "c"])
            #expect(pages == 2)
            // An apiserver token names a revision the cache does not keep: etcd's 410 for a
            // compacted one, offering a token that goes on at the newest state, which resumes.
            let foreign = try await c.request(.GET, Self.listPath + "?limit=2&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6NSwic3RhcnQiOiJhXHUwMDAwIn0")
            #expect(foreign.status == 410)
            #expect(foreign.bodyString.contains(#""metadata":{"continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6LTEsInN0YXJ0IjoiYVx1MDAwMCJ9"}"#))
            let resumed = try await c.request(.GET, Self.listPath + "?limit=2&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6LTEsInN0YXJ0IjoiYVx1MDAwMCJ9")
            #expect(resumed.status == 200)
            #expect(itemNames(resumed.bodyString) == ["b", "c"])
            // A broken one gets the apiserver's 400, worded as its decoder words it.
            let broken = try await c.request(.GET, Self.listPath + "?limit=2&continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ")
            #expect(broken.status == 400)
            #expect(broken.bodyString.contains("invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))
            await c.close()
        }
    }

    /// Each answer measured against kube-apiserver 1.20 (tests/e2e/test_param_parity.py holds
    /// the whole table); the cache's list is at resourceVersion 100.
    @Test func parameterAnswersAreTheApiserversGivenTheCachesVersion() async throws {
        try await withCachedProxy { h, cluster, cache in
            seed(cluster)
            try await warmAndCut(h, cluster, cache)
            let c = try await h.client()
            func expectStatus(_ query: String, _ code: UInt, _ body: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
                let r = try await c.request(.GET, Self.listPath + query)
                #expect(r.status == code, sourceLocation: sourceLocation)
                #expect(r.bodyString == body + "\n", sourceLocation: sourceLocation)
            }
            try await expectStatus("?resourceVersion=abc", 500,
                #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"resourceVersion: Invalid value: \"abc\": strconv.ParseUint: parsing \"abc\": invalid syntax","code":500}"#)
            try await expectStatus("?limit=abc", 400,
                #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"strconv.ParseInt: parsing \"abc\": invalid syntax","reason":"BadRequest","code":400}"#)
            try await expectStatus("?resourceVersion=101", 504,
                #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Timeout: Too large resource version: 101, current: 100","reason":"Timeout","details":{"causes":[{"reason":"ResourceVersionTooLarge","message":"Too large resource version"}],"retryAfterSeconds":1},"code":504}"#)
            try await expectStatus("?resourceVersion=50&resourceVersionMatch=Exact", 410,
                #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"The resourceVersion for the provided list is too old.","reason":"Expired","code":410}"#)
            try await expectStatus("?resourceVersionMatch=Exact", 422,
                #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided","reason":"Invalid","details":{"group":"meta.k8s.io","kind":"ListOptions","causes":[{"reason":"FieldValueForbidden","message":"Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided","field":"resourceVersionMatch"}]},"code":422}"#)
            // A bad label selector beats a bad field selector and validation; a bad integer beats all.
            let labelFirst = try await c.request(.GET, Self.listPath + "?labelSelector=a%20b&fieldSelector=abc&resourceVersionMatch=x")
            #expect(labelFirst.status == 400)
            #expect(labelFirst.bodyString.contains("unable to parse requirement"))
            let intFirst = try await c.request(.GET, Self.listPath + "?labelSelector=a%20b&limit=x")
            #expect(intFirst.bodyString.contains(#"strconv.ParseInt: parsing \"x\""#))

            // Pairs Go cannot decode are dropped: the apiserver lists everything.
            let dropped = try await c.request(.GET, Self.listPath + "?labelSelector=%zz")
            #expect(dropped.status == 200)
            #expect(itemNames(dropped.bodyString) == ["a", "b", "c"])
            // The watch cache serves resourceVersion=0 and ignores limit.
            let any = try await c.request(.GET, Self.listPath + "?resourceVersion=0&limit=1")
            #expect(itemNames(any.bodyString) == ["a", "b", "c"])
            let exact = try await c.request(.GET, Self.listPath + "?resourceVersion=100&resourceVersionMatch=Exact")
            #expect(itemNames(exact.bodyString) == ["a", "b", "c"])

            let get = try await c.request(.GET, Self.listPath + "/a?resourceVersion=abc")
            #expect(get.status == 500)
            let newer = try await c.request(.GET, Self.listPath + "/a?resourceVersion=500")
            #expect(newer.status == 504)
            #expect(newer.bodyString.contains("Too large resource version: 500, current: 100"))

            // A watch of one object sees only it; a field selector naming another is refused.
            let one = try await c.request(.GET, "/api/v1/watch/namespaces/demo/configmaps/b?resourceVersion=0&timeoutSeconds=1")
            #expect(one.bodyString.ranges(of: #""type":"ADDED""#).count == 1)
            #expect(one.bodyString.contains(#""name":"b""#))
            let mismatch = try await c.request(.GET, "/api/v1/watch/namespaces/demo/configmaps/b?fieldSelector=metadata.name%3Da")
            #expect(mismatch.status == 400)
            #expect(mismatch.bodyString.contains("fieldSelector metadata.name doesn't match requested name"))
            let badRV = try await c.request(.GET, Self.listPath + "?watch=1&resourceVersion=x")
            #expect(badRV.status == 500)
            let ended = try await c.request(.GET, Self.listPath + "?watch=1&resourceVersion=0&timeoutSeconds=-1")
            #expect(ended.status == 200 && ended.complete && ended.bodyString.isEmpty)
            await c.close()
        }
    }

    @Test func getAnswersTheObjectOr404AndNeverCachedIs503() async throws {
        try await withCachedProxy { h, cluster, cache in
            seed(cluster)
            try await warmAndCut(h, cluster, cache, link: .up)
            cluster.route(Self.listPath + "/a", .json(configMap("a", rv: 10, labels: ["app": "web", "tier": "front"], kindAndVersion: true)))
            try await confirmOnline(h, [Self.listPath + "/a", Self.listPath + "/zzz", "/api/v1/namespaces/elsewhere/configmaps"])
            cluster.link = .down
            let c = try await h.client()
            let a = try await c.request(.GET, Self.listPath + "/a")
            #expect(a.status == 200)
            #expect(a.bodyString.contains(#""name":"a""#))
            let missing = try await c.request(.GET, Self.listPath + "/zzz")
            #expect(missing.status == 404)
            #expect(missing.bodyString.contains(#"configmaps \"zzz\" not found"#))
            let other = try await c.request(.GET, "/api/v1/namespaces/elsewhere/configmaps")
            #expect(other.status == 503)
            #expect(other.bodyString.contains("no complete data"))
            // The list online showed this caller b; a namespace it never read is not answered.
            let b = try await c.request(.GET, Self.listPath + "/b")
            #expect(b.status == 200)
            let unseen = try await c.request(.GET, "/api/v1/namespaces/unseen/configmaps/x")
            #expect(unseen.status == 403)
            let write = try await c.request(.POST, Self.listPath, body: Array(configMap("n", rv: 1).utf8))
            #expect(write.status == 503)
            await c.close()
        }
    }

    @Test func silentCutIsAnsweredFromCacheWithinASecond() async throws {
        try await withCachedProxy { h, cluster, cache in
            seed(cluster)
            try await warmAndCut(h, cluster, cache, link: .silent)
            let c = try await h.client()
            let start = ContinuousClock.now
            let r = try await c.request(.GET, Self.listPath)
            let took = ContinuousClock.now - start
            #expect(r.status == 200)
            #expect(itemNames(r.bodyString) == ["a", "b", "c"])
            #expect(took < .seconds(3), "took \(took)")
            await c.close()
        }
    }

    @Test func listCutMidBodyDoesNotReplaceTheCachedScope() async throws {
        try await withCachedProxy { h, cluster, cache in
            seed(cluster)
            try await warmAndCut(h, cluster, cache, link: .up)
            let full = configMapList(rv: 200, items: [configMap("x", rv: 20)])
            cluster.route(Self.listPath, .dropAfter(status: 200, headers: [("Content-Type", "application/json")],
                                                    chunks: [.init(String(full.prefix(full.count - 10)))]))
            let c = try await h.client()
            let cut = try await c.request(.GET, Self.listPath)
            #expect(!cut.complete)
            await c.close()
            cluster.link = .down
            let d = try await h.client()
            let offline = try await d.request(.GET, Self.listPath)
            #expect(itemNames(offline.bodyString) == ["a", "b", "c"])
            await d.close()
        }
    }

    @Test func offlineWatchIsHeldWithBookmarksAndEndsAtTimeout() async throws {
        try await withCachedProxy(bookmarkInterval: 1) { h, cluster, cache in
            seed(cluster)
            try await warmAndCut(h, cluster, cache, link: .up)
            try await confirmOnline(h, [Self.listPath + "?watch=true&timeoutSeconds=1"])
            cluster.link = .down
            let c = try await h.client()
            let start = ContinuousClock.now
            let r = try await c.request(.GET, Self.listPath + "?watch=true&allowWatchBookmarks=true&resourceVersion=100&timeoutSeconds=3")
            let took = ContinuousClock.now - start
            #expect(r.status == 200)
            #expect(r.complete)
            #expect(took >= .milliseconds(2500) && took < .seconds(8), "took \(took)")
            #expect(r.bodyString.contains(#""type":"BOOKMARK""#))
            #expect(r.bodyString.contains(#""resourceVersion":"100""#))
            #expect(!r.bodyString.contains(#""type":"ADDED""#), "nothing newer than 100 is known")

            let initial = try await c.request(.GET, Self.listPath + "?watch=true&resourceVersion=0&timeoutSeconds=1")
            #expect(initial.bodyString.ranges(of: #""type":"ADDED""#).count == 3)

            let old = try await c.request(.GET, Self.listPath + "?watch=true&resourceVersion=5&timeoutSeconds=5")
            #expect(old.status == 200)
            #expect(old.bodyString.contains(#""type":"ERROR""#))
            #expect(old.bodyString.contains(#""code":410"#))
            await c.close()
        }
    }

    @Test func offlineWatchEndsWhenTheApiserverReturns() async throws {
        try await withCachedProxy { h, cluster, cache in
            seed(cluster)
            try await warmAndCut(h, cluster, cache)
            let c = try await h.client()
            let parts = try await c.send(.GET, Self.listPath + "?watch=true&resourceVersion=100&timeoutSeconds=60")
            try await Task.sleep(for: .milliseconds(300))
            cluster.link = .up
            h.health.recordSuccess()
            let start = ContinuousClock.now
            let r = await TestClient.collect(parts)
            #expect(r.complete)
            #expect(ContinuousClock.now - start < .seconds(5))
            await c.close()
        }
    }

    @Test func cacheSurvivesARestartAndServesAtOnce() async throws {
        let dir = temporaryDirectory()
        defer { removeDirectory(dir) }
        try await withCachedProxy(directory: dir) { h, cluster, cache in
            seed(cluster)
            try await warmAndCut(h, cluster, cache, link: .up)
        }
        try await withCachedProxy(directory: dir) { h, cluster, _ in
            cluster.link = .down
            let c = try await h.client()
            let r = try await c.request(.GET, Self.listPath + "?labelSelector=app%3Dweb")
            #expect(r.status == 200)
            #expect(itemNames(r.bodyString) == ["a", "b"])
            await c.close()
        }
    }

    /// A node rebooting into a silent outage: before the apiserver was ever reached, a cached
    /// read waits only the start-up delay and is answered from the cache without a /readyz side
    /// check (the health probe is asking anyway).
    @Test func restartIntoASilentCutAnswersFromCacheWithoutTheSideCheck() async throws {
        let dir = temporaryDirectory()
        defer { removeDirectory(dir) }
        try await withCachedProxy(directory: dir) { h, cluster, cache in
            seed(cluster)
            try await warmAndCut(h, cluster, cache, link: .up)
        }
        try await withCachedProxy(directory: dir, startupFallbackDelay: .milliseconds(20)) { h, cluster, _ in
            cluster.link = .silent
            let c = try await h.client()
            let started = ContinuousClock.now
            let r = try await c.request(.GET, Self.listPath + "?labelSelector=app%3Dweb")
            let took = ContinuousClock.now - started
            #expect(r.status == 200)
            #expect(r.header("x-outpost-cache") == "hit")
            #expect(itemNames(r.bodyString) == ["a", "b"])
            #expect(!h.health.snapshot.everReached)
            // The regular path takes at least fallbackDelay + confirmTimeout (400 ms here).
            #expect(took < .milliseconds(350), "answered after \(took): the side check ran")
            await c.close()
        }
    }
}
