import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An error from the cache store: the SQLite (extended) result code, SQLite's message and what the store was doing.
public struct CacheStoreError: Error, CustomStringConvertible, Sendable {
    /// SQLite extended result code (0 when the error did not come from SQLite).
    public let code: Int32
    public let message: String
    public let context: String
    /// The OS `errno` behind the last failed system call SQLite made (`sqlite3_system_errno`), 0 when unknown.
    public let systemErrno: Int32

    public init(code: Int32, message: String, context: String, systemErrno: Int32 = 0) {
        self.code = code
        self.message = message
        self.context = context
        self.systemErrno = systemErrno
    }

    /// SQLite primary result code (`code & 0xff`).
    public var primaryCode: Int32 { code & 0xff }
    /// The disk (or the configured page limit, or the user's quota) is full: the write was rolled back, nothing is
    /// corrupted; reads keep working. SQLITE_FULL, or an SQLITE_IOERR whose OS error was ENOSPC / EDQUOT.
    public var isDiskFull: Bool {
        primaryCode == SQLITE_FULL || (primaryCode == SQLITE_IOERR && (systemErrno == ENOSPC || systemErrno == EDQUOT))
    }
    /// An I/O error (SQLITE_IOERR, any extended code) other than a full disk: the device or filesystem failed.
    public var isIOError: Bool { primaryCode == SQLITE_IOERR && !isDiskFull }
    /// The database file is not a database or is damaged.
    public var isCorrupt: Bool { primaryCode == SQLITE_CORRUPT || primaryCode == SQLITE_NOTADB }

    public var description: String {
        let os = systemErrno != 0 ? ", errno \(systemErrno)" : ""
        return "CacheStore: \(context): \(message) (sqlite code \(code)\(os))"
    }
}

/// SQLITE_TRANSIENT: SQLite copies bound data before the bind call returns.
private var transient: sqlite3_destructor_type { unsafeBitCast(-1 as Int, to: sqlite3_destructor_type.self) }

/// A prepared statement owned by a `Connection` (finalized when the connection closes). Not thread-safe.
struct Statement {
    let handle: OpaquePointer
    unowned let connection: Connection

    /// Resets and clears bindings so the statement can be reused; call in a `defer` after every use.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func bind(_ index: Int32, _ value: String) throws {
        let rc = sqlite3_bind_text(handle, index, value, Int32(value.utf8.count), transient)
        guard rc == SQLITE_OK else { throw connection.error(rc, "bind") }
    }

    func bind(_ index: Int32, _ value: Int64?) throws {
        let rc: Int32
        if let value { rc = sqlite3_bind_int64(handle, index, value) } else { rc = sqlite3_bind_null(handle, index) }
        guard rc == SQLITE_OK else { throw connection.error(rc, "bind") }
    }

    func bind(_ index: Int32, _ value: [UInt8]) throws {
        let rc: Int32
        if value.isEmpty {
            rc = sqlite3_bind_zeroblob(handle, index, 0)
        } else {
            rc = value.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), transient) }
        }
        guard rc == SQLITE_OK else { throw connection.error(rc, "bind") }
    }

    /// Binds `value` without SQLite's copy (a multi-megabyte document would be held twice). The
    /// bytes must stay valid until the statement has run and been reset: bind and run inside the
    /// same `withUnsafeBytes`.
    func bindWithoutCopy(_ index: Int32, _ value: UnsafeRawBufferPointer) throws {
        let rc = value.isEmpty
            ? sqlite3_bind_zeroblob(handle, index, 0)
            : sqlite3_bind_blob(handle, index, value.baseAddress, Int32(value.count), nil)
        guard rc == SQLITE_OK else { throw connection.error(rc, "bind") }
    }

    /// Steps once: true when a row is available, false when done; throws on any error.
    func step() throws -> Bool {
        if let fault = connection.faults, sqlite3_stmt_readonly(handle) == 0, let e = fault.next() { throw e }
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(rc, "step")
        }
    }

    /// Runs a statement that returns no rows.
    func run() throws {
        while try step() {}
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func string(_ column: Int32) -> String {
        guard let p = sqlite3_column_text(handle, column) else { return "" }
        let n = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    func bytes(_ column: Int32) -> [UInt8] {
        guard let p = sqlite3_column_blob(handle, column) else { return [] }
        let n = Int(sqlite3_column_bytes(handle, column))
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
}

/// One SQLite connection plus its cache of prepared statements. Not thread-safe: `CacheStore` guards it with a Mutex.
final class Connection {
    let db: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]
    /// See `CacheStore._setAfterUpsertInReplace`.
    var afterUpsertInReplace: (@Sendable (Int) throws -> Void)?
    /// Seals bodies on their way into `objects`/`staging` and opens them on the way out (see `BodyCipher`).
    var cipher: (any BodyCipher)?
    /// See `CacheStore._failWrites`.
    var faults: WriteFaults?
    private var changesAtBegin: Int64 = 0
    /// Set by `close()`: the handle is gone and every call throws.
    private(set) var isClosed = false

    /// `readOnly`: SQLite refuses every write on the handle (and never creates the file).
    init(path: String, readOnly: Bool = false) throws {
        var handle: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            let code = handle.map { sqlite3_extended_errcode($0) } ?? rc
            let os = handle.map { sqlite3_system_errno($0) } ?? 0
            sqlite3_close_v2(handle)
            throw CacheStoreError(code: code, message: message, context: "open \(path)", systemErrno: os)
        }
        db = handle
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { close() }

    /// Finalizes the statements and closes the handle (before the file is moved aside); later
    /// calls throw instead of touching a closed handle.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        for stmt in statements.values { sqlite3_finalize(stmt) }
        statements = [:]
        sqlite3_close_v2(db)
    }

    private func requireOpen(_ context: String) throws {
        guard isClosed else { return }
        throw CacheStoreError(code: 0, message: "the cache database is closed (it was unusable)", context: context)
    }

    func error(_ rc: Int32, _ context: String) -> CacheStoreError {
        let code = sqlite3_extended_errcode(db)
        let message = String(cString: sqlite3_errmsg(db))
        return CacheStoreError(
            code: code != SQLITE_OK ? code : rc, message: message, context: context,
            systemErrno: sqlite3_system_errno(db))
    }

    /// Runs one or more SQL statements without parameters.
    func exec(_ sql: String) throws {
        try requireOpen(sql)
        if let faults {
            if sql == "BEGIN IMMEDIATE" { changesAtBegin = sqlite3_total_changes64(db) }
            let writes = sql.hasPrefix("DELETE") || sql.hasPrefix("INSERT") || sql.hasPrefix("UPDATE")
                || (sql == "COMMIT" && sqlite3_total_changes64(db) != changesAtBegin)
            if writes, let e = faults.next() { throw e }
        }
        var errmsg: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &errmsg)
        if rc != SQLITE_OK {
            let message = errmsg.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(errmsg)
            let code = sqlite3_extended_errcode(db)
            throw CacheStoreError(
                code: code != SQLITE_OK ? code : rc, message: message, context: sql,
                systemErrno: sqlite3_system_errno(db))
        }
    }

    /// A cached prepared statement for `sql` (prepared once per connection).
    func prepared(_ sql: String) throws -> Statement {
        try requireOpen("prepare")
        if let stmt = statements[sql] { return Statement(handle: stmt, connection: self) }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, "prepare \(sql)") }
        statements[sql] = stmt
        return Statement(handle: stmt, connection: self)
    }

    var changes: Int { Int(sqlite3_changes(db)) }

    /// The first column of the first row of `sql` (no parameters) as an integer; nil for no row or NULL.
    func scalar(_ sql: String) throws -> Int64? {
        let st = try prepared(sql)
        defer { st.reset() }
        return try st.step() && !st.isNull(0) ? st.int64(0) : nil
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction; rolls back if `body` or `COMMIT` throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try exec("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try exec("COMMIT")
            return result
        } catch {
            // After some errors (e.g. SQLITE_FULL) SQLite has already rolled back; only roll back if still open.
            if !isClosed, sqlite3_get_autocommit(db) == 0 { _ = try? exec("ROLLBACK") }
            throw error
        }
    }
}

/// Test hook (see `CacheStore._failWrites`): the writing statements (and COMMITs) after the first
/// `remaining` fail with `code`, as a full or failing disk would; only `failures` of them when set.
final class WriteFaults {
    var remaining: Int
    var failures: Int?
    let code: Int32
    let systemErrno: Int32

    init(after remaining: Int, failures: Int? = nil, code: Int32, systemErrno: Int32) {
        self.remaining = remaining
        self.failures = failures
        self.code = code
        self.systemErrno = systemErrno
    }

    /// The error for the next write, or nil while writes pass.
    func next() -> CacheStoreError? {
        if remaining > 0 {
            remaining -= 1
            return nil
        }
        if let f = failures {
            guard f > 0 else { return nil }
            failures = f - 1
        }
        return CacheStoreError(code: code, message: String(cString: sqlite3_errstr(code)) + " (injected)", context: "write",
                               systemErrno: systemErrno)
    }
}
