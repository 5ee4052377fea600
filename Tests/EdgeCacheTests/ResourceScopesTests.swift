import Testing
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

    @Test(arguments: [("doc:/api/v1", true), ("doc:/apis/storage.k8s.io/v1", true), ("doc:/apis", false),
                      ("doc:/api", false), ("doc:/version", false), ("doc:/apis/storage.k8s.io", false)])
    func resourceListKeys(key: String, isList: Bool) {
        #expect(ResourceScopes.isResourceListKey(key) == isList)
    }
}
