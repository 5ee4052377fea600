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
        #expect(config.cache.resources == CacheSettings.defaultResources)
    }

    @Test func defaultCachedResources() {
        let expected: Set<String> = [
            "pods", "configmaps", "secrets", "services", "endpoints", "endpointslices.discovery.k8s.io",
            "nodes", "leases.coordination.k8s.io", "namespaces", "events", "events.events.k8s.io",
        ]
        #expect(Set(CacheSettings.defaultResources.map(\.description)) == expected)
    }
}
