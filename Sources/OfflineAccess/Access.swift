/// One access the apiserver authorizes, in the terms its authorizers use (RBAC's verb, API group,
/// resource, namespace and resource name). A list or watch pinned to one object by a
/// `metadata.name` field selector carries that name, as the apiserver's RequestInfo does.
public struct Access: Hashable, Sendable, CustomStringConvertible {
    public var verb: String
    public var group: String
    public var resource: String
    /// "" for cluster-scoped objects and all-namespace lists.
    public var namespace: String
    /// "" when the request names no object.
    public var name: String

    public init(verb: String, group: String, resource: String, namespace: String = "", name: String = "") {
        self.verb = verb
        self.group = group
        self.resource = resource
        self.namespace = namespace
        self.name = name
    }

    /// Discovery documents and `/version`: any caller the apiserver authenticated may read them
    /// (`system:discovery`), so they need an accepted identity, not a grant.
    public static let discovery = Access(verb: "get", group: "", resource: "")

    public var isDiscovery: Bool { resource.isEmpty }

    /// The accesses whose confirmation covers this one, this one first.
    ///
    /// Scope: a rule without resource names covers every name; a cluster-wide grant covers every
    /// namespace (RBAC grants an all-namespace or cluster-scoped request only through a
    /// ClusterRoleBinding, which applies in every namespace).
    ///
    /// Verbs: an offline answer discloses cached objects and nothing else (no change happens while
    /// the apiserver is away), so a list or watch the apiserver allowed on a scope covers a list,
    /// a watch and a get within that scope: this caller was already shown every one of those
    /// objects. A get covers only gets. Writes are never answered from the cache.
    public var coveringAccesses: [Access] {
        var verbs = [verb]
        switch verb {
        case "list": verbs.append("watch")
        case "watch": verbs.append("list")
        case "get": verbs += ["list", "watch"]
        default: break
        }
        var scopes: [(String, String)] = [(namespace, name)]
        if !name.isEmpty { scopes.append((namespace, "")) }
        if !namespace.isEmpty {
            if !name.isEmpty { scopes.append(("", name)) }
            scopes.append(("", ""))
        }
        var out: [Access] = []
        for (ns, n) in scopes {
            for v in verbs {
                out.append(Access(verb: v, group: group, resource: resource, namespace: ns, name: n))
            }
        }
        return out
    }

    public var description: String {
        "\(verb) \(group.isEmpty ? "" : group + "/")\(resource)" + (namespace.isEmpty ? "" : " in \(namespace)")
            + (name.isEmpty ? "" : " named \(name)")
    }
}

/// Who is asking, as far as the apiserver can tell: Outpost's own identity (a request without
/// credentials gets Outpost's kubeconfig credentials upstream), or the credentials the client
/// sent (its Authorization header and any impersonation headers), reduced to the exact bytes
/// the apiserver would authenticate. Only a keyed hash of `material` is ever kept.
public enum CallerCredentials: Equatable, Sendable {
    case outpost
    case presented(material: [UInt8])

    /// Reads the headers of a request (`name` in any case). Authorization and every
    /// `Impersonate-*` header count; anything else the apiserver ignores for authentication.
    public init<S: Sequence>(headers: S) where S.Element == (name: String, value: String) {
        var authorization: [String] = []
        var impersonation: [(String, String)] = []
        // Headers the client names in `Connection` stay on its hop: the apiserver never sees them.
        var hopByHop = Set<String>()
        for (name, value) in headers where name.lowercased() == "connection" {
            for token in value.split(separator: ",") {
                hopByHop.insert(token.trimmingCharacters(in: " \t").lowercased())
            }
        }
        for (name, value) in headers {
            let lower = name.lowercased()
            if hopByHop.contains(lower) { continue }
            if lower == "authorization" {
                authorization.append(value)
            } else if lower.hasPrefix("impersonate-") {
                impersonation.append((lower, value))
            }
        }
        guard !authorization.isEmpty || !impersonation.isEmpty else {
            self = .outpost
            return
        }
        // What the apiserver authenticates: the first Authorization header, trimmed, and of a bearer
        // one only the token (`Bearer tok junk` is `tok` to it; the scheme's case does not matter).
        // Variants that authenticate as the same credential are one caller, so they cannot be used
        // to flood the book with confirmed callers.
        authorization = authorization.prefix(1).map(Self.canonicalAuthorization)
        // Order matters to the apiserver only within a header (groups, extras): sort by name,
        // keeping the order of repeated headers.
        impersonation = impersonation.enumerated()
            .sorted { $0.element.0 != $1.element.0 ? $0.element.0 < $1.element.0 : $0.offset < $1.offset }
            .map(\.element)
        var material: [UInt8] = []
        for a in authorization {
            material += Array("authorization\u{0}".utf8) + Array(a.utf8) + [0x0A]
        }
        for (n, v) in impersonation {
            material += Array(n.utf8) + [0] + Array(v.utf8) + [0x0A]
        }
        self = .presented(material: material)
    }
}

extension CallerCredentials {
    /// kube-apiserver's bearer-token authenticator: TrimSpace, split on " ", scheme compared
    /// lowercased, the token is the second field.
    static func canonicalAuthorization(_ value: String) -> String {
        let trimmed = value.trimmingGoSpace()
        let parts = trimmed.split(separator: " ", omittingEmptySubsequences: false)
        if parts.count >= 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty {
            return "bearer " + parts[1]
        }
        return trimmed
    }
}

extension String {
    /// Go's strings.TrimSpace for the ASCII whitespace a header can carry.
    fileprivate func trimmingGoSpace() -> String {
        let space: Set<Character> = [" ", "\t", "\n", "\r", "\u{0B}", "\u{0C}"]
        return String(drop { space.contains($0) }.reversed().drop { space.contains($0) }.reversed())
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
