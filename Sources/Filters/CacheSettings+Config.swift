extension CacheSettings {
    /// The `cache:` section. A key left out keeps its default; `resources` given is the exact
    /// set (the allow-list form), `exclude` is never cached (applies to either form).
    init(config node: ConfigNode) throws(ConfigError) {
        self.init()
        let section = try node.mapping(allowedKeys: ["resources", "exclude", "discovery", "encrypt"])
        if let list = section["resources"] {
            self.resources = try Self.resourceSet(list)
        }
        if let list = section["exclude"] {
            self.excluded = try Self.resourceSet(list)
        }
        if let discovery = section["discovery"] {
            self.discovery = try discovery.bool()
        }
        if let list = section["encrypt"] {
            self.encrypted = try Self.resourceSet(list)
        }
    }

    private static func resourceSet(_ list: ConfigNode) throws(ConfigError) -> Set<GroupResource> {
        var out: Set<GroupResource> = []
        for item in try list.list() {
            out.insert(try item.groupResource())
        }
        return out
    }
}
