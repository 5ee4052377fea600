// Which selection contains which: the offline cache answers a list from a wider complete scope
// only when every object the request could match is in that scope.

/// Set inclusion of selections: `covers(wide:narrow:)` is true only when it is proven that every
/// object `narrow` matches is also matched by `wide`.
///
/// Exists because a complete cached scope (kubelet's `spec.nodeName=N`, a cluster-wide list) can
/// answer a narrower request offline (`spec.nodeName=N` plus `app=x`, one namespace), but answering
/// from a scope that misses some of the request's objects would show a list with objects missing
/// as if complete. So the check is exact where it says yes and conservative everywhere else: a
/// `false` only costs a 503.
///
/// Both selector kinds are ANDs of per-key constraints, so a selection is a product of per-key value
/// sets and inclusion is decided key by key: for every key `wide` constrains, the values `narrow`
/// allows there (the intersection of its constraints on that key) must be a subset of what `wide`
/// allows. A key `narrow` does not constrain allows every value, which no requirement covers. A
/// `narrow` that can match nothing at all (`a=x,a=y`) is covered by anything.
///
/// Label values are compared as bytes (as the apiserver compares Go strings), never by Unicode
/// equivalence. `gt`/`lt` are integer bounds on values that parse as Go int64.
public enum SelectorCoverage {
    /// Whether every object matching both `narrowLabels` and `narrowFields` matches both
    /// `wideLabels` and `wideFields`. Field labels must be in the same (converted) form on both sides.
    public static func covers(wideLabels: LabelSelector, wideFields: FieldSelector,
                              narrowLabels: LabelSelector, narrowFields: FieldSelector) -> Bool {
        if matchesNothing(narrowLabels) || matchesNothing(narrowFields) { return true }
        return covers(wide: wideLabels, narrow: narrowLabels) && covers(wide: wideFields, narrow: narrowFields)
    }

    /// Label selectors alone: every label set `narrow` matches, `wide` matches.
    public static func covers(wide: LabelSelector, narrow: LabelSelector) -> Bool {
        if matchesNothing(narrow) { return true }
        for w in wide.requirements {
            let allowed = ValueSet.allowed(by: narrow.requirements.lazy.filter { bytesEqual($0.key, w.key) })
            guard allowed.isSubset(of: w) else { return false }
        }
        return true
    }

    /// Field selectors alone: every field set `narrow` matches, `wide` matches.
    public static func covers(wide: FieldSelector, narrow: FieldSelector) -> Bool {
        if matchesNothing(narrow) { return true }
        for w in wide.terms {
            let allowed = ValueSet.allowed(by: narrow.terms.lazy.filter { bytesEqual($0.field, w.field) })
            guard allowed.isSubset(of: ValueSet(w)) else { return false }
        }
        return true
    }

    /// Whether no label set can satisfy `selector` (`a=x,a=y`; `a,!a`; `a>5,a<6`).
    public static func matchesNothing(_ selector: LabelSelector) -> Bool {
        var seen: [String] = []
        for r in selector.requirements where !seen.contains(where: { bytesEqual($0, r.key) }) {
            seen.append(r.key)
            if ValueSet.allowed(by: selector.requirements.lazy.filter { bytesEqual($0.key, r.key) }).isEmpty { return true }
        }
        return false
    }

    /// Whether no field set can satisfy `selector` (`f=x,f=y`; `f=x,f!=x`).
    public static func matchesNothing(_ selector: FieldSelector) -> Bool {
        var seen: [String] = []
        for t in selector.terms where !seen.contains(where: { bytesEqual($0, t.field) }) {
            seen.append(t.field)
            if ValueSet.allowed(by: selector.terms.lazy.filter { bytesEqual($0.field, t.field) }).isEmpty { return true }
        }
        return false
    }
}

/// The values one key may take under a conjunction of constraints: whether the key may be absent
/// (labels only: a field always reads as a string, "" when missing), and either a finite set of
/// values or every value but a finite set; for `gt`/`lt`, integer bounds the values must satisfy.
struct ValueSet {
    var absent: Bool
    /// true: every value except `values`; false: exactly `values`.
    var cofinite: Bool
    var values: Set<[UInt8]>
    /// Values must parse as Go int64 and lie strictly above `lower` / below `upper`.
    var lower: Int64?
    var upper: Int64?

    static let everything = ValueSet(absent: true, cofinite: true, values: [], lower: nil, upper: nil)

    init(absent: Bool, cofinite: Bool, values: Set<[UInt8]>, lower: Int64? = nil, upper: Int64? = nil) {
        self.absent = absent
        self.cofinite = cofinite
        self.values = values
        self.lower = lower
        self.upper = upper
    }

    init(_ r: LabelSelector.Requirement) {
        let vs = Set(r.values.map { Array($0.utf8) })
        switch r.operator {
        case .equals, .doubleEquals, .in: self.init(absent: false, cofinite: false, values: vs)
        case .notEquals, .notIn: self.init(absent: true, cofinite: true, values: vs)
        case .exists: self.init(absent: false, cofinite: true, values: [])
        case .doesNotExist: self.init(absent: true, cofinite: false, values: [])
        case .greaterThan: self.init(absent: false, cofinite: true, values: [], lower: r.integer)
        case .lessThan: self.init(absent: false, cofinite: true, values: [], upper: r.integer)
        }
    }

    init(_ t: FieldSelector.Term) {
        self.init(absent: false, cofinite: t.operator == .notEquals, values: [Array(t.value.utf8)])
    }

    static func allowed<S: Sequence>(by requirements: S) -> ValueSet where S.Element == LabelSelector.Requirement {
        requirements.reduce(.everything) { $0.intersection(ValueSet($1)) }
    }

    static func allowed<S: Sequence>(by terms: S) -> ValueSet where S.Element == FieldSelector.Term {
        // A field is never absent: its missing value reads as "".
        terms.reduce(ValueSet(absent: false, cofinite: true, values: [])) { $0.intersection(ValueSet($1)) }
    }

    /// Whether `v` satisfies the integer bounds (no bounds: any value does).
    func withinBounds(_ v: [UInt8]) -> Bool {
        guard lower != nil || upper != nil else { return true }
        guard let n = goParseInt64(String(decoding: v, as: UTF8.self)) else { return false }
        if let l = lower, !(n > l) { return false }
        if let u = upper, !(n < u) { return false }
        return true
    }

    func intersection(_ o: ValueSet) -> ValueSet {
        var r = ValueSet(absent: absent && o.absent, cofinite: cofinite && o.cofinite, values: [])
        r.lower = [lower, o.lower].compactMap { $0 }.max()
        r.upper = [upper, o.upper].compactMap { $0 }.min()
        if r.lower != nil || r.upper != nil { r.absent = false }
        switch (cofinite, o.cofinite) {
        case (false, false): r.values = values.intersection(o.values)
        case (false, true): r.values = values.subtracting(o.values)
        case (true, false): r.values = o.values.subtracting(values)
        case (true, true): r.values = values.union(o.values)
        }
        if !r.cofinite {
            // A finite set carries its bounds in its members.
            r.values = r.values.filter { r.withinBounds($0) }
            r.lower = nil
            r.upper = nil
        }
        return r
    }

    /// Nothing can satisfy it.
    var isEmpty: Bool {
        if absent { return false }
        if !cofinite { return values.isEmpty }
        if lower == .max || upper == .min { return true }
        if let l = lower, let u = upper, l >= u - 1 { return true }
        return false
    }

    /// Every value (or absence) this set allows is allowed by `s`. Conservative: false when not
    /// provable (an infinite set of values is never inside a finite one).
    func isSubset(of s: ValueSet) -> Bool {
        if isEmpty { return true }
        if absent && !s.absent { return false }
        if !cofinite {
            return values.allSatisfy { s.cofinite ? !s.values.contains($0) && s.withinBounds($0) : s.values.contains($0) }
        }
        guard s.cofinite else { return false }
        // Bounds of `s` must be implied by ours.
        if let sl = s.lower { guard let l = lower, l >= sl else { return false } }
        if let su = s.upper { guard let u = upper, u <= su else { return false } }
        // Every value `s` excludes must be excluded by us too (or fail our bounds).
        return s.values.allSatisfy { values.contains($0) || !withinBounds($0) }
    }

    /// Whether the values this set allows all satisfy requirement `r`.
    func isSubset(of r: LabelSelector.Requirement) -> Bool {
        isSubset(of: ValueSet(r))
    }
}
