/// One remembered authorization answer of the apiserver (see OfflineAccess.AccessBook): who
/// (`identity`, a keyed hash of credentials, never the credentials), what (`verb` "" = the
/// identity itself), the outcome, when, and the apiserver's own 403 body when it refused.
public struct StoredAccess: Sendable, Equatable {
    public var identity: [UInt8]
    public var verb: String
    public var group: String
    public var resource: String
    public var namespace: String
    public var name: String
    public var outcome: Int64
    public var seen: Int64
    public var status: [UInt8]?

    public init(identity: [UInt8], verb: String, group: String, resource: String, namespace: String, name: String,
                outcome: Int64, seen: Int64, status: [UInt8]?) {
        self.identity = identity
        self.verb = verb
        self.group = group
        self.resource = resource
        self.namespace = namespace
        self.name = name
        self.outcome = outcome
        self.seen = seen
        self.status = status
    }
}

extension CacheStore {
    /// The `access` table (added with schema version 3).
    static let schemaAccess = """
            CREATE TABLE IF NOT EXISTS access(
                identity BLOB NOT NULL,
                verb TEXT NOT NULL,
                grp TEXT NOT NULL,
                resource TEXT NOT NULL,
                namespace TEXT NOT NULL,
                name TEXT NOT NULL,
                outcome INTEGER NOT NULL,
                seen INTEGER NOT NULL,
                status BLOB,
                PRIMARY KEY(identity, verb, grp, resource, namespace, name));
            """

    /// Upserts `records` and deletes every row of `forget` identities and rows seen before
    /// `expireBefore`, in one transaction.
    public func saveAccess(_ records: [StoredAccess], forget: [[UInt8]] = [], expireBefore: Int64? = nil) throws {
        try withConnection { c in
            try c.transaction {
                let up = try c.prepared("""
                    INSERT OR REPLACE INTO access(identity, verb, grp, resource, namespace, name, outcome, seen, status)
                    VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                    """)
                defer { up.reset() }
                for r in records {
                    up.reset()
                    try up.bind(1, r.identity)
                    try up.bind(2, r.verb)
                    try up.bind(3, r.group)
                    try up.bind(4, r.resource)
                    try up.bind(5, r.namespace)
                    try up.bind(6, r.name)
                    try up.bind(7, r.outcome)
                    try up.bind(8, r.seen)
                    if let s = r.status { try up.bind(9, s) } else { try up.bind(9, nil as Int64?) }
                    try up.run()
                }
                if !forget.isEmpty {
                    let del = try c.prepared("DELETE FROM access WHERE identity=?1")
                    defer { del.reset() }
                    for id in forget {
                        del.reset()
                        try del.bind(1, id)
                        try del.run()
                    }
                }
                if let expireBefore {
                    let del = try c.prepared("DELETE FROM access WHERE seen < ?1")
                    defer { del.reset() }
                    try del.bind(1, expireBefore)
                    try del.run()
                }
            }
        }
    }

    /// Every remembered answer (loaded once at start; the table is bounded by the book).
    public func loadAccess() throws -> [StoredAccess] {
        try withConnection { c in
            let st = try c.prepared("SELECT identity, verb, grp, resource, namespace, name, outcome, seen, status FROM access")
            defer { st.reset() }
            var out: [StoredAccess] = []
            while try st.step() {
                out.append(StoredAccess(identity: st.bytes(0), verb: st.string(1), group: st.string(2), resource: st.string(3),
                                        namespace: st.string(4), name: st.string(5), outcome: st.int64(6), seen: st.int64(7),
                                        status: st.isNull(8) ? nil : st.bytes(8)))
            }
            return out
        }
    }

    /// Forgets every remembered answer but those of `keeping` (the identity key changed: the
    /// hashes mean nothing now; Outpost's own identity is not a hash).
    public func clearAccess(keeping: [UInt8]) throws {
        try withConnection { c in
            try c.transaction {
                let st = try c.prepared("DELETE FROM access WHERE identity <> ?1")
                defer { st.reset() }
                try st.bind(1, keeping)
                try st.run()
            }
        }
    }
}
