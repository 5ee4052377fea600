/// The filter rules in force, in the order they are checked.
public struct FilterChain: Sendable {
    public var rules: [FilterRule] {
        didSet { byResource = Self.index(rules) }
    }

    /// Each resource's applicable rules, built when the rules are set: `filter(for:)` runs for
    /// every proxied request.
    private var byResource: [GroupResource: ResourceFilter]

    public init(rules: [FilterRule]) {
        self.rules = rules
        self.byResource = Self.index(rules)
    }

    /// The original rule, on unless a config file says otherwise: hide Pods and ConfigMaps whose
    /// name starts with `skip-`.
    public static let `default` = FilterChain(rules: [
        FilterRule(
            name: "skip-prefixed",
            resources: [GroupResource(group: "", resource: "pods"), GroupResource(group: "", resource: "configmaps")],
            namePrefixes: ["skip-"]
        ),
    ])

    /// The rules for one resource; nil when no rule applies to it, so the proxy can pass the
    /// response bytes through untouched.
    public func filter(for resource: GroupResource) -> ResourceFilter? {
        byResource[resource]
    }

    private static func index(_ rules: [FilterRule]) -> [GroupResource: ResourceFilter] {
        var grouped: [GroupResource: [FilterRule]] = [:]
        for rule in rules {
            // A resource listed twice in one rule still gets the rule once.
            for resource in Set(rule.resources) {
                grouped[resource, default: []].append(rule)
            }
        }
        return grouped.mapValues(ResourceFilter.init(rules:))
    }
}
