/// A compiled set of extra field paths to extract from each object, e.g.
/// `[["spec","nodeName"], ["status","phase"], ["type"], ["involvedObject","name"]]`.
///
/// Values are rendered the way the apiserver's field selectors see them: strings decoded,
/// booleans as `"true"`/`"false"`, numbers as their JSON text, `null`/absent as `nil`,
/// objects/arrays as their raw JSON text.
///
/// Paths under `metadata` work too: `["metadata","name"]`, `["metadata","namespace"]`,
/// `["metadata","uid"]`, `["metadata","resourceVersion"]`, `["metadata","generation"]`,
/// `["metadata","labels",<key>]` are filled from the parsed ObjectMeta; other metadata
/// paths (e.g. `["metadata","annotations",<key>]`) are extracted generically.
public struct FieldPaths: Sendable, Equatable {
    struct Node: Sendable, Equatable {
        var children: [(key: [UInt8], node: Int)] = []
        var slot: Int? = nil
        static func == (a: Node, b: Node) -> Bool {
            a.slot == b.slot && a.children.count == b.children.count
                && zip(a.children, b.children).allSatisfy { $0.key == $1.key && $0.node == $1.node }
        }
    }

    /// The unique paths, in slot order.
    public let paths: [[String]]
    var nodes: [Node]
    /// Index of the node for the top-level `metadata` key, if any path goes through it.
    var metadataNode: Int?
    /// Slots that are filled from known ObjectMeta fields after parsing.
    var knownMetaSlots: [(slot: Int, tail: [String])]

    public static let none = FieldPaths([])

    public init(_ paths: [[String]]) {
        var unique: [[String]] = []
        var nodes = [Node()]
        var known: [(Int, [String])] = []
        for path in paths where !path.isEmpty && !unique.contains(path) {
            let slot = unique.count
            unique.append(path)
            if path[0] == "metadata", path.count >= 2,
               ["name", "namespace", "uid", "resourceVersion", "generation"].contains(path[1]) && path.count == 2
                || (path[1] == "labels" && path.count == 3) {
                known.append((slot, Array(path.dropFirst())))
                continue
            }
            var cur = 0
            for comp in path {
                let k = Array(comp.utf8)
                if let c = nodes[cur].children.first(where: { $0.key == k }) {
                    cur = c.node
                } else {
                    nodes.append(Node())
                    nodes[cur].children.append((k, nodes.count - 1))
                    cur = nodes.count - 1
                }
            }
            nodes[cur].slot = slot
        }
        self.paths = unique
        self.nodes = nodes
        self.knownMetaSlots = known
        self.metadataNode = nodes[0].children.first(where: { $0.key == Array("metadata".utf8) })?.node
        // Flatten for allocation/retain-free lookups on the hot path.
        var keyBytes: [UInt8] = [], edgeKey: [Int] = [], edgeLen: [Int] = [], edgeTarget: [Int] = []
        var firstEdge: [Int] = [], edgeCount: [Int] = [], slots: [Int] = []
        for n in nodes {
            firstEdge.append(edgeTarget.count)
            edgeCount.append(n.children.count)
            slots.append(n.slot ?? -1)
            for c in n.children {
                edgeKey.append(keyBytes.count); edgeLen.append(c.key.count); edgeTarget.append(c.node)
                keyBytes += c.key
            }
        }
        keyBytes.append(0)  // never empty, so baseAddress is non-nil
        self.flat = Flat(keyBytes: keyBytes, edgeKey: edgeKey, edgeLen: edgeLen, edgeTarget: edgeTarget,
                         firstEdge: firstEdge, edgeCount: edgeCount, slot: slots)
    }

    struct Flat: Sendable {
        var keyBytes: [UInt8]
        var edgeKey: [Int], edgeLen: [Int], edgeTarget: [Int]
        var firstEdge: [Int], edgeCount: [Int], slot: [Int]
    }
    var flat: Flat

    public var count: Int { paths.count }

    /// The slot index of `path` in `ObjectMeta.fields`, or nil if it was not compiled in.
    public func index(of path: [String]) -> Int? {
        paths.firstIndex(of: path)
    }

    public static func == (a: FieldPaths, b: FieldPaths) -> Bool { a.paths == b.paths }

    @inline(__always) func hasChildren(_ node: Int) -> Bool { flat.edgeCount[node] > 0 }
    @inline(__always) func slot(_ node: Int) -> Int? { let s = flat.slot[node]; return s < 0 ? nil : s }

    @inline(__always) func child(of node: Int, key: RawString, in cursor: Cursor) -> Int? {
        let first = flat.firstEdge[node]
        let end = first + flat.edgeCount[node]
        if first == end { return nil }
        return flat.keyBytes.withUnsafeBytes { kb -> Int? in
            for e in first..<end {
                let kb = UnsafeRawBufferPointer(rebasing: kb[flat.edgeKey[e]..<(flat.edgeKey[e] + flat.edgeLen[e])])
                if cursor.keyEquals(key, bytes: kb) { return flat.edgeTarget[e] }
            }
            return nil
        }
    }
}

/// The parts of an object the proxy indexes and filters on.
public struct ObjectMeta: Sendable, Equatable, CustomStringConvertible {
    public var kind: String?
    public var apiVersion: String?
    public var name: String = ""
    public var namespace: String = ""
    public var uid: String = ""
    public var resourceVersion: String = ""
    public var generation: Int64?
    public var labels: [(String, String)] = []
    public var hasDeletionTimestamp: Bool = false
    /// Values of the requested `FieldPaths`, indexed by slot.
    public var fields: [String?] = []

    public init() {}

    public func label(_ key: String) -> String? {
        for (k, v) in labels where k == key { return v }
        return nil
    }

    /// Convenience: the value of an extra field path (which must be in `paths`).
    public func field(_ path: [String], in paths: FieldPaths) -> String? {
        guard let i = paths.index(of: path), i < fields.count else { return nil }
        return fields[i]
    }

    public static func == (a: ObjectMeta, b: ObjectMeta) -> Bool {
        a.kind == b.kind && a.apiVersion == b.apiVersion && a.name == b.name && a.namespace == b.namespace
            && a.uid == b.uid && a.resourceVersion == b.resourceVersion && a.generation == b.generation
            && a.hasDeletionTimestamp == b.hasDeletionTimestamp && a.fields == b.fields
            && a.labels.count == b.labels.count
            && zip(a.labels, b.labels).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    public var description: String {
        var s = "ObjectMeta(\(namespace.isEmpty ? "" : namespace + "/")\(name) rv=\(resourceVersion)"
        if let kind { s += " kind=\(kind)" }
        if !labels.isEmpty { s += " labels=\(labels.map { "\($0.0)=\($0.1)" }.joined(separator: ","))" }
        if !fields.isEmpty { s += " fields=\(fields)" }
        return s + ")"
    }

    /// Parses one complete JSON object and extracts its metadata. The whole object is
    /// validated. Throws `JSONError` (offsets relative to `bytes`).
    public static func parse(_ bytes: UnsafeRawBufferPointer, fields paths: FieldPaths = .none) throws(JSONError) -> ObjectMeta {
        var c = Cursor(bytes)
        let m = try parseObject(&c, paths)
        c.skipWS()
        guard c.atEnd else { throw c.error(.trailingData) }
        return m
    }

    public static func parse(_ bytes: [UInt8], fields paths: FieldPaths = .none) throws(JSONError) -> ObjectMeta {
        let r: Result<ObjectMeta, JSONError> = bytes.withUnsafeBytes { b in
            Result { () throws(JSONError) -> ObjectMeta in try parse(b, fields: paths) }
        }
        return try r.get()
    }

    public static func parse(_ string: String, fields paths: FieldPaths = .none) throws(JSONError) -> ObjectMeta {
        try parse(Array(string.utf8), fields: paths)
    }

    // MARK: internals

    /// `c` at an object (after optional whitespace). Consumes it.
    static func parseObject(_ c: inout Cursor, _ paths: FieldPaths) throws(JSONError) -> ObjectMeta {
        var m = ObjectMeta()
        if paths.count > 0 { m.fields = Array(repeating: nil, count: paths.count) }
        let b = try c.peek()
        guard b == ASCII.lbrace else { throw c.error(.itemNotObject) }
        guard try c.beginObject() else { return m }
        repeat {
            let k = try c.key()
            if c.keyEquals(k, "metadata") {
                try parseMetadata(&c, &m, paths)
            } else if c.keyEquals(k, "kind") {
                m.kind = try readOptionalString(&c)
            } else if c.keyEquals(k, "apiVersion") {
                m.apiVersion = try readOptionalString(&c)
            } else if paths.hasChildren(0), let node = paths.child(of: 0, key: k, in: c) {
                try extract(&c, node: node, paths, &m)
            } else {
                try c.skipValue()
            }
        } while try c.commaOrClose(ASCII.rbrace)
        if !paths.knownMetaSlots.isEmpty { fillKnown(&m, paths) }
        return m
    }

    static func fillKnown(_ m: inout ObjectMeta, _ paths: FieldPaths) {
        for (slot, tail) in paths.knownMetaSlots {
            switch tail[0] {
            case "name": m.fields[slot] = m.name
            case "namespace": m.fields[slot] = m.namespace
            case "uid": m.fields[slot] = m.uid
            case "resourceVersion": m.fields[slot] = m.resourceVersion
            case "generation": m.fields[slot] = m.generation.map { String($0) }
            case "labels": m.fields[slot] = m.label(tail[1])
            default: break
            }
        }
    }

    /// A string, or nil for null / other types (validated and skipped).
    @inline(__always) static func readOptionalString(_ c: inout Cursor) throws(JSONError) -> String? {
        if try c.peek() == ASCII.quote {
            let s = try c.scanString()
            return c.decode(s)
        }
        try c.skipValue()
        return nil
    }

    static func parseMetadata(_ c: inout Cursor, _ m: inout ObjectMeta, _ paths: FieldPaths) throws(JSONError) {
        guard try c.peek() == ASCII.lbrace else { try c.skipValue(); return }
        guard try c.beginObject() else { return }
        repeat {
            let k = try c.key()
            switch k.range.count {
            case 4 where c.keyEquals(k, "name"):
                m.name = try readOptionalString(&c) ?? ""
                continue
            case 9 where c.keyEquals(k, "namespace"):
                m.namespace = try readOptionalString(&c) ?? ""
                continue
            case 3 where c.keyEquals(k, "uid"):
                m.uid = try readOptionalString(&c) ?? ""
                continue
            case 15 where c.keyEquals(k, "resourceVersion"):
                m.resourceVersion = try readOptionalString(&c) ?? ""
                continue
            case 10 where c.keyEquals(k, "generation"):
                let b = try c.peek()
                if b == ASCII.minus || ASCII.isDigit(b) { m.generation = try c.readInt64() } else { try c.skipValue() }
                continue
            case 6 where c.keyEquals(k, "labels"):
                try parseLabels(&c, &m)
                continue
            case 17 where c.keyEquals(k, "deletionTimestamp"):
                if try c.peek() == ASCII.n {
                    _ = try c.scanLiteral()
                } else {
                    try c.skipValue()
                    m.hasDeletionTimestamp = true
                }
                continue
            default:
                break
            }
            if k.hasEscapes {
                // Rare: keys spelled with escapes. Compare decoded.
                let s = c.decode(k)
                switch s {
                case "name": m.name = try readOptionalString(&c) ?? ""; continue
                case "namespace": m.namespace = try readOptionalString(&c) ?? ""; continue
                case "uid": m.uid = try readOptionalString(&c) ?? ""; continue
                case "resourceVersion": m.resourceVersion = try readOptionalString(&c) ?? ""; continue
                case "labels": try parseLabels(&c, &m); continue
                default: break
                }
            }
            if let mn = paths.metadataNode, let node = paths.child(of: mn, key: k, in: c) {
                try extract(&c, node: node, paths, &m)
            } else {
                try c.skipValue()
            }
        } while try c.commaOrClose(ASCII.rbrace)
    }

    static func parseLabels(_ c: inout Cursor, _ m: inout ObjectMeta) throws(JSONError) {
        guard try c.peek() == ASCII.lbrace else { try c.skipValue(); return }
        guard try c.beginObject() else { return }
        repeat {
            let k = try c.key()
            if let v = try readOptionalString(&c) {
                m.labels.append((c.decode(k), v))
            }
        } while try c.commaOrClose(ASCII.rbrace)
    }

    /// Generic field-path extraction for one value.
    static func extract(_ c: inout Cursor, node: Int, _ paths: FieldPaths, _ m: inout ObjectMeta) throws(JSONError) {
        let first = try c.peek()
        let start = c.pos
        let slot = paths.slot(node)
        if first == ASCII.lbrace && paths.hasChildren(node) {
            if try c.beginObject() {
                repeat {
                    let k = try c.key()
                    if let child = paths.child(of: node, key: k, in: c) {
                        try extract(&c, node: child, paths, &m)
                    } else {
                        try c.skipValue()
                    }
                } while try c.commaOrClose(ASCII.rbrace)
            }
        } else if first == ASCII.quote, let slot {
            let s = try c.scanString()
            m.fields[slot] = c.decode(s)
            return
        } else {
            try c.skipValue()
        }
        guard let slot else { return }
        if first == ASCII.n {
            m.fields[slot] = nil
        } else {
            m.fields[slot] = String(decoding: UnsafeRawBufferPointer(rebasing: c.buf[start..<c.pos]), as: UTF8.self)
        }
    }
}
