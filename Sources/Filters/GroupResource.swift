/// A resource type independent of API version (`pods`, `deployments.apps`), which is how filter
/// rules and the cache settings name what they apply to: a rule written for `deployments.apps`
/// must hold for every version the apiserver serves it at.
public struct GroupResource: Hashable, Sendable, CustomStringConvertible {
    /// The API group; "" for the core group.
    public var group: String
    /// The plural, lowercase resource name.
    public var resource: String

    public init(group: String, resource: String) {
        self.group = group
        self.resource = resource
    }

    /// Parses kubectl's `resource[.group]` spelling: `pods` → ("", "pods"),
    /// `leases.coordination.k8s.io` → ("coordination.k8s.io", "leases").
    ///
    /// The resource must be a DNS-1035 label (what the apiserver requires of a CRD's plural, and
    /// what every built-in plural is) and the group a DNS-1123 subdomain, so a kind (`Pod`), a
    /// subresource (`pods/status`) or a stray empty part is rejected instead of naming nothing.
    public init?(parsing text: String) {
        let resource: Substring
        let group: Substring
        if let dot = text.firstIndex(of: ".") {
            resource = text[..<dot]
            group = text[text.index(after: dot)...]
            guard Self.isSubdomain(group) else { return nil }
        } else {
            resource = text[...]
            group = ""
        }
        guard Self.isDNS1035Label(resource) else { return nil }
        self.init(group: String(group), resource: String(resource))
    }

    /// `resource` for the core group, else `resource.group`: the inverse of `init(parsing:)`.
    public var description: String {
        group.isEmpty ? resource : resource + "." + group
    }

    private static func isLowerAlphanumeric(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }

    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 bytes.
    private static func isDNS1123Label(_ s: Substring.UTF8View) -> Bool {
        guard let first = s.first, let last = s.last, s.count <= 63 else { return false }
        return isLowerAlphanumeric(first) && isLowerAlphanumeric(last)
            && s.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    /// A DNS-1123 label that starts with a letter.
    private static func isDNS1035Label(_ s: Substring) -> Bool {
        guard let first = s.utf8.first, first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z") else { return false }
        return isDNS1123Label(s.utf8)
    }

    /// Dot-separated DNS-1123 labels, at most 253 bytes.
    private static func isSubdomain(_ s: Substring) -> Bool {
        guard s.utf8.count <= 253 else { return false }
        return s.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            .allSatisfy(isDNS1123Label)
    }
}
