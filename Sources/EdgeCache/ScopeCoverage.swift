import CacheStore
import Selectors

/// Which complete cached scope may answer a list or watch whose own scope was never cached:
/// one whose selection contains the request's (kubelet's `spec.nodeName=N` answers
/// `spec.nodeName=N` + `app=x`; a cluster-wide list answers one namespace). The answer still
/// applies the request's full selectors to each object; only the scope's completeness (and its
/// resourceVersion) is borrowed.
///
/// The containment test is `SelectorCoverage`'s (exact set inclusion, conservative where it cannot
/// prove it). A namespace is one more field equality: a request in namespace N matches only
/// objects with `metadata.namespace=N`, and a scope of namespace M holds only those of M.
enum ScopeCoverage {
    /// The selectors a scope key (`Selection.key`: `l:LABELS;f:FIELDS`) was made of, or nil when
    /// the key does not read back (then the scope is never borrowed).
    static func selection(ofKey key: String) -> (labels: LabelSelector, fields: FieldSelector)? {
        var labels = "", fields = ""
        var rest = Substring(key)
        if rest.hasPrefix("l:") {
            rest = rest.dropFirst(2)
            // A label selector's text never holds ';' (keys and values are [A-Za-z0-9._/-]).
            if let semi = rest.firstIndex(of: ";") {
                labels = String(rest[..<semi])
                rest = rest[rest.index(after: semi)...]
            } else {
                labels = String(rest)
                rest = ""
            }
        }
        if rest.hasPrefix("f:") {
            fields = String(rest.dropFirst(2))
        } else if !rest.isEmpty {
            return nil
        }
        guard let l = try? LabelSelector.parse(labels), let f = try? FieldSelector.parse(fields) else { return nil }
        return (l, f)
    }

    /// `fields` plus `metadata.namespace=namespace` when the scope or request is namespaced.
    static func withNamespace(_ fields: FieldSelector, _ namespace: String) -> FieldSelector {
        guard !namespace.isEmpty else { return fields }
        return FieldSelector(terms: fields.terms + [.init(field: "metadata.namespace", operator: .equals, value: namespace)])
    }

    /// The complete scope among `scopes` that contains the request (namespace, selection key),
    /// the freshest (highest resourceVersion) when several do; nil when none provably does.
    static func covering(_ scopes: [ScopeInfo], namespace: String, selectionKey: String) -> ScopeInfo? {
        guard let request = selection(ofKey: selectionKey) else { return nil }
        let narrowFields = withNamespace(request.fields, namespace)
        var best: ScopeInfo?
        for s in scopes where s.complete {
            guard let wide = selection(ofKey: s.selector) else { continue }
            guard SelectorCoverage.covers(wideLabels: wide.labels, wideFields: withNamespace(wide.fields, s.namespace),
                                          narrowLabels: request.labels, narrowFields: narrowFields) else { continue }
            if let b = best, (UInt64(b.resourceVersion) ?? 0) >= (UInt64(s.resourceVersion) ?? 0) { continue }
            best = s
        }
        return best
    }
}
