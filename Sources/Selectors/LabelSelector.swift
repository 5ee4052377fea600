// Label selectors, parsed, validated, rendered and matched exactly like
// k8s.io/apimachinery/pkg/labels (selector.go) as used by kube-apiserver.

/// A parsed label selector: the AND of its requirements, sorted by key.
public struct LabelSelector: Sendable, Hashable, CustomStringConvertible {

    /// The selection operators (`k8s.io/apimachinery/pkg/selection`).
    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case equals = "="
        case doubleEquals = "=="
        case notEquals = "!="
        case `in` = "in"
        case notIn = "notin"
        case exists = "exists"
        case doesNotExist = "!"
        case greaterThan = "gt"
        case lessThan = "lt"
    }

    /// One requirement, e.g. `env in (a,b)`. Values are de-duplicated and sorted (byte order),
    /// as the apiserver's parser collects them into a `sets.String`.
    public struct Requirement: Sendable, Hashable, CustomStringConvertible {
        public let key: String
        public let `operator`: Operator
        public let values: [String]
        /// Parsed integer operand for `gt` / `lt`.
        let integer: Int64

        init(key: String, operator op: Operator, values: [String], integer: Int64) {
            self.key = key
            self.operator = op
            self.values = values
            self.integer = integer
        }

        @inline(__always)
        func hasValue(_ v: String) -> Bool {
            for x in values where bytesEqual(x, v) { return true }
            return false
        }

        /// `Requirement.Matches`, given the label value for `key` (nil when the label is absent).
        @inline(__always)
        public func matches(value: String?) -> Bool {
            switch self.operator {
            case .in, .equals, .doubleEquals:
                guard let v = value else { return false }
                return hasValue(v)
            case .notIn, .notEquals:
                guard let v = value else { return true }
                return !hasValue(v)
            case .exists:
                return value != nil
            case .doesNotExist:
                return value == nil
            case .greaterThan, .lessThan:
                guard let v = value, let n = goParseInt64(v) else { return false }
                return self.operator == .greaterThan ? n > integer : n < integer
            }
        }

        /// `Requirement.String()`.
        public var description: String {
            var s = ""
            if self.operator == .doesNotExist { s += "!" }
            s += key
            switch self.operator {
            case .equals: s += "="
            case .doubleEquals: s += "=="
            case .notEquals: s += "!="
            case .in: s += " in "
            case .notIn: s += " notin "
            case .greaterThan: s += ">"
            case .lessThan: s += "<"
            case .exists, .doesNotExist: return s
            }
            let set = self.operator == .in || self.operator == .notIn
            if set { s += "(" }
            s += values.joined(separator: ",")
            if set { s += ")" }
            return s
        }
    }

    /// Requirements sorted by key (stable for equal keys).
    public let requirements: [Requirement]

    public init() { self.requirements = [] }

    init(requirements: [Requirement]) { self.requirements = requirements }

    /// The selector that matches everything (the empty selector).
    public static let everything = LabelSelector()

    /// True when the selector does not restrict anything.
    public var isEmpty: Bool { requirements.isEmpty }

    /// `Selector.String()`: requirements joined by `,`.
    public var description: String {
        requirements.map(\.description).joined(separator: ",")
    }

    /// `RequiresExactMatch`: the single value the first requirement on `label` pins, if any.
    public func requiresExactMatch(_ label: String) -> String? {
        for r in requirements where bytesEqual(r.key, label) {
            switch r.operator {
            case .equals, .doubleEquals, .in:
                return r.values.count == 1 ? r.values[0] : nil
            default:
                return nil
            }
        }
        return nil
    }

    // MARK: Matching (no allocations)

    /// Matches against a label map.
    public func matches(_ labels: [String: String]) -> Bool {
        for r in requirements where !r.matches(value: labels[r.key]) { return false }
        return true
    }

    /// Matches using a lookup function returning the label's value, or nil when absent.
    public func matches(_ lookup: (String) -> String?) -> Bool {
        for r in requirements where !r.matches(value: lookup(r.key)) { return false }
        return true
    }

    /// Matches against key/value pairs (first occurrence of a key wins).
    public func matches<C: Collection>(pairs: C) -> Bool where C.Element == (String, String) {
        for r in requirements {
            var found: String? = nil
            for (k, v) in pairs where bytesEqual(k, r.key) { found = v; break }
            if !r.matches(value: found) { return false }
        }
        return true
    }

    // MARK: Parsing

    /// `labels.Parse`: parses and validates `selector`. The empty string selects everything.
    public static func parse(_ selector: String) throws(SelectorError) -> LabelSelector {
        try parse(selector, style: .fieldPath)
    }

    /// `labels.Parse` with the error wording of a given apiserver generation.
    public static func parse(_ selector: String, style: SelectorErrorStyle) throws(SelectorError) -> LabelSelector {
        var p = LabelParser(bytes: Array(selector.utf8), style: style)
        let reqs: [Requirement]
        do {
            reqs = try p.parse()
        } catch let m {
            throw SelectorError(kind: .invalidLabelSelector, message: m.message)
        }
        // sort.Sort(ByKey) — insertion sort for the small sizes seen in practice; stable.
        let sorted = reqs.enumerated().sorted { a, b in
            if bytesLess(a.element.key, b.element.key) { return true }
            if bytesLess(b.element.key, a.element.key) { return false }
            return a.offset < b.offset
        }.map(\.element)
        return LabelSelector(requirements: sorted)
    }
}

// MARK: - Lexer / parser (port of the apimachinery state machine)

struct ParseMessage: Error { let message: String }

enum LabelToken: Equatable {
    case error, endOfString, closedPar, comma, doesNotExist, doubleEquals, equals
    case greaterThan, identifier, `in`, lessThan, notEquals, notIn, openPar
}

private func token(forLiteral b: ArraySlice<UInt8>) -> LabelToken? {
    switch b.count {
    case 1:
        switch b.first! {
        case UInt8(ascii: ")"): return .closedPar
        case UInt8(ascii: ","): return .comma
        case UInt8(ascii: "!"): return .doesNotExist
        case UInt8(ascii: "="): return .equals
        case UInt8(ascii: ">"): return .greaterThan
        case UInt8(ascii: "<"): return .lessThan
        case UInt8(ascii: "("): return .openPar
        default: return nil
        }
    case 2:
        if b.elementsEqual("==".utf8) { return .doubleEquals }
        if b.elementsEqual("!=".utf8) { return .notEquals }
        if b.elementsEqual("in".utf8) { return .in }
        return nil
    case 5:
        return b.elementsEqual("notin".utf8) ? .notIn : nil
    default:
        return nil
    }
}

@inline(__always) private func isWhitespace(_ c: UInt8) -> Bool {
    c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A
}

@inline(__always) private func isSpecialSymbol(_ c: UInt8) -> Bool {
    switch c {
    case UInt8(ascii: "="), UInt8(ascii: "!"), UInt8(ascii: "("), UInt8(ascii: ")"),
         UInt8(ascii: ","), UInt8(ascii: ">"), UInt8(ascii: "<"):
        return true
    default:
        return false
    }
}

private struct LabelLexer {
    let s: [UInt8]
    var pos = 0

    // Like Go's Lexer.read: a NUL byte reads as 0 (and is consumed); end of input reads as 0.
    mutating func read() -> UInt8 {
        var b: UInt8 = 0
        if pos < s.count {
            b = s[pos]
            pos += 1
        }
        return b
    }

    mutating func unread() { pos -= 1 }

    func string(_ b: ArraySlice<UInt8>) -> String { String(decoding: b, as: UTF8.self) }

    mutating func scanIDOrKeyword() -> (LabelToken, String) {
        let start = pos
        var count = 0
        while true {
            let ch = read()
            if ch == 0 { break }
            if isSpecialSymbol(ch) || isWhitespace(ch) {
                unread()
                break
            }
            count += 1
        }
        let lit = s[start..<(start + count)]
        if let t = token(forLiteral: lit), t == .in || t == .notIn { return (t, string(lit)) }
        return (.identifier, string(lit))
    }

    mutating func scanSpecialSymbol() -> (LabelToken, String) {
        var buffer: [UInt8] = []
        var last: (LabelToken, String)? = nil
        while true {
            let ch = read()
            if ch == 0 { break }
            if isSpecialSymbol(ch) {
                buffer.append(ch)
                if let t = token(forLiteral: buffer[...]) {
                    last = (t, string(buffer[...]))
                } else if last != nil {
                    unread()
                    break
                }
            } else {
                unread()
                break
            }
        }
        guard let l = last else {
            return (.error, "error expected: keyword found '\(string(buffer[...]))'")
        }
        return l
    }

    mutating func lex() -> (LabelToken, String) {
        var ch = read()
        while isWhitespace(ch) { ch = read() }
        if ch == 0 { return (.endOfString, "") }
        unread()
        if isSpecialSymbol(ch) { return scanSpecialSymbol() }
        return scanIDOrKeyword()
    }
}

private enum ParserContext { case keyAndOperator, values }

struct LabelParser {
    private var lexer: LabelLexer
    private var items: [(LabelToken, String)] = []
    private var position = 0
    let style: SelectorErrorStyle

    init(bytes: [UInt8], style: SelectorErrorStyle) {
        self.lexer = LabelLexer(s: bytes)
        self.style = style
    }

    private func lookahead(_ ctx: ParserContext) -> (LabelToken, String) {
        var (t, l) = items[position]
        if ctx == .values, t == .in || t == .notIn { t = .identifier }
        return (t, l)
    }

    private mutating func consume(_ ctx: ParserContext) -> (LabelToken, String) {
        position += 1
        var (t, l) = items[position - 1]
        if ctx == .values, t == .in || t == .notIn { t = .identifier }
        return (t, l)
    }

    private mutating func scan() {
        while true {
            let item = lexer.lex()
            items.append(item)
            if item.0 == .endOfString { break }
        }
    }

    mutating func parse() throws(ParseMessage) -> [LabelSelector.Requirement] {
        scan()
        var reqs: [LabelSelector.Requirement] = []
        while true {
            let (tok, lit) = lookahead(.values)
            switch tok {
            case .identifier, .doesNotExist:
                let r: LabelSelector.Requirement
                do {
                    r = try parseRequirement()
                } catch let e {
                    throw ParseMessage(message: "unable to parse requirement: " + e.message)
                }
                reqs.append(r)
                let (t, l) = consume(.values)
                switch t {
                case .endOfString:
                    return reqs
                case .comma:
                    let (t2, l2) = lookahead(.values)
                    if t2 != .identifier && t2 != .doesNotExist {
                        throw ParseMessage(message: "found '\(l2)', expected: identifier after ','")
                    }
                default:
                    throw ParseMessage(message: "found '\(l)', expected: ',' or 'end of string'")
                }
            case .endOfString:
                return reqs
            default:
                throw ParseMessage(message: "found '\(lit)', expected: !, identifier, or 'end of string'")
            }
        }
    }

    private mutating func parseRequirement() throws(ParseMessage) -> LabelSelector.Requirement {
        let (key, inferred) = try parseKeyAndInferOperator()
        if let op = inferred, op == .exists || op == .doesNotExist {
            return try newRequirement(key: key, op: op, values: [])
        }
        let op = try parseOperator()
        var values: [String]
        switch op {
        case .in, .notIn:
            values = try parseValues()
        default:
            values = try parseExactValue()
        }
        // sets.String.List(): unique + sorted.
        values.sort(by: bytesLess)
        var unique: [String] = []
        unique.reserveCapacity(values.count)
        for v in values where unique.last.map({ !bytesEqual($0, v) }) ?? true { unique.append(v) }
        return try newRequirement(key: key, op: op, values: unique)
    }

    private mutating func parseKeyAndInferOperator() throws(ParseMessage) -> (String, LabelSelector.Operator?) {
        var op: LabelSelector.Operator? = nil
        var (tok, literal) = consume(.values)
        if tok == .doesNotExist {
            op = .doesNotExist
            (tok, literal) = consume(.values)
        }
        if tok != .identifier {
            throw ParseMessage(message: "found '\(literal)', expected: identifier")
        }
        let errs = LabelValidation.qualifiedName(literal)
        if !errs.isEmpty {
            switch style {
            case .fieldPath:
                throw ParseMessage(message: "<nil>: Invalid value: \(goQuote(literal)): " + errs.joined(separator: "; "))
            case .legacy:
                throw ParseMessage(message: "invalid label key \(goQuote(literal)): " + errs.joined(separator: "; "))
            }
        }
        let (t, _) = lookahead(.values)
        if t == .endOfString || t == .comma {
            if op != .doesNotExist { op = .exists }
        }
        return (literal, op)
    }

    private mutating func parseOperator() throws(ParseMessage) -> LabelSelector.Operator {
        let (tok, lit) = consume(.keyAndOperator)
        switch tok {
        case .in: return .in
        case .equals: return .equals
        case .doubleEquals: return .doubleEquals
        case .greaterThan: return .greaterThan
        case .lessThan: return .lessThan
        case .notIn: return .notIn
        case .notEquals: return .notEquals
        default:
            switch style {
            case .fieldPath:
                throw ParseMessage(message: "found '\(lit)', expected: in, notin, =, ==, !=, gt, lt")
            case .legacy:
                throw ParseMessage(message: "found '\(lit)', expected: '=', '!=', '==', 'in', notin'")
            }
        }
    }

    private mutating func parseValues() throws(ParseMessage) -> [String] {
        var (tok, lit) = consume(.values)
        if tok != .openPar {
            throw ParseMessage(message: "found '\(lit)' expected: '('")
        }
        (tok, lit) = lookahead(.values)
        switch tok {
        case .identifier, .comma:
            let s = try parseIdentifiersList()
            let (t, _) = consume(.values)
            if t != .closedPar {
                throw ParseMessage(message: "found '\(lit)', expected: ')'")
            }
            return s
        case .closedPar:
            _ = consume(.values)
            return [""]
        default:
            throw ParseMessage(message: "found '\(lit)', expected: ',', ')' or identifier")
        }
    }

    private mutating func parseIdentifiersList() throws(ParseMessage) -> [String] {
        var s: [String] = []
        while true {
            let (tok, lit) = consume(.values)
            switch tok {
            case .identifier:
                s.append(lit)
                let (tok2, lit2) = lookahead(.values)
                switch tok2 {
                case .comma: continue
                case .closedPar: return s
                default: throw ParseMessage(message: "found '\(lit2)', expected: ',' or ')'")
                }
            case .comma:
                if s.isEmpty { s.append("") }
                let (tok2, _) = lookahead(.values)
                if tok2 == .closedPar {
                    s.append("")
                    return s
                }
                if tok2 == .comma {
                    _ = consume(.values)
                    s.append("")
                }
            default:
                throw ParseMessage(message: "found '\(lit)', expected: ',', or identifier")
            }
        }
    }

    private mutating func parseExactValue() throws(ParseMessage) -> [String] {
        let (t0, _) = lookahead(.values)
        if t0 == .endOfString || t0 == .comma { return [""] }
        let (tok, lit) = consume(.values)
        if tok == .identifier { return [lit] }
        throw ParseMessage(message: "found '\(lit)', expected: identifier")
    }

    /// `NewRequirement` (key already validated by the parser).
    private func newRequirement(key: String, op: LabelSelector.Operator, values: [String]) throws(ParseMessage) -> LabelSelector.Requirement {
        var integer: Int64 = 0
        var errors: [String] = []
        var intFailed = false
        if op == .greaterThan || op == .lessThan {
            // The parser always supplies exactly one value here.
            for (i, v) in values.enumerated() {
                if let n = goParseInt64(v) {
                    integer = n
                } else {
                    intFailed = true
                    switch style {
                    case .fieldPath:
                        errors.append("values[\(i)]: Invalid value: \(goQuote(v)): for 'Gt', 'Lt' operators, the value must be an integer")
                    case .legacy:
                        throw ParseMessage(message: "for 'Gt', 'Lt' operators, the value must be an integer")
                    }
                }
            }
        }
        _ = intFailed
        for (i, v) in values.enumerated() {
            let errs = LabelValidation.labelValue(v)
            if errs.isEmpty { continue }
            switch style {
            case .fieldPath:
                errors.append("values[\(i)][\(key)]: Invalid value: \(goQuote(v)): " + errs.joined(separator: "; "))
            case .legacy:
                throw ParseMessage(message: "invalid label value: \(goQuote(v)): at key: \(goQuote(key)): " + errs.joined(separator: "; "))
            }
        }
        if !errors.isEmpty {
            // field.ErrorList.ToAggregate(): de-duplicated; one error prints bare, several as "[a, b]".
            var seen: [String] = []
            for e in errors where !seen.contains(e) { seen.append(e) }
            throw ParseMessage(message: seen.count == 1 ? seen[0] : "[" + seen.joined(separator: ", ") + "]")
        }
        return LabelSelector.Requirement(key: key, operator: op, values: values, integer: integer)
    }
}
