/// Where discovery and OpenAPI documents live in the store, and which ones Outpost fetches by
/// itself. Pure naming, no I/O.
///
/// Discovery (`/version`, `/api`, `/api/V`, `/apis`, `/apis/G/V`) is stored as JSON under
/// `doc:PATH` whatever the client asked (kubectl and client-go accept JSON; the Accept sent
/// upstream is `application/json`). OpenAPI documents come in the form the client negotiated
/// (kubectl reads `/openapi/v2` as protobuf), so their key carries the Accept header as sent:
/// `doc:PATH accept=ACCEPT`. A client's first ask of an OpenAPI document is remembered under
/// `asked:PATH accept=ACCEPT` (no body), and from then on Outpost fetches it itself at every
/// start and recovery: those documents are megabytes, fetched only for nodes that use them.
enum DiscoveryDocuments {
    /// The key of a discovery document (`/version`, `/api`, `/apis/apps/v1`).
    static func key(_ path: String) -> String { "doc:" + path }

    /// Whether `path` is an OpenAPI document kubectl reads (`/openapi/v2`, `/openapi/v3`,
    /// `/openapi/v3/apis/apps/v1`).
    static func isOpenAPI(_ path: String) -> Bool {
        path == "/openapi/v2" || path == "/openapi/v3" || path.hasPrefix("/openapi/v3/")
    }

    /// One OpenAPI document as a client negotiated it.
    struct OpenAPIAsk: Hashable, Sendable {
        var path: String
        /// The Accept header as the client sent it (trimmed); "" when it sent none.
        var accept: String

        init(path: String, accept: String) {
            self.path = path
            self.accept = Self.normalized(accept)
        }

        /// Spaces around list separators and parameters do not change a media range; case of the
        /// type does not either.
        static func normalized(_ accept: String) -> String {
            var out = ""
            for c in accept.lowercased() where c != " " && c != "\t" { out.append(c) }
            return out
        }

        var documentKey: String { "doc:" + path + " accept=" + accept }
        var askedKey: String { "asked:" + path + " accept=" + accept }

        /// Reads an `asked:` key back; nil for anything else.
        init?(askedKey key: String) {
            guard key.hasPrefix("asked:"), let sep = key.firstRange(of: " accept=") else { return nil }
            path = String(key[key.index(key.startIndex, offsetBy: 6)..<sep.lowerBound])
            accept = String(key[sep.upperBound...])
            guard DiscoveryDocuments.isOpenAPI(path) else { return nil }
        }
    }

    static let askedPrefix = "asked:"

    /// The resource lists named by `/api`'s versions and `/apis`'s group versions, in order,
    /// without duplicates (`/api/v1`, `/apis/apps/v1`, ...).
    static func resourceListPaths(legacyVersions: [String], groupVersions: [String]) -> [String] {
        var seen = Set<String>()
        var out: [String] = []
        for v in legacyVersions where Self.isPathSegment(v) {
            let p = "/api/" + v
            if seen.insert(p).inserted { out.append(p) }
        }
        for gv in groupVersions {
            let parts = gv.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, parts.allSatisfy({ Self.isPathSegment(String($0)) }) else { continue }
            let p = "/apis/" + gv
            if seen.insert(p).inserted { out.append(p) }
        }
        return out
    }

    /// A `Content-Range: bytes START-END/TOTAL` header (END inclusive); nil for anything else
    /// (`*` totals, other units).
    struct ContentRange: Equatable {
        var start: Int
        var end: Int
        var total: Int
        var count: Int { end - start + 1 }

        init?(_ header: String?) {
            guard let header, header.hasPrefix("bytes ") else { return nil }
            let rest = header.dropFirst(6)
            guard let slash = rest.firstIndex(of: "/"), let dash = rest[..<slash].firstIndex(of: "-"),
                  let s = Int(rest[..<dash]), let e = Int(rest[rest.index(after: dash)..<slash]),
                  let t = Int(rest[rest.index(after: slash)...]), s >= 0, s <= e, e < t else { return nil }
            start = s
            end = e
            total = t
        }
    }

    /// Whether `key` holds a resource list (`doc:/api/V`, `doc:/apis/G/V`).
    static func isResourceListKey(_ key: String) -> Bool {
        guard key.hasPrefix("doc:/api") else { return false }
        let parts = key.dropFirst(5).split(separator: "/", omittingEmptySubsequences: false)
        return (parts.count == 2 && parts[0] == "api") || (parts.count == 3 && parts[0] == "apis")
    }

    /// A group or version name as a path segment: DNS-like characters only (never `..`, `?`, `%`).
    private static func isPathSegment(_ s: String) -> Bool {
        !s.isEmpty && s != "." && s != ".." && s.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2E || c == 0x5F
        }
    }
}
