extension CacheSettings {
    /// The `cache:` section. A key left out keeps its default; `resources` given is the exact set.
    init(config node: ConfigNode) throws(ConfigError) {
        self.init()
        let section = try node.mapping(allowedKeys: ["resources", "discovery", "encrypt"])
        if let list = section["resources"] {
            var resources: Set<GroupResource> = []
            for item in try list.list() {
                resources.insert(try item.groupResource())
            }
            self.resources = resources
        }
        if let discovery = section["discovery"] {
            self.discovery = try discovery.bool()
        }
        if let list = section["encrypt"] {
            var sealed: Set<GroupResource> = []
            for item in try list.list() {
                sealed.insert(try item.groupResource())
            }
            self.encrypted = sealed
        }
    }
}
