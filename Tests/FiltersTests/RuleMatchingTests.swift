import Testing
import Filters
import Selectors

@Suite("Filter rule matching")
struct RuleMatchingTests {
    @Test func anyOfSeveralPrefixes() throws {
        let chain = FilterChain(rules: [FilterRule(name: "tmp", resources: [configMaps], namePrefixes: ["tmp-", "scratch-"])])
        let filter = try #require(chain.filter(for: configMaps))
        #expect(filter.droppingRule(name: "tmp-1") == "tmp")
        #expect(filter.droppingRule(name: "scratch-a") == "tmp")
        #expect(filter.droppingRule(name: "tmp") == nil)
        #expect(filter.droppingRule(name: "a-tmp-1") == nil)
    }

    @Test func prefixesCompareBytesNotCanonicalEquivalence() throws {
        // "é" precomposed vs "e" + combining acute: equal to Swift's `==`, different to the apiserver.
        let chain = FilterChain(rules: [FilterRule(name: "r", resources: [configMaps], namePrefixes: ["caf\u{E9}-"])])
        let filter = try #require(chain.filter(for: configMaps))
        #expect(filter.droppingRule(name: "caf\u{E9}-x") == "r")
        #expect(filter.droppingRule(name: "cafe\u{301}-x") == nil)
    }

    @Test func namespaceScopedRule() throws {
        let chain = FilterChain(rules: [FilterRule(name: "sys", resources: [pods], namespaces: ["kube-system", "monitoring"])])
        let filter = try #require(chain.filter(for: pods))
        #expect(filter.droppingRule(name: "a", namespace: "kube-system") == "sys")
        #expect(filter.droppingRule(name: "a", namespace: "monitoring") == "sys")
        #expect(filter.droppingRule(name: "a", namespace: "default") == nil)
        #expect(filter.droppingRule(name: "a", namespace: "") == nil)
        #expect(filter.droppingRule(name: "a", namespace: "kube-system-2") == nil)
    }

    @Test func everyGivenConditionMustHold() throws {
        let rule = FilterRule(name: "both", resources: [pods], namespaces: ["ns"], namePrefixes: ["skip-"])
        let filter = try #require(FilterChain(rules: [rule]).filter(for: pods))
        #expect(filter.droppingRule(name: "skip-1", namespace: "ns") == "both")
        #expect(filter.droppingRule(name: "skip-1", namespace: "other") == nil)
        #expect(filter.droppingRule(name: "keep", namespace: "ns") == nil)
    }

    @Test func labelSelectorEquality() throws {
        let rule = FilterRule(name: "debug", resources: [pods], labelSelector: try LabelSelector.parse("debug=true"))
        let filter = try #require(FilterChain(rules: [rule]).filter(for: pods))
        #expect(filter.droppingRule(name: "a", namespace: "ns", labels: [("debug", "true")], fields: [:]) == "debug")
        #expect(filter.droppingRule(name: "a", namespace: "ns", labels: [("app", "x"), ("debug", "true")], fields: [:]) == "debug")
        #expect(filter.droppingRule(name: "a", namespace: "ns", labels: [("debug", "false")], fields: [:]) == nil)
        #expect(filter.droppingRule(name: "a", namespace: "ns", labels: [], fields: [:]) == nil)
        #expect(filter.usesFields == false)
    }

    @Test func labelSelectorNotEqualsMatchesAbsentLabels() throws {
        let rule = FilterRule(name: "not-prod", resources: [pods], labelSelector: try LabelSelector.parse("env!=prod"))
        let filter = try #require(FilterChain(rules: [rule]).filter(for: pods))
        #expect(filter.droppingRule(name: "a", namespace: "ns", labels: [("env", "dev")], fields: [:]) == "not-prod")
        #expect(filter.droppingRule(name: "a", namespace: "ns", labels: [], fields: [:]) == "not-prod")
        #expect(filter.droppingRule(name: "a", namespace: "ns", labels: [("env", "prod")], fields: [:]) == nil)
    }

    @Test func labelSelectorSetAndExistence() throws {
        let rule = FilterRule(name: "tiers", resources: [pods],
                              labelSelector: try LabelSelector.parse("tier in (cache, queue),canary,!keep"))
        let filter = try #require(FilterChain(rules: [rule]).filter(for: pods))
        func drop(_ labels: [(String, String)]) -> String? {
            filter.droppingRule(name: "p", namespace: "ns", labels: labels, fields: [:])
        }
        #expect(drop([("tier", "cache"), ("canary", "")]) == "tiers")
        #expect(drop([("tier", "queue"), ("canary", "yes")]) == "tiers")
        #expect(drop([("tier", "web"), ("canary", "")]) == nil)
        #expect(drop([("tier", "cache")]) == nil)
        #expect(drop([("tier", "cache"), ("canary", ""), ("keep", "1")]) == nil)
    }

    @Test func fieldSelectorRule() throws {
        let rule = FilterRule(name: "done", resources: [pods],
                              fieldSelector: try FieldSelector.parse("status.phase=Succeeded,spec.nodeName!=edge-1"))
        let filter = try #require(FilterChain(rules: [rule]).filter(for: pods))
        #expect(filter.usesFields)
        func drop(_ fields: [String: String]) -> String? {
            filter.droppingRule(name: "p", namespace: "ns", labels: [], fields: fields)
        }
        #expect(drop(["status.phase": "Succeeded", "spec.nodeName": "edge-2"]) == "done")
        #expect(drop(["status.phase": "Succeeded"]) == "done")  // a missing field reads as ""
        #expect(drop(["status.phase": "Succeeded", "spec.nodeName": "edge-1"]) == nil)
        #expect(drop(["status.phase": "Running", "spec.nodeName": "edge-2"]) == nil)
        #expect(drop([:]) == nil)
    }

    @Test func usesFieldsOnlyForResourcesWithAFieldRule() throws {
        let chain = FilterChain(rules: [
            FilterRule(name: "names", resources: [pods, configMaps], namePrefixes: ["skip-"]),
            FilterRule(name: "phase", resources: [pods], fieldSelector: try FieldSelector.parse("status.phase=Failed")),
        ])
        #expect(try #require(chain.filter(for: pods)).usesFields)
        #expect(try #require(chain.filter(for: configMaps)).usesFields == false)
    }

    @Test func firstMatchingRuleIsReported() throws {
        let chain = FilterChain(rules: [
            FilterRule(name: "first", resources: [configMaps], namePrefixes: ["a-"]),
            FilterRule(name: "second", resources: [configMaps, secrets], namePrefixes: ["a-", "b-"]),
        ])
        let cm = try #require(chain.filter(for: configMaps))
        #expect(cm.droppingRule(name: "a-1") == "first")
        #expect(cm.droppingRule(name: "b-1") == "second")
        let secret = try #require(chain.filter(for: secrets))
        #expect(secret.droppingRule(name: "a-1") == "second")
        #expect(chain.filter(for: pods) == nil)
    }

    @Test func resourceListedTwiceAppliesOnce() throws {
        let chain = FilterChain(rules: [FilterRule(name: "r", resources: [pods, pods], namePrefixes: ["x"])])
        #expect(try #require(chain.filter(for: pods)).droppingRule(name: "x1") == "r")
    }

    @Test func settingRulesRebuildsTheFilters() throws {
        var chain = FilterChain.default
        #expect(chain.filter(for: secrets) == nil)
        chain.rules = [FilterRule(name: "s", resources: [secrets], namePrefixes: ["tmp-"])]
        #expect(try #require(chain.filter(for: secrets)).droppingRule(name: "tmp-1") == "s")
        #expect(chain.filter(for: pods) == nil)
        chain.rules.append(FilterRule(name: "p", resources: [pods], namePrefixes: ["p-"]))
        #expect(try #require(chain.filter(for: pods)).droppingRule(name: "p-1") == "p")
    }

    @Test func emptyChainFiltersNothing() {
        let chain = FilterChain(rules: [])
        #expect(chain.filter(for: pods) == nil)
        #expect(chain.filter(for: configMaps) == nil)
    }
}
