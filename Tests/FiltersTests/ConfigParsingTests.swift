import Testing
import Filters
import Selectors

@Suite("OutpostConfig parsing")
struct ConfigParsingTests {
    @Test(arguments: ["", "\n", "# only a comment\n", "---\n"])
    func emptyFileKeepsDefaults(yaml: String) throws {
        let config = try OutpostConfig.parse(yaml: yaml)
        #expect(config.filters.rules == FilterChain.default.rules)
        #expect(config.cache == CacheSettings.default)
    }

    @Test func missingFiltersKeepsTheDefaultChain() throws {
        let config = try OutpostConfig.parse(yaml: "cache:\n  discovery: false\n")
        #expect(config.filters.rules == FilterChain.default.rules)
        #expect(config.cache.discovery == false)
        #expect(config.cache.resources == nil)
    }

    @Test func filtersWithoutRulesKeepsTheDefaultChain() throws {
        let config = try OutpostConfig.parse(yaml: "filters: {}\n")
        #expect(config.filters.rules == FilterChain.default.rules)
    }

    @Test(arguments: ["filters: {rules: []}\n", "filters:\n  rules: []\n"])
    func emptyRulesTurnFilteringOff(yaml: String) throws {
        let config = try OutpostConfig.parse(yaml: yaml)
        #expect(config.filters.rules.isEmpty)
        #expect(config.filters.filter(for: pods) == nil)
        #expect(config.filters.filter(for: configMaps) == nil)
        #expect(config.cache == CacheSettings.default)
    }

    @Test func givenRulesReplaceTheDefault() throws {
        let config = try OutpostConfig.parse(yaml: """
            filters:
              rules:
                - name: hide-debug
                  resources: [configmaps]
                  labelSelector: "debug=true"
            """)
        #expect(config.filters.rules.map(\.name) == ["hide-debug"])
        #expect(config.filters.filter(for: pods) == nil)
        let filter = try #require(config.filters.filter(for: configMaps))
        #expect(filter.droppingRule(name: "skip-1") == nil)
        #expect(filter.droppingRule(name: "dbg", namespace: "ns", labels: [("debug", "true")], fields: [:]) == "hide-debug")
    }

    @Test func blockAndFlowListsAreEquivalent() throws {
        let block = try OutpostConfig.parse(yaml: """
            filters:
              rules:
              - name: r
                resources:
                - pods
                - deployments.apps
                namespaces:
                - a
                - "b"
                namePrefix:
                - x-
                - 'y-'
            """)
        let flow = try OutpostConfig.parse(yaml: """
            filters: {rules: [{name: r, resources: [pods, deployments.apps], namespaces: [a, b], namePrefix: [x-, y-]}]}
            """)
        let expected = FilterRule(name: "r", resources: [pods, GroupResource(group: "apps", resource: "deployments")],
                                  namespaces: ["a", "b"], namePrefixes: ["x-", "y-"])
        #expect(block.filters.rules == [expected])
        #expect(flow.filters.rules == [expected])
    }

    @Test func namePrefixAsSingleString() throws {
        let config = try OutpostConfig.parse(yaml: """
            filters:
              rules:
                - {name: r, resources: [secrets], namePrefix: tmp-}
            """)
        #expect(config.filters.rules[0].namePrefixes == ["tmp-"])
        #expect(try #require(config.filters.filter(for: secrets)).droppingRule(name: "tmp-a") == "r")
    }

    @Test func selectorsAreParsed() throws {
        let config = try OutpostConfig.parse(yaml: """
            filters:
              rules:
                - name: r
                  resources: [pods]
                  labelSelector: tier in (cache,queue), !keep
                  fieldSelector: status.phase!=Running
            """)
        let rule = try #require(config.filters.rules.first)
        #expect(rule.labelSelector == (try LabelSelector.parse("tier in (cache,queue),!keep")))
        #expect(rule.fieldSelector == (try FieldSelector.parse("status.phase!=Running")))
        let filter = try #require(config.filters.filter(for: pods))
        #expect(filter.usesFields)
        #expect(filter.droppingRule(name: "p", namespace: "n", labels: [("tier", "cache")], fields: ["status.phase": "Pending"]) == "r")
        #expect(filter.droppingRule(name: "p", namespace: "n", labels: [("tier", "cache")], fields: ["status.phase": "Running"]) == nil)
    }

    @Test func fieldSelectorAliasBecomesTheCanonicalLabel() throws {
        // The proxy extracts fields under canonical labels, so `spec.host` must match `spec.nodeName`.
        let config = try OutpostConfig.parse(yaml: """
            filters:
              rules:
                - {name: r, resources: [pods], fieldSelector: "spec.host=edge-1"}
            """)
        #expect(config.filters.rules[0].fieldSelector?.description == "spec.nodeName=edge-1")
        let filter = try #require(config.filters.filter(for: pods))
        #expect(filter.droppingRule(name: "p", namespace: "n", labels: [], fields: ["spec.nodeName": "edge-1"]) == "r")
    }

    @Test func metadataFieldSelectorOnSeveralResources() throws {
        let config = try OutpostConfig.parse(yaml: """
            filters:
              rules:
                - {name: r, resources: [pods, configmaps, deployments.apps], fieldSelector: "metadata.namespace=tmp"}
            """)
        let filter = try #require(config.filters.filter(for: GroupResource(group: "apps", resource: "deployments")))
        #expect(filter.droppingRule(name: "d", namespace: "tmp", labels: [], fields: ["metadata.namespace": "tmp"]) == "r")
    }

    @Test func emptySelectorIsNoCondition() throws {
        let config = try OutpostConfig.parse(yaml: """
            filters:
              rules:
                - {name: r, resources: [pods], namespaces: [a], labelSelector: "", fieldSelector: ""}
            """)
        #expect(config.filters.rules[0].labelSelector == nil)
        #expect(config.filters.rules[0].fieldSelector == nil)
        #expect(try #require(config.filters.filter(for: pods)).usesFields == false)
    }

    @Test func cacheResourcesIsTheExactSet() throws {
        let config = try OutpostConfig.parse(yaml: "cache:\n  resources: [pods, leases.coordination.k8s.io, pods]\n")
        #expect(config.cache.resources == [pods, leases])
        #expect(config.cache.discovery)
        #expect(config.filters.rules == FilterChain.default.rules)
    }

    @Test func emptyCacheResourcesCachesNothing() throws {
        let config = try OutpostConfig.parse(yaml: "cache: {resources: [], discovery: no}\n")
        #expect(config.cache.resources == [])
        #expect(!config.cache.caches(pods))
        #expect(config.cache.discovery == false)
    }

    @Test func excludeKeepsResourcesOutOfEitherForm() throws {
        let events = GroupResource(group: "", resource: "events"), newEvents = GroupResource(group: "events.k8s.io", resource: "events")
        let all = try OutpostConfig.parse(yaml: "cache:\n  exclude: [events, events.events.k8s.io]\n").cache
        #expect(all.resources == nil)
        #expect(all.excluded == [events, newEvents])
        #expect(!all.caches(events) && !all.caches(newEvents))
        #expect(all.caches(pods) && all.caches(GroupResource(group: "example.com", resource: "widgets")))
        #expect(all.summary == "all except [\"events\", \"events.events.k8s.io\"]")
        let only = try OutpostConfig.parse(yaml: "cache: {resources: [pods, events], exclude: [events]}\n").cache
        #expect(only.caches(pods) && !only.caches(events) && !only.caches(leases))
        #expect(only.summary == "only [\"events\", \"pods\"] except [\"events\"]")
    }

    @Test func excludeEntriesAreCheckedLikeResources() {
        #expect(throws: ConfigError.self) { try OutpostConfig.parse(yaml: "cache: {exclude: [pods/log]}\n") }
        #expect(throws: ConfigError.self) { try OutpostConfig.parse(yaml: "cache: {exclude: pods}\n") }
    }

    @Test func rulesKeepFileOrder() throws {
        let config = try OutpostConfig.parse(yaml: """
            filters:
              rules:
                - {name: z, resources: [pods], namePrefix: a}
                - {name: a, resources: [pods], namePrefix: ab}
            """)
        #expect(config.filters.rules.map(\.name) == ["z", "a"])
        #expect(try #require(config.filters.filter(for: pods)).droppingRule(name: "abc") == "z")
    }
}
