import Testing
import CacheStore
import Filters
import OutpostTesting
@testable import EdgeCache

@Suite("ResourceScopes")
struct ResourceScopesTests {
    @Test func builtInsAreKnownWithoutDiscovery() {
        let s = ResourceScopes()
        #expect(s.scope(of: GroupResource(group: "storage.k8s.io", resource: "csidrivers")) == .cluster)
        #expect(s.scope(of: GroupResource(group: "node.k8s.io", resource: "runtimeclasses")) == .cluster)
        #expect(s.scope(of: GroupResource(group: "", resource: "nodes")) == .cluster)
        #expect(s.scope(of: GroupResource(group: "", resource: "pods")) == .namespaced)
        #expect(s.scope(of: GroupResource(group: "coordination.k8s.io", resource: "leases")) == .namespaced)
        #expect(s.scope(of: GroupResource(group: "example.com", resource: "widgets")) == .unknown)
    }

    @Test func discoveryTeachesCustomResourcesAndWins() {
        let s = ResourceScopes()
        s.learn(resourceList: Array(#"""
            {"kind":"APIResourceList","groupVersion":"example.com/v1","resources":[
             {"name":"widgets","namespaced":true,"kind":"Widget"},{"name":"gadgets","namespaced":false,"kind":"Gadget"},
             {"name":"widgets/status","namespaced":false,"kind":"Widget"}]}
            """#.utf8))
        #expect(s.scope(of: GroupResource(group: "example.com", resource: "widgets")) == .namespaced)
        #expect(s.scope(of: GroupResource(group: "example.com", resource: "gadgets")) == .cluster)
        // A Status (a 404 for the group) teaches nothing.
        s.learn(resourceList: Array(#"{"kind":"Status","code":404}"#.utf8))
        #expect(s.scope(of: GroupResource(group: "other.io", resource: "things")) == .unknown)
    }

    /// What the store kept of discovery is read at start: a restarted Outpost knows the scope of
    /// custom resources a client discovered before.
    @Test func scopesComeBackFromStoredDiscovery() throws {
        let dir = temporaryDirectory()
        defer { removeDirectory(dir) }
        let store = try CacheStore(directory: dir)
        defer { store.close() }
        let widgets = #"{"kind":"APIResourceList","groupVersion":"example.com/v1","resources":[{"name":"widgets","namespaced":true,"kind":"Widget"}]}"#
        try store.putDocument(key: "doc:/apis/example.com/v1", StoredDocument(contentType: "application/json", body: Array(widgets.utf8)))
        // Not resource lists: /apis (an APIGroupList) and a Status teach nothing.
        try store.putDocument(key: "doc:/apis", StoredDocument(contentType: "application/json",
                                                               body: Array(#"{"kind":"APIGroupList","groups":[]}"#.utf8)))
        try store.putDocument(key: "doc:/apis/other.io/v1", StoredDocument(contentType: "application/json",
                                                                           body: Array(#"{"kind":"Status","code":503}"#.utf8)))
        #expect(try store.documents(keyPrefix: "doc:/api").map(\.key) == ["doc:/apis", "doc:/apis/example.com/v1", "doc:/apis/other.io/v1"])
        let s = ResourceScopes(store: store)
        #expect(s.scope(of: GroupResource(group: "example.com", resource: "widgets")) == .namespaced)
        #expect(s.scope(of: GroupResource(group: "other.io", resource: "things")) == .unknown)
    }

    @Test(arguments: [("doc:/api/v1", true), ("doc:/apis/storage.k8s.io/v1", true), ("doc:/apis", false),
                      ("doc:/api", false), ("doc:/version", false), ("doc:/apis/storage.k8s.io", false)])
    func resourceListKeys(key: String, isList: Bool) {
        #expect(ResourceScopes.isResourceListKey(key) == isList)
    }
}

/// The router caches a custom resource under a namespace path only once discovery said it is
/// namespaced; before that, offline, the path has no local answer (the proxy's error), never a guess.
@Suite("Custom resource scopes through Outpost", .serialized)
struct CustomResourceScopeServingTests {
    static let path = "/apis/example.com/v1/namespaces/demo/widgets"
    static let list = #"{"kind":"WidgetList","apiVersion":"example.com/v1","metadata":{"resourceVersion":"50"},"items":[{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w1","namespace":"demo","resourceVersion":"40"}}]}"#
    static let discovery = #"{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"example.com/v1","resources":[{"name":"widgets","singularName":"widget","namespaced":true,"kind":"Widget","verbs":["get","list","watch"]}]}"#

    @Test func unknownScopeIsNotCachedUnderANamespacePath() async throws {
        try await withCachedProxy { h, cluster, cache in
            cluster.route(Self.path, .json(Self.list))
            let c = try await h.client()
            #expect(try await c.request(.GET, Self.path).status == 200)
            cluster.link = .down
            let offline = try await c.request(.GET, Self.path)
            #expect(offline.status >= 502, "no local answer: the proxy's own error")
            #expect(offline.header("x-outpost-cache") == nil)
            #expect(((try? cache.store.stats().objects) ?? -1) == 0)
            await c.close()
        }
    }

    @Test func discoveryMakesItCacheable() async throws {
        try await withCachedProxy { h, cluster, cache in
            cluster.route(Self.path, .json(Self.list))
            cluster.route("/apis/example.com/v1", .json(Self.discovery))
            let c = try await h.client()
            #expect(try await c.request(.GET, "/apis/example.com/v1").status == 200)
            #expect(await waitUntil { cache.scopes.scope(of: GroupResource(group: "example.com", resource: "widgets")) == .namespaced })
            #expect(try await c.request(.GET, Self.path).status == 200)
            #expect(await waitUntil { ((try? cache.store.stats().objects) ?? 0) == 1 })
            cluster.link = .down
            let offline = try await c.request(.GET, Self.path)
            #expect(offline.status == 200)
            #expect(offline.header("x-outpost-cache") == "hit")
            #expect(itemNames(offline.bodyString) == ["w1"])
            await c.close()
        }
    }

    @Test func aClusterScopedResourceUnderANamespacePathIsOnlyForwarded() async throws {
        try await withCachedProxy { h, cluster, cache in
            let nodes = "/api/v1/namespaces/demo/nodes"
            cluster.route(nodes, .json(#"{"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"5"},"items":[]}"#))
            let c = try await h.client()
            #expect(try await c.request(.GET, nodes).status == 200)
            cluster.link = .down
            let offline = try await c.request(.GET, nodes)
            #expect(offline.status >= 502 && offline.header("x-outpost-cache") == nil, "no local answer")
            await c.close()
        }
    }
}
