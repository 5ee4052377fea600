import CSQLite
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How an object's body is encoded.
public enum BodyFormat: Int64, Sendable {
    case json = 0
    case protobuf = 1
}

/// One cached Kubernetes object. `namespace` is "" for cluster-scoped objects.
public struct StoredObject: Sendable {
    public var gvr: String
    public var namespace: String
    public var name: String
    public var resourceVersion: String
    public var labels: [(String, String)]
    public var fields: [(String, String)]
    public var format: BodyFormat
    public var body: [UInt8]

    public init(
        gvr: String, namespace: String, name: String, resourceVersion: String,
        labels: [(String, String)] = [], fields: [(String, String)] = [],
        format: BodyFormat = .json, body: [UInt8]
    ) {
        self.gvr = gvr
        self.namespace = namespace
        self.name = name
        self.resourceVersion = resourceVersion
        self.labels = labels
        self.fields = fields
        self.format = format
        self.body = body
    }
}

/// A stored list scope: `gvr` (+ `namespace`, "" = all namespaces) listed with `selector`, complete as of `resourceVersion`.
public struct ScopeInfo: Sendable, Equatable {
    public var gvr: String
    public var namespace: String
    public var selector: String
    public var resourceVersion: String
    public var complete: Bool
    /// Unix seconds of the last replaceScope or bookmark bump.
    public var updatedAt: Int64
}

/// One write in a batch (see `CacheStore.applyBatch`).
public enum CacheOp: Sendable {
    /// Watch ADDED/MODIFIED. With `onlyIfNewer`, an existing row with a numerically higher-or-equal resourceVersion wins.
    case upsert(StoredObject, onlyIfNewer: Bool)
    /// Watch DELETED.
    case delete(gvr: String, namespace: String, name: String)
    /// Watch BOOKMARK: raise the resourceVersion of the matching scopes (see `CacheStore.bumpScopes`).
    case bumpScopes(gvr: String, namespace: String, resourceVersion: String)
}

/// Label/field pair encoding: each string written as `<utf8 byte count>:<bytes>`, key then value, pairs concatenated.
/// Unambiguous for any content (separators, NUL, non-ASCII).
public enum PairCodec {
    public static func encode(_ pairs: [(String, String)]) -> String {
        var out = ""
        for (k, v) in pairs {
            out += "\(k.utf8.count):\(k)\(v.utf8.count):\(v)"
        }
        return out
    }

    /// nil when `text` is not a valid encoding.
    public static func decode(_ text: String) -> [(String, String)]? {
        let bytes = Array(text.utf8)
        var i = 0
        func readString() -> String? {
            var n = 0
            var digits = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                n = n * 10 + Int(bytes[i] - 0x30)
                digits += 1
                i += 1
                if digits > 9 { return nil }
            }
            guard digits > 0, i < bytes.count, bytes[i] == 0x3A else { return nil }
            i += 1
            guard bytes.count - i >= n else { return nil }
            let s = String(decoding: bytes[i..<(i + n)], as: UTF8.self)
            i += n
            return s
        }
        var pairs: [(String, String)] = []
        while i < bytes.count {
            guard let k = readString(), let v = readString() else { return nil }
            pairs.append((k, v))
        }
        return pairs
    }
}

/// Compares resourceVersions numerically when both parse as UInt64; otherwise `new` is treated as newer.
func isNewer(_ new: String, than old: String) -> Bool {
    guard let n = UInt64(new), let o = UInt64(old) else { return true }
    return n > o
}

/// Crash-safe local object cache for Outpost: one SQLite database `<directory>/cache.db` in WAL mode.
///
/// Thread-safe (one connection behind a Mutex); blocking — call it from a background thread, never an event loop.
/// Every write is one transaction: after a crash the database shows exactly the committed writes.
/// A file that is not a database is moved aside to `cache.db.corrupt-<n>` on open and the store starts empty
/// (`recoveredCorruptFile` says where it went).
public final class CacheStore: @unchecked Sendable {
    public let path: String
    /// Set when open found `cache.db` unreadable (not a database / corrupt) and moved it to this path.
    public let recoveredCorruptFile: String?

    private let state: Mutex<Connection>

    public init(directory: String) throws {
        try makeDirectories(directory)
        let path = directory.hasSuffix("/") ? directory + "cache.db" : directory + "/cache.db"
        self.path = path
        var moved: String? = nil
        let conn: Connection
        do {
            conn = try CacheStore.openAndMigrate(path)
        } catch let error as CacheStoreError where error.isCorrupt {
            moved = try moveAside(path)
            conn = try CacheStore.openAndMigrate(path)
        }
        recoveredCorruptFile = moved
        state = Mutex(conn)
    }

    /// Schema note: `objects` is a rowid table with a UNIQUE primary-key index rather than WITHOUT ROWID. Pod-sized
    /// rows (~3 KB) exceed WITHOUT ROWID's ~1 KB in-page payload limit on 4 KB pages and spill into overflow pages;
    /// measured on 10k x 3 KB objects the rowid layout is ~11% smaller on disk and re-replacing is ~2.5x faster.
    private static func openAndMigrate(_ path: String) throws -> Connection {
        let c = try Connection(path: path)
        sqlite3_busy_timeout(c.db, 5000)
        // journal_mode reads the header: a garbage file fails here with SQLITE_NOTADB.
        try c.exec("PRAGMA journal_mode=WAL")
        try c.exec("""
            PRAGMA synchronous=NORMAL;
            PRAGMA journal_size_limit=16777216;
            CREATE TABLE IF NOT EXISTS objects(
                gvr TEXT NOT NULL CHECK(gvr <> ''),
                namespace TEXT NOT NULL,
                name TEXT NOT NULL CHECK(name <> ''),
                rv INTEGER,
                rv_text TEXT NOT NULL,
                labels TEXT NOT NULL,
                fields TEXT NOT NULL,
                format INTEGER NOT NULL,
                body BLOB NOT NULL,
                PRIMARY KEY(gvr, namespace, name));
            CREATE TABLE IF NOT EXISTS scopes(
                gvr TEXT NOT NULL,
                namespace TEXT NOT NULL,
                selector TEXT NOT NULL,
                rv TEXT NOT NULL,
                complete INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY(gvr, namespace, selector));
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value BLOB NOT NULL);
            PRAGMA user_version=1;
            """)
        return c
    }

    // MARK: writes

    /// Stores a complete list result atomically. With an empty `selector`, objects of `gvr` (in `namespace`, or in
    /// all namespaces when it is "") that are not in `objects` are deleted; a selector-filtered list only upserts.
    /// Then all `objects` are upserted unconditionally and the scope row is set complete at `listResourceVersion`.
    public func replaceScope(
        gvr: String, namespace: String, selector: String, listResourceVersion: String, objects: [StoredObject]
    ) throws {
        try state.withLock { c in
            let hook = c.afterUpsertInReplace
            try c.transaction {
                if selector.isEmpty {
                    var keep = Set<Key>(minimumCapacity: objects.count)
                    for o in objects { keep.insert(Key(namespace: o.namespace, name: o.name)) }
                    var stale: [Key] = []
                    let sel = try c.prepared(namespace.isEmpty
                        ? "SELECT namespace, name FROM objects WHERE gvr=?1"
                        : "SELECT namespace, name FROM objects WHERE gvr=?1 AND namespace=?2")
                    defer { sel.reset() }
                    try sel.bind(1, gvr)
                    if !namespace.isEmpty { try sel.bind(2, namespace) }
                    while try sel.step() {
                        let k = Key(namespace: sel.string(0), name: sel.string(1))
                        if !keep.contains(k) { stale.append(k) }
                    }
                    for k in stale { _ = try CacheStore.delete(c, gvr: gvr, namespace: k.namespace, name: k.name) }
                }
                for (i, o) in objects.enumerated() {
                    _ = try CacheStore.upsert(c, o, onlyIfNewer: false)
                    try hook?(i + 1)
                }
                let st = try c.prepared("""
                    INSERT OR REPLACE INTO scopes(gvr, namespace, selector, rv, complete, updated_at)
                    VALUES(?1, ?2, ?3, ?4, 1, ?5)
                    """)
                defer { st.reset() }
                try st.bind(1, gvr)
                try st.bind(2, namespace)
                try st.bind(3, selector)
                try st.bind(4, listResourceVersion)
                try st.bind(5, now())
                try st.run()
            }
        }
    }

    /// Inserts or replaces one object. With `onlyIfNewer`, an existing row is kept when both resourceVersions parse
    /// as integers and the stored one is greater or equal. Returns whether the row was written.
    @discardableResult
    public func upsert(_ object: StoredObject, onlyIfNewer: Bool) throws -> Bool {
        try state.withLock { c in try c.transaction { try CacheStore.upsert(c, object, onlyIfNewer: onlyIfNewer) } }
    }

    /// Deletes one object. Returns whether it existed.
    @discardableResult
    public func delete(gvr: String, namespace: String, name: String) throws -> Bool {
        try state.withLock { c in
            try c.transaction { try CacheStore.delete(c, gvr: gvr, namespace: namespace, name: name) }
        }
    }

    /// Bookmark: sets the resourceVersion of every scope of `gvr` with exactly `namespace` (all selectors) to
    /// `resourceVersion`, unless a scope already has a numerically higher-or-equal one. Returns the scopes changed.
    @discardableResult
    public func bumpScopes(gvr: String, namespace: String, resourceVersion: String) throws -> Int {
        try state.withLock { c in
            try c.transaction { try CacheStore.bump(c, gvr: gvr, namespace: namespace, rv: resourceVersion) }
        }
    }

    /// Applies `ops` in order in ONE transaction: all or nothing.
    public func applyBatch(_ ops: [CacheOp]) throws {
        guard !ops.isEmpty else { return }
        try state.withLock { c in
            try c.transaction {
                for op in ops {
                    switch op {
                    case .upsert(let o, let onlyIfNewer):
                        _ = try CacheStore.upsert(c, o, onlyIfNewer: onlyIfNewer)
                    case .delete(let gvr, let namespace, let name):
                        _ = try CacheStore.delete(c, gvr: gvr, namespace: namespace, name: name)
                    case .bumpScopes(let gvr, let namespace, let rv):
                        _ = try CacheStore.bump(c, gvr: gvr, namespace: namespace, rv: rv)
                    }
                }
            }
        }
    }

    /// Stores a small document (e.g. discovery responses keyed by path).
    public func putMeta(key: String, value: [UInt8]) throws {
        try state.withLock { c in
            try c.transaction {
                let st = try c.prepared("INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)")
                defer { st.reset() }
                try st.bind(1, key)
                try st.bind(2, value)
                try st.run()
            }
        }
    }

    // MARK: reads

    /// All objects of `gvr` in `namespace` ("" = all namespaces), ordered by (namespace, name).
    public func list(gvr: String, namespace: String) throws -> [StoredObject] {
        var out: [StoredObject] = []
        try forEach(gvr: gvr, namespace: namespace, after: nil) { out.append($0); return true }
        return out
    }

    /// Streams objects of `gvr` in `namespace` ("" = all) ordered by (namespace, name), starting strictly after
    /// `after`; `body` returns false to stop. `body` runs under the store's lock: it must not call the store.
    public func forEach(
        gvr: String, namespace: String, after: (namespace: String, name: String)?,
        _ body: (StoredObject) throws -> Bool
    ) throws {
        var after = after
        if !namespace.isEmpty, let a = after, a.namespace != namespace {
            // A cursor from another namespace: either everything in `namespace` is after it, or nothing is.
            if namespace.utf8.lexicographicallyPrecedes(a.namespace.utf8) { return }
            after = nil
        }
        let columns = "namespace, name, rv_text, labels, fields, format, body"
        let sql: String
        switch (namespace.isEmpty, after != nil) {
        case (true, false): sql = "SELECT \(columns) FROM objects WHERE gvr=?1 ORDER BY namespace, name"
        case (true, true):
            sql = "SELECT \(columns) FROM objects WHERE gvr=?1 AND (namespace, name) > (?3, ?4) ORDER BY namespace, name"
        case (false, false):
            sql = "SELECT \(columns) FROM objects WHERE gvr=?1 AND namespace=?2 ORDER BY namespace, name"
        case (false, true):
            sql = "SELECT \(columns) FROM objects WHERE gvr=?1 AND namespace=?2 AND name > ?4 ORDER BY namespace, name"
        }
        try state.withLock { c in
            let st = try c.prepared(sql)
            defer { st.reset() }
            try st.bind(1, gvr)
            if !namespace.isEmpty { try st.bind(2, namespace) }
            if let after {
                if namespace.isEmpty { try st.bind(3, after.namespace) }
                try st.bind(4, after.name)
            }
            while try st.step() {
                guard try body(try CacheStore.object(st, gvr: gvr, firstColumn: 0)) else { break }
            }
        }
    }

    public func get(gvr: String, namespace: String, name: String) throws -> StoredObject? {
        try state.withLock { c in
            let st = try c.prepared("""
                SELECT namespace, name, rv_text, labels, fields, format, body FROM objects
                WHERE gvr=?1 AND namespace=?2 AND name=?3
                """)
            defer { st.reset() }
            try st.bind(1, gvr)
            try st.bind(2, namespace)
            try st.bind(3, name)
            return try st.step() ? try CacheStore.object(st, gvr: gvr, firstColumn: 0) : nil
        }
    }

    /// The scope row for exactly (gvr, namespace, selector).
    public func scope(gvr: String, namespace: String, selector: String) throws -> ScopeInfo? {
        try state.withLock { c in
            let st = try c.prepared("""
                SELECT gvr, namespace, selector, rv, complete, updated_at FROM scopes
                WHERE gvr=?1 AND namespace=?2 AND selector=?3
                """)
            defer { st.reset() }
            try st.bind(1, gvr)
            try st.bind(2, namespace)
            try st.bind(3, selector)
            return try st.step() ? CacheStore.scopeInfo(st) : nil
        }
    }

    /// Whether some complete scope (any selector) of `gvr` covers `namespace`: one for `namespace` itself or for ""
    /// (all namespaces). With `namespace` "" only all-namespace scopes count.
    public func hasAnyCompleteScope(gvr: String, namespace: String) throws -> Bool {
        try state.withLock { c in
            let st = try c.prepared("""
                SELECT 1 FROM scopes WHERE gvr=?1 AND complete=1 AND (namespace=?2 OR namespace='') LIMIT 1
                """)
            defer { st.reset() }
            try st.bind(1, gvr)
            try st.bind(2, namespace)
            return try st.step()
        }
    }

    /// The complete scope that can answer a list of (gvr, namespace, selector): the exact one if stored, otherwise
    /// one without selector for the namespace, otherwise one for all namespaces (exact selector first, then none).
    /// A scope with a selector only answers that exact selector string.
    public func coveringScope(gvr: String, namespace: String, selector: String) throws -> ScopeInfo? {
        try state.withLock { c in
            let st = try c.prepared("""
                SELECT gvr, namespace, selector, rv, complete, updated_at FROM scopes
                WHERE gvr=?1 AND complete=1 AND (namespace=?2 OR namespace='') AND (selector=?3 OR selector='')
                ORDER BY namespace DESC, selector DESC LIMIT 1
                """)
            defer { st.reset() }
            try st.bind(1, gvr)
            try st.bind(2, namespace)
            try st.bind(3, selector)
            return try st.step() ? CacheStore.scopeInfo(st) : nil
        }
    }

    /// The highest numeric resourceVersion stored for `gvr` (objects and scope list/bookmark versions), or nil.
    public func maxResourceVersion(gvr: String) throws -> String? {
        try state.withLock { c in
            var best: UInt64? = nil
            let a = try c.prepared("SELECT max(rv) FROM objects WHERE gvr=?1")
            defer { a.reset() }
            try a.bind(1, gvr)
            if try a.step(), !a.isNull(0) { best = UInt64(a.int64(0)) }
            let b = try c.prepared("SELECT rv FROM scopes WHERE gvr=?1")
            defer { b.reset() }
            try b.bind(1, gvr)
            while try b.step() {
                if let v = UInt64(b.string(0)), v > (best ?? 0) || best == nil { best = v }
            }
            return best.map { String($0) }
        }
    }

    public func meta(key: String) throws -> [UInt8]? {
        try state.withLock { c in
            let st = try c.prepared("SELECT value FROM meta WHERE key=?1")
            defer { st.reset() }
            try st.bind(1, key)
            return try st.step() ? st.bytes(0) : nil
        }
    }

    /// Number of cached objects and the total size of their bodies in bytes.
    public func stats() throws -> (objects: Int, bytes: Int) {
        try state.withLock { c in
            let st = try c.prepared("SELECT count(*), coalesce(sum(length(body)), 0) FROM objects")
            defer { st.reset() }
            _ = try st.step()
            return (Int(st.int64(0)), Int(st.int64(1)))
        }
    }

    /// Test hook: runs raw SQL on the connection (e.g. `PRAGMA max_page_count` to simulate a full disk).
    func _exec(_ sql: String) throws {
        try state.withLock { c in try c.exec(sql) }
    }

    /// Test hook: called inside replaceScope's transaction after each upsert with the count so far; a throw aborts
    /// the transaction (simulates a failure or lets a test snapshot the files mid-transaction).
    func _setAfterUpsertInReplace(_ hook: (@Sendable (Int) throws -> Void)?) {
        state.withLock { c in c.afterUpsertInReplace = hook }
    }

    // MARK: helpers (called with the lock held)

    private struct Key: Hashable {
        var namespace: String
        var name: String
    }

    private static func upsert(_ c: Connection, _ o: StoredObject, onlyIfNewer: Bool) throws -> Bool {
        let insert = """
            INSERT INTO objects(gvr, namespace, name, rv, rv_text, labels, fields, format, body)
            VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
            ON CONFLICT(gvr, namespace, name) DO UPDATE SET
                rv=excluded.rv, rv_text=excluded.rv_text, labels=excluded.labels, fields=excluded.fields,
                format=excluded.format, body=excluded.body
            """
        // rv is NULL when the resourceVersion is not an integer that fits: then the new row always wins.
        let st = try c.prepared(onlyIfNewer
            ? insert + " WHERE excluded.rv IS NULL OR objects.rv IS NULL OR excluded.rv > objects.rv"
            : insert)
        defer { st.reset() }
        try st.bind(1, o.gvr)
        try st.bind(2, o.namespace)
        try st.bind(3, o.name)
        try st.bind(4, UInt64(o.resourceVersion).flatMap { Int64(exactly: $0) })
        try st.bind(5, o.resourceVersion)
        try st.bind(6, PairCodec.encode(o.labels))
        try st.bind(7, PairCodec.encode(o.fields))
        try st.bind(8, o.format.rawValue)
        try st.bind(9, o.body)
        try st.run()
        return c.changes > 0
    }

    private static func delete(_ c: Connection, gvr: String, namespace: String, name: String) throws -> Bool {
        let st = try c.prepared("DELETE FROM objects WHERE gvr=?1 AND namespace=?2 AND name=?3")
        defer { st.reset() }
        try st.bind(1, gvr)
        try st.bind(2, namespace)
        try st.bind(3, name)
        try st.run()
        return c.changes > 0
    }

    private static func bump(_ c: Connection, gvr: String, namespace: String, rv: String) throws -> Int {
        var selectors: [String] = []
        let sel = try c.prepared("SELECT selector, rv FROM scopes WHERE gvr=?1 AND namespace=?2")
        defer { sel.reset() }
        try sel.bind(1, gvr)
        try sel.bind(2, namespace)
        while try sel.step() {
            if isNewer(rv, than: sel.string(1)) { selectors.append(sel.string(0)) }
        }
        let up = try c.prepared("UPDATE scopes SET rv=?4, updated_at=?5 WHERE gvr=?1 AND namespace=?2 AND selector=?3")
        defer { up.reset() }
        for s in selectors {
            up.reset()
            try up.bind(1, gvr)
            try up.bind(2, namespace)
            try up.bind(3, s)
            try up.bind(4, rv)
            try up.bind(5, now())
            try up.run()
        }
        return selectors.count
    }

    private static func object(_ st: Statement, gvr: String, firstColumn i: Int32) throws -> StoredObject {
        guard let labels = PairCodec.decode(st.string(i + 3)), let fields = PairCodec.decode(st.string(i + 4)),
              let format = BodyFormat(rawValue: st.int64(i + 5))
        else {
            throw CacheStoreError(code: 0, message: "undecodable row", context: "read \(gvr) \(st.string(i))/\(st.string(i + 1))")
        }
        return StoredObject(
            gvr: gvr, namespace: st.string(i), name: st.string(i + 1), resourceVersion: st.string(i + 2),
            labels: labels, fields: fields, format: format, body: st.bytes(i + 6))
    }

    private static func scopeInfo(_ st: Statement) -> ScopeInfo {
        ScopeInfo(
            gvr: st.string(0), namespace: st.string(1), selector: st.string(2), resourceVersion: st.string(3),
            complete: st.int64(4) != 0, updatedAt: st.int64(5))
    }
}

private func now() -> Int64 { Int64(time(nil)) }

/// mkdir -p.
private func makeDirectories(_ path: String) throws {
    guard !path.isEmpty else { throw CacheStoreError(code: 0, message: "empty directory", context: "open") }
    var current = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
        current += "/" + part
        if mkdir(current, 0o755) != 0 && errno != EEXIST {
            throw CacheStoreError(code: 0, message: String(cString: strerror(errno)), context: "mkdir \(current)")
        }
    }
}

private func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// Moves a damaged database (and its -wal, dropping -shm) to `<path>.corrupt-<n>`; returns the new path.
private func moveAside(_ path: String) throws -> String {
    var n = 1
    while exists("\(path).corrupt-\(n)") { n += 1 }
    let target = "\(path).corrupt-\(n)"
    guard rename(path, target) == 0 else {
        throw CacheStoreError(code: 0, message: String(cString: strerror(errno)), context: "move aside \(path)")
    }
    if exists(path + "-wal") { _ = rename(path + "-wal", target + "-wal") }
    _ = unlink(path + "-shm")
    return target
}
