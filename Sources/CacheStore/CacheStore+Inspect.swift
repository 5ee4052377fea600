import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What one cached resource holds (see `CacheStore.resourceSummaries`).
public struct ResourceSummary: Sendable, Equatable {
    /// "group/version/resource" ("" group for the core API).
    public var gvr: String
    public var objects: Int
    /// Objects stored as protobuf messages (the rest are JSON).
    public var protobufObjects: Int
    /// Bytes of the stored bodies (sealed bodies as sealed).
    public var bodyBytes: Int
    /// Bodies that are sealed on disk (their resource is encrypted at rest).
    public var sealedObjects: Int
}

/// One scope and the objects stored under it (see `CacheStore.scopeSummaries`).
public struct ScopeSummary: Sendable, Equatable {
    public var scope: ScopeInfo
    /// Objects of the scope's resource in its namespace ("" = all); nil for a selector scope
    /// (its objects are a subset the store does not index).
    public var objects: Int?
    public var protobufObjects: Int?
}

extension CacheStore {
    /// Opens an existing `cache.db` read-only, for the operator commands (`outpost cache`,
    /// `verify`): no directory or permission changes, no migration, no staging clean-up, no
    /// quarantine of a damaged file; SQLite refuses every write on the handle. WAL lets it read
    /// while Outpost writes. `cipher` opens sealed bodies (nil: they are returned sealed).
    public convenience init(readingFile path: String, cipher: (any BodyCipher)? = nil) throws {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw CacheStoreError(code: 0, message: "no such file (has Outpost run with this --cache-dir?)", context: "open \(path)",
                                  systemErrno: errno)
        }
        let c = try Connection(path: path, readOnly: true)
        sqlite3_busy_timeout(c.db, 5000)
        c.cipher = cipher
        // A garbage file fails here with SQLITE_NOTADB.
        _ = try c.scalar("SELECT count(*) FROM sqlite_master")
        self.init(readOnlyConnection: c, path: path, cipher: cipher)
    }

    /// Per resource: object count, protobuf count, body bytes and sealed bodies, by gvr.
    public func resourceSummaries() throws -> [ResourceSummary] {
        try withConnection { c in
            let st = try c.prepared("""
                SELECT gvr, count(*), sum(format=1), coalesce(sum(length(body)), 0),
                       sum(substr(body, 1, 4) = x'004F5331')
                FROM objects GROUP BY gvr ORDER BY gvr
                """)
            defer { st.reset() }
            var out: [ResourceSummary] = []
            while try st.step() {
                out.append(ResourceSummary(gvr: st.string(0), objects: Int(st.int64(1)), protobufObjects: Int(st.int64(2)),
                                           bodyBytes: Int(st.int64(3)), sealedObjects: Int(st.int64(4))))
            }
            return out
        }
    }

    /// Every scope row (complete or not) with the objects stored under it, by (gvr, namespace, selector).
    public func scopeSummaries() throws -> [ScopeSummary] {
        try withConnection { c in
            let st = try c.prepared("""
                SELECT s.gvr, s.namespace, s.selector, s.rv, s.complete, s.updated_at,
                       (SELECT count(*) FROM objects o WHERE o.gvr=s.gvr AND (s.namespace='' OR o.namespace=s.namespace)),
                       (SELECT count(*) FROM objects o WHERE o.gvr=s.gvr AND (s.namespace='' OR o.namespace=s.namespace) AND o.format=1)
                FROM scopes s ORDER BY s.gvr, s.namespace, s.selector
                """)
            defer { st.reset() }
            var out: [ScopeSummary] = []
            while try st.step() {
                let info = ScopeInfo(gvr: st.string(0), namespace: st.string(1), selector: st.string(2), resourceVersion: st.string(3),
                                     complete: st.int64(4) != 0, updatedAt: st.int64(5))
                let plain = info.selector.isEmpty
                out.append(ScopeSummary(scope: info, objects: plain ? Int(st.int64(6)) : nil,
                                        protobufObjects: plain ? Int(st.int64(7)) : nil))
            }
            return out
        }
    }

    /// The stored (namespace, name, resourceVersion) of every object of `gvr` in `namespace` ("" =
    /// all), without reading bodies (`verify` compares these with the apiserver's list).
    public func versions(gvr: String, namespace: String) throws -> [(namespace: String, name: String, resourceVersion: String)] {
        try withConnection { c in
            let st = try c.prepared("""
                SELECT namespace, name, rv_text FROM objects WHERE gvr=?1 AND (?2='' OR namespace=?2) ORDER BY namespace, name
                """)
            defer { st.reset() }
            try st.bind(1, gvr)
            try st.bind(2, namespace)
            var out: [(namespace: String, name: String, resourceVersion: String)] = []
            while try st.step() { out.append((st.string(0), st.string(1), st.string(2))) }
            return out
        }
    }

    /// Bytes on disk of the database, its WAL and its WAL index.
    public func fileSizes() -> (database: Int, wal: Int, shm: Int) {
        (sizeOfFile(path), sizeOfFile(path + "-wal"), sizeOfFile(path + "-shm"))
    }
}
