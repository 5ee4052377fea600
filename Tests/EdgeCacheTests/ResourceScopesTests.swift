import Testing
import CacheStore
import Filters
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
