/// `outpost verify`'s verdict for one scope: the cache's objects against the apiserver's list.
/// Pure: the command fetches, this decides.
public struct ScopeComparison: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var namespace: String
        public var name: String
        /// The cache's resourceVersion ("" when the cache does not have it).
        public var cached: String
        /// The apiserver's ("" when it does not have it).
        public var upstream: String
        public init(namespace: String, name: String, cached: String, upstream: String) {
            self.namespace = namespace; self.name = name; self.cached = cached; self.upstream = upstream
        }
    }

    /// On the apiserver at a version the scope's resourceVersion already covers, not in the cache.
    public var missing: [Entry] = []
    /// In the cache, not on the apiserver.
    public var extra: [Entry] = []
    /// Both have it, at different versions, and the apiserver's is not newer than the scope.
    public var differentVersion: [Entry] = []
    /// Changed or created on the apiserver after the scope's resourceVersion: not a difference
    /// (the cache was right as of its version; it catches up through its watch or next list).
    public var newerUpstream: [Entry] = []
    public var matching = 0

    public var isClean: Bool { missing.isEmpty && extra.isEmpty && differentVersion.isEmpty }

    /// `checkExtra`: false for a selector scope (the cache's other objects of the namespace
    /// may be outside the selector).
    public init(scopeResourceVersion: String,
                cached: [(namespace: String, name: String, resourceVersion: String)],
                upstream: [(namespace: String, name: String, resourceVersion: String)],
                checkExtra: Bool = true) {
        func newer(_ a: String, than b: String) -> Bool {
            guard let x = UInt64(a), let y = UInt64(b) else { return false }
            return x > y
        }
        var mine: [String: (String, String, String)] = [:]
        for c in cached { mine[c.namespace + "/" + c.name] = (c.namespace, c.name, c.resourceVersion) }
        var seen = Set<String>()
        for u in upstream {
            let key = u.namespace + "/" + u.name
            seen.insert(key)
            guard let c = mine[key] else {
                let e = Entry(namespace: u.namespace, name: u.name, cached: "", upstream: u.resourceVersion)
                if newer(u.resourceVersion, than: scopeResourceVersion) { newerUpstream.append(e) } else { missing.append(e) }
                continue
            }
            if c.2 == u.resourceVersion { matching += 1; continue }
            let e = Entry(namespace: u.namespace, name: u.name, cached: c.2, upstream: u.resourceVersion)
            if newer(u.resourceVersion, than: scopeResourceVersion) && newer(u.resourceVersion, than: c.2) {
                newerUpstream.append(e)
            } else {
                differentVersion.append(e)
            }
        }
        if checkExtra {
            for c in cached where !seen.contains(c.namespace + "/" + c.name) {
                extra.append(Entry(namespace: c.namespace, name: c.name, cached: c.resourceVersion, upstream: ""))
            }
        }
    }
}

extension ScopeComparison {
    /// The apiserver path of a list of `gvr` ("group/version/resource") in `namespace` ("" = all).
    public static func listPath(gvr: String, namespace: String) -> String? {
        let p = gvr.split(separator: "/", omittingEmptySubsequences: false)
        guard p.count == 3, !p[1].isEmpty, !p[2].isEmpty else { return nil }
        let base = p[0].isEmpty ? "/api/\(p[1])" : "/apis/\(p[0])/\(p[1])"
        return base + (namespace.isEmpty ? "" : "/namespaces/\(percentEncoded(namespace))") + "/\(p[2])"
    }

    /// A stored scope selector key (`l:app=x;f:spec.nodeName=n`) as list query parameters.
    public static func selectorQuery(_ key: String) -> [(String, String)] {
        guard !key.isEmpty else { return [] }
        var out: [(String, String)] = []
        var rest = Substring(key)
        if rest.hasPrefix("l:") {
            rest = rest.dropFirst(2)
            if let r = rest.firstRange(of: ";f:") {
                out.append(("labelSelector", String(rest[..<r.lowerBound])))
                rest = rest[r.upperBound...]
                out.append(("fieldSelector", String(rest)))
                return out
            }
            return [("labelSelector", String(rest))]
        }
        if rest.hasPrefix("f:") { return [("fieldSelector", String(rest.dropFirst(2)))] }
        return []
    }

    /// RFC 3986 unreserved characters stay, everything else is %XX (a query value or a path segment).
    public static func percentEncoded(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let h = String(b, radix: 16, uppercase: true)
                out += "%" + (h.count == 1 ? "0" : "") + h
            }
        }
        return out
    }
}
