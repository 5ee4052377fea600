import CacheStore
@testable import EdgeCache
import OutpostTesting
import Synchronization
import Testing

/// A fake apiserver's ConfigMaps in `demo`: lists answer the current state, watches are
/// streams the test feeds. Records who asked what.
private final class ConfigMapUpstream: Sendable {
    struct Seen: Sendable {
        var uri: String
        var fromOutpost: Bool
    }
    private let state = Mutex<(list: String, selectedList: String, seen: [Seen], feeds: [(uri: String, outpost: Bool, feed: StreamFeed)])>(("", "", [], []))

    func setList(_ body: String) { state.withLock { $0.list = body } }
    /// The answer to `labelSelector=grp=x`.
    func setSelectedList(_ body: String) { state.withLock { $0.selectedList = body } }

    /// The reflector's current watch of the scope whose URI contains `marker`.
    func reflectorFeed(where marker: (String) -> Bool) -> StreamFeed? {
        state.withLock { $0.feeds.last { $0.outpost && marker($0.uri) }?.feed }
    }

    func handle(_ r: FakeAPIServer.Request) -> FakeAPIServer.Behavior? {
        guard r.uri.hasPrefix("/api/v1/namespaces/demo/configmaps") else { return nil }
        let outpost = r.header("User-Agent") == "outpost"
        return state.withLock { s in
            s.seen.append(Seen(uri: r.uri, fromOutpost: outpost))
            if r.uri.contains("watch=1") {
                let feed = StreamFeed()
                s.feeds.append((r.uri, outpost, feed))
                return .stream(status: 200, headers: [("Content-Type", "application/json")], feed: feed)
            }
            if r.uri.contains("labelSelector=grp%3Dx") { return .json(s.selectedList) }
            return .json(s.list)
        }
    }

    var seen: [Seen] { state.withLock { $0.seen } }
    var watches: [(uri: String, outpost: Bool, feed: StreamFeed)] { state.withLock { $0.feeds } }
    var reflectorFeed: StreamFeed? { state.withLock { $0.feeds.last { $0.outpost }?.feed } }
}

private func event(_ type: String, _ object: String) -> String {
    #"{"type":"\#(type)","object":\#(object)}"# + "\n"
}

private let token = [("Authorization", "Bearer local-client-token")]

private func get(_ h: ProxyHarness, _ uri: String) async throws -> RawConnection {
    let c = try await RawConnection.connect(port: h.proxyPort, group: h.group)
    try await c.send("GET \(uri) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer local-client-token\r\n\r\n")
    return c
}

@Suite(.serialized) struct WatchCacheTests {
    private func withWatchCache(_ body: (ProxyHarness, ConfigMapUpstream, EdgeCache, SyncEngine) async throws -> Void) async throws {
        try await withCachedProxy { h, cluster, cache in
            let upstream = ConfigMapUpstream()
            upstream.setList(configMapList(rv: 100, items: [configMap("a", rv: 90), configMap("b", rv: 95)]))
            cluster.authorize { upstream.handle($0) }
            var settings = SyncSettings()
            settings.historyEvents = 100
            let engine = SyncEngine(env: SyncEnvironment(cache: cache, pool: h.pool, health: h.health, metrics: cache.syncMetrics,
                                                         recoveryJitter: .milliseconds(1)),
                                    group: h.group, settings: settings)
            cache.attach(engine)
            try await body(h, upstream, cache, engine)
        }
    }

    /// A client confirms its access with a list (forwarded), its first watch starts the scope's
    /// reflector, and from then on its watches are served locally from that one upstream watch.
    private func warm(_ h: ProxyHarness, _ upstream: ConfigMapUpstream, _ cache: EdgeCache, _ engine: SyncEngine) async throws {
        let c = try await h.client()
        let list = try await c.request(.GET, "/api/v1/namespaces/demo/configmaps?resourceVersion=0", headers: token)
        #expect(list.status == 200)
        await c.close()
        #expect(await waitUntil { (try? cache.store.scope(gvr: "/v1/configmaps", namespace: "demo", selector: ""))??.complete == true })
        // The first watch starts the reflector (it is forwarded: the reflector is not ready yet).
        let first = try await get(h, "/api/v1/namespaces/demo/configmaps?watch=1&resourceVersion=100&allowWatchBookmarks=true")
        // Its answer confirms the caller for watches (a list does not stand in for a watch).
        #expect(await first.waitFor("HTTP/1.1 200"))
        #expect(await waitUntil { engine.snapshot.first?.ready == true })
        #expect(await waitUntil { upstream.reflectorFeed?.isAttached == true })
        await first.close()
    }

    @Test func localWatchersShareOneUpstreamWatchAndSurviveItsInterruption() async throws {
        try await withWatchCache { h, upstream, cache, engine in
            try await warm(h, upstream, cache, engine)
            // Clients' watches that reached the apiserver (the reflector's own are counted apart).
            let watchesBefore = upstream.watches.filter { !$0.outpost }.count
            var watchers: [RawConnection] = []
            for _ in 0..<5 {
                watchers.append(try await get(h, "/api/v1/namespaces/demo/configmaps?watch=1&resourceVersion=100&allowWatchBookmarks=true"))
            }
            for w in watchers { #expect(await w.waitFor("X-Outpost-Cache: hit")) }
            #expect(upstream.watches.filter { !$0.outpost }.count == watchesBefore, "local watches opened no upstream watch")
            #expect(upstream.watches.filter(\.outpost).count == 1, "one upstream watch feeds them all")

            upstream.reflectorFeed!.send(event("MODIFIED", configMap("a", rv: 101, kindAndVersion: true)))
            for w in watchers { #expect(await w.waitFor(#""resourceVersion":"101""#)) }

            // The upstream watch breaks: the reflector resumes from 101; local watches stay open.
            upstream.reflectorFeed!.drop()
            #expect(await waitUntil { upstream.watches.last.map { $0.outpost && $0.uri.contains("resourceVersion=101") } == true })
            #expect(await waitUntil { upstream.reflectorFeed?.isAttached == true })
            upstream.reflectorFeed!.send(event("ADDED", configMap("c", rv: 102, kindAndVersion: true)))
            for w in watchers {
                #expect(await w.waitFor(#""name":"c""#))
                #expect(!w.isClosed)
            }
            #expect(!upstream.seen.contains { $0.fromOutpost && !$0.uri.contains("watch=1") && !$0.uri.contains("resourceVersion=0") },
                    "no relist")

            // A watcher that reconnects from 101 gets exactly what it missed.
            let late = try await get(h, "/api/v1/namespaces/demo/configmaps?watch=1&resourceVersion=101")
            #expect(await late.waitFor(#""name":"c""#))
            #expect(!late.text.contains(#""resourceVersion":"101""#))
            // One from before the window's start gets the apiserver's 410 Expired.
            let old = try await get(h, "/api/v1/namespaces/demo/configmaps?watch=1&resourceVersion=50")
            #expect(await old.waitFor(#""code":410"#))
            for w in watchers + [late, old] { await w.close() }
        }
    }

    @Test func aWatchExpiredUpstreamRelistsOnceAndLocalWatchersGetTheDifference() async throws {
        try await withWatchCache { h, upstream, cache, engine in
            try await warm(h, upstream, cache, engine)
            let w = try await get(h, "/api/v1/namespaces/demo/configmaps?watch=1&resourceVersion=100&allowWatchBookmarks=true")
            #expect(await w.waitFor("X-Outpost-Cache: hit"))
            // Meanwhile upstream: a changed (rv 103), b deleted, d created.
            upstream.setList(configMapList(rv: 110, items: [configMap("a", rv: 103), configMap("d", rv: 104)]))
            upstream.reflectorFeed!.send(event("ERROR", #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 100 (105)","reason":"Expired","code":410}"#))
            #expect(await w.waitFor(#""type":"BOOKMARK""#))
            let text = w.text
            #expect(text.contains(#"{"type":"DELETED","object":{"metadata":{"name":"b""#) || text.contains(#""type":"DELETED""#))
            #expect(text.contains(#""type":"MODIFIED""#) && text.contains(#""resourceVersion":"103""#))
            #expect(text.contains(#""type":"ADDED""#) && text.contains(#""name":"d""#))
            #expect(text.contains(#""resourceVersion":"110""#))
            #expect(!w.isClosed, "the local watch survives the relist")
            let relists = upstream.seen.filter { $0.fromOutpost && !$0.uri.contains("watch=1") }
            #expect(relists.count == 1, "one relist: \(relists.map(\.uri))")
            // The reflector watches on from the relist.
            #expect(await waitUntil { upstream.watches.last.map { $0.outpost && $0.uri.contains("resourceVersion=110") } == true })
            await w.close()
        }
    }

    @Test func watchListSendsTheStateThenTheInitialEventsEndBookmark() async throws {
        try await withWatchCache { h, upstream, cache, engine in
            try await warm(h, upstream, cache, engine)
            let w = try await get(h, "/api/v1/namespaces/demo/configmaps?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&resourceVersion=")
            #expect(await w.waitFor(#""k8s.io/initial-events-end":"true""#))
            let text = w.text
            let added = text.ranges(of: #""type":"ADDED""#).count
            #expect(added == 2)
            let bookmarkAt = text.firstRange(of: #""type":"BOOKMARK""#)!.lowerBound
            #expect(text.firstRange(of: #""name":"b""#)!.lowerBound < bookmarkAt)
            #expect(text.contains(#""metadata":{"resourceVersion":"100""#))
            // Live events follow.
            upstream.reflectorFeed!.send(event("MODIFIED", configMap("b", rv: 120, kindAndVersion: true)))
            #expect(await w.waitFor(#""resourceVersion":"120""#))
            // sendInitialEvents without resourceVersionMatch=NotOlderThan: the apiserver's 422.
            let bad = try await TestClient.connect(port: h.proxyPort, group: h.group)
            let r = try await bad.request(.GET, "/api/v1/namespaces/demo/configmaps?watch=1&sendInitialEvents=true&allowWatchBookmarks=true", headers: token)
            #expect(r.status == 422, "\(r.bodyString)")
            #expect(r.bodyString.contains("sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
            await bad.close()
            await w.close()
        }
    }

    @Test func anyStateListsAreAnsweredWithoutTheApiserver() async throws {
        try await withWatchCache { h, upstream, cache, engine in
            try await warm(h, upstream, cache, engine)
            // Clients' requests that reached the apiserver (the reflector's own are not theirs).
            func clientRequests() -> Int { upstream.seen.filter { !$0.fromOutpost }.count }
            let before = clientRequests()
            let c = try await h.client()
            for _ in 0..<3 {
                let r = try await c.request(.GET, "/api/v1/namespaces/demo/configmaps?resourceVersion=0", headers: token)
                #expect(r.status == 200)
                #expect(r.header("X-Outpost-Cache") == "hit")
                #expect(itemNames(r.bodyString) == ["a", "b"])
            }
            #expect(clientRequests() == before)
            // A consistent read still goes upstream.
            let fresh = try await c.request(.GET, "/api/v1/namespaces/demo/configmaps", headers: token)
            #expect(fresh.status == 200)
            #expect(clientRequests() == before + 1)
            await c.close()
        }
    }

    @Test func aForwardedWatchIsHandedOverOnceTheReflectorIsReady() async throws {
        try await withWatchCache { h, upstream, cache, engine in
            let c = try await h.client()
            _ = try await c.request(.GET, "/api/v1/namespaces/demo/configmaps?resourceVersion=0", headers: token)
            await c.close()
            #expect(await waitUntil { (try? cache.store.scope(gvr: "/v1/configmaps", namespace: "demo", selector: ""))??.complete == true })
            let started = ContinuousClock.now
            let first = try await get(h, "/api/v1/namespaces/demo/configmaps?watch=1&resourceVersion=100&allowWatchBookmarks=true")
            #expect(await first.waitFor("HTTP/1.1 200"))
            #expect(!first.text.contains("X-Outpost-Cache: hit"), "the first watch went upstream")
            // Ended cleanly (the last chunk), not within its first second, once the hub is ready.
            #expect(await first.waitClosed(timeout: .seconds(6)))
            #expect(ContinuousClock.now - started >= .seconds(1))
            #expect(first.text.hasSuffix("0\r\n\r\n"), "a clean end: \(first.text.suffix(40))")
            let again = try await get(h, "/api/v1/namespaces/demo/configmaps?watch=1&resourceVersion=100&allowWatchBookmarks=true")
            #expect(await again.waitFor("X-Outpost-Cache: hit"))
            await again.close()
        }
    }

    /// An object leaving a selector scope makes the store forget it and distrust the other
    /// scopes: their reflectors relist at once (their watchers stay open and get the
    /// difference), so their resourceVersion=0 lists never turn into 503s while online.
    @Test func anObjectLeavingAnotherSelectionRelistsTheWiderScopeInsteadOfLeavingIt503() async throws {
        try await withWatchCache { h, upstream, cache, engine in
            upstream.setList(configMapList(rv: 100, items: [configMap("a", rv: 90, labels: ["grp": "x"]), configMap("b", rv: 95)]))
            upstream.setSelectedList(configMapList(rv: 100, items: [configMap("a", rv: 90, labels: ["grp": "x"])]))
            try await warm(h, upstream, cache, engine)
            let sel = "/api/v1/namespaces/demo/configmaps?labelSelector=grp%3Dx"
            let c = try await h.client()
            #expect(try await c.request(.GET, sel + "&resourceVersion=0", headers: token).status == 200)
            #expect(await waitUntil { (try? cache.store.scope(gvr: "/v1/configmaps", namespace: "demo", selector: "l:grp=x"))??.complete == true })
            let selWatch = try await get(h, sel + "&watch=1&resourceVersion=100&allowWatchBookmarks=true")
            #expect(await waitUntil { engine.snapshot.count == 2 && engine.snapshot.allSatisfy(\.ready) })
            #expect(await waitUntil { upstream.reflectorFeed(where: { $0.contains("labelSelector") })?.isAttached == true })
            await selWatch.close()
            let w = try await get(h, "/api/v1/namespaces/demo/configmaps?watch=1&resourceVersion=100&allowWatchBookmarks=true")
            #expect(await w.waitFor("X-Outpost-Cache: hit"))

            // a's label changes x -> y: the selector scope sees DELETED, the wider one MODIFIED.
            let listsBefore = upstream.seen.filter { $0.fromOutpost && !$0.uri.contains("watch=1") }.count
            upstream.setList(configMapList(rv: 110, items: [configMap("a", rv: 101, labels: ["grp": "y"]), configMap("b", rv: 95)]))
            let wider = upstream.reflectorFeed(where: { !$0.contains("labelSelector") })!
            upstream.reflectorFeed(where: { $0.contains("labelSelector") })!
                .send(event("DELETED", configMap("a", rv: 101, labels: ["grp": "x"], kindAndVersion: true)))
            // The selector stream's DELETED is written first (had the wider stream's MODIFIED of
            // the same revision come first, the DELETED would not be written at all and nothing
            // would need a relist): the store forgets a and distrusts the wider scope, whose
            // reflector relists (once) at once.
            #expect(await waitUntil { upstream.seen.filter { $0.fromOutpost && !$0.uri.contains("watch=1") }.count > listsBefore })
            wider.send(event("MODIFIED", configMap("a", rv: 101, labels: ["grp": "y"], kindAndVersion: true)))
            // Its scope is complete again.
            #expect(await waitUntil { (try? cache.store.scope(gvr: "/v1/configmaps", namespace: "demo", selector: ""))??.complete == true })
            let list = try await c.request(.GET, "/api/v1/namespaces/demo/configmaps?resourceVersion=0", headers: token)
            #expect(list.status == 200, "\(list.bodyString)")
            #expect(itemNames(list.bodyString) == ["a", "b"])
            #expect(!w.isClosed, "the wider scope's watcher stays open")
            #expect(await w.waitFor(#""resourceVersion":"101""#))
            await w.close()
            await c.close()
        }
    }

    @Test func anUnconfirmedCallerIsNeverServedFromTheWatchCache() async throws {
        try await withWatchCache { h, upstream, cache, engine in
            try await warm(h, upstream, cache, engine)
            let before = upstream.seen.count
            let c = try await RawConnection.connect(port: h.proxyPort, group: h.group)
            try await c.send("GET /api/v1/namespaces/demo/configmaps?watch=1&resourceVersion=100 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer someone-else\r\n\r\n")
            #expect(await waitUntil { upstream.seen.count > before }, "forwarded, for the apiserver to decide")
            #expect(!c.text.contains("X-Outpost-Cache: hit"))
            await c.close()
        }
    }
}
