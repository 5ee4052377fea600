import OutpostCLI
import Testing

@Suite("outpost verify: scope comparison")
struct ScopeComparisonTests {
    @Test func classifiesEveryObject() {
        let c = ScopeComparison(
            scopeResourceVersion: "100",
            cached: [("ns", "same", "50"), ("ns", "stale", "60"), ("ns", "gone", "70"), ("ns", "edited", "1")],
            upstream: [("ns", "same", "50"), ("ns", "stale", "120"), ("ns", "edited", "80"), ("ns", "old-missing", "90"),
                       ("ns", "new", "130")])
        #expect(c.matching == 1)
        #expect(c.missing.map(\.name) == ["old-missing"])
        #expect(c.extra.map(\.name) == ["gone"])
        #expect(c.differentVersion == [.init(namespace: "ns", name: "edited", cached: "1", upstream: "80")])
        #expect(c.newerUpstream.map(\.name) == ["stale", "new"])
        #expect(!c.isClean)
    }

    @Test func newerUpstreamAloneIsClean() {
        let c = ScopeComparison(scopeResourceVersion: "10", cached: [("", "a", "5")], upstream: [("", "a", "12"), ("", "b", "11")])
        #expect(c.isClean)
        #expect(c.newerUpstream.count == 2)
        // a selector scope does not claim the cache's other objects are extra
        let s = ScopeComparison(scopeResourceVersion: "10", cached: [("", "a", "5"), ("", "z", "3")], upstream: [("", "a", "5")],
                                checkExtra: false)
        #expect(s.isClean && s.matching == 1)
    }

    @Test func pathsAndSelectors() {
        #expect(ScopeComparison.listPath(gvr: "/v1/pods", namespace: "") == "/api/v1/pods")
        #expect(ScopeComparison.listPath(gvr: "/v1/configmaps", namespace: "kube-system") == "/api/v1/namespaces/kube-system/configmaps")
        #expect(ScopeComparison.listPath(gvr: "coordination.k8s.io/v1/leases", namespace: "n")
                == "/apis/coordination.k8s.io/v1/namespaces/n/leases")
        #expect(ScopeComparison.listPath(gvr: "pods", namespace: "") == nil)
        #expect(ScopeComparison.selectorQuery("") .isEmpty)
        #expect(ScopeComparison.selectorQuery("l:app=x,tier in (a,b)").map { [$0.0, $0.1] } == [["labelSelector", "app=x,tier in (a,b)"]])
        #expect(ScopeComparison.selectorQuery("l:a=b;f:spec.nodeName=n1").map { [$0.0, $0.1] }
                == [["labelSelector", "a=b"], ["fieldSelector", "spec.nodeName=n1"]])
        #expect(ScopeComparison.selectorQuery("f:metadata.name=x").map { [$0.0, $0.1] } == [["fieldSelector", "metadata.name=x"]])
        #expect(ScopeComparison.percentEncoded("tier in (a,b)") == "tier%20in%20%28a%2Cb%29")
    }
}
