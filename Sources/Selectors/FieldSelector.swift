// Field selectors, parsed, rendered and matched exactly like
// k8s.io/apimachinery/pkg/fields (selector.go) as used by kube-apiserver.

/// A parsed field selector: the AND of `field=value` / `field!=value` terms.
public struct FieldSelector: Sendable, Hashable, CustomStringConvertible {

    public enum Operator: Sendable, Hashable {
        /// `=` or `==` (the apiserver treats them identically and renders `=`).
        case equals
        /// `!=`
        case notEquals
    }

    public struct Term: Sendable, Hashable, CustomStringConvertible {
        /// Field label exactly as written (never trimmed or unescaped, like the apiserver).
        public let field: String
        public let `operator`: Operator
        /// Unescaped value.
        public let value: String

        public init(field: String, operator op: Operator, value: String) {
            self.field = field
            self.operator = op
            self.value = value
        }

        /// `fields.Set.Get` semantics: a missing field reads as "".
        @inline(__always)
        public func matches(value actual: String?) -> Bool {
            let eq = bytesEqual(actual ?? "", value)
            return self.operator == .equals ? eq : !eq
        }

        /// `hasTerm.String()` / `notHasTerm.String()`: `field=escaped` / `field!=escaped`.
        public var description: String {
            field + (self.operator == .equals ? "=" : "!=") + FieldSelector.escapeValue(value)
        }
    }

    /// Terms in the apiserver's order (raw terms sorted byte-wise before parsing).
    public let terms: [Term]

    public init() { self.terms = [] }
    public init(terms: [Term]) { self.terms = terms }

    public static let everything = FieldSelector()

    public var isEmpty: Bool { terms.isEmpty }

    public var description: String { terms.map(\.description).joined(separator: ",") }

    /// `RequiresExactMatch`: value pinned by the first `=` term on `field`.
    public func requiresExactMatch(_ field: String) -> String? {
        for t in terms where t.operator == .equals && bytesEqual(t.field, field) { return t.value }
        return nil
    }

    // MARK: Matching (no allocations)

    public func matches(_ fields: [String: String]) -> Bool {
        for t in terms where !t.matches(value: fields[t.field]) { return false }
        return true
    }

    /// Matches using a lookup returning the field's value (nil / missing reads as "").
    public func matches(_ lookup: (String) -> String?) -> Bool {
        for t in terms where !t.matches(value: lookup(t.field)) { return false }
        return true
    }

    // MARK: Transform

    /// `Selector.Transform`: rewrites each term; a term mapped to ("", "") is dropped.
    public func transformed(
        _ fn: (_ field: String, _ value: String) throws(SelectorError) -> (field: String, value: String)
    ) throws(SelectorError) -> FieldSelector {
        var out: [Term] = []
        out.reserveCapacity(terms.count)
        for t in terms {
            let (f, v) = try fn(t.field, t.value)
            if f.isEmpty && v.isEmpty { continue }
            out.append(Term(field: f, operator: t.operator, value: v))
        }
        return FieldSelector(terms: out)
    }

    // MARK: Escaping

    /// `fields.EscapeValue`: `\` → `\\`, `,` → `\,`, `=` → `\=`.
    public static func escapeValue(_ s: String) -> String {
        var needs = false
        for c in s.utf8 where c == UInt8(ascii: "\\") || c == UInt8(ascii: ",") || c == UInt8(ascii: "=") {
            needs = true
            break
        }
        if !needs { return s }
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 4)
        for c in s.utf8 {
            if c == UInt8(ascii: "\\") || c == UInt8(ascii: ",") || c == UInt8(ascii: "=") { out.append(UInt8(ascii: "\\")) }
            out.append(c)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `fields.UnescapeValue`.
    public static func unescapeValue(_ s: String) throws(SelectorError) -> String {
        var special = false
        for c in s.utf8 where c == UInt8(ascii: "\\") || c == UInt8(ascii: ",") || c == UInt8(ascii: "=") {
            special = true
            break
        }
        if !special { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count)
        var inSlash = false
        for u in s.unicodeScalars {
            if inSlash {
                switch u {
                case "\\", ",", "=":
                    out.unicodeScalars.append(u)
                default:
                    var seq = "\\"
                    seq.unicodeScalars.append(u)
                    throw SelectorError(kind: .invalidFieldSelector,
                                        message: "invalid field selector: invalid escape sequence: " + seq)
                }
                inSlash = false
                continue
            }
            switch u {
            case "\\":
                inSlash = true
            case ",", "=":
                // Go prints the rune with %v, i.e. as its code point number.
                throw SelectorError(kind: .invalidFieldSelector,
                                    message: "invalid field selector: unescaped character in value: \(u.value)")
            default:
                out.unicodeScalars.append(u)
            }
        }
        if inSlash {
            throw SelectorError(kind: .invalidFieldSelector, message: "invalid field selector: invalid escape sequence: \\")
        }
        return out
    }

    // MARK: Parsing

    /// `fields.ParseSelector`. The empty string (or only commas) selects everything.
    public static func parse(_ selector: String) throws(SelectorError) -> FieldSelector {
        let bytes = Array(selector.utf8)
        // splitTerms: split on commas not preceded by an escaping backslash.
        var parts: [ArraySlice<UInt8>] = []
        if !bytes.isEmpty {
            var start = 0
            var inSlash = false
            for i in bytes.indices {
                let c = bytes[i]
                if inSlash {
                    inSlash = false
                } else if c == UInt8(ascii: "\\") {
                    inSlash = true
                } else if c == UInt8(ascii: ",") {
                    parts.append(bytes[start..<i])
                    start = i + 1
                }
            }
            parts.append(bytes[start...])
        }
        parts.sort { $0.lexicographicallyPrecedes($1) }

        var terms: [Term] = []
        for part in parts where !part.isEmpty {
            // splitTerm: first position where "!=", "==" or "=" begins (checked in that order).
            var split: (lhsEnd: Int, op: Operator, rhsStart: Int)? = nil
            var i = part.startIndex
            while i < part.endIndex {
                let c = part[i]
                let next: UInt8? = i + 1 < part.endIndex ? part[i + 1] : nil
                if c == UInt8(ascii: "!"), next == UInt8(ascii: "=") {
                    split = (i, .notEquals, i + 2); break
                }
                if c == UInt8(ascii: "=") {
                    if next == UInt8(ascii: "=") { split = (i, .equals, i + 2) } else { split = (i, .equals, i + 1) }
                    break
                }
                i += 1
            }
            guard let sp = split else {
                throw SelectorError(kind: .invalidFieldSelector,
                                    message: "invalid selector: '\(selector)'; can't understand '\(String(decoding: part, as: UTF8.self))'")
            }
            let lhs = String(decoding: part[part.startIndex..<sp.lhsEnd], as: UTF8.self)
            let rhs = String(decoding: part[sp.rhsStart...], as: UTF8.self)
            let value = try unescapeValue(rhs)
            terms.append(Term(field: lhs, operator: sp.op, value: value))
        }
        return FieldSelector(terms: terms)
    }
}
