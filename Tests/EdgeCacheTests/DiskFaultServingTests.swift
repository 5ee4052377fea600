import CacheCrypto
import EdgeCache
import Filters
import Logging
import NIOHTTP1
import OutpostProxy
import OutpostTesting
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A disk that refuses writes, a corrupt page, an unusable cache directory: offline answers stay
/// the truth or become a 503 Status — never an empty list or a 404 for something that exists.
@Suite("Disk faults", .serialized)
struct DiskFaultServingTests {
    static let listPath = "/api/v1/namespaces/demo/configmaps"
    static let watchPath = listPath + "?watch=true&resourceVersion=5"

    static func metric(_ cache: EdgeCache, _ name: String) -> Double {
        cache.samples().first { $0.name == name }?.value ?? -1
    }

    func warm(_ h: ProxyHarness, _ cluster: FakeCluster, _ cache: EdgeCache, items: [String], rv: Int = 5) async throws {
        cluster.route(Self.listPath, .json(configMapList(rv: rv, items: items)))
        let committed = Self.metric(cache, "outpost_cache_lists_committed_total")
        let c = try await h.client()
        let r = try await c.request(.GET, Self.listPath)
        await c.close()
        #expect(r.status == 200)
        #expect(await waitUntil { Self.metric(cache, "outpost_cache_lists_committed_total") == committed + 1 })
    }

    /// A watch event the disk refused: the scope can no longer say what exists. Offline, the list
    /// and a get of the object the cache missed are 503 (not the old list, not a 404), the objects
    /// it has are still served, /readyz is 503 until a write succeeds, and a relist restores it.
    @Test func aLostWatchEventMakesTheScopeUnknownNotWrong() async throws {
        try await withCachedProxy { h, cluster, cache in
            try await warm(h, cluster, cache, items: [configMap("a", rv: 3), configMap("b", rv: 4)])
            cache.store._failWrites(after: 0, code: 13)
            let feed = StreamFeed()
            cluster.route(Self.watchPath, .stream(status: 200, headers: [("Content-Type", "application/json")], feed: feed))
            let w = try await h.client()
            let pending = try await w.send(.GET, Self.watchPath)
            #expect(await waitUntil { feed.isAttached })
            feed.send(#"{"type":"ADDED","object":\#(configMap("c", rv: 6, kindAndVersion: true))}"# + "\n")
            feed.finish()
            let watched = await TestClient.collect(pending)
            #expect(watched.bodyString.contains(#""name":"c""#), "the client saw the event")
            #expect(await waitUntil { cache.writer.health.failedWrites >= 1 })
            #expect(cache.readiness.ready == false)
            #expect(cache.readiness.reason.contains("full"))

            cluster.link = .down
            var wrong = 0
            let c = try await h.client()
            let list = try await c.request(.GET, Self.listPath)
            if list.status != 503 { wrong += 1 }
            #expect(list.bodyString.contains(#""kind":"Status""#))
            let missed = try await c.request(.GET, Self.listPath + "/c")
            if missed.status != 503 { wrong += 1 }
            let known = try await c.request(.GET, Self.listPath + "/a")
            if known.status != 200 { wrong += 1 }
            #expect(wrong == 0, "list \(list.status), get c \(missed.status), get a \(known.status)")

            // The disk has room again: the invalidation lands first, then a relist (begun after
            // the loss) completes the scope again.
            cache.store._failWrites(after: nil)
            cluster.link = .up
            h.health.recordSuccess()
            try await warm(h, cluster, cache, items: [configMap("a", rv: 3), configMap("b", rv: 4), configMap("c", rv: 6)], rv: 7)
            #expect(cache.readiness.ready)
            cluster.link = .down
            let again = try await c.request(.GET, Self.listPath)
            #expect(again.status == 200)
            #expect(itemNames(again.bodyString) == ["a", "b", "c"])
            await c.close()
        }
    }

    /// The finding: a list staged in chunks on a filling disk was committed with what got in.
    /// Now a list that lost a chunk is discarded and the previous complete state stays.
    @Test func aListThatLostAChunkKeepsThePreviousScope() async throws {
        try await withCachedProxy(writeQueueBudget: 64 << 10) { h, cluster, cache in
            try await warm(h, cluster, cache, items: [configMap("a", rv: 3), configMap("b", rv: 4)])
            let many = (0..<400).map { configMap("m-\($0)", rv: 10 + $0) }
            // One write fails in the second chunk; the chunks after it would go through.
            cache.store._failWrites(after: 60, times: 1, code: 13)
            cluster.route(Self.listPath, .json(configMapList(rv: 500, items: many)))
            let c = try await h.client()
            let online = try await c.request(.GET, Self.listPath)
            #expect(online.status == 200 && itemNames(online.bodyString).count == 400, "the client gets the whole list")
            #expect(await waitUntil { Self.metric(cache, "outpost_cache_lists_discarded_total") >= 1 })
            #expect(Self.metric(cache, "outpost_cache_lists_committed_total") == 1)
            #expect(cache.readiness.ready == false, "no write succeeded since (the rest of the list was not written)")
            cache.store._failWrites(after: nil)

            cluster.link = .down
            let offline = try await c.request(.GET, Self.listPath)
            #expect(offline.status == 200)
            #expect(itemNames(offline.bodyString) == ["a", "b"], "the previous complete state, never a part of the new list")
            #expect(offline.bodyString.contains(#""resourceVersion":"5""#))
            let stats = try cache.store.stats()
            #expect(stats.objects == 2)
            await c.close()
        }
    }

    /// A corrupt page in the middle of cache.db, not caught at start (no quick check): the first
    /// offline list that meets it is cut (never a clean end), the file is quarantined, and from
    /// then on the scope is a 503 while the fresh cache fills from the apiserver.
    @Test func aCorruptPageMetOfflineAbortsThenAnswers503() async throws {
        let dir = temporaryDirectory()
        let items = (0..<2000).map { configMap("cm-\($0)", rv: 10 + $0) }
        let keys = CacheKeys.generate()
        try await withCachedProxy(directory: dir, keys: keys) { h, cluster, cache in
            try await warm(h, cluster, cache, items: items, rv: 3000)
        }
        let path = dir + "/cache.db"
        #expect(fileSize(path) > 100 * 4096)
        let fd = open(path, O_WRONLY)
        let garbage = [UInt8](repeating: 0x5A, count: 4096)
        _ = garbage.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, off_t(fileSize(path) / 4096 / 2 * 4096)) }
        close(fd)

        try await withCachedProxy(directory: dir, keys: keys, quickCheckBudget: nil) { h, cluster, cache in
            cluster.link = .down
            var wrong = 0
            let c = try await h.client()
            let first = try await c.request(.GET, Self.listPath)
            await c.close()
            // Either the corruption was met before the head (503) or after it (a cut body).
            if first.status == 200 && first.complete { wrong += 1 }
            #expect(await waitUntil { corruptFiles(dir).count == 1 })
            for _ in 0..<3 {
                let d = try await h.client()
                let r = try await d.request(.GET, Self.listPath)
                if r.status != 503 { wrong += 1 }
                let g = try await d.request(.GET, Self.listPath + "/cm-7")
                if g.status != 503 { wrong += 1 }
                await d.close()
            }
            #expect(wrong == 0)

            cluster.link = .up
            h.health.recordSuccess()
            try await warm(h, cluster, cache, items: Array(items.prefix(3)), rv: 3100)
            cluster.link = .down
            let d = try await h.client()
            let rebuilt = try await d.request(.GET, Self.listPath)
            #expect(rebuilt.status == 200 && itemNames(rebuilt.bodyString) == ["cm-0", "cm-1", "cm-2"])
            await d.close()
        }
        for f in corruptFiles(dir) { unlink(dir + "/" + f) }
        removeDirectory(dir)
    }

    /// A file where the cache directory should be: no cache, everything forwarded, /readyz 503
    /// with the reason, and offline nothing is answered from a cache that does not exist.
    @Test func anUnusableCacheDirectoryForwardsWithoutACache() async throws {
        let dir = temporaryDirectory()
        let file = dir + "/not-a-dir"
        close(open(file, O_CREAT | O_WRONLY, 0o600))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let service = CacheService.open(directory: file, keyFile: file + "/cache.key", accessLifetime: nil, config: .default, logger: logger)
        #expect(service.edgeCache == nil)
        #expect(service.readiness.ready == false)
        #expect(service.readiness.reason.contains("unusable"))
        let cluster = FakeCluster()
        cluster.route(Self.listPath, .json(configMapList(rv: 5, items: [configMap("a", rv: 3), configMap("skip-b", rv: 4)])))
        try await ProxyHarness.with(router: service.router, fake: { cluster.handle($0) }) { h in
            let c = try await h.client()
            let online = try await c.request(.GET, Self.listPath)
            #expect(online.status == 200)
            #expect(itemNames(online.bodyString) == ["a", "skip-b"], "forwarded untouched: no tee, no filter")
            cluster.link = .down
            let offline = try await c.request(.GET, Self.listPath)
            #expect(offline.status == 502 || offline.status == 503, "the proxy's own error: there is no cache to answer from")
            #expect(offline.header("x-outpost-cache") == nil)
            await c.close()
        }
        unlink(file)
        rmdir(dir)
    }
}

func fileSize(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : 0
}

func corruptFiles(_ dir: String) -> [String] {
    guard let d = opendir(dir) else { return [] }
    defer { closedir(d) }
    var out: [String] = []
    while let e = readdir(d) {
        let name = withUnsafePointer(to: e.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name.hasPrefix("cache.db.corrupt-") && !name.hasSuffix("-wal") { out.append(name) }
    }
    return out
}
