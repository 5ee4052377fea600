/// How a scalar was written in the source document.
public enum ScalarStyle: Sendable, Equatable, Hashable {
    case plain
    case singleQuoted
    case doubleQuoted
    /// `|` block scalar.
    case literal
    /// `>` block scalar.
    case folded
}

/// A parsed YAML node. Mappings keep their source order.
///
/// Plain scalars `~`, `null`, `Null`, `NULL` and empty values become `.null`;
/// every other scalar keeps its text exactly (no implicit typing: use `.bool`, `.int`, `.double`).
///
/// Note: nodes hold document content verbatim (including secrets such as tokens) and have no
/// redacting description; do not log them.
public enum YAMLNode: Equatable, Sendable {
    case null
    case scalar(String, ScalarStyle)
    case sequence([YAMLNode])
    case mapping([(key: String, value: YAMLNode)])

    public static func == (lhs: YAMLNode, rhs: YAMLNode) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null):
            return true
        case let (.scalar(a, sa), .scalar(b, sb)):
            return a == b && sa == sb
        case let (.sequence(a), .sequence(b)):
            return a == b
        case let (.mapping(a), .mapping(b)):
            guard a.count == b.count else { return false }
            for (x, y) in zip(a, b) where x.key != y.key || x.value != y.value {
                return false
            }
            return true
        default:
            return false
        }
    }
}

extension YAMLNode {
    /// A plain scalar (convenience for building expected values).
    public static func plain(_ text: String) -> YAMLNode { .scalar(text, .plain) }

    /// The value for `key` if this is a mapping (first match), else nil.
    public subscript(key: String) -> YAMLNode? {
        guard case .mapping(let entries) = self else { return nil }
        for entry in entries where entry.key == key {
            return entry.value
        }
        return nil
    }

    /// The element at `index` if this is a sequence and the index is in range, else nil.
    public subscript(index: Int) -> YAMLNode? {
        guard case .sequence(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }

    /// The text of a scalar of any style; nil for null and collections.
    public var string: String? {
        if case .scalar(let text, _) = self { return text }
        return nil
    }

    /// The style of a scalar; nil otherwise.
    public var scalarStyle: ScalarStyle? {
        if case .scalar(_, let style) = self { return style }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Plain scalars `true`/`false` (any of `true True TRUE`), plus YAML 1.1 forms that
    /// Kubernetes' YAML decoder also accepts (`yes/no/on/off/y/n`, same case variants).
    /// Quoted scalars are strings, never booleans.
    public var bool: Bool? {
        guard case .scalar(let text, .plain) = self else { return nil }
        switch text {
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y":
            return true
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N":
            return false
        default:
            return nil
        }
    }

    /// Plain decimal (`-12`, `+3`), hex (`0x1F`) or octal (`0o17`) integers; nil on overflow.
    public var int: Int? {
        guard case .scalar(let text, .plain) = self else { return nil }
        var digits = Substring(text)
        var negative = false
        if let first = digits.first, first == "-" || first == "+" {
            negative = first == "-"
            digits = digits.dropFirst()
        }
        var radix = 10
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            radix = 16
            digits = digits.dropFirst(2)
        } else if digits.hasPrefix("0o") || digits.hasPrefix("0O") {
            radix = 8
            digits = digits.dropFirst(2)
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isHexDigit }),
              let magnitude = UInt(digits, radix: radix) else { return nil }
        if negative {
            if magnitude == UInt(Int.max) + 1 { return Int.min }
            guard magnitude <= UInt(Int.max) else { return nil }
            return -Int(magnitude)
        }
        guard magnitude <= UInt(Int.max) else { return nil }
        return Int(magnitude)
    }

    /// Plain floating point numbers (`1.5`, `-2e3`, `.inf`, `.nan`) and integers.
    public var double: Double? {
        guard case .scalar(let text, .plain) = self else { return nil }
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: break
        }
        guard let first = text.first, first.isNumber || first == "-" || first == "+" || first == "." else {
            return nil
        }
        return Double(text)
    }

    /// The items of a sequence.
    public var array: [YAMLNode]? {
        if case .sequence(let items) = self { return items }
        return nil
    }

    /// The entries of a mapping, in source order.
    public var entries: [(key: String, value: YAMLNode)]? {
        if case .mapping(let entries) = self { return entries }
        return nil
    }

    /// The keys of a mapping in source order (empty for non-mappings).
    public var keys: [String] {
        entries?.map(\.key) ?? []
    }
}
