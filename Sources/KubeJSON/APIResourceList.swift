/// What a discovery document (`/api/v1`, `/apis/G/V`: an `APIResourceList`) says about each
/// resource of its group version: whether it is namespaced, its kind, its verbs. The cache needs
/// a resource's scope before it can cache answers under a namespace path (a cluster-scoped
/// resource asked there is no route at the apiserver: an empty cached list would be a lie), and
/// only the apiserver knows the scope of a custom resource.
public struct APIResourceList: Sendable, Equatable {
    public struct Resource: Sendable, Equatable {
        /// The plural name; a subresource is `pods/status`.
        public var name: String
        public var namespaced: Bool
        public var kind: String
        public var verbs: [String]

        public init(name: String, namespaced: Bool, kind: String, verbs: [String]) {
            self.name = name
            self.namespaced = namespaced
            self.kind = kind
            self.verbs = verbs
        }

        public var isSubresource: Bool { name.contains("/") }
    }

    /// `v1`, `storage.k8s.io/v1`.
    public var groupVersion: String
    public var resources: [Resource]

    /// The API group ("" for the core group).
    public var group: String {
        guard let slash = groupVersion.firstIndex(of: "/") else { return "" }
        return String(groupVersion[..<slash])
    }

    /// Parses an APIResourceList; unknown fields are skipped, the whole document is validated.
    /// Throws for anything that is not an APIResourceList.
    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> APIResourceList {
        let r: Result<APIResourceList, JSONError> = bytes.withUnsafeBytes { b in
            Result { () throws(JSONError) -> APIResourceList in
                var c = Cursor(b)
                let list = try parseList(&c)
                c.skipWS()
                guard c.atEnd else { throw c.error(.trailingData) }
                return list
            }
        }
        return try r.get()
    }

    private static func parseList(_ c: inout Cursor) throws(JSONError) -> APIResourceList {
        var list = APIResourceList(groupVersion: "", resources: [])
        var kind = ""
        guard try c.beginObject() else { throw c.error(.unexpectedEnd) }
        repeat {
            let k = try c.key()
            if c.keyEquals(k, "kind") {
                kind = try stringOrNull(&c)
            } else if c.keyEquals(k, "groupVersion") {
                list.groupVersion = try stringOrNull(&c)
            } else if c.keyEquals(k, "resources"), try c.peek() == ASCII.lbracket {
                c.pos += 1
                if try c.peek() == ASCII.rbracket {
                    c.pos += 1
                } else {
                    repeat { list.resources.append(try parseResource(&c)) } while try c.commaOrClose(ASCII.rbracket)
                }
            } else {
                try c.skipValue()
            }
        } while try c.commaOrClose(ASCII.rbrace)
        guard kind == "APIResourceList", !list.groupVersion.isEmpty else { throw c.error(.unexpectedByte(ASCII.rbrace)) }
        return list
    }

    private static func parseResource(_ c: inout Cursor) throws(JSONError) -> Resource {
        var r = Resource(name: "", namespaced: false, kind: "", verbs: [])
        guard try c.beginObject() else { return r }
        repeat {
            let k = try c.key()
            if c.keyEquals(k, "name") {
                r.name = try stringOrNull(&c)
            } else if c.keyEquals(k, "kind") {
                r.kind = try stringOrNull(&c)
            } else if c.keyEquals(k, "namespaced") {
                let b = try c.peek()
                if b == ASCII.t || b == ASCII.f || b == ASCII.n { r.namespaced = try c.scanLiteral() == ASCII.t } else { try c.skipValue() }
            } else if c.keyEquals(k, "verbs"), try c.peek() == ASCII.lbracket {
                c.pos += 1
                if try c.peek() == ASCII.rbracket {
                    c.pos += 1
                } else {
                    repeat {
                        if try c.peek() == ASCII.quote { r.verbs.append(try c.readString()) } else { try c.skipValue() }
                    } while try c.commaOrClose(ASCII.rbracket)
                }
            } else {
                try c.skipValue()
            }
        } while try c.commaOrClose(ASCII.rbrace)
        return r
    }

    private static func stringOrNull(_ c: inout Cursor) throws(JSONError) -> String {
        if try c.peek() == ASCII.quote { return try c.readString() }
        try c.skipValue()
        return ""
    }
}
