import Testing
import Filters

@Suite("Default filter chain")
struct DefaultChainTests {
    @Test func isTheSkipPrefixedRule() throws {
        let rules = FilterChain.default.rules
        #expect(rules.map(\.name) == ["skip-prefixed"])
        #expect(rules[0].resources == [pods, configMaps])
        #expect(rules[0].namePrefixes == ["skip-"])
        #expect(rules[0].namespaces.isEmpty && rules[0].labelSelector == nil && rules[0].fieldSelector == nil)
    }

    @Test(arguments: [pods, configMaps])
    func dropsSkipPrefixedObjects(resource: GroupResource) throws {
        let filter = try #require(FilterChain.default.filter(for: resource))
        #expect(filter.droppingRule(name: "skip-x") == "skip-prefixed")
        #expect(filter.droppingRule(name: "skip-") == "skip-prefixed")
        #expect(filter.droppingRule(name: "skip-me", namespace: "kube-system") == "skip-prefixed")
        #expect(filter.usesFields == false)
    }

    @Test(arguments: [pods, configMaps])
    func keepsOtherNames(resource: GroupResource) throws {
        let filter = try #require(FilterChain.default.filter(for: resource))
        for name in ["keep", "skip", "skipper", "Skip-x", "SKIP-x", "x-skip-y", "noskip-", ""] {
            #expect(filter.droppingRule(name: name) == nil, "\(name) should be kept")
        }
    }

    @Test(arguments: [secrets, events, nodes, leases, GroupResource(group: "apps", resource: "pods")])
    func otherResourcesAreNotFiltered(resource: GroupResource) {
        // nil: the proxy passes these responses through untouched, skip- names included.
        #expect(FilterChain.default.filter(for: resource) == nil)
    }

    @Test func configDefaultUsesTheDefaultChainAndCache() {
        let config = OutpostConfig.default
        #expect(config.filters.rules == FilterChain.default.rules)
        #expect(config.cache == CacheSettings.default)
        #expect(config.cache.discovery)
        #expect(config.cache.resources == nil)
        #expect(config.cache.excluded.isEmpty)
    }

    /// Every resource is cached by default, built-in or custom, whatever its group.
    @Test(arguments: ["pods", "csidrivers.storage.k8s.io", "runtimeclasses.node.k8s.io", "csinodes.storage.k8s.io",
                      "widgets.example.com", "events", "leases.coordination.k8s.io"])
    func everyResourceIsCachedByDefault(resource: String) throws {
        #expect(CacheSettings.default.caches(try #require(GroupResource(parsing: resource))))
        #expect(CacheSettings.default.summary == "all")
    }
}
