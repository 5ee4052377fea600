@testable import EdgeCache
import Filters
import NIOHTTP1
import OutpostTesting
import Selectors
import Testing

/// Offline, a list or watch whose own scope was never cached is answered from a complete scope
/// whose selection contains it (a cluster-wide list answers a namespace, a selector answers a
/// narrower one), and still gets a 503 when no cached scope provably holds all its objects.
@Suite("Narrower scopes offline", .serialized)
struct NarrowerScopeTests {
    static let webList = "/api/v1/configmaps?labelSelector=app%3Dweb"

    func warmAndCut(_ h: ProxyHarness, _ cluster: FakeCluster, _ cache: EdgeCache) async throws {
        cluster.route(Self.webList, .json(configMapList(rv: 200, items: [
            configMap("a", rv: 10, labels: ["app": "web", "tier": "front"]),
            configMap("b", rv: 11, labels: ["app": "web", "tier": "back"]),
            configMap("x", ns: "other", rv: 12, labels: ["app": "web", "tier": "front"]),
        ])))
        let c = try await h.client()
        let online = try await c.request(.GET, Self.webList)
        await c.close()
        #expect(online.status == 200)
        #expect(await waitUntil { ((try? cache.store.scopes(gvr: "/v1/configmaps")) ?? []).contains { $0.complete } })
        cluster.link = .down
    }

    @Test func aWiderCompleteScopeAnswersNarrowerListsAndWatches() async throws {
        try await withCachedProxy { h, cluster, cache in
            try await warmAndCut(h, cluster, cache)
            let c = try await h.client()
            // one namespace and one more label requirement
            let front = try await c.request(.GET, "/api/v1/namespaces/demo/configmaps?labelSelector=app%3Dweb,tier%3Dfront")
            #expect(front.status == 200)
            #expect(itemNames(front.bodyString) == ["a"])
            #expect(front.bodyString.contains(#""resourceVersion":"200""#), "the covering scope's resourceVersion")
            // a set that implies the scope's equality
            let inSet = try await c.request(.GET, "/api/v1/namespaces/demo/configmaps?labelSelector=app%20in%20(web),tier!%3Dfront")
            #expect(itemNames(inSet.bodyString) == ["b"])
            // all namespaces, narrowed by a field selector
            let other = try await c.request(.GET, "/api/v1/configmaps?labelSelector=app%3Dweb&fieldSelector=metadata.namespace%3Dother")
            #expect(itemNames(other.bodyString) == ["x"])
            // a watch from "" replays the narrower set
            let watch = try await c.request(.GET, "/api/v1/namespaces/demo/configmaps?watch=1&timeoutSeconds=1&labelSelector=app%3Dweb,tier%3Dback")
            #expect(watch.status == 200)
            #expect(itemNames(watch.bodyString) == ["b"])
            await c.close()
        }
    }

    @Test func aScopePinnedToOneNameAnswersItsGetWith404() async throws {
        try await withCachedProxy { h, cluster, cache in
            // kubelet lists its own node with `metadata.name=NODE`; here a configmap that is gone
            let pinned = "/api/v1/namespaces/demo/configmaps?fieldSelector=metadata.name%3Dgone"
            cluster.route(pinned, .json(configMapList(rv: 300, items: [])))
            let c = try await h.client()
            #expect(try await c.request(.GET, pinned).status == 200)
            #expect(await waitUntil { ((try? cache.store.scopes(gvr: "/v1/configmaps")) ?? []).contains { $0.complete } })
            cluster.link = .down
            let gone = try await c.request(.GET, "/api/v1/namespaces/demo/configmaps/gone")
            #expect(gone.status == 404)
            #expect(gone.bodyString.contains(#""reason":"NotFound""#))
            await c.close()
        }
    }

    @Test func scopesThatMayMissObjectsStillAnswer503() async throws {
        try await withCachedProxy { h, cluster, cache in
            try await warmAndCut(h, cluster, cache)
            let c = try await h.client()
            for uri in ["/api/v1/namespaces/demo/configmaps",                          // no label requirement
                        "/api/v1/configmaps?labelSelector=app%3Ddb",                    // another value
                        "/api/v1/configmaps?labelSelector=app!%3Ddb",                   // matches objects without app
                        "/api/v1/configmaps?labelSelector=app%20in%20(web,db)",         // a wider set
                        "/api/v1/configmaps?labelSelector=app"] {                       // any value
                let r = try await c.request(.GET, uri)
                #expect(r.status == 503, "\(uri)")
            }
            await c.close()
        }
    }
}

/// The scope key is the contract between a stored scope and the coverage check: every key a
/// selection writes must read back as the same selectors.
@Suite struct ScopeKeyTests {
    @Test(arguments: [
        ("", ""), ("app=web", ""), ("", "spec.nodeName=n1"), ("app in (web,db),!tier,x!=y,n>3", "spec.nodeName=n1,status.phase!=Failed"),
        ("!service.kubernetes.io/headless,!service.kubernetes.io/service-proxy-name", ""),
        ("a", "metadata.name=x\\,y\\=z;w"),
    ])
    func keysReadBack(_ labels: String, _ fields: String) throws {
        let support = FieldLabelSupport.forResource(group: "", resource: "pods")
        let selection = try Selection(labelSelector: labels, fieldSelector: fields, support: support, style: .fieldPath)
        let back = try #require(ScopeCoverage.selection(ofKey: selection.key))
        #expect(back.labels == selection.labels)
        #expect(back.fields == selection.fields)
    }
}
