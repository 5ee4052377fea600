@testable import EdgeCache
import Filters
import NIOHTTP1
import OutpostTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Filters apply before anyone sees or caches a response; the tees keep the cache current.
@Suite("Filters and tees", .serialized)
struct FilterAndTeeTests {
    static let listPath = "/api/v1/namespaces/demo/configmaps"

    @Test func filteredListLosesContentLengthAndStaysValid() async throws {
        try await withCachedProxy { h, cluster, _ in
            cluster.route(Self.listPath, .json(configMapList(rv: 5, items: [
                configMap("skip-1", rv: 1), configMap("keep", rv: 2), configMap("skip-2", rv: 3),
            ])))
            let c = try await h.client()
            let r = try await c.request(.GET, Self.listPath)
            #expect(r.status == 200)
            #expect(r.header("content-length") == nil)
            #expect(itemNames(r.bodyString) == ["keep"])
            #expect(r.bodyString.hasPrefix(#"{"kind":"ConfigMapList""#))
            #expect(r.bodyString.contains(#""items":[{"#) && r.bodyString.contains("}]}"))
            await c.close()
        }
    }

    /// A list bigger than the cache writer's queue: the tee pauses the apiserver instead of
    /// dropping cache work, the client gets every kept item in a valid body, and the list is
    /// cached whole. (A release build once tore such lists: a dropped write switched the tee to
    /// raw pass-through in the middle of a rewritten body.)
    @Test func listLargerThanTheWriteQueueStaysValidAndIsCached() async throws {
        try await withCachedProxy(writeQueueBudget: 512 << 10) { h, cluster, cache in
            let pad = String(repeating: "x", count: 400)
            var items: [String] = []
            for i in 0..<3000 {
                let name = i % 10 == 0 ? "skip-\(i)" : "cm-\(i)"
                items.append(#"{"metadata":{"name":"\#(name)","namespace":"demo","resourceVersion":"\#(i + 1)"},"data":{"pad":"\#(pad)"}}"#)
            }
            cluster.route(Self.listPath, .json(configMapList(rv: 5000, items: items)))
            let c = try await h.client()
            let r = try await c.request(.GET, Self.listPath)
            #expect(r.status == 200)
            let names = itemNames(r.bodyString)
            #expect(names.count == 2700)
            #expect(names.allSatisfy { !$0.hasPrefix("skip-") })
            #expect(r.bodyString.hasSuffix("}]}"))
            #expect(cache.writer.health.droppedJobs == 0)
            #expect(await waitUntil { (try? cache.store.stats().objects) == 2700 })
            await c.close()
        }
    }

    /// A client polling the same snapshot and many watchers carrying the same events write the
    /// cache once: the second identical list is skipped, the second watcher's events too.
    @Test func repeatedSnapshotsAndEventsAreWrittenOnce() async throws {
        try await withCachedProxy { h, cluster, cache in
            cluster.route(Self.listPath, .json(configMapList(rv: 5, items: [configMap("a", rv: 4), configMap("b", rv: 5)])))
            let c = try await h.client()
            _ = try await c.request(.GET, Self.listPath)
            #expect(await waitUntil { Self.metric(cache, "outpost_cache_lists_committed_total") == 1 })
            let again = try await c.request(.GET, Self.listPath)
            #expect(itemNames(again.bodyString) == ["a", "b"], "the client still gets the list")
            #expect(await waitUntil { Self.metric(cache, "outpost_cache_lists_unchanged_total") == 1 })
            #expect(Self.metric(cache, "outpost_cache_lists_committed_total") == 1)

            let feeds = [StreamFeed(), StreamFeed()]
            cluster.route(Self.listPath + "?watch=true&resourceVersion=5",
                          .stream(status: 200, headers: [("Content-Type", "application/json")], feed: feeds[0]))
            let w1 = try await h.client()
            let p1 = try await w1.send(.GET, Self.listPath + "?watch=true&resourceVersion=5")
            #expect(await waitUntil { feeds[0].isAttached })
            cluster.route(Self.listPath + "?watch=true&resourceVersion=5",
                          .stream(status: 200, headers: [("Content-Type", "application/json")], feed: feeds[1]))
            let w2 = try await h.client()
            let p2 = try await w2.send(.GET, Self.listPath + "?watch=true&resourceVersion=5")
            #expect(await waitUntil { feeds[1].isAttached })
            for f in feeds {
                f.send(#"{"type":"MODIFIED","object":\#(configMap("a", rv: 6, kindAndVersion: true))}"# + "\n")
                f.finish()
            }
            let r1 = await TestClient.collect(p1), r2 = await TestClient.collect(p2)
            #expect(r1.bodyString.contains(#""resourceVersion":"6""#) && r2.bodyString.contains(#""resourceVersion":"6""#))
            #expect(await waitUntil { Self.metric(cache, "outpost_cache_watch_events_deduplicated_total") == 1 })
            #expect(Self.metric(cache, "outpost_cache_watch_events_total") == 1)
            #expect(await waitUntil { (try? cache.store.get(gvr: "/v1/configmaps", namespace: "demo", name: "a"))??.resourceVersion == "6" })
            await c.close()
        }
    }

    static func metric(_ cache: EdgeCache, _ name: String) -> Double? {
        cache.samples().first { $0.name == name }?.value
    }

    /// A disk that hangs must not hang the client: a list paused for a stuck cache writer is
    /// forwarded uncached after `ListTee.maxWriterWait`.
    @Test func aStuckCacheWriterDelaysButNeverHangsAList() async throws {
        try await withCachedProxy(writeQueueBudget: 512 << 10) { h, cluster, cache in
            let pad = String(repeating: "y", count: 400)
            var items: [String] = []
            for i in 0..<3000 {
                items.append(#"{"metadata":{"name":"cm-\#(i)","namespace":"demo","resourceVersion":"\#(i + 1)"},"data":{"pad":"\#(pad)"}}"#)
            }
            cluster.route(Self.listPath, .json(configMapList(rv: 5000, items: items)))
            // The writer thread is busy for 6 s with work that holds most of the budget.
            cache.writer.submit(cost: 400 << 10, "stuck disk") { _ in _ = sleep(6) }
            let c = try await h.client()
            let started = ContinuousClock.now
            let r = try await c.request(.GET, Self.listPath)
            #expect(r.status == 200)
            #expect(itemNames(r.bodyString).count == 3000, "the client gets the whole list")
            #expect(ContinuousClock.now - started < .seconds(5), "it waited about maxWriterWait, not for the disk")
            #expect(Self.metric(cache, "outpost_cache_lists_discarded_total") == 1, "and it was not cached")
            #expect(cache.writer.drainWaiterCount == 0, "the list that gave up left no waiter behind for the writer to wake")
            await c.close()
        }
    }

    @Test func filteredGetIsA404() async throws {
        try await withCachedProxy { h, cluster, _ in
            cluster.route(Self.listPath + "/skip-me", .json(configMap("skip-me", rv: 3, kindAndVersion: true)))
            cluster.route(Self.listPath + "/fine", .json(configMap("fine", rv: 4, kindAndVersion: true)))
            let c = try await h.client()
            let hidden = try await c.request(.GET, Self.listPath + "/skip-me")
            #expect(hidden.status == 404)
            #expect(hidden.bodyString.contains(#""reason":"NotFound""#))
            let fine = try await c.request(.GET, Self.listPath + "/fine")
            #expect(fine.status == 200)
            #expect(fine.bodyString.contains(#""name":"fine""#))
            await c.close()
        }
    }

    @Test func watchEventsOfFilteredObjectsAreDroppedAndOthersCached() async throws {
        try await withCachedProxy { h, cluster, cache in
            cluster.route(Self.listPath, .json(configMapList(rv: 5, items: [configMap("base", rv: 5)])))
            let feed = StreamFeed()
            cluster.route(Self.listPath + "?watch=true&resourceVersion=5",
                          .stream(status: 200, headers: [("Content-Type", "application/json")], feed: feed))
            let c = try await h.client()
            _ = try await c.request(.GET, Self.listPath)
            let w = try await h.client()
            let parts = try await w.send(.GET, Self.listPath + "?watch=true&resourceVersion=5")
            #expect(await waitUntil { feed.isAttached })
            feed.send(#"{"type":"ADDED","object":\#(configMap("skip-x", rv: 6, kindAndVersion: true))}"# + "\n")
            feed.send(#"{"type":"ADDED","object":\#(configMap("new", rv: 7, kindAndVersion: true))}"# + "\n")
            feed.send(#"{"type":"DELETED","object":\#(configMap("base", rv: 8, kindAndVersion: true))}"# + "\n")
            feed.finish()
            let r = await TestClient.collect(parts)
            #expect(!r.bodyString.contains("skip-x"))
            #expect(r.bodyString.contains(#""name":"new""#))
            #expect(await waitUntil { (try? cache.store.get(gvr: "/v1/configmaps", namespace: "demo", name: "base")) == nil })
            #expect(await waitUntil { (try? cache.store.get(gvr: "/v1/configmaps", namespace: "demo", name: "new"))??.resourceVersion == "7" })
            cluster.link = .down
            let offline = try await c.request(.GET, Self.listPath)
            #expect(itemNames(offline.bodyString) == ["new"])
            #expect(offline.bodyString.contains(#""resourceVersion":"8""#), "events raised the scope's resourceVersion")
            await c.close()
            await w.close()
        }
    }

    @Test func configuredLabelRuleReplacesTheDefault() async throws {
        let config = try OutpostConfig.parse(yaml: """
            filters:
              rules:
                - name: hide-debug
                  resources: [configmaps]
                  labelSelector: "debug=true"
            """)
        try await withCachedProxy(config: config) { h, cluster, _ in
            cluster.route(Self.listPath, .json(configMapList(rv: 5, items: [
                configMap("skip-1", rv: 1), configMap("dbg", rv: 2, labels: ["debug": "true"]),
            ])))
            let c = try await h.client()
            let r = try await c.request(.GET, Self.listPath)
            #expect(itemNames(r.bodyString) == ["skip-1"])
            await c.close()
        }
    }
}

@Suite("Apiserver dialect")
struct DialectTests {
    @Test func selectorWordingFollowsTheApiserverVersion() async throws {
        try await withCachedProxy { h, cluster, cache in
            cluster.route("/api/v1/namespaces/demo/configmaps", .json(configMapList(rv: 5, items: [configMap("a", rv: 1)])))
            let c = try await h.client()
            _ = try await c.request(.GET, "/api/v1/namespaces/demo/configmaps")
            cache.learnVersion(Array("{\n  \"major\": \"1\",\n  \"minor\": \"20\",\n  \"gitVersion\": \"v1.20.2\"\n}".utf8),
                               contentType: "application/json")
            #expect(await waitUntil { ((try? cache.store.stats().objects) ?? 0) == 1 })
            cluster.link = .down
            let legacy = try await c.request(.GET, "/api/v1/namespaces/demo/configmaps?labelSelector=a%20b")
            #expect(legacy.bodyString.contains("expected: '=', '!=', '==', 'in', notin'"))
            let field = try await c.request(.GET, "/api/v1/namespaces/demo/configmaps?fieldSelector=metadata.name")
            #expect(field.bodyString.contains(#""message":"invalid selector: 'metadata.name'; can't understand 'metadata.name'""#))
            cache.learnVersion(Array(#"{"major":"1","minor":"28+"}"#.utf8), contentType: "application/json")
            let modern = try await c.request(.GET, "/api/v1/namespaces/demo/configmaps?labelSelector=a%20b")
            #expect(modern.bodyString.contains("expected: in, notin, =, ==, !=, gt, lt"))
            await c.close()
        }
    }
}
