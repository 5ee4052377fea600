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
    /// Unix seconds of the last replaceScope / commitStagedList or bookmark bump.
    public var updatedAt: Int64
}

/// What the cache holds (see `CacheStore.stats`).
public struct CacheStats: Sendable, Equatable {
    /// Number of cached objects.
    public var objects: Int
    /// Total size of the cached objects' bodies in bytes.
    public var bodyBytes: Int
    /// Number of stored list scopes (complete or not).
    public var scopes: Int

    public init(objects: Int, bodyBytes: Int, scopes: Int) {
        self.objects = objects
        self.bodyBytes = bodyBytes
        self.scopes = scopes
    }
}

/// One write in a batch (see `CacheStore.applyBatch`).
public enum CacheOp: Sendable {
    /// Watch ADDED/MODIFIED. With `onlyIfNewer`, an existing row with a numerically higher-or-equal resourceVersion wins.
    case upsert(StoredObject, onlyIfNewer: Bool)
    /// Watch DELETED.
    case delete(gvr: String, namespace: String, name: String)
    /// Watch DELETED from a selector watch: the object was deleted, or only left that selection
    /// (the apiserver sends both as DELETED with the object's previous state). It leaves the store,
    /// and every other complete scope that could hold it (its namespace's and the cluster-wide ones)
    /// becomes incomplete until relisted: they answer 503, never "it does not exist".
    case deleteFromSelection(gvr: String, namespace: String, name: String, scopeNamespace: String, scopeSelector: String)
    /// Watch BOOKMARK: raise the resourceVersion of exactly the scope (gvr, namespace, selector) the watch serves
    /// (see `CacheStore.bumpScope`).
    case bumpScope(gvr: String, namespace: String, selector: String, resourceVersion: String)
}

/// Pairs every row of a walk must carry (see `CacheStore.forEach`): label and field equalities a selector
/// requires, checked in SQL on the encoded columns.
public struct RowPrefilter: Sendable {
    public var labels: [(String, String)]
    public var fields: [(String, String)]

    public init(labels: [(String, String)] = [], fields: [(String, String)] = []) {
        self.labels = labels
        self.fields = fields
    }

    public static let none = RowPrefilter()
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
/// A file that is not a database, or that fails the bounded `quick_check` at open, is moved aside to
/// `cache.db.corrupt-<unix time>` and the store starts empty (`recoveredCorruptFile` says where it went); so is a
/// file that any statement later finds corrupt (`SQLITE_CORRUPT`/`SQLITE_NOTADB`): the store continues on a fresh
/// empty file and tells `onQuarantine`. A directory is used by one `CacheStore` at a time: opening deletes the
/// staging rows of lists that were never committed (see `beginStagedList`). The directory is made 0700 and its
/// files 0600 whatever the umask (see `CacheStore+DiskFaults.swift`).
///
/// Callbacks that run under the store's lock (`forEach`'s body, `commitStagedList`'s `matchesSelector`) must not
/// call the store; such a reentrant call throws a `CacheStoreError` instead of deadlocking.
public final class CacheStore: @unchecked Sendable {
    public let path: String
    /// Set when open found `cache.db` unreadable (not a database / corrupt) and moved it to this path.
    public let recoveredCorruptFile: String?
    /// What open had to work around, one sentence each (loose permissions tightened, a quick check cut
    /// short by its time budget, a full disk): for the log.
    public let openNotes: [String]
    /// Set when open could not write (a full or failing disk): the store serves what it has and its
    /// writes are expected to fail until there is room again.
    public let openWriteProblem: String?

    /// Everything behind the lock: the connection and the staged lists begun on this instance.
    struct State {
        var connection: Connection
        /// The next `StagedListID.raw` to hand out.
        var nextListID: Int64 = 1
        /// Lists begun and neither committed nor discarded: only these may be staged into or committed.
        var openLists: Set<Int64> = []
        /// Open lists that lost a chunk to a failed write, with why: they can never be committed.
        var failedLists: [Int64: String] = [:]
    }

    let state: Mutex<State>
    /// The thread currently holding `state`'s lock (0 when none): detects reentrant calls, see `locked`.
    private let lockOwner = Atomic<UInt>(0)
    /// Called (outside the lock) after a corrupt file was moved aside at run time, with its new path.
    let quarantineHandler = Mutex<(@Sendable (String) -> Void)?>(nil)
    /// How often the file was found corrupt while open and replaced (including before a handler was set).
    public var quarantines: Int { quarantineCount.load(ordering: .relaxed) }
    private let quarantineCount = Atomic<Int>(0)
    /// Seals the bodies of the resources it names (Secrets) before they reach the disk; every
    /// connection the store opens carries it.
    public let cipher: (any BodyCipher)?
    /// Opened with `init(readingFile:)`: every write fails, a damaged file stays where it is.
    public let readOnly: Bool

    /// Opens (or creates) the store in `directory`. `quickCheckBudget` bounds the start-up
    /// `PRAGMA quick_check` (nil: none; see `CacheStore+DiskFaults.swift`).
    public convenience init(directory: String, quickCheckBudget: Duration? = CacheStore.defaultQuickCheckBudget,
                            cipher: (any BodyCipher)? = nil) throws {
        try self.init(directory: directory, quickCheckBudget: quickCheckBudget, faultsAtOpen: nil, cipher: cipher)
    }

    /// `faultsAtOpen` (tests): writes fail from the open on, after that many, with that code (a disk full at start).
    init(directory: String, quickCheckBudget: Duration?, faultsAtOpen: (after: Int, code: Int32)?,
         cipher: (any BodyCipher)? = nil) throws {
        self.cipher = cipher
        self.readOnly = false
        var notes = try prepareDirectory(directory)
        let path = directory.hasSuffix("/") ? directory + "cache.db" : directory + "/cache.db"
        self.path = path
        notes += try secureDatabaseFiles(path)
        var moved: String? = nil
        var opened: Opened
        do {
            opened = try CacheStore.open(path, quickCheckBudget: quickCheckBudget, faults: faultsAtOpen)
        } catch let error as CacheStoreError where error.isCorrupt {
            moved = try moveAside(path)
            notes += try secureDatabaseFiles(path)
            opened = try CacheStore.open(path, quickCheckBudget: nil)
        }
        recoveredCorruptFile = moved
        openNotes = notes + opened.notes
        openWriteProblem = opened.writeProblem
        opened.connection.cipher = cipher
        state = Mutex(State(connection: opened.connection, nextListID: opened.nextListID))
    }

    /// See `init(readingFile:cipher:)`.
    init(readOnlyConnection c: sending Connection, path: String, cipher: (any BodyCipher)?) {
        self.cipher = cipher
        self.readOnly = true
        self.path = path
        recoveredCorruptFile = nil
        openNotes = []
        openWriteProblem = nil
        state = Mutex(State(connection: c))
    }

    /// Schema version kept in `PRAGMA user_version`. 1: objects, scopes, meta. 2: adds staging and documents.
    /// 3: adds access (the apiserver's authorization answers, see CacheStore+Access).
    static let schemaVersion: Int64 = 3

    /// An opened connection and what it took.
    struct Opened {
        var connection: Connection
        var nextListID: Int64 = 1
        var notes: [String] = []
        var writeProblem: String?
    }

    /// Opens `path`: the normal way, or, when that fails on an existing file for want of space (WAL
    /// mode needs a `-shm` file; a full tmpfs cannot give it), in exclusive locking mode, which keeps
    /// the WAL index in memory, so a full disk still lets Outpost serve what it has.
    static func open(_ path: String, quickCheckBudget: Duration?, faults: (after: Int, code: Int32)? = nil) throws -> Opened {
        do {
            return try openAndMigrate(path, exclusive: false, quickCheckBudget: quickCheckBudget, faults: faults)
        } catch let error as CacheStoreError where !error.isCorrupt && sizeOfFile(path) > 0 {
            var opened = try openAndMigrate(path, exclusive: true, quickCheckBudget: quickCheckBudget, faults: faults)
            opened.writeProblem = opened.writeProblem ?? "\(error)"
            opened.notes.append("opened in exclusive mode after \(error)")
            return opened
        }
    }

    /// Opens `path`, runs the bounded quick check, creates missing tables (a new file, or a v1 file gaining the v2
    /// tables) and records the schema version in one transaction; then deletes staging rows left by a crash (a
    /// full disk may refuse that: the rows stay, invisible, and new lists get ids past theirs). A file from a newer
    /// version keeps its `user_version`.
    ///
    /// Schema note: `objects` is a rowid table with a UNIQUE primary-key index rather than WITHOUT ROWID. Pod-sized
    /// rows (~3 KB) exceed WITHOUT ROWID's ~1 KB in-page payload limit on 4 KB pages and spill into overflow pages;
    /// measured on 10k x 3 KB objects the rowid layout is ~11% smaller on disk and re-replacing is ~2.5x faster.
    private static func openAndMigrate(
        _ path: String, exclusive: Bool, quickCheckBudget: Duration?, faults: (after: Int, code: Int32)?
    ) throws -> Opened {
        let c = try Connection(path: path)
        c.faults = faults.map { WriteFaults(after: $0.after, code: $0.code, systemErrno: 0) }
        sqlite3_busy_timeout(c.db, 5000)
        if exclusive { try c.exec("PRAGMA locking_mode=EXCLUSIVE") }
        var opened = Opened(connection: c)
        // journal_mode reads the header: a garbage file fails here with SQLITE_NOTADB.
        // Incremental auto-vacuum lets `compact()` hand the pages of a committed staging area back
        // to the disk; it only takes effect on a new file (before the first table).
        try c.exec("PRAGMA auto_vacuum=INCREMENTAL")
        try c.exec("PRAGMA journal_mode=WAL")
        try c.exec("PRAGMA synchronous=NORMAL; PRAGMA journal_size_limit=16777216")
        // Deleted and overwritten content is zeroed where that costs no extra I/O, so an old
        // body (a Secret from before sealing) does not linger in free pages.
        try c.exec("PRAGMA secure_delete=FAST")
        if let budget = quickCheckBudget, let note = try quickCheck(c, budget: budget) { opened.notes.append(note) }
        try c.transaction {
            let version = try c.scalar("PRAGMA user_version") ?? 0
            try c.exec(schemaV1)
            try c.exec(schemaV2)
            try c.exec(schemaAccess)
            if version < schemaVersion { try c.exec("PRAGMA user_version=\(schemaVersion)") }
        }
        opened.nextListID = (try c.scalar("SELECT max(list_id) FROM staging") ?? 0) + 1
        do {
            try c.transaction { try clearStaging(c) }
        } catch let error as CacheStoreError where !error.isCorrupt {
            opened.writeProblem = "\(error)"
            opened.notes.append("left the staging rows of unfinished lists: \(error)")
        }
        return opened
    }

    /// Version 1 tables.
    private static let schemaV1 = """
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
            """

    /// Tables added in version 2: `staging` holds the items of streamed lists until their commit (same columns as
    /// `objects`, keyed by list first); `documents` holds responses cached verbatim (discovery).
    private static let schemaV2 = """
            CREATE TABLE IF NOT EXISTS staging(
                list_id INTEGER NOT NULL,
                gvr TEXT NOT NULL CHECK(gvr <> ''),
                namespace TEXT NOT NULL,
                name TEXT NOT NULL CHECK(name <> ''),
                rv INTEGER,
                rv_text TEXT NOT NULL,
                labels TEXT NOT NULL,
                fields TEXT NOT NULL,
                format INTEGER NOT NULL,
                body BLOB NOT NULL,
                PRIMARY KEY(list_id, gvr, namespace, name));
            CREATE TABLE IF NOT EXISTS documents(
                key TEXT PRIMARY KEY,
                content_type TEXT NOT NULL,
                body BLOB NOT NULL,
                updated_at INTEGER NOT NULL);
            """

    // MARK: writes

    /// Stores a complete list result atomically. With an empty `selector`, objects of `gvr` (in `namespace`, or in
    /// all namespaces when it is "") that are not in `objects` are deleted; a selector-filtered list only upserts.
    /// Then all `objects` are upserted unconditionally and the scope row is set complete at `listResourceVersion`.
    public func replaceScope(
        gvr: String, namespace: String, selector: String, listResourceVersion: String, objects: [StoredObject]
    ) throws {
        try withConnection { c in
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
                try CacheStore.setScopeComplete(
                    c, gvr: gvr, namespace: namespace, selector: selector, rv: listResourceVersion)
            }
        }
    }

    /// Inserts or replaces one object. With `onlyIfNewer`, an existing row is kept when both resourceVersions parse
    /// as integers and the stored one is greater or equal. Returns whether the row was written.
    @discardableResult
    public func upsert(_ object: StoredObject, onlyIfNewer: Bool) throws -> Bool {
        try withConnection { c in try c.transaction { try CacheStore.upsert(c, object, onlyIfNewer: onlyIfNewer) } }
    }

    /// Deletes one object. Returns whether it existed.
    @discardableResult
    public func delete(gvr: String, namespace: String, name: String) throws -> Bool {
        try withConnection { c in
            try c.transaction { try CacheStore.delete(c, gvr: gvr, namespace: namespace, name: name) }
        }
    }

    /// Bookmark: sets the resourceVersion of exactly the scope (gvr, namespace, selector) to `resourceVersion`,
    /// unless it already has a numerically higher-or-equal one. Other scopes (other selectors, the all-namespace
    /// scope) are untouched: a bookmark only vouches for the watch that received it. Returns whether the scope
    /// existed and was raised.
    @discardableResult
    public func bumpScope(gvr: String, namespace: String, selector: String, resourceVersion: String) throws -> Bool {
        try withConnection { c in
            try c.transaction {
                try CacheStore.bump(c, gvr: gvr, namespace: namespace, selector: selector, rv: resourceVersion)
            }
        }
    }

    /// Gives disk space back after a big write (a committed staged list leaves its staging pages
    /// free and the WAL grown): frees unused pages and checkpoints the WAL down to nothing.
    public func compact() throws {
        try withConnection { c in
            try c.exec("PRAGMA incremental_vacuum")
            try c.exec("PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    /// Applies `ops` in order in ONE transaction: all or nothing.
    public func applyBatch(_ ops: [CacheOp]) throws {
        guard !ops.isEmpty else { return }
        try withConnection { c in
            try c.transaction {
                for op in ops {
                    switch op {
                    case .upsert(let o, let onlyIfNewer):
                        _ = try CacheStore.upsert(c, o, onlyIfNewer: onlyIfNewer)
                    case .delete(let gvr, let namespace, let name):
                        _ = try CacheStore.delete(c, gvr: gvr, namespace: namespace, name: name)
                    case .deleteFromSelection(let gvr, let namespace, let name, let scopeNamespace, let scopeSelector):
                        guard try CacheStore.delete(c, gvr: gvr, namespace: namespace, name: name) else { break }
                        let st = try c.prepared(
                            "UPDATE scopes SET complete=0 WHERE gvr=?1 AND complete=1 AND (namespace=?2 OR namespace='')"
                                + " AND NOT (namespace=?3 AND selector=?4)")
                        defer { st.reset() }
                        try st.bind(1, gvr)
                        try st.bind(2, namespace)
                        try st.bind(3, scopeNamespace)
                        try st.bind(4, scopeSelector)
                        try st.run()
                    case .bumpScope(let gvr, let namespace, let selector, let rv):
                        _ = try CacheStore.bump(c, gvr: gvr, namespace: namespace, selector: selector, rv: rv)
                    }
                }
            }
        }
    }

    /// Stores a small value under `key` (Outpost's own bookkeeping; responses go to `putDocument`).
    public func putMeta(key: String, value: [UInt8]) throws {
        try withConnection { c in
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
    /// `after`; `body` returns false to stop. `body` runs under the store's lock, so no write interleaves with the
    /// walk and the cached statement cannot be reused underneath it: it must not call the store (that throws).
    ///
    /// `prefilter` narrows the walk in SQL before rows are decoded (their bodies are then never read): only rows
    /// whose encoded labels / fields contain every given pair. It may let through rows the caller's selector then
    /// rejects, never the other way round.
    public func forEach(
        gvr: String, namespace: String, after: (namespace: String, name: String)?,
        prefilter: RowPrefilter = .none,
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
        var narrow = ""
        var parameter: Int32 = 5
        for _ in prefilter.labels { narrow += " AND instr(labels, ?\(parameter)) > 0"; parameter += 1 }
        for _ in prefilter.fields { narrow += " AND instr(fields, ?\(parameter)) > 0"; parameter += 1 }
        switch (namespace.isEmpty, after != nil) {
        case (true, false): sql = "SELECT \(columns) FROM objects WHERE gvr=?1\(narrow) ORDER BY namespace, name"
        case (true, true):
            sql = "SELECT \(columns) FROM objects WHERE gvr=?1 AND (namespace, name) > (?3, ?4)\(narrow) ORDER BY namespace, name"
        case (false, false):
            sql = "SELECT \(columns) FROM objects WHERE gvr=?1 AND namespace=?2\(narrow) ORDER BY namespace, name"
        case (false, true):
            sql = "SELECT \(columns) FROM objects WHERE gvr=?1 AND namespace=?2 AND name > ?4\(narrow) ORDER BY namespace, name"
        }
        try withConnection { c in
            let st = try c.prepared(sql)
            defer { st.reset() }
            try st.bind(1, gvr)
            if !namespace.isEmpty { try st.bind(2, namespace) }
            if let after {
                if namespace.isEmpty { try st.bind(3, after.namespace) }
                try st.bind(4, after.name)
            }
            var i: Int32 = 5
            for (k, v) in prefilter.labels + prefilter.fields {
                try st.bind(i, PairCodec.encode([(k, v)]))
                i += 1
            }
            while try st.step() {
                guard try body(try CacheStore.object(st, gvr: gvr, firstColumn: 0)) else { break }
            }
        }
    }

    public func get(gvr: String, namespace: String, name: String) throws -> StoredObject? {
        try withConnection { c in
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
        try withConnection { c in
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

    /// All scope rows of `gvr` (any namespace and selector, complete or not), ordered by (namespace, selector).
    public func scopes(gvr: String) throws -> [ScopeInfo] {
        try withConnection { c in
            let st = try c.prepared("""
                SELECT gvr, namespace, selector, rv, complete, updated_at FROM scopes
                WHERE gvr=?1 ORDER BY namespace, selector
                """)
            defer { st.reset() }
            try st.bind(1, gvr)
            var out: [ScopeInfo] = []
            while try st.step() { out.append(CacheStore.scopeInfo(st)) }
            return out
        }
    }

    /// Whether some complete scope (any selector) of `gvr` covers `namespace`: one for `namespace` itself or for ""
    /// (all namespaces). With `namespace` "" only all-namespace scopes count.
    public func hasAnyCompleteScope(gvr: String, namespace: String) throws -> Bool {
        try withConnection { c in
            let st = try c.prepared("""
                SELECT 1 FROM scopes WHERE gvr=?1 AND complete=1 AND (namespace=?2 OR namespace='') LIMIT 1
                """)
            defer { st.reset() }
            try st.bind(1, gvr)
            try st.bind(2, namespace)
            return try st.step()
        }
    }

    /// Whether any object of `gvr` in `namespace` ("" = all namespaces) is stored in `format` (an
    /// offline answer in protobuf is only possible when none is JSON).
    public func hasObjects(gvr: String, namespace: String, format: BodyFormat) throws -> Bool {
        try withConnection { c in
            let st = try c.prepared("""
                SELECT 1 FROM objects WHERE gvr=?1 AND (?2='' OR namespace=?2) AND format=?3 LIMIT 1
                """)
            defer { st.reset() }
            try st.bind(1, gvr)
            try st.bind(2, namespace)
            try st.bind(3, format.rawValue)
            return try st.step()
        }
    }

    /// The complete scope that can answer a list of (gvr, namespace, selector): the exact one if stored, otherwise
    /// one without selector for the namespace, otherwise one for all namespaces (exact selector first, then none).
    /// A scope with a selector only answers that exact selector string.
    public func coveringScope(gvr: String, namespace: String, selector: String) throws -> ScopeInfo? {
        try withConnection { c in
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
        try withConnection { c in
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
        try withConnection { c in
            let st = try c.prepared("SELECT value FROM meta WHERE key=?1")
            defer { st.reset() }
            try st.bind(1, key)
            return try st.step() ? st.bytes(0) : nil
        }
    }

    /// Number of cached objects, the total size of their bodies in bytes and the number of scopes.
    public func stats() throws -> CacheStats {
        try withConnection { c in
            let st = try c.prepared("""
                SELECT (SELECT count(*) FROM objects), (SELECT coalesce(sum(length(body)), 0) FROM objects),
                       (SELECT count(*) FROM scopes)
                """)
            defer { st.reset() }
            _ = try st.step()
            return CacheStats(objects: Int(st.int64(0)), bodyBytes: Int(st.int64(1)), scopes: Int(st.int64(2)))
        }
    }

    /// Bytes on disk of `cache.db` plus `cache.db-wal` (which holds recent commits until a checkpoint); a missing
    /// file counts 0. Takes no lock and never fails.
    public func fileSize() -> Int {
        sizeOfFile(path) + sizeOfFile(path + "-wal")
    }

    /// Test hook: runs raw SQL on the connection (e.g. `PRAGMA max_page_count` to simulate a full disk).
    func _exec(_ sql: String) throws {
        try withConnection { c in try c.exec(sql) }
    }

    /// Test hook: the first column of the first row of `sql` as an integer (nil for no row or NULL).
    func _queryInt(_ sql: String) throws -> Int64? {
        try withConnection { c in try c.scalar(sql) }
    }

    /// Test hook: called inside replaceScope's transaction after each upsert with the count so far; a throw aborts
    /// the transaction (simulates a failure or lets a test snapshot the files mid-transaction).
    func _setAfterUpsertInReplace(_ hook: (@Sendable (Int) throws -> Void)?) {
        state.withLock { s in s.connection.afterUpsertInReplace = hook }
    }

    // MARK: locking

    /// Runs `body` under the store's lock. A call made while this thread already holds the lock (from a callback
    /// such as `forEach`'s body) would deadlock — Mutex traps on it — so it throws instead; the outer call sees the
    /// error thrown by its callback.
    func locked<T: Sendable>(_ body: (inout State) throws -> T) throws -> T {
        let me = currentThreadID()
        // Only this thread ever stores `me`, and it stores 0 before unlocking: a match means we hold the lock.
        if lockOwner.load(ordering: .relaxed) == me {
            throw CacheStoreError(
                code: 0, message: "reentrant call from a callback running under the store's lock", context: "lock")
        }
        var quarantined: String? = nil
        let result: Result<T, any Error> = state.withLock { s in
            lockOwner.store(me, ordering: .relaxed)
            defer { lockOwner.store(0, ordering: .relaxed) }
            do {
                return .success(try body(&s))
            } catch let error as CacheStoreError where error.isCorrupt && !readOnly {
                // Any statement, reader or writer: the file goes aside and a fresh one takes its place.
                quarantined = quarantine(&s, error)
                return .failure(error)
            } catch {
                return .failure(error)
            }
        }
        if let quarantined {
            quarantineCount.add(1, ordering: .relaxed)
            if let handler = quarantineHandler.withLock({ $0 }) { handler(quarantined) }
        }
        return try result.get()
    }

    /// `locked`, for the many calls that only need the connection.
    func withConnection<T: Sendable>(_ body: (Connection) throws -> T) throws -> T {
        try locked { s in try body(s.connection) }
    }

    // MARK: helpers (called with the lock held)

    struct Key: Hashable {
        var namespace: String
        var name: String
    }

    /// The stored columns of an object, in the order of `objects` and `staging` (after `list_id`).
    static let objectColumns = "gvr, namespace, name, rv, rv_text, labels, fields, format, body"
    /// `format` of a staging row that only marks an object as still listed (see `stage`).
    static let unchangedFormat = -1

    /// Appended to `INSERT INTO objects(objectColumns) ...`: an existing row is overwritten.
    static let onConflictReplace = """
         ON CONFLICT(gvr, namespace, name) DO UPDATE SET
            rv=excluded.rv, rv_text=excluded.rv_text, labels=excluded.labels, fields=excluded.fields,
            format=excluded.format, body=excluded.body
        """

    /// Appended after `onConflictReplace` for onlyIfNewer. rv is NULL when the resourceVersion is not an integer
    /// that fits: then the new row always wins. The same version in the other format also wins (the same object,
    /// re-fetched as protobuf by kubelet: a protobuf answer then needs no JSON in its scope).
    static let onlyIfNewerCondition = """
         WHERE excluded.rv IS NULL OR objects.rv IS NULL OR excluded.rv > objects.rv
            OR (excluded.rv = objects.rv AND excluded.format <> objects.format)
        """

    /// The numeric form stored in the `rv` column: nil (NULL) unless `rv` is an integer that fits in Int64.
    static func numericRV(_ rv: String) -> Int64? { UInt64(rv).flatMap { Int64(exactly: $0) } }

    /// Binds `o`'s nine `objectColumns` to parameters `first` ... `first + 8`.
    static func bind(_ st: Statement, _ o: StoredObject, from first: Int32) throws {
        try st.bind(first, o.gvr)
        try st.bind(first + 1, o.namespace)
        try st.bind(first + 2, o.name)
        try st.bind(first + 3, numericRV(o.resourceVersion))
        try st.bind(first + 4, o.resourceVersion)
        try st.bind(first + 5, PairCodec.encode(o.labels))
        try st.bind(first + 6, PairCodec.encode(o.fields))
        try st.bind(first + 7, o.format.rawValue)
        try st.bind(first + 8, st.connection.cipher.map { $0.sealIfNeeded(o.body, gvr: o.gvr, namespace: o.namespace, name: o.name) } ?? o.body)
    }

    static func upsert(_ c: Connection, _ o: StoredObject, onlyIfNewer: Bool) throws -> Bool {
        let insert = "INSERT INTO objects(\(objectColumns)) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            + onConflictReplace
        let st = try c.prepared(onlyIfNewer ? insert + onlyIfNewerCondition : insert)
        defer { st.reset() }
        try bind(st, o, from: 1)
        try st.run()
        return c.changes > 0
    }

    static func delete(_ c: Connection, gvr: String, namespace: String, name: String) throws -> Bool {
        let st = try c.prepared("DELETE FROM objects WHERE gvr=?1 AND namespace=?2 AND name=?3")
        defer { st.reset() }
        try st.bind(1, gvr)
        try st.bind(2, namespace)
        try st.bind(3, name)
        try st.run()
        return c.changes > 0
    }

    /// Inserts or replaces the scope row (gvr, namespace, selector) as complete at `rv`, updated now.
    static func setScopeComplete(
        _ c: Connection, gvr: String, namespace: String, selector: String, rv: String
    ) throws {
        let st = try c.prepared("""
            INSERT OR REPLACE INTO scopes(gvr, namespace, selector, rv, complete, updated_at)
            VALUES(?1, ?2, ?3, ?4, 1, ?5)
            """)
        defer { st.reset() }
        try st.bind(1, gvr)
        try st.bind(2, namespace)
        try st.bind(3, selector)
        try st.bind(4, rv)
        try st.bind(5, now())
        try st.run()
    }

    private static func bump(
        _ c: Connection, gvr: String, namespace: String, selector: String, rv: String
    ) throws -> Bool {
        let current: String? = try {
            let sel = try c.prepared("SELECT rv FROM scopes WHERE gvr=?1 AND namespace=?2 AND selector=?3")
            defer { sel.reset() }
            try sel.bind(1, gvr)
            try sel.bind(2, namespace)
            try sel.bind(3, selector)
            return try sel.step() ? sel.string(0) : nil
        }()
        guard let current, isNewer(rv, than: current) else { return false }
        let up = try c.prepared("UPDATE scopes SET rv=?4, updated_at=?5 WHERE gvr=?1 AND namespace=?2 AND selector=?3")
        defer { up.reset() }
        try up.bind(1, gvr)
        try up.bind(2, namespace)
        try up.bind(3, selector)
        try up.bind(4, rv)
        try up.bind(5, now())
        try up.run()
        return true
    }

    static func object(_ st: Statement, gvr: String, firstColumn i: Int32) throws -> StoredObject {
        guard let labels = PairCodec.decode(st.string(i + 3)), let fields = PairCodec.decode(st.string(i + 4)),
              let format = BodyFormat(rawValue: st.int64(i + 5))
        else {
            throw CacheStoreError(code: 0, message: "undecodable row", context: "read \(gvr) \(st.string(i))/\(st.string(i + 1))")
        }
        let namespace = st.string(i), name = st.string(i + 1)
        var body = st.bytes(i + 6)
        if let cipher = st.connection.cipher {
            do {
                body = try cipher.openIfSealed(body, gvr: gvr, namespace: namespace, name: name)
            } catch {
                throw CacheStoreError(code: 0, message: "\(error)", context: "open sealed body of \(gvr) \(namespace)/\(name)")
            }
        }
        return StoredObject(
            gvr: gvr, namespace: namespace, name: name, resourceVersion: st.string(i + 2),
            labels: labels, fields: fields, format: format, body: body)
    }

    private static func scopeInfo(_ st: Statement) -> ScopeInfo {
        ScopeInfo(
            gvr: st.string(0), namespace: st.string(1), selector: st.string(2), resourceVersion: st.string(3),
            complete: st.int64(4) != 0, updatedAt: st.int64(5))
    }
}

func now() -> Int64 { Int64(time(nil)) }

/// An id for the calling thread (pthread_self), never 0 for a live thread.
private func currentThreadID() -> UInt {
    #if canImport(Glibc)
    UInt(pthread_self())
    #else
    UInt(bitPattern: pthread_self())
    #endif
}

/// st_size of `path`, 0 when it does not exist.
func sizeOfFile(_ path: String) -> Int {
    var st = stat()
    return stat(path, &st) == 0 ? Int(st.st_size) : 0
}

