extension FilterChain {
    /// The `filters:` section. Without `rules` the default chain stays; `rules` given, even
    /// empty, is exactly the chain.
    init(config node: ConfigNode) throws(ConfigError) {
        let section = try node.mapping(allowedKeys: ["rules"])
        guard let list = section["rules"] else {
            self = .default
            return
        }
        var rules: [FilterRule] = []
        // Names identify rules in metrics and logs, so two rules must not share one.
        var pathByName: [String: String] = [:]
        for item in try list.list() {
            let rule = try FilterRule(config: item)
            if let earlier = pathByName[rule.name] {
                throw ConfigError(path: item.path + ".name", message: "duplicate rule name \(rule.name.debugDescription) (also \(earlier))")
            }
            pathByName[rule.name] = item.path
            rules.append(rule)
        }
        self.init(rules: rules)
    }
}
