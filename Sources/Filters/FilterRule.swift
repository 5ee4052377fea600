import Selectors

/// One filter rule: objects it matches are hidden from clients and never reach the cache.
///
/// An object is dropped when its resource is listed in `resources` and every condition the rule
/// gives holds: its namespace is one of `namespaces`, its name starts with one of `namePrefixes`,
/// `labelSelector` matches its labels and `fieldSelector` its selectable fields. Empty lists and
/// nil selectors are "no condition"; `OutpostConfig.parse` refuses a rule that has none at all.
public struct FilterRule: Sendable, Equatable {
    /// Unique within a chain; reported by `ResourceFilter.droppingRule` (metrics, logs).
    public var name: String
    /// The resources the rule applies to; never empty in a parsed config.
    public var resources: [GroupResource]
    /// Namespaces the rule is limited to; empty = all namespaces (and cluster-scoped objects).
    public var namespaces: [String]
    /// Name prefixes the rule is limited to; empty = any name.
    public var namePrefixes: [String]
    /// nil = no label condition.
    public var labelSelector: LabelSelector?
    /// nil = no field condition. Uses canonical field labels (`spec.nodeName`, never the
    /// `spec.host` alias), because those are the keys of the fields the proxy extracts.
    public var fieldSelector: FieldSelector?

    public init(
        name: String,
        resources: [GroupResource],
        namespaces: [String] = [],
        namePrefixes: [String] = [],
        labelSelector: LabelSelector? = nil,
        fieldSelector: FieldSelector? = nil
    ) {
        self.name = name
        self.resources = resources
        self.namespaces = namespaces
        self.namePrefixes = namePrefixes
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
    }

    /// Whether the rule gives any condition; a rule without one would drop every object.
    public var hasCondition: Bool {
        !namespaces.isEmpty || !namePrefixes.isEmpty || labelSelector != nil || fieldSelector != nil
    }

    /// Whether every condition holds for the object (the resource is checked by the caller).
    ///
    /// Names and namespaces compare byte-wise, as the apiserver does; Swift's `==` and
    /// `hasPrefix` would treat canonically equivalent Unicode spellings as equal.
    public func matches(name: String, namespace: String, labels: [(String, String)], fields: [String: String]) -> Bool {
        if !namespaces.isEmpty && !namespaces.contains(where: { $0.utf8.elementsEqual(namespace.utf8) }) {
            return false
        }
        if !namePrefixes.isEmpty && !namePrefixes.contains(where: { name.utf8.starts(with: $0.utf8) }) {
            return false
        }
        if let labelSelector, !labelSelector.matches(pairs: labels) {
            return false
        }
        if let fieldSelector, !fieldSelector.matches(fields) {
            return false
        }
        return true
    }
}
