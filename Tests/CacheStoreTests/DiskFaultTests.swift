import CSQLite
import Synchronization
import Testing

@testable import CacheStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A disk that fills up, fails, corrupts a page or sits under a loose umask never changes what
/// the store claims to be the complete truth.
@Suite struct DiskFaultTests {
    static let big = String(repeating: "x", count: 900)

    /// The items of a 600-object list in chunks of 100, as a list tee stages them.
    static let chunks: [[StoredObject]] = (0..<6).map { c in
        (0..<100).map { i in obj("b", "cm-\(c * 100 + i)", rv: "\(100 + c * 100 + i)", body: big) }
    }

    func seeded(_ dir: String) throws -> CacheStore {
        let store = try CacheStore(directory: dir)
        try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "10",
                               objects: [obj("a", "p1", rv: "1"), obj("a", "p2", rv: "2")])
        return store
    }

    /// The state a reader sees: scope (rv, complete) and object names.
    func snapshot(_ store: CacheStore) throws -> (String?, [String]) {
        let scope = try store.scope(gvr: "v1/pods", namespace: "", selector: "")
        return (scope.map { "\($0.resourceVersion) complete=\($0.complete)" }, names(try store.list(gvr: "v1/pods", namespace: "")))
    }

    /// Writes fail after N statements, for every N through a whole streamed list (stage chunks,
    /// then commit, stopping at the first failure as the writer does): the store shows either the
    /// previous complete state or the whole new list, never a part of it.
    @Test(arguments: [Int32(13), Int32(10)]) // SQLITE_FULL, SQLITE_IOERR
    func writesFailingAfterAnyStatementLeaveThePreviousState(code: Int32) throws {
        let before = ("10 complete=true", ["a/p1", "a/p2"])
        var outcomes = (kept: 0, replaced: 0)
        for n in stride(from: 0, through: 620, by: 31) {
            try withTempDir { dir in
                let store = try seeded(dir)
                store._failWrites(after: n, code: code)
                var failed = false
                let list = try store.beginStagedList()
                for chunk in Self.chunks where !failed {
                    do { try store.stage(list, objects: chunk) } catch { failed = true }
                }
                do {
                    try store.commitStagedList(list, gvr: "v1/pods", namespace: "", selector: "",
                                               listResourceVersion: "900", matchesSelector: nil)
                } catch {
                    failed = true
                    store._failWrites(after: nil)
                    try store.discardStagedList(list)
                }
                store._failWrites(after: nil)
                let (scope, objects) = try snapshot(store)
                if failed {
                    #expect(scope == before.0, "n=\(n)")
                    #expect(objects == before.1, "n=\(n)")
                    outcomes.kept += 1
                } else {
                    #expect(scope == "900 complete=true", "n=\(n)")
                    #expect(objects.count == 600, "n=\(n)")
                    outcomes.replaced += 1
                }
                #expect(try store._queryInt("SELECT count(*) FROM staging") == 0)
                #expect(try store._queryInt("SELECT count(*) FROM pragma_quick_check WHERE quick_check <> 'ok'") == 0)
            }
        }
        #expect(outcomes.kept > 0 && outcomes.replaced > 0, "both outcomes were exercised: \(outcomes)")
    }

    /// The finding behind it: a chunk failed (disk full), later chunks went through, and the
    /// commit made the partial staging the scope. Now the commit refuses.
    @Test func aListThatLostAChunkCannotBeCommitted() throws {
        try withTempDir { dir in
            let store = try seeded(dir)
            let list = try store.beginStagedList()
            try store.stage(list, objects: Self.chunks[0])
            store._failWrites(after: 0, code: SQLITE_FULL)
            #expect(throws: CacheStoreError.self) { try store.stage(list, objects: Self.chunks[1]) }
            store._failWrites(after: nil)
            try store.stage(list, objects: Self.chunks[2])
            do {
                try store.commitStagedList(list, gvr: "v1/pods", namespace: "", selector: "",
                                           listResourceVersion: "900", matchesSelector: nil)
                Issue.record("a list that lost a chunk was committed")
            } catch let e as CacheStoreError {
                #expect(e.description.contains("lost items"))
            }
            #expect(try snapshot(store) == ("10 complete=true", ["a/p1", "a/p2"]))
            try store.discardStagedList(list)
            #expect(try store._queryInt("SELECT count(*) FROM staging") == 0)
        }
    }

    @Test func invalidatedScopesAreIncompleteUntilTheNextCommit() throws {
        try withTempDir { dir in
            let store = try seeded(dir)
            try store.invalidateScopes(gvr: "v1/pods")
            #expect(try store.coveringScope(gvr: "v1/pods", namespace: "a", selector: "") == nil)
            #expect(try store.stats().objects == 2, "objects stay (a get can still find them)")
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "11", objects: [])
            #expect(try store.coveringScope(gvr: "v1/pods", namespace: "a", selector: "")?.resourceVersion == "11")
        }
    }

    /// Builds a cache file of `count` objects, closed (checkpointed), and overwrites one page in
    /// the middle of the file with garbage. Returns the number of that page.
    static func corruptedFile(_ dir: String, count: Int = 3000, corrupt: Bool = true) throws -> Int {
        do {
            let store = try CacheStore(directory: dir)
            try store.replaceScope(gvr: "v1/configmaps", namespace: "", selector: "", listResourceVersion: "5000",
                                   objects: (0..<count).map { obj("n", "cm-\($0)", rv: "\($0 + 1)", gvr: "v1/configmaps", body: big) })
        }
        let path = dir + "/cache.db"
        let pages = fileSize(path) / 4096
        #expect(pages > 100)
        guard corrupt else { return 0 }
        let page = pages / 2
        let fd = open(path, O_WRONLY)
        #expect(fd >= 0)
        let garbage = [UInt8](repeating: 0xA5, count: 4096)
        _ = garbage.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4096, off_t(page * 4096)) }
        close(fd)
        return page + 1
    }

    @Test func aCorruptPageIsFoundByTheQuickCheckAtOpen() throws {
        try withTempDir { dir in
            let page = try Self.corruptedFile(dir)
            let damaged = readFile(dir + "/cache.db")
            let store = try CacheStore(directory: dir)
            let moved = try #require(store.recoveredCorruptFile)
            #expect(moved.hasPrefix(dir + "/cache.db.corrupt-"))
            #expect(readFile(moved)?.count == damaged?.count, "the damaged file is kept for inspection")
            #expect(readFile(moved).map { Array($0[(page - 1) * 4096..<page * 4096]) } == [UInt8](repeating: 0xA5, count: 4096))
            #expect(mode(moved) == 0o600)
            #expect(try store.stats().objects == 0)
            #expect(try store.coveringScope(gvr: "v1/configmaps", namespace: "n", selector: "") == nil)
            try store.upsert(obj("n", "fresh", rv: "1", gvr: "v1/configmaps"), onlyIfNewer: false)
            #expect(try store.stats().objects == 1)
        }
    }

    /// Without the start-up check (or past its budget) the damage is met by a statement at run
    /// time: that statement fails, the file is moved aside, the handler hears of it, and the
    /// store goes on, empty, on a fresh file.
    @Test func aCorruptPageMetAtRunTimeQuarantinesTheFile() throws {
        try withTempDir { dir in
            _ = try Self.corruptedFile(dir)
            let store = try CacheStore(directory: dir, quickCheckBudget: nil)
            #expect(store.recoveredCorruptFile == nil, "no start-up check")
            let heard = Mutex<[String]>([])
            store.onQuarantine { moved in heard.withLock { $0.append(moved) } }
            var read = 0
            do {
                try store.forEach(gvr: "v1/configmaps", namespace: "", after: nil) { _ in read += 1; return true }
                Issue.record("the corrupt page was read without an error")
            } catch let e as CacheStoreError {
                #expect(e.isCorrupt)
            }
            #expect(read < 3000)
            let moved = heard.withLock { $0 }
            #expect(moved.count == 1)
            #expect(moved.first?.hasPrefix(dir + "/cache.db.corrupt-") == true)
            #expect(moved.first.map { fileExists($0) } == true)
            #expect(try store.stats().objects == 0)
            #expect(try store.coveringScope(gvr: "v1/configmaps", namespace: "n", selector: "") == nil)
            try store.upsert(obj("n", "fresh", rv: "1", gvr: "v1/configmaps"), onlyIfNewer: false)
            #expect(try store.get(gvr: "v1/configmaps", namespace: "n", name: "fresh") != nil)
            #expect(mode(dir + "/cache.db") == 0o600)
        }
    }

    /// A staged list begun before a quarantine staged into the file that is gone: it can never commit.
    @Test func aListInFlightDuringAQuarantineCannotCommit() throws {
        try withTempDir { dir in
            _ = try Self.corruptedFile(dir)
            let store = try CacheStore(directory: dir, quickCheckBudget: nil)
            let list = try store.beginStagedList()
            try store.stage(list, objects: [obj("n", "x", rv: "1", gvr: "v1/configmaps")])
            #expect(throws: CacheStoreError.self) { _ = try store.list(gvr: "v1/configmaps", namespace: "") }
            #expect(throws: CacheStoreError.self) {
                try store.commitStagedList(list, gvr: "v1/configmaps", namespace: "", selector: "",
                                           listResourceVersion: "9", matchesSelector: nil)
            }
            #expect(try store.scopes(gvr: "v1/configmaps").isEmpty)
        }
    }

    @Test func theStartUpCheckIsBounded() throws {
        try withTempDir { dir in
            _ = try Self.corruptedFile(dir, corrupt: false)
            let start = ContinuousClock.now
            let store = try CacheStore(directory: dir, quickCheckBudget: .zero)
            #expect(ContinuousClock.now - start < .seconds(2))
            #expect(store.openNotes.contains { $0.contains("quick check stopped") })
            #expect(store.recoveredCorruptFile == nil)
            #expect(try store.stats().objects == 3000)
        }
    }

    /// Whatever the umask, the directory is 0700 and every file in it 0600; an existing
    /// directory and files with looser modes are tightened (and it is said).
    @Test func theCacheIsPrivateWhateverTheUmask() throws {
        try withTempDir { root in
            let dir = root + "/cache"
            #expect(mkdir(dir, 0o777) == 0)
            #expect(chmod(dir, 0o755) == 0)
            writeFile(dir + "/cache.db", [])
            #expect(chmod(dir + "/cache.db", 0o644) == 0)
            writeFile(dir + "/cache.db.corrupt-1", [1, 2, 3])
            #expect(chmod(dir + "/cache.db.corrupt-1", 0o666) == 0)
            let old = umask(0)
            defer { umask(old) }
            let store = try CacheStore(directory: dir)
            try store.upsert(obj("a", "p", rv: "1"), onlyIfNewer: false)
            #expect(mode(dir) == 0o700)
            for f in ["cache.db", "cache.db-wal", "cache.db-shm", "cache.db.corrupt-1"] {
                #expect(mode(dir + "/" + f) == 0o600, "\(f)")
            }
            #expect(store.openNotes.contains { $0.contains("tightened \(dir) from 0755 to 0700") })
            #expect(store.openNotes.contains { $0.contains("cache.db from 0644 to 0600") })

            let fresh = root + "/new/deeper"
            _ = try CacheStore(directory: fresh)
            #expect(mode(fresh) == 0o700)
            #expect(mode(fresh + "/cache.db") == 0o600)
        }
    }

    /// Staging rows a crash left behind that a full disk will not let open delete: the store
    /// opens anyway (it says why writes will fail), serves what it has, and new lists never mix
    /// with the old rows (their ids start past them).
    @Test func aFullDiskAtOpenStillServesAndLeftoverStagingNeverMixes() throws {
        try withTempDir { dir in
            do {
                let store = try seeded(dir)
                let list = try store.beginStagedList()
                try store.stage(list, objects: Self.chunks[0])
            }
            let store = try CacheStore(directory: dir, quickCheckBudget: nil, faultsAtOpen: (after: 0, code: SQLITE_FULL))
            #expect(store.openWriteProblem?.contains("full") == true)
            #expect(store.openNotes.contains { $0.contains("left the staging rows") })
            #expect(try snapshot(store) == ("10 complete=true", ["a/p1", "a/p2"]), "what it has is served")
            #expect(try store._queryInt("SELECT count(*) FROM staging") == 100)
            store._failWrites(after: nil)
            let list = try store.beginStagedList()
            try store.stage(list, objects: [obj("c", "new", rv: "50")])
            #expect(try store.commitStagedList(list, gvr: "v1/pods", namespace: "", selector: "",
                                               listResourceVersion: "60", matchesSelector: nil) == 1)
            #expect(try snapshot(store) == ("60 complete=true", ["c/new"]))
        }
    }
}

func mode(_ path: String) -> mode_t {
    var st = stat()
    return stat(path, &st) == 0 ? st.st_mode & 0o7777 : 0
}
