/// The rules of a chain that apply to one resource, picked once per request so the per-object
/// check only evaluates rules that can match.
public struct ResourceFilter: Sendable {
    /// In chain order, so the first matching rule is the one reported.
    let rules: [FilterRule]

    /// Whether any rule for this resource has a field selector. When false, callers can skip
    /// extracting the object's selectable fields and pass `[:]`.
    public let usesFields: Bool

    /// Whether a rule reads a field that PartialObjectMetadata does not carry (anything but
    /// `metadata.name` and `metadata.namespace`): a Table row must then carry the whole object.
    public var usesFieldsBeyondMetadata: Bool {
        rules.contains { rule in
            rule.fieldSelector?.terms.contains { $0.field != "metadata.name" && $0.field != "metadata.namespace" } ?? false
        }
    }

    init(rules: [FilterRule]) {
        self.rules = rules
        self.usesFields = rules.contains { $0.fieldSelector != nil }
    }

    /// The name of the first rule that drops this object, or nil to keep it.
    ///
    /// `fields` are the object's apiserver-style selectable fields keyed by canonical label
    /// (`["metadata.name": .., "spec.nodeName": ..]`); a label missing from them reads as "",
    /// as in the apiserver. `labels` are the object's labels as (key, value) pairs.
    public func droppingRule(name: String, namespace: String, labels: [(String, String)], fields: [String: String]) -> String? {
        for rule in rules where rule.matches(name: name, namespace: namespace, labels: labels, fields: fields) {
            return rule.name
        }
        return nil
    }
}
