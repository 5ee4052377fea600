// Label key / value validation with apimachinery's exact error strings
// (k8s.io/apimachinery/pkg/util/validation: IsQualifiedName, IsValidLabelValue, IsDNS1123Subdomain).

enum LabelValidation {
    static let qualifiedNameFmt = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
    static let qualifiedNameErrMsg = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    static let labelValueFmt = "(" + qualifiedNameFmt + ")?"
    static let labelValueErrMsg = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    static let dns1123LabelFmt = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
    static let dns1123SubdomainFmt = dns1123LabelFmt + "(\\." + dns1123LabelFmt + ")*"
    static let dns1123SubdomainErrMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"

    static func regexError(_ msg: String, _ fmt: String, _ examples: [String]) -> String {
        if examples.isEmpty { return msg + " (regex used for validation is '" + fmt + "')" }
        var m = msg + " (e.g. "
        for (i, e) in examples.enumerated() {
            if i > 0 { m += " or " }
            m += "'" + e + "', "
        }
        return m + "regex used for validation is '" + fmt + "')"
    }

    static func maxLenError(_ n: Int) -> String { "must be no more than \(n) characters" }

    @inline(__always) static func isAlnum(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
    }

    /// `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`
    static func matchesQualifiedName<C: Collection>(_ b: C) -> Bool where C.Element == UInt8 {
        guard let first = b.first, isAlnum(first) else { return false }
        var last: UInt8 = first
        for c in b {
            guard isAlnum(c) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: ".") else { return false }
            last = c
        }
        return isAlnum(last)
    }

    /// `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
    static func matchesDNS1123Subdomain<C: Collection>(_ b: C) -> Bool where C.Element == UInt8 {
        if b.isEmpty { return false }
        @inline(__always) func lowerAlnum(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7A) }
        var labelLen = 0
        var prev: UInt8 = 0
        for c in b {
            if c == UInt8(ascii: ".") {
                if labelLen == 0 || !lowerAlnum(prev) { return false }
                labelLen = 0
            } else {
                if labelLen == 0 && !lowerAlnum(c) { return false }
                if !(lowerAlnum(c) || c == UInt8(ascii: "-")) { return false }
                labelLen += 1
            }
            prev = c
        }
        return labelLen > 0 && lowerAlnum(prev)
    }

    static func dns1123Subdomain(_ s: Substring) -> [String] {
        var errs: [String] = []
        if s.utf8.count > 253 { errs.append(maxLenError(253)) }
        if !matchesDNS1123Subdomain(s.utf8) {
            errs.append(regexError(dns1123SubdomainErrMsg, dns1123SubdomainFmt, ["example.com"]))
        }
        return errs
    }

    /// `validation.IsQualifiedName`.
    static func qualifiedName(_ value: String) -> [String] {
        var errs: [String] = []
        let parts = value.split(separator: "/", omittingEmptySubsequences: false)
        let name: Substring
        switch parts.count {
        case 1:
            name = parts[0]
        case 2:
            let prefix = parts[0]
            name = parts[1]
            if prefix.isEmpty {
                errs.append("prefix part must be non-empty")
            } else {
                for m in dns1123Subdomain(prefix) { errs.append("prefix part " + m) }
            }
        default:
            return ["a qualified name " + regexError(qualifiedNameErrMsg, qualifiedNameFmt, ["MyName", "my.name", "123-abc"])
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
        }
        let n = name.utf8.count
        if n == 0 {
            errs.append("name part must be non-empty")
        } else if n > 63 {
            errs.append("name part " + maxLenError(63))
        }
        if !matchesQualifiedName(name.utf8) {
            errs.append("name part " + regexError(qualifiedNameErrMsg, qualifiedNameFmt, ["MyName", "my.name", "123-abc"]))
        }
        return errs
    }

    /// `validation.IsValidLabelValue`.
    static func labelValue(_ value: String) -> [String] {
        var errs: [String] = []
        let u = value.utf8
        if u.count > 63 { errs.append(maxLenError(63)) }
        if !u.isEmpty && !matchesQualifiedName(u) {
            errs.append(regexError(labelValueErrMsg, labelValueFmt, ["MyValue", "my_value", "12345"]))
        }
        return errs
    }

    static func isValidKey(_ key: String) -> Bool { qualifiedName(key).isEmpty }
    static func isValidValue(_ value: String) -> Bool { labelValue(value).isEmpty }
}

/// Public validation helpers (useful to the cache and the proxy for label sets).
public enum LabelValidator {
    /// Messages `validation.IsQualifiedName` returns for `key` (empty when valid).
    public static func keyErrors(_ key: String) -> [String] { LabelValidation.qualifiedName(key) }
    /// Messages `validation.IsValidLabelValue` returns for `value` (empty when valid).
    public static func valueErrors(_ value: String) -> [String] { LabelValidation.labelValue(value) }
}
