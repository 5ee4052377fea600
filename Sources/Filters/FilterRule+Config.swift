import Selectors

extension FilterRule {
    /// One item of `filters.rules`; see `OutpostConfig` for the format.
    init(config node: ConfigNode) throws(ConfigError) {
        let section = try node.mapping(allowedKeys: ["name", "resources", "namespaces", "namePrefix", "labelSelector", "fieldSelector"])

        guard let nameNode = section["name"] else { throw node.error("missing required key \"name\"") }
        let name = try nameNode.nonEmptyString()

        guard let resourcesNode = section["resources"] else { throw node.error("missing required key \"resources\"") }
        var resources: [GroupResource] = []
        for item in try resourcesNode.list() {
            resources.append(try item.groupResource())
        }
        guard !resources.isEmpty else { throw resourcesNode.error("must list at least one resource") }

        self.init(name: name, resources: resources)
        if let namespaces = section["namespaces"] {
            self.namespaces = try namespaces.nonEmptyStrings()
        }
        if let prefixes = section["namePrefix"] {
            self.namePrefixes = try prefixes.oneOrMoreNonEmptyStrings()
        }
        if let selector = section["labelSelector"] {
            self.labelSelector = try Self.labelSelector(selector)
        }
        if let selector = section["fieldSelector"] {
            self.fieldSelector = try Self.fieldSelector(selector, resources: resources)
        }
        guard hasCondition else {
            throw node.error("rule \(name.debugDescription) has no condition (namespaces, namePrefix, labelSelector or fieldSelector) and would drop every object")
        }
    }

    /// Parsed with the apiserver's wording for a `labelSelector` query parameter. The empty
    /// selector is no condition (nil), as it selects everything.
    private static func labelSelector(_ node: ConfigNode) throws(ConfigError) -> LabelSelector? {
        let text = try node.string()
        do {
            let selector = try LabelSelector.parse(text)
            return selector.isEmpty ? nil : selector
        } catch {
            throw node.error(error.message)
        }
    }

    /// Parsed, then checked against the field labels each listed resource supports, as the
    /// apiserver would check the same `fieldSelector` on a list of that resource: a label the
    /// apiserver rejects is never in the object's fields, so the term could never match as meant.
    ///
    /// Returns the selector with canonical labels. Only pods have an alias (`spec.host`), and no
    /// other resource accepts it, so every resource of a valid rule yields the same selector.
    private static func fieldSelector(_ node: ConfigNode, resources: [GroupResource]) throws(ConfigError) -> FieldSelector? {
        let text = try node.string()
        let parsed: FieldSelector
        do {
            parsed = try FieldSelector.parse(text)
        } catch {
            throw node.error(error.message)
        }
        guard !parsed.isEmpty else { return nil }
        var canonical = parsed
        for resource in resources {
            do {
                canonical = try FieldLabelSupport.forResource(group: resource.group, resource: resource.resource).validate(parsed)
            } catch {
                // Name the resource when the rule lists several, so the message says which refuses.
                throw node.error(resources.count > 1 ? "\(error.message) (for \(resource))" : error.message)
            }
        }
        return canonical
    }
}
