import Testing
import Filters

/// A config file that must be refused, with the exact message Outpost prints.
struct BadConfig: Sendable, CustomStringConvertible {
    let why: String
    let yaml: String
    let message: String
    var description: String { why }
}

let badConfigs: [BadConfig] = [
    // Unknown keys, at every level: a typo must not silently disable a filter.
    .init(why: "unknown top-level key", yaml: "filter:\n  rules: []\n",
          message: "filter: unknown key (expected one of: cache, filters)"),
    .init(why: "unknown cache key", yaml: "cache:\n  resource: [pods]\n",
          message: "cache.resource: unknown key (expected one of: resources, exclude, discovery, encrypt)"),
    .init(why: "unknown filters key", yaml: "filters:\n  rule: []\n",
          message: "filters.rule: unknown key (expected one of: rules)"),
    .init(why: "unknown rule key", yaml: "filters:\n  rules:\n    - {name: a, resources: [pods], namePrefixes: [x]}\n",
          message: "filters.rules[0].namePrefixes: unknown key (expected one of: name, resources, namespaces, namePrefix, labelSelector, fieldSelector)"),

    // Selectors, with the apiserver's wording.
    .init(why: "bad label selector", yaml: "filters:\n  rules:\n    - {name: a, resources: [pods], labelSelector: \"env in (a\"}\n",
          message: "filters.rules[0].labelSelector: unable to parse requirement: found '', expected: ',' or ')'"),
    .init(why: "invalid label value", yaml: "filters:\n  rules:\n    - {name: a, resources: [pods], labelSelector: \"env=-a\"}\n",
          message: #"filters.rules[0].labelSelector: unable to parse requirement: values[0][env]: Invalid value: "-a": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"#),
    .init(why: "label selector syntax", yaml: "filters:\n  rules:\n    - {name: a, resources: [pods], labelSelector: \"env=a b\"}\n",
          message: "filters.rules[0].labelSelector: found 'b', expected: ',' or 'end of string'"),
    .init(why: "bad field selector", yaml: "filters:\n  rules:\n    - {name: a, resources: [pods], fieldSelector: \"status.phase\"}\n",
          message: "filters.rules[0].fieldSelector: invalid selector: 'status.phase'; can't understand 'status.phase'"),
    .init(why: "unsupported field label", yaml: """
        filters:
          rules:
            - {name: ok, resources: [pods], namePrefix: x}
            - {name: a, resources: [pods], fieldSelector: "spec.foo=1"}
        """,
          message: "filters.rules[1].fieldSelector: field label not supported: spec.foo"),
    .init(why: "field label unsupported by one of the resources",
          yaml: "filters:\n  rules:\n    - {name: a, resources: [pods, configmaps], fieldSelector: \"spec.nodeName=n\"}\n",
          message: "filters.rules[0].fieldSelector: \"spec.nodeName\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\" (for configmaps)"),

    // Rule shape.
    .init(why: "empty resources", yaml: "filters:\n  rules:\n    - {name: a, resources: [], namePrefix: x}\n",
          message: "filters.rules[0].resources: must list at least one resource"),
    .init(why: "missing resources", yaml: "filters:\n  rules:\n    - {name: a, namePrefix: x}\n",
          message: "filters.rules[0]: missing required key \"resources\""),
    .init(why: "missing name", yaml: "filters:\n  rules:\n    - {resources: [pods], namePrefix: x}\n",
          message: "filters.rules[0]: missing required key \"name\""),
    .init(why: "empty name", yaml: "filters:\n  rules:\n    - {name: \"\", resources: [pods], namePrefix: x}\n",
          message: "filters.rules[0].name: must not be empty"),
    .init(why: "duplicate names", yaml: """
        filters:
          rules:
            - {name: a, resources: [pods], namePrefix: x}
            - {name: b, resources: [pods], namePrefix: y}
            - {name: a, resources: [secrets], namePrefix: z}
        """,
          message: "filters.rules[2].name: duplicate rule name \"a\" (also filters.rules[0])"),
    .init(why: "kind instead of resource", yaml: "filters:\n  rules:\n    - {name: a, resources: [pods, Pod], namePrefix: x}\n",
          message: "filters.rules[0].resources[1]: not a resource: \"Pod\" (expected a lowercase plural name with its API group unless core, e.g. pods or leases.coordination.k8s.io)"),
    .init(why: "subresource", yaml: "cache:\n  resources: [pods/log]\n",
          message: "cache.resources[0]: not a resource: \"pods/log\" (expected a lowercase plural name with its API group unless core, e.g. pods or leases.coordination.k8s.io)"),
    .init(why: "rule without conditions", yaml: "filters:\n  rules:\n    - {name: all-pods, resources: [pods]}\n",
          message: "filters.rules[0]: rule \"all-pods\" has no condition (namespaces, namePrefix, labelSelector or fieldSelector) and would drop every object"),
    .init(why: "only empty conditions", yaml: "filters:\n  rules:\n    - {name: a, resources: [pods], namespaces: [], namePrefix: [], labelSelector: \"\"}\n",
          message: "filters.rules[0]: rule \"a\" has no condition (namespaces, namePrefix, labelSelector or fieldSelector) and would drop every object"),
    .init(why: "empty prefix", yaml: "filters:\n  rules:\n    - {name: a, resources: [pods], namePrefix: [x, \"\"]}\n",
          message: "filters.rules[0].namePrefix[1]: must not be empty"),
    .init(why: "empty namespace", yaml: "filters:\n  rules:\n    - {name: a, resources: [pods], namespaces: [\"\"]}\n",
          message: "filters.rules[0].namespaces[0]: must not be empty"),

    // Wrong YAML types.
    .init(why: "resources is a number", yaml: "filters:\n  rules:\n    - {name: a, resources: 5, namePrefix: x}\n",
          message: "filters.rules[0].resources: expected a list, found \"5\""),
    .init(why: "resources is a string", yaml: "filters:\n  rules:\n    - {name: a, resources: pods, namePrefix: x}\n",
          message: "filters.rules[0].resources: expected a list, found \"pods\""),
    .init(why: "rules is a mapping", yaml: "filters:\n  rules:\n    name: a\n",
          message: "filters.rules: expected a list, found a mapping"),
    .init(why: "rules left empty", yaml: "filters:\n  rules:\n",
          message: "filters.rules: expected a list, found an empty value"),
    .init(why: "rule is a string", yaml: "filters:\n  rules: [skip-prefixed]\n",
          message: "filters.rules[0]: expected a mapping, found \"skip-prefixed\""),
    .init(why: "namespaces is a string", yaml: "filters:\n  rules:\n    - {name: a, resources: [pods], namespaces: kube-system}\n",
          message: "filters.rules[0].namespaces: expected a list, found \"kube-system\""),
    .init(why: "namePrefix is a mapping", yaml: "filters:\n  rules:\n    - {name: a, resources: [pods], namePrefix: {x: y}}\n",
          message: "filters.rules[0].namePrefix: expected a string or a list of strings, found a mapping"),
    .init(why: "nested list item", yaml: "filters:\n  rules:\n    - {name: a, resources: [[pods]], namePrefix: x}\n",
          message: "filters.rules[0].resources[0]: expected a string, found a list"),
    .init(why: "label selector is a list", yaml: "filters:\n  rules:\n    - {name: a, resources: [pods], labelSelector: [a=b]}\n",
          message: "filters.rules[0].labelSelector: expected a string, found a list"),
    .init(why: "discovery is not a bool", yaml: "cache:\n  discovery: sometimes\n",
          message: "cache.discovery: expected true or false, found \"sometimes\""),
    .init(why: "quoted bool", yaml: "cache:\n  discovery: \"true\"\n",
          message: "cache.discovery: expected true or false, found \"true\""),
    .init(why: "cache is a list", yaml: "cache: [pods]\n",
          message: "cache: expected a mapping, found a list"),
    .init(why: "document is a list", yaml: "- pods\n",
          message: "expected a mapping, found a list"),
    .init(why: "invalid YAML", yaml: "filters:\n  rules: [a\n",
          message: "YAML error at line 2, column 10: unterminated flow sequence (missing ']')"),
]

@Suite("OutpostConfig errors")
struct ConfigErrorTests {
    @Test(arguments: badConfigs)
    func refused(_ bad: BadConfig) throws {
        let error = try #require(configError(bad.yaml))
        #expect(error.description == bad.message)
    }

    @Test func errorSplitsPathAndMessage() throws {
        let error = try #require(configError("filters:\n  rules:\n    - {name: a, resources: [pods], fieldSelector: \"spec.foo=1\"}\n"))
        #expect(error.path == "filters.rules[0].fieldSelector")
        #expect(error.message == "field label not supported: spec.foo")
        #expect("\(error)" == "filters.rules[0].fieldSelector: field label not supported: spec.foo")
    }

    @Test func documentLevelErrorsHaveNoPath() throws {
        let error = try #require(configError("just text\n"))
        #expect(error.path == "")
        #expect(error.description == "expected a mapping, found \"just text\"")
    }
}
