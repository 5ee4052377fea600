import CacheCrypto
import CacheStore
import Testing
import NIOHTTP1
import OutpostTesting
@testable import EdgeCache

#if canImport(Glibc)
import Glibc
#endif

/// Issue 10: the cache never answers a caller the apiserver would refuse, and a stolen cache
/// file yields no Secret value.
@Suite("Trust: offline authorization and data at rest")
struct TrustServingTests {
    static let configmaps = "/api/v1/namespaces/demo/configmaps"
    static let secrets = "/api/v1/namespaces/demo/secrets"
    static let good = ("Authorization", "Bearer good-token")
    static let viewerOfConfigMaps = ("Authorization", "Bearer configmaps-only")
    static let unauthorized = #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#
    static let secretValue = "c3VwZXItc2VjcmV0LXZhbHVl"

    static func forbidden(_ what: String) -> String {
        #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"\#(what) is forbidden: User \"viewer\" cannot list resource \"\#(what)\" in API group \"\" in the namespace \"demo\"","reason":"Forbidden","details":{"kind":"\#(what)"},"code":403}"# + "\n"
    }

    /// The fake apiserver's authentication and RBAC: `good-token` and Outpost's own identity
    /// (no header) may do anything; `configmaps-only` may read configmaps; any other token is
    /// refused with 401; impersonation is refused with 403.
    static func seed(_ cluster: FakeCluster) {
        cluster.authorize { r in
            if r.header("impersonate-user") != nil {
                return .json(forbidden("users"), status: 403)
            }
            switch r.header("authorization") {
            case nil, "Bearer good-token": return nil
            case "Bearer configmaps-only": return r.uri.contains("/configmaps") ? nil : .json(forbidden("secrets"), status: 403)
            default: return .json(unauthorized + "\n", status: 401)
            }
        }
        cluster.route(configmaps, .json(configMapList(rv: 100, items: [configMap("a", rv: 10), configMap("b", rv: 11)])))
        cluster.route(secrets, .json(#"{"kind":"SecretList","apiVersion":"v1","metadata":{"resourceVersion":"100"},"items":[{"metadata":{"name":"db","namespace":"demo","resourceVersion":"12"},"data":{"password":"\#(secretValue)"},"type":"Opaque"}]}"#))
    }

    func ask(_ h: ProxyHarness, _ uri: String, _ headers: [(String, String)] = []) async throws -> TestClient.Response {
        let c = try await h.client()
        defer { Task { await c.close() } }
        return try await c.request(.GET, uri, headers: headers)
    }

    @Test func offlineAnswersGoOnlyToCallersTheApiserverAllowed() async throws {
        try await withCachedProxy { h, cluster, cache in
            Self.seed(cluster)
            // Online: the apiserver decides, Outpost records.
            let r1 = try await ask(h, Self.secrets, [Self.good])
            #expect(r1.status == 200)
            let r2 = try await ask(h, Self.configmaps, [Self.viewerOfConfigMaps])
            #expect(r2.status == 200)
            let r3 = try await ask(h, Self.secrets, [Self.viewerOfConfigMaps])
            #expect(r3.status == 403)
            let r4 = try await ask(h, Self.secrets, [("Authorization", "Bearer totally-bogus")])
            #expect(r4.status == 401)
            let r5 = try await ask(h, Self.secrets, [Self.good, ("Impersonate-User", "nobody")])
            #expect(r5.status == 403)
            #expect(await waitUntil { ((try? cache.store.stats().objects) ?? 0) == 3 })
            cluster.link = .down

            let allowed = try await ask(h, Self.secrets, [Self.good])
            #expect(allowed.status == 200 && allowed.header("x-outpost-cache") == "hit")
            #expect(allowed.bodyString.contains(Self.secretValue))

            // Refused online, refused offline with the apiserver's own words.
            let viewer = try await ask(h, Self.secrets, [Self.viewerOfConfigMaps])
            #expect(viewer.status == 403)
            #expect(viewer.bodyString == Self.forbidden("secrets"))
            let bogus = try await ask(h, Self.secrets, [("Authorization", "Bearer totally-bogus")])
            #expect(bogus.status == 401 && bogus.bodyString == Self.unauthorized + "\n")
            let impersonated = try await ask(h, Self.secrets, [Self.good, ("Impersonate-User", "nobody")])
            #expect(impersonated.status == 403 && !impersonated.bodyString.contains(Self.secretValue))
            // Never seen: a token, Basic credentials, an impersonation the apiserver never judged.
            for headers in [[("Authorization", "Bearer never-seen")], [("Authorization", "Basic eDp5")],
                            [("Impersonate-User", "admin")]] {
                let r = try await ask(h, Self.secrets, headers)
                #expect(r.status == 401, "\(headers)")
                #expect(!r.bodyString.contains(Self.secretValue))
            }
            // Known caller, access never confirmed: 403, no data.
            let get = try await ask(h, Self.secrets + "/db", [Self.viewerOfConfigMaps])
            #expect(get.status == 403 && !get.bodyString.contains(Self.secretValue))
            let watch = try await ask(h, Self.secrets + "?watch=true&timeoutSeconds=1", [("Authorization", "Bearer totally-bogus")])
            #expect(watch.status == 401 && !watch.bodyString.contains(Self.secretValue))
            // Outpost's own identity never read secrets online here.
            let anonymous = try await ask(h, Self.secrets)
            #expect(anonymous.status == 401 && !anonymous.bodyString.contains(Self.secretValue))
            let metrics = cache.samples().map(\.name)
            #expect(metrics.contains(#"outpost_cache_refusals_total{reason="unauthorized"}"#))
        }
    }

    /// The reboot fast path (20 ms before the apiserver was ever reached) goes through the gate too.
    @Test func rebootFastPathChecksTheCallerAndRemembersAcrossRestarts() async throws {
        let dir = temporaryDirectory()
        defer { removeDirectory(dir) }
        let keys = CacheKeys.generate()
        try await withCachedProxy(directory: dir, keys: keys) { h, cluster, cache in
            Self.seed(cluster)
            let r6 = try await ask(h, Self.secrets, [Self.good])
            #expect(r6.status == 200)
            #expect(await waitUntil { ((try? cache.store.stats().objects) ?? 0) == 1 })
        }
        try await withCachedProxy(directory: dir, startupFallbackDelay: .milliseconds(20), keys: keys) { h, cluster, _ in
            cluster.link = .silent
            let bogus = try await ask(h, Self.secrets, [("Authorization", "Bearer totally-bogus")])
            #expect(bogus.status == 401 && !bogus.bodyString.contains(Self.secretValue))
            let good = try await ask(h, Self.secrets, [Self.good])
            #expect(good.status == 200 && good.bodyString.contains(Self.secretValue))
        }
        // Another identity key (a new key file): remembered callers are forgotten, the bodies
        // sealed with the lost key are dropped (not served, not guessed), never a wrong answer.
        try await withCachedProxy(directory: dir, startupFallbackDelay: .milliseconds(20)) { h, cluster, cache in
            cluster.link = .silent
            let good = try await ask(h, Self.secrets, [Self.good])
            #expect(good.status == 401)
            #expect(try cache.store.stats().objects == 0)
        }
    }

    @Test func lifetimeBoundsHowLongAConfirmationServes() async throws {
        try await withCachedProxy(accessLifetime: 1) { h, cluster, cache in
            Self.seed(cluster)
            let r7 = try await ask(h, Self.configmaps, [Self.good])
            #expect(r7.status == 200)
            #expect(await waitUntil { ((try? cache.store.stats().objects) ?? 0) == 2 })
            cluster.link = .down
            let r8 = try await ask(h, Self.configmaps, [Self.good])
            #expect(r8.status == 200)
            try await Task.sleep(for: .milliseconds(2100))
            let r9 = try await ask(h, Self.configmaps, [Self.good])
            #expect(r9.status == 401)
        }
    }

    @Test func secretBodiesAreSealedOnDiskAndRotationKeepsThemReadable() async throws {
        let dir = temporaryDirectory()
        defer { removeDirectory(dir) }
        let keys = CacheKeys.generate()
        try await withCachedProxy(directory: dir, keys: keys) { h, cluster, cache in
            Self.seed(cluster)
            let r10 = try await ask(h, Self.secrets, [Self.good])
            #expect(r10.status == 200)
            let r11 = try await ask(h, Self.configmaps, [Self.good])
            #expect(r11.status == 200)
            #expect(await waitUntil { ((try? cache.store.stats().objects) ?? 0) == 3 })
            let secret = try #require(try cache.store.get(gvr: "/v1/secrets", namespace: "demo", name: "db"))
            #expect(String(decoding: secret.body, as: UTF8.self).contains(Self.secretValue), "the store hands out the plain body")
        }
        // What a thief copies: the database and its WAL.
        let onDisk = readAll(dir + "/cache.db") + readAll(dir + "/cache.db-wal")
        #expect(!onDisk.isEmpty)
        #expect(!containsBytes(onDisk, Array(Self.secretValue.utf8)), "a Secret value is on disk in the clear")
        #expect(containsBytes(onDisk, Array(#""name":"a""#.utf8)), "configmaps are not sealed by default")

        let rotated = try keys.rotated()
        try await withCachedProxy(directory: dir, keys: rotated) { _, _, cache in
            let secret = try #require(try cache.store.get(gvr: "/v1/secrets", namespace: "demo", name: "db"))
            #expect(String(decoding: secret.body, as: UTF8.self).contains(Self.secretValue))
        }
        // Re-sealed with the new key at that start: the old key can go.
        let onlyNew = try CacheKeys(keys: [rotated.primary], identity: keys.identity)
        try await withCachedProxy(directory: dir, startupFallbackDelay: .milliseconds(20), keys: onlyNew) { h, cluster, cache in
            cluster.link = .silent
            let r = try await ask(h, Self.secrets, [Self.good])
            #expect(r.status == 200 && r.bodyString.contains(Self.secretValue))
        }
    }
}

func readAll(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "rb") else { return [] }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return out
}

func containsBytes(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    let first = needle[0]
    var i = 0
    while i <= haystack.count - needle.count {
        if haystack[i] == first && Array(haystack[i..<(i + needle.count)]) == needle { return true }
        i += 1
    }
    return false
}

/// Shapes of requests that once changed what the cache holds (an attacker's probe, issue 10).
@Suite("Trust: requests that must not rewrite the cache")
struct CacheRewriteAttackTests {
    static let secrets = TrustServingTests.secrets
    static let table = ("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")

    @Test func aTableAskOfAnUnfilteredResourceLeavesTheCacheAlone() async throws {
        try await withCachedProxy { h, cluster, cache in
            TrustServingTests.seed(cluster)
            let c = try await h.client()
            let first = try await c.request(.GET, Self.secrets, headers: [TrustServingTests.good])
            #expect(first.status == 200, "\(first.status) \(first.bodyString.prefix(300))")
            #expect(await waitUntil { ((try? cache.store.stats().objects) ?? 0) == 1 })
            cluster.route(Self.secrets, .json(#"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"100"},"columnDefinitions":[],"rows":[]}"#))
            let t = try await c.request(.GET, Self.secrets, headers: [Self.table, TrustServingTests.good])
            #expect(t.status == 200 && t.bodyString.contains(#""kind":"Table""#), "passed through as asked")
            try await Task.sleep(for: .milliseconds(200))
            #expect(try cache.store.stats().objects == 1, "the Table's rows did not replace the cached scope")
            await c.close()
            cluster.link = .down
            let d = try await h.client()
            let offline = try await d.request(.GET, Self.secrets + "/db", headers: [TrustServingTests.good])
            #expect(offline.status == 200 && offline.bodyString.contains(TrustServingTests.secretValue))
            await d.close()
        }
    }

    @Test func namespacesUnderANamespaceAreNoRoute() async throws {
        try await withCachedProxy { h, cluster, cache in
            cluster.route("/api/v1/namespaces", .json(#"{"kind":"NamespaceList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"kube-public","resourceVersion":"3"}},{"metadata":{"name":"a","resourceVersion":"4"}}]}"#))
            let c = try await h.client()
            #expect(try await c.request(.GET, "/api/v1/namespaces").status == 200)
            #expect(await waitUntil { ((try? cache.store.stats().objects) ?? 0) == 2 })
            // The apiserver authorizes these in namespace a, then answers 404: no such route.
            #expect(try await c.request(.GET, "/api/v1/namespaces/a/namespaces/kube-public").status == 404)
            #expect(try await c.request(.GET, "/api/v1/namespaces/a/namespaces").status == 404)
            cluster.route("/api/v1/nodes", .json(#"{"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"8"},"items":[{"metadata":{"name":"n1","resourceVersion":"5"}}]}"#))
            #expect(try await c.request(.GET, "/api/v1/nodes").status == 200)
            #expect(try await c.request(.GET, "/api/v1/namespaces/a/nodes/n1").status == 404)
            try await Task.sleep(for: .milliseconds(200))
            #expect(try cache.store.stats().objects == 3, "a 404 from a non-route forgot a namespace or a node")
            await c.close()
            cluster.link = .down
            let d = try await h.client()
            // No local answer for a non-route: the apiserver's absence is all the client learns.
            let listed = try await d.request(.GET, "/api/v1/namespaces/a/namespaces")
            #expect([502, 503].contains(listed.status) && !listed.bodyString.contains("kube-public"))
            await d.close()
            let e = try await h.client()
            let namespace = try await e.request(.GET, "/api/v1/namespaces/kube-public")
            #expect(namespace.status == 200, "the namespace is still known")
            await e.close()
        }
    }
}

/// A selector watch's DELETED cannot tell "deleted" from "left this selection" (the apiserver sends
/// the object's previous state either way): found by an attacker's probe, where a relabelled pod
/// vanished from kubelet's offline list.
@Suite("Trust: a selector watch's DELETED")
struct SelectorDeleteTests {
    static let path = "/api/v1/namespaces/demo/configmaps"

    @Test func anObjectLeavingASelectionIsNeverReportedGone() async throws {
        try await withCachedProxy { h, cluster, cache in
            cluster.route(Self.path, .json(configMapList(rv: 5, items: [configMap("a", rv: 3, labels: ["app": "web"]),
                                                                       configMap("b", rv: 4, labels: ["app": "web"])])))
            cluster.route(Self.path + "?labelSelector=app%3Dweb",
                          .json(configMapList(rv: 5, items: [configMap("a", rv: 3, labels: ["app": "web"]),
                                                             configMap("b", rv: 4, labels: ["app": "web"])])))
            let feed = StreamFeed()
            cluster.route(Self.path + "?labelSelector=app%3Dweb&watch=true&resourceVersion=5",
                          .stream(status: 200, headers: [("Content-Type", "application/json")], feed: feed))
            let c = try await h.client()
            #expect(try await c.request(.GET, Self.path).status == 200)
            #expect(try await c.request(.GET, Self.path + "?labelSelector=app%3Dweb").status == 200)
            cluster.route(Self.path + "/b", .json(configMap("b", rv: 4, labels: ["app": "web"], kindAndVersion: true)))
            #expect(try await c.request(.GET, Self.path + "/b").status == 200)   // confirms the get access
            let w = try await h.client()
            let parts = try await w.send(.GET, Self.path + "?labelSelector=app%3Dweb&watch=true&resourceVersion=5")
            #expect(await waitUntil { feed.isAttached })
            // b was relabelled app=db: the selector watch says DELETED with b's previous state.
            feed.send(#"{"type":"DELETED","object":\#(configMap("b", rv: 9, labels: ["app": "web"], kindAndVersion: true))}"# + "\n")
            feed.finish()
            _ = await TestClient.collect(parts)
            #expect(await waitUntil { (try? cache.store.get(gvr: "/v1/configmaps", namespace: "demo", name: "b")) == nil })
            cluster.link = .down
            let selected = try await c.request(.GET, Self.path + "?labelSelector=app%3Dweb")
            #expect(selected.status == 200 && itemNames(selected.bodyString) == ["a"], "b left this selection")
            let all = try await c.request(.GET, Self.path)
            #expect(all.status == 503, "the unselected scope cannot know b's fate: never a list without b")
            let b = try await c.request(.GET, Self.path + "/b")
            #expect(b.status == 503, "never a 404 for an object that may exist")
            await c.close()
            await w.close()
        }
    }
}
