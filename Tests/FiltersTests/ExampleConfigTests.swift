import Testing
import Filters
import Selectors

/// docs/outpost.example.yaml, verbatim (keep the two identical).
let exampleConfig = #"""
    # Outpost config file: `outpost serve --config outpost.yaml`.
    # Every section and key is optional; one left out keeps its default. Unknown keys are errors,
    # so a typo cannot silently disable or widen a filter.

    cache:
      # By default every resource a local client lists, gets or watches is cached, built-in or custom
      # (custom resources as JSON); the cache is on disk. Resources are written resource[.group]
      # (plural, lowercase).
      # exclude: resources never cached. Default: none.
      exclude: [events, events.events.k8s.io]
      # resources: the allow-list form: given, exactly these are cached ([] caches nothing), minus
      # `exclude`. Left out (the default), every resource is.
      # resources: [pods, configmaps, secrets, services, endpoints, nodes, leases.coordination.k8s.io]
      # Cache discovery documents (/api, /apis, /apis/G/V, /version). Default: true.
      discovery: true
      # Resources whose cached bodies are encrypted at rest (XChaCha20-Poly1305, key file from
      # --encryption-key-file). Names, namespaces and labels stay plain for selectors. Default: [secrets].
      encrypt: [secrets]

    filters:
      # Objects a rule matches are hidden from clients and never cached. Given, `rules` is the
      # exact chain ([] filters nothing); left out, only the skip-prefixed rule below applies.
      # A rule drops an object of one of its `resources` when EVERY condition it gives holds:
      #   namespaces     list; the object's namespace is one of them
      #   namePrefix     string or list; the object's name starts with one of them
      #   labelSelector  apiserver syntax: "a=b", "a!=b", "a in (x,y)", "a", "!a"
      #   fieldSelector  apiserver syntax: "f=v", "f!=v"; only field labels the apiserver
      #                  supports for every listed resource
      # A rule needs at least one condition, a unique name and at least one resource.
      rules:
        - name: skip-prefixed
          resources: [pods, configmaps]
          namePrefix: skip-            # a string or a list of strings
        - name: hide-debug-pods
          resources: [pods]
          namespaces: [kube-system]
          labelSelector: "debug=true"
          fieldSelector: "status.phase=Succeeded"
    """#

@Suite("Example config file")
struct ExampleConfigTests {
    @Test func parses() throws {
        let config = try OutpostConfig.parse(yaml: exampleConfig)
        #expect(config.cache == CacheSettings(resources: nil, excluded: [GroupResource(group: "", resource: "events"), GroupResource(group: "events.k8s.io", resource: "events")], discovery: true))
        #expect(config.filters.rules == [
            FilterChain.default.rules[0],
            FilterRule(name: "hide-debug-pods", resources: [pods], namespaces: ["kube-system"],
                       labelSelector: try LabelSelector.parse("debug=true"),
                       fieldSelector: try FieldSelector.parse("status.phase=Succeeded")),
        ])
    }

    @Test func filtersAsDocumented() throws {
        let filters = try OutpostConfig.parse(yaml: exampleConfig).filters
        let podFilter = try #require(filters.filter(for: pods))
        #expect(podFilter.usesFields)
        #expect(podFilter.droppingRule(name: "skip-a", namespace: "default", labels: [], fields: [:]) == "skip-prefixed")
        let debugPod = (labels: [("debug", "true")], fields: ["status.phase": "Succeeded"])
        #expect(podFilter.droppingRule(name: "job-1", namespace: "kube-system", labels: debugPod.labels, fields: debugPod.fields) == "hide-debug-pods")
        #expect(podFilter.droppingRule(name: "job-1", namespace: "default", labels: debugPod.labels, fields: debugPod.fields) == nil)
        #expect(podFilter.droppingRule(name: "job-1", namespace: "kube-system", labels: debugPod.labels,
                                       fields: ["status.phase": "Running"]) == nil)
        let configMapFilter = try #require(filters.filter(for: configMaps))
        #expect(configMapFilter.usesFields == false)
        #expect(filters.filter(for: secrets) == nil)
    }
}
