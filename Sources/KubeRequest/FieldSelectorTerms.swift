/// The minimal reading of a field selector this module needs: syntax
/// checking (a bad selector fails ListOptions decoding in the apiserver) and
/// "does it pin one field to one value" (how a list or watch of
/// `metadata.name=x` gets `name` x in RequestInfo).
///
/// Matching objects against selectors belongs to the Selectors module.
/// Follows apimachinery's `fields.ParseSelector`: terms split on unescaped
/// `,`, each term split at the first `!=`, `==` or `=`, values unescaped
/// (`\\`, `\,`, `\=` only), terms ordered bytewise before lookups.
struct FieldSelectorTerms: Equatable {
    enum Operator: Equatable {
        case equals
        case notEquals
    }

    struct Term: Equatable {
        var field: String
        var op: Operator
        var value: String
    }

    enum ParseError: Error, Equatable {
        /// A term without an operator.
        case noOperator(term: String)
        /// A backslash escape other than `\\`, `\,`, `\=`, or a trailing backslash.
        case invalidEscape(sequence: String)
        /// A `,` or `=` in a value that is not escaped.
        case unescapedRune(Character)

        func message(selector: String) -> String {
            switch self {
            case .noOperator(let term):
                return "invalid selector: '\(selector)'; can't understand '\(term)'"
            case .invalidEscape(let sequence):
                return "invalid field selector: invalid escape sequence: \(sequence)"
            case .unescapedRune(let rune):
                return "invalid field selector: unescaped character \(rune) in value"
            }
        }
    }

    var terms: [Term]

    init(parsing selector: String) throws(ParseError) {
        var rawTerms = Self.splitTerms(selector)
        rawTerms.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var terms: [Term] = []
        for raw in rawTerms where !raw.isEmpty {
            guard let (field, op, rawValue) = Self.splitTerm(raw) else {
                throw .noOperator(term: raw)
            }
            terms.append(Term(field: field, op: op, value: try Self.unescape(rawValue)))
        }
        self.terms = terms
    }

    /// The value `field` must equal, when the selector requires one
    /// (first such term in sorted order, like `RequiresExactMatch`).
    func requiredValue(for field: String) -> String? {
        terms.first { $0.field == field && $0.op == .equals }?.value
    }

    // All three helpers walk Unicode scalars, as Go walks runes, so a
    // combining mark after `\` or `=` cannot hide it inside a grapheme.

    /// Splits on commas not preceded by an escaping backslash; escapes are kept.
    private static func splitTerms(_ selector: String) -> [String] {
        if selector.isEmpty { return [] }
        var terms: [String] = []
        var current = String.UnicodeScalarView()
        var escaped = false
        for scalar in selector.unicodeScalars {
            if escaped {
                escaped = false
            } else if scalar == "\\" {
                escaped = true
            } else if scalar == "," {
                terms.append(String(current))
                current = String.UnicodeScalarView()
                continue
            }
            current.append(scalar)
        }
        terms.append(String(current))
        return terms
    }

    /// Splits at the first operator; `!=` and `==` win over `=` at the same position.
    private static func splitTerm(_ term: String) -> (String, Operator, String)? {
        let scalars = Array(term.unicodeScalars)
        for index in scalars.indices {
            let next = index + 1 < scalars.count ? scalars[index + 1] : nil
            let found: (Operator, Int)?
            switch (scalars[index], next) {
            case ("!", "="): found = (.notEquals, 2)
            case ("=", "="): found = (.equals, 2)
            case ("=", _): found = (.equals, 1)
            default: found = nil
            }
            if let (op, width) = found {
                let field = String(String.UnicodeScalarView(scalars[..<index]))
                let value = String(String.UnicodeScalarView(scalars[(index + width)...]))
                return (field, op, value)
            }
        }
        return nil
    }

    private static func unescape(_ raw: String) throws(ParseError) -> String {
        var value = String.UnicodeScalarView()
        var escaped = false
        for scalar in raw.unicodeScalars {
            if escaped {
                guard scalar == "\\" || scalar == "," || scalar == "=" else {
                    throw .invalidEscape(sequence: "\\" + String(scalar))
                }
                value.append(scalar)
                escaped = false
                continue
            }
            switch scalar {
            case "\\": escaped = true
            case ",", "=": throw .unescapedRune(Character(scalar))
            default: value.append(scalar)
            }
        }
        if escaped { throw .invalidEscape(sequence: "\\") }
        return String(value)
    }
}
