import CSQLite
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the store does about a disk that is not on its side: a private directory whatever the
/// umask, a bounded check for corruption at open, and quarantine of a file found corrupt later.
extension CacheStore {
    /// How long the start-up `PRAGMA quick_check` may take. It reads every page once: measured
    /// 0.09 s for a 124 MB file (30 000 objects of 3 KB) in the page cache and 2.8 s cold from
    /// disk on this machine's disk, so an edge node's cache (a few thousand objects) is checked
    /// whole, and a huge cache on a slow disk delays the first offline answer by at most this
    /// much; what the check did not reach is caught when a statement reads it (see `locked`).
    public static let defaultQuickCheckBudget: Duration = .seconds(2)

    /// Who to tell (outside the store's lock) when a statement found the file corrupt at run time
    /// and it was moved aside: the argument is where it went (or why it could not be moved). The
    /// store then continues on a fresh, empty file.
    public func onQuarantine(_ handler: @escaping @Sendable (String) -> Void) {
        quarantineHandler.withLock { $0 = handler }
    }

    /// Checkpoints the WAL into the database file (best effort) and closes the connection: the
    /// file alone then holds the cache. Later calls throw. For shutdown.
    public func close() {
        state.withLock { s in
            if !readOnly { _ = try? s.connection.exec("PRAGMA wal_checkpoint(TRUNCATE)") }
            s.connection.close()
        }
    }

    /// Marks every complete scope of `gvr` incomplete (durably): the cache missed a write for it,
    /// so its lists can no longer claim to be the whole truth until a new list is committed.
    public func invalidateScopes(gvr: String) throws {
        try withConnection { c in
            try c.transaction {
                let st = try c.prepared("UPDATE scopes SET complete=0 WHERE gvr=?1 AND complete=1")
                defer { st.reset() }
                try st.bind(1, gvr)
                try st.run()
            }
        }
    }

    /// Test hook: after `after` more writing statements (or COMMITs) succeed, every further one
    /// (or the next `times` ones) fails with `code` (SQLITE_FULL = 13, SQLITE_IOERR = 10 ...), as a
    /// full or failing disk would; nil `after` stops the failures.
    public func _failWrites(after: Int?, times: Int? = nil, code: Int32 = 13, systemErrno: Int32 = 0) {
        state.withLock { s in
            s.connection.faults = after.map { WriteFaults(after: $0, failures: times, code: code, systemErrno: systemErrno) }
        }
    }

    /// Runs the start-up quick check within `budget`: nil when the file is sound, a note when the
    /// budget ran out first; throws an SQLITE_CORRUPT `CacheStoreError` when it found damage.
    static func quickCheck(_ c: Connection, budget: Duration) throws -> String? {
        let deadline = DeadlineBox(ContinuousClock.now + budget)
        sqlite3_progress_handler(c.db, 10_000, { context in
            guard let context else { return 0 }
            return ContinuousClock.now > Unmanaged<DeadlineBox>.fromOpaque(context).takeUnretainedValue().deadline ? 1 : 0
        }, Unmanaged.passUnretained(deadline).toOpaque())
        defer { sqlite3_progress_handler(c.db, 0, nil, nil) }
        var problems: [String] = []
        do {
            try withExtendedLifetime(deadline) {
                let st = try c.prepared("PRAGMA quick_check(5)")
                defer { st.reset() }
                while try st.step() {
                    let line = st.string(0)
                    if line != "ok" { problems.append(line) }
                }
            }
        } catch let error as CacheStoreError where error.primaryCode == SQLITE_INTERRUPT {
            return "quick check stopped after its \(budget) budget; the rest is checked as it is read"
        }
        guard problems.isEmpty else {
            throw CacheStoreError(code: SQLITE_CORRUPT, message: "quick_check: " + problems.joined(separator: "; "),
                                  context: "open")
        }
        return nil
    }

    /// With the lock held, after `error` said the file is corrupt: closes the connection, moves
    /// the file aside and opens a fresh one. Staged lists begun before are gone with the file.
    /// Returns where the file went (or why it stayed: the store is then closed and every call
    /// throws, which readers answer with 503 and writers count as failures).
    func quarantine(_ s: inout State, _ error: CacheStoreError) -> String {
        s.connection.close()
        s.openLists = []
        s.failedLists = [:]
        let moved: String
        do {
            moved = try moveAside(path)
        } catch {
            return "not moved (\(error)); the cache is closed"
        }
        do {
            _ = try secureDatabaseFiles(path)
            s.connection = try CacheStore.open(path, quickCheckBudget: nil).connection
            s.connection.cipher = cipher
        } catch {
            return moved + " (a fresh file could not be opened: \(error); the cache is closed)"
        }
        return moved
    }
}

/// The quick check's deadline, handed to SQLite's progress handler as its context.
private final class DeadlineBox {
    let deadline: ContinuousClock.Instant
    init(_ deadline: ContinuousClock.Instant) { self.deadline = deadline }
}

/// mkdir -p, the last component private (0700). An existing directory with looser modes is
/// tightened; returns a note for each change. Throws when the path is not a usable directory.
func prepareDirectory(_ path: String) throws -> [String] {
    guard !path.isEmpty else { throw CacheStoreError(code: 0, message: "empty directory", context: "open") }
    var current = path.hasPrefix("/") ? "" : "."
    let parts = path.split(separator: "/")
    for (i, part) in parts.enumerated() {
        current += "/" + part
        if mkdir(current, i == parts.count - 1 ? 0o700 : 0o755) != 0 && errno != EEXIST {
            throw CacheStoreError(code: 0, message: String(cString: strerror(errno)), context: "mkdir \(current)")
        }
    }
    var st = stat()
    guard stat(path, &st) == 0 else {
        throw CacheStoreError(code: 0, message: String(cString: strerror(errno)), context: "stat \(path)")
    }
    guard (st.st_mode & S_IFMT) == S_IFDIR else {
        throw CacheStoreError(code: 0, message: "not a directory", context: "open \(path)")
    }
    return try tighten(path, to: 0o700, mode: st.st_mode)
}

/// Creates `cache.db` 0600 if missing (SQLite gives its -wal and -shm the database file's mode)
/// and tightens the database's files and quarantined copies to 0600.
func secureDatabaseFiles(_ path: String) throws -> [String] {
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
    guard fd >= 0 else {
        throw CacheStoreError(code: 0, message: String(cString: strerror(errno)), context: "create \(path)")
    }
    close(fd)
    var notes: [String] = []
    for file in [path, path + "-wal", path + "-shm"] + quarantinedFiles(path) {
        var st = stat()
        guard lstat(file, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
        notes += try tighten(file, to: 0o600, mode: st.st_mode)
    }
    return notes
}

/// chmod `path` to exactly `wanted` unless it already is; a note when it granted more.
private func tighten(_ path: String, to wanted: mode_t, mode: mode_t) throws -> [String] {
    let current = mode & 0o7777
    guard current != wanted else { return [] }
    guard chmod(path, wanted) == 0 else {
        throw CacheStoreError(code: 0, message: String(cString: strerror(errno)),
                              context: "chmod \(path) to \(octal(wanted))")
    }
    return current & ~wanted != 0 ? ["tightened \(path) from \(octal(current)) to \(octal(wanted))"] : []
}

private func octal(_ m: mode_t) -> String { "0" + String(m, radix: 8) }

/// `cache.db.corrupt-*` files next to `path`.
private func quarantinedFiles(_ path: String) -> [String] {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { String(path[..<$0]) } ?? "."
    let prefix = (slash.map { String(path[path.index(after: $0)...]) } ?? path) + ".corrupt-"
    guard let d = opendir(directory) else { return [] }
    defer { closedir(d) }
    var out: [String] = []
    while let e = readdir(d) {
        let name = withUnsafePointer(to: e.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name.hasPrefix(prefix) { out.append(directory + "/" + name) }
    }
    return out
}

private func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// Moves a damaged database (and its -wal, dropping -shm) to `<path>.corrupt-<unix time>` (then
/// `-2`, `-3` ... if taken), 0600; returns the new path.
func moveAside(_ path: String) throws -> String {
    let base = "\(path).corrupt-\(now())"
    var target = base
    var n = 2
    while exists(target) || exists(target + "-wal") {
        target = "\(base)-\(n)"
        n += 1
    }
    guard rename(path, target) == 0 else {
        throw CacheStoreError(code: 0, message: String(cString: strerror(errno)), context: "move aside \(path)")
    }
    _ = chmod(target, 0o600)
    if exists(path + "-wal") {
        _ = rename(path + "-wal", target + "-wal")
        _ = chmod(target + "-wal", 0o600)
    }
    _ = unlink(path + "-shm")
    return target
}

extension CacheStore {
    /// Below this much free space the disk cannot hold a list worth caching.
    public static let minimumFreeBytes = 256 * 1024

    /// Set when the cache's filesystem has less than `minimumFreeBytes` free (a full disk may
    /// still accept a write into a free page of the file, which proves nothing about the next list).
    public var lowSpaceProblem: String? {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        var st = statvfs()
        guard statvfs(directory, &st) == 0 else { return nil }
        let free = Int(st.f_bavail) * Int(st.f_frsize)
        guard free < Self.minimumFreeBytes else { return nil }
        return "the cache's disk is full (\(free) bytes free)"
    }
}
