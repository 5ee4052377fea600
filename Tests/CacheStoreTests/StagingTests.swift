import Testing
@testable import CacheStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Staging rows of every list (the `staging` table is internal, read through the test hook).
func stagingRows(_ store: CacheStore) throws -> Int64 {
    try store._queryInt("SELECT count(*) FROM staging") ?? -1
}

func hasLabel(_ o: StoredObject, _ key: String, _ value: String) -> Bool {
    o.labels.contains { $0.0 == key && $0.1 == value }
}

@Suite struct StagingTests {
    /// A relist that repeats stored objects stages their keys only, and the commit keeps their
    /// bodies; changed, new and vanished objects behave as in any commit. A different format
    /// (a protobuf relist of objects cached as JSON) counts as changed.
    @Test func unchangedObjectsAreStagedAsKeysAndKeepTheirBodies() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "10", objects: [
                obj("a", "same", rv: "5", body: "same@5"), obj("a", "changed", rv: "6", body: "changed@6"),
                obj("a", "gone", rv: "7"), obj("a", "json", rv: "8", body: "json@8"),
            ])
            var pb = obj("a", "json", rv: "8", body: "pb@8")
            pb.format = .protobuf
            let list = try store.beginStagedList()
            try store.stage(list, objects: [obj("a", "same", rv: "5", body: "same@5"), obj("a", "changed", rv: "9", body: "changed@9"),
                                            obj("a", "new", rv: "11", body: "new@11"), pb])
            #expect(try store._queryInt("SELECT count(*) FROM staging WHERE format=-1 AND length(body)=0") == 1)
            let n = try store.commitStagedList(list, gvr: "v1/pods", namespace: "", selector: "",
                                               listResourceVersion: "12", matchesSelector: nil)
            #expect(n == 4)
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/changed", "a/json", "a/new", "a/same"])
            #expect(bodyString(try store.get(gvr: "v1/pods", namespace: "a", name: "same")) == "same@5")
            #expect(bodyString(try store.get(gvr: "v1/pods", namespace: "a", name: "changed")) == "changed@9")
            #expect(try store.get(gvr: "v1/pods", namespace: "a", name: "json")?.format == .protobuf)
            #expect(bodyString(try store.get(gvr: "v1/pods", namespace: "a", name: "json")) == "pb@8")
            #expect(try stagingRows(store) == 0)
        }
    }

    @Test func commitReplacesTheScope() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "10", objects: [
                obj("a", "keep", rv: "5", body: "keep@5"), obj("a", "stale1", rv: "6"), obj("b", "stale2", rv: "7"),
            ])
            try store.upsert(obj("x", "svc", rv: "8", gvr: "v1/services"), onlyIfNewer: false)

            let list = try store.beginStagedList()
            try store.stage(list, objects: [obj("a", "keep", rv: "15", body: "keep@15"), obj("a", "new1", rv: "16")])
            try store.stage(list, objects: [])
            try store.stage(list, objects: [obj("c", "new2", rv: "17")])
            // nothing is visible before the commit
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/keep", "a/stale1", "b/stale2"])
            #expect(try store.scope(gvr: "v1/pods", namespace: "", selector: "")?.resourceVersion == "10")
            #expect(try stagingRows(store) == 3)

            let n = try store.commitStagedList(list, gvr: "v1/pods", namespace: "", selector: "",
                                               listResourceVersion: "20", matchesSelector: nil)
            #expect(n == 3)
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/keep", "a/new1", "c/new2"])
            #expect(bodyString(try store.get(gvr: "v1/pods", namespace: "a", name: "keep")) == "keep@15")
            #expect(try store.get(gvr: "v1/pods", namespace: "c", name: "new2")?.resourceVersion == "17")
            #expect(names(try store.list(gvr: "v1/services", namespace: "")) == ["x/svc"])
            let scope = try #require(try store.scope(gvr: "v1/pods", namespace: "", selector: ""))
            #expect(scope.resourceVersion == "20" && scope.complete && scope.updatedAt > 1_600_000_000)
            #expect(try stagingRows(store) == 0)

            // a committed list is closed: committing it again (with no rows left) must not empty the scope
            #expect(throws: CacheStoreError.self) {
                try store.commitStagedList(list, gvr: "v1/pods", namespace: "", selector: "",
                                           listResourceVersion: "30", matchesSelector: nil)
            }
            #expect(throws: CacheStoreError.self) { try store.stage(list, objects: [obj("a", "late", rv: "31")]) }
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/keep", "a/new1", "c/new2"])
            #expect(try store.scope(gvr: "v1/pods", namespace: "", selector: "")?.resourceVersion == "20")
        }
    }

    @Test func namespacedCommitOnlyTouchesItsNamespace() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "10", objects: [
                obj("a", "p1", rv: "5"), obj("a", "p2", rv: "6"), obj("b", "p3", rv: "7"),
            ])
            let list = try store.beginStagedList()
            try store.stage(list, objects: [obj("a", "p2", rv: "11")])
            #expect(try store.commitStagedList(list, gvr: "v1/pods", namespace: "a", selector: "",
                                               listResourceVersion: "12", matchesSelector: nil) == 1)
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/p2", "b/p3"])
            #expect(try store.scope(gvr: "v1/pods", namespace: "a", selector: "")?.resourceVersion == "12")
            #expect(try store.scope(gvr: "v1/pods", namespace: "", selector: "")?.resourceVersion == "10")
            // an empty list empties the namespace
            let empty = try store.beginStagedList()
            #expect(try store.commitStagedList(empty, gvr: "v1/pods", namespace: "a", selector: "",
                                               listResourceVersion: "13", matchesSelector: nil) == 0)
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["b/p3"])
        }
    }

    /// A list cut mid-stream is discarded: objects, scope and staging are as before.
    @Test func discardLeavesTheStoreUnchanged() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "10", objects: [
                obj("a", "p1", rv: "5", body: "p1@5"), obj("a", "p2", rv: "6"),
            ])
            let before = try store.stats()
            let list = try store.beginStagedList()
            try store.stage(list, objects: [obj("a", "p1", rv: "15", body: "p1@15"), obj("a", "p9", rv: "16")])
            try store.stage(list, objects: (0..<100).map { obj("b", "q\($0)", rv: "\($0 + 20)") })
            #expect(try stagingRows(store) == 102)
            try store.discardStagedList(list)

            #expect(try stagingRows(store) == 0)
            #expect(try store.stats() == before)
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/p1", "a/p2"])
            #expect(bodyString(try store.get(gvr: "v1/pods", namespace: "a", name: "p1")) == "p1@5")
            #expect(try store.scope(gvr: "v1/pods", namespace: "", selector: "")?.resourceVersion == "10")
            // a discarded list cannot be committed (its staged set is gone: a commit would empty the scope)
            #expect(throws: CacheStoreError.self) {
                try store.commitStagedList(list, gvr: "v1/pods", namespace: "", selector: "",
                                           listResourceVersion: "99", matchesSelector: nil)
            }
            #expect(throws: CacheStoreError.self) {
                try store.commitStagedList(StagedListID(raw: 12345), gvr: "v1/pods", namespace: "", selector: "",
                                           listResourceVersion: "99", matchesSelector: nil)
            }
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/p1", "a/p2"])
            #expect(try store.scope(gvr: "v1/pods", namespace: "", selector: "")?.resourceVersion == "10")
            try store.discardStagedList(list) // discarding twice is harmless
        }
    }

    @Test func interleavedListsDoNotMix() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "10", objects: [
                obj("a", "old", rv: "1"), obj("b", "old", rv: "2"),
            ])
            let a = try store.beginStagedList()
            let b = try store.beginStagedList()
            let cm = try store.beginStagedList()
            #expect(Set([a, b, cm]).count == 3)
            try store.stage(a, objects: [obj("a", "p1", rv: "11")])
            try store.stage(b, objects: [obj("b", "q1", rv: "12")])
            try store.stage(cm, objects: [obj("a", "cm1", rv: "13", gvr: "v1/configmaps")])
            try store.stage(a, objects: [obj("a", "p2", rv: "14")])
            // the same key staged by two lists stays separate
            try store.stage(b, objects: [obj("a", "p1", rv: "15", body: "from b")])

            #expect(try store.commitStagedList(a, gvr: "v1/pods", namespace: "a", selector: "",
                                               listResourceVersion: "20", matchesSelector: nil) == 2)
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/p1", "a/p2", "b/old"])
            #expect(try store.get(gvr: "v1/pods", namespace: "a", name: "p1")?.resourceVersion == "11")
            #expect(try store.list(gvr: "v1/configmaps", namespace: "").isEmpty)
            #expect(try stagingRows(store) == 3) // b's two rows and cm's one

            try store.discardStagedList(b)
            #expect(try stagingRows(store) == 1)
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/p1", "a/p2", "b/old"])
            #expect(try store.commitStagedList(cm, gvr: "v1/configmaps", namespace: "", selector: "",
                                               listResourceVersion: "21", matchesSelector: nil) == 1)
            #expect(names(try store.list(gvr: "v1/configmaps", namespace: "")) == ["a/cm1"])
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/p1", "a/p2", "b/old"])
            #expect(try stagingRows(store) == 0)
        }
    }

    /// A watch event applied while the list streamed wins over the list's older copy.
    @Test func newerStoredRowSurvivesAnOlderListItem() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.upsert(obj("a", "q", rv: "50", body: "q@50"), onlyIfNewer: false)
            let list = try store.beginStagedList()
            try store.stage(list, objects: [
                obj("a", "p", rv: "90", body: "p@90"), obj("a", "q", rv: "95", body: "q@95"),
                obj("a", "r", rv: "97", body: "r@97"),
            ])
            try store.applyBatch([
                .upsert(obj("a", "p", rv: "105", body: "p@105"), onlyIfNewer: true),
                .upsert(obj("a", "r", rv: "97", body: "r@97 from watch"), onlyIfNewer: true),
            ])
            #expect(try store.commitStagedList(list, gvr: "v1/pods", namespace: "a", selector: "",
                                               listResourceVersion: "100", matchesSelector: nil) == 3)
            #expect(bodyString(try store.get(gvr: "v1/pods", namespace: "a", name: "p")) == "p@105")
            #expect(try store.get(gvr: "v1/pods", namespace: "a", name: "p")?.resourceVersion == "105")
            #expect(bodyString(try store.get(gvr: "v1/pods", namespace: "a", name: "q")) == "q@95")
            #expect(bodyString(try store.get(gvr: "v1/pods", namespace: "a", name: "r")) == "r@97 from watch")
        }
    }

    /// An object not in the list survives when it is newer than the list (created by a later watch event).
    @Test func objectNewerThanTheListSurvives() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.applyBatch([
                .upsert(obj("a", "newer", rv: "120"), onlyIfNewer: false),
                .upsert(obj("a", "older", rv: "80"), onlyIfNewer: false),
                .upsert(obj("a", "same", rv: "100"), onlyIfNewer: false),
                .upsert(obj("a", "odd", rv: "not-a-number"), onlyIfNewer: false),
                .upsert(obj("b", "elsewhere", rv: "1"), onlyIfNewer: false),
            ])
            let list = try store.beginStagedList()
            try store.stage(list, objects: [obj("a", "listed", rv: "99")])
            try store.commitStagedList(list, gvr: "v1/pods", namespace: "a", selector: "",
                                       listResourceVersion: "100", matchesSelector: nil)
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/listed", "a/newer", "b/elsewhere"])

            // all namespaces: "newer" is still newer than this list, b/elsewhere is stale
            let all = try store.beginStagedList()
            try store.stage(all, objects: [obj("a", "listed", rv: "99")])
            try store.commitStagedList(all, gvr: "v1/pods", namespace: "", selector: "",
                                       listResourceVersion: "110", matchesSelector: nil)
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/listed", "a/newer"])
        }
    }

    @Test func selectorCommitDeletesOnlyMatchingStaleObjects() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.replaceScope(gvr: "v1/pods", namespace: "a", selector: "", listResourceVersion: "10", objects: [
                obj("a", "web-1", rv: "5", labels: [("app", "web")]),
                obj("a", "web-2", rv: "6", labels: [("app", "web")]),
                obj("a", "db-1", rv: "7", labels: [("app", "db")]),
                obj("a", "web-new", rv: "200", labels: [("app", "web")]),
            ])
            try store.upsert(obj("b", "web-b", rv: "8", labels: [("app", "web")]), onlyIfNewer: false)

            let list = try store.beginStagedList()
            try store.stage(list, objects: [obj("a", "web-2", rv: "60", labels: [("app", "web")])])
            var asked: [String] = []
            let n = try store.commitStagedList(list, gvr: "v1/pods", namespace: "a", selector: "app=web",
                                               listResourceVersion: "100") { o in
                asked.append(o.name)
                #expect(o.gvr == "v1/pods" && o.namespace == "a" && !o.body.isEmpty)
                return hasLabel(o, "app", "web")
            }
            #expect(n == 1)
            // only candidates are asked: not the staged web-2, not web-new (newer than the list), not namespace b
            #expect(asked.sorted() == ["db-1", "web-1"])
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/db-1", "a/web-2", "a/web-new", "b/web-b"])
            #expect(try store.get(gvr: "v1/pods", namespace: "a", name: "web-2")?.resourceVersion == "60")
            #expect(try store.scope(gvr: "v1/pods", namespace: "a", selector: "app=web")?.resourceVersion == "100")
            #expect(try store.scope(gvr: "v1/pods", namespace: "a", selector: "")?.resourceVersion == "10")

            // without a predicate a selector commit deletes nothing, it only upserts
            let db = try store.beginStagedList()
            try store.stage(db, objects: [obj("a", "db-2", rv: "101", labels: [("app", "db")])])
            try store.commitStagedList(db, gvr: "v1/pods", namespace: "", selector: "app=db",
                                       listResourceVersion: "150", matchesSelector: nil)
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) ==
                    ["a/db-1", "a/db-2", "a/web-2", "a/web-new", "b/web-b"])
            #expect(try store.scope(gvr: "v1/pods", namespace: "", selector: "app=db")?.complete == true)

            // without a selector the predicate is ignored: every stale object goes
            let full = try store.beginStagedList()
            try store.stage(full, objects: [obj("a", "web-2", rv: "60", labels: [("app", "web")])])
            try store.commitStagedList(full, gvr: "v1/pods", namespace: "a", selector: "",
                                       listResourceVersion: "300") { _ in false }
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/web-2", "b/web-b"])
        }
    }

    /// Rows staged by a process that never committed (crash, kill) are gone after the next open.
    @Test func leftoverStagingRowsAreClearedOnOpen() throws {
        try withTempDir { dir in
            let live = dir + "/live", image = dir + "/image"
            let store = try CacheStore(directory: live)
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "10",
                                   objects: [obj("a", "p1", rv: "1")])
            let list = try store.beginStagedList()
            try store.stage(list, objects: (0..<20).map { obj("a", "s\($0)", rv: "\($0 + 20)") })
            #expect(try stagingRows(store) == 20)

            // what kill -9 leaves on disk, opened by the next process
            _ = mkdir(image, 0o755)
            copyCrashImage(from: live, to: image)
            let recovered = try CacheStore(directory: image)
            #expect(try stagingRows(recovered) == 0)
            #expect(names(try recovered.list(gvr: "v1/pods", namespace: "")) == ["a/p1"])

            // the same directory reopened: a new list there does not pick up the old rows
            let reopened = try CacheStore(directory: live)
            #expect(try stagingRows(reopened) == 0)
            let fresh = try reopened.beginStagedList()
            try reopened.stage(fresh, objects: [obj("a", "p1", rv: "30")])
            #expect(try reopened.commitStagedList(fresh, gvr: "v1/pods", namespace: "", selector: "",
                                                  listResourceVersion: "31", matchesSelector: nil) == 1)
            #expect(names(try reopened.list(gvr: "v1/pods", namespace: "")) == ["a/p1"])
            _ = store
        }
    }

    /// A full disk while staging or committing surfaces as `isDiskFull`; nothing changes and the list stays open.
    @Test func fullDiskWhileStagingOrCommitting() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "10",
                                   objects: [obj("a", "p1", rv: "1"), obj("a", "p2", rv: "2")])
            let big = String(repeating: "z", count: 3000)
            let chunk = (0..<200).map { obj("b", "q\($0)", rv: "\($0 + 20)", body: big) }

            try store._exec("PRAGMA max_page_count=1")
            let list = try store.beginStagedList()
            do {
                try store.stage(list, objects: chunk)
                Issue.record("expected SQLITE_FULL while staging")
            } catch let e as CacheStoreError {
                #expect(e.isDiskFull && !e.isIOError && !e.isCorrupt)
            }
            #expect(try stagingRows(store) == 0)
            try store.discardStagedList(list)

            // staged fine, then the disk fills before the commit copies the rows into objects
            try store._exec("PRAGMA max_page_count=1073741823")
            let second = try store.beginStagedList()
            try store.stage(second, objects: chunk)
            try store._exec("PRAGMA max_page_count=1")
            do {
                try store.commitStagedList(second, gvr: "v1/pods", namespace: "", selector: "",
                                           listResourceVersion: "300", matchesSelector: nil)
                Issue.record("expected SQLITE_FULL while committing")
            } catch let e as CacheStoreError {
                #expect(e.isDiskFull)
            }
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/p1", "a/p2"])
            #expect(try store.scope(gvr: "v1/pods", namespace: "", selector: "")?.resourceVersion == "10")
            #expect(try stagingRows(store) == 200)
            // once there is room the same list commits
            try store._exec("PRAGMA max_page_count=1073741823")
            #expect(try store.commitStagedList(second, gvr: "v1/pods", namespace: "", selector: "",
                                               listResourceVersion: "300", matchesSelector: nil) == 200)
            #expect(try store.stats().objects == 200)
            #expect(try store.list(gvr: "v1/pods", namespace: "a").isEmpty)
            try store._exec("PRAGMA integrity_check")
        }
    }

    /// A callback running under the store's lock that calls the store gets an error instead of a deadlock or trap.
    @Test func reentrantCallsFromCallbacksThrow() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.replaceScope(gvr: "v1/pods", namespace: "a", selector: "", listResourceVersion: "10", objects: [
                obj("a", "p1", rv: "1", labels: [("app", "web")]), obj("a", "p2", rv: "2", labels: [("app", "web")]),
            ])
            do {
                try store.forEach(gvr: "v1/pods", namespace: "a", after: nil) { o in
                    _ = try store.get(gvr: "v1/pods", namespace: "a", name: o.name)
                    return true
                }
                Issue.record("expected the reentrant get to throw")
            } catch let e as CacheStoreError {
                #expect(e.description.contains("reentrant"))
            }
            var inner: (any Error)? = nil
            let list = try store.beginStagedList()
            try store.commitStagedList(list, gvr: "v1/pods", namespace: "a", selector: "app=web",
                                       listResourceVersion: "20") { o in
                do { _ = try store.stats() } catch { inner = error }
                return o.name == "p1"
            }
            #expect((inner as? CacheStoreError)?.description.contains("reentrant") == true)
            // the store is fine afterwards, and calls from other threads were never affected
            #expect(names(try store.list(gvr: "v1/pods", namespace: "a")) == ["a/p2"])
        }
    }

    /// A 20 000-object list streamed in chunks of 500, then re-listed with a quarter gone.
    @Test func streamedListOf20kObjects() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            let body = String(repeating: "s", count: 1024)
            func chunk(_ start: Int, _ rv: Int) -> [StoredObject] {
                (start..<(start + 500)).map { obj("ns\($0 % 40)", "pod-\($0)", rv: "\(rv)", body: body) }
            }
            let clock = ContinuousClock()
            let first = try store.beginStagedList()
            let staging = try clock.measure {
                for start in stride(from: 0, to: 20_000, by: 500) { try store.stage(first, objects: chunk(start, 1000)) }
            }
            var n = 0
            let commit = try clock.measure {
                n = try store.commitStagedList(first, gvr: "v1/pods", namespace: "", selector: "",
                                               listResourceVersion: "1000", matchesSelector: nil)
            }
            #expect(n == 20_000)
            #expect(try store.stats() == CacheStats(objects: 20_000, bodyBytes: 20_000 * 1024, scopes: 1))

            let second = try store.beginStagedList()
            for start in stride(from: 5000, to: 20_000, by: 500) { try store.stage(second, objects: chunk(start, 2000)) }
            let recommit = try clock.measure {
                n = try store.commitStagedList(second, gvr: "v1/pods", namespace: "", selector: "",
                                               listResourceVersion: "2000", matchesSelector: nil)
            }
            print("PERF staged list 20k x 1KB: stage \(staging), commit \(commit), re-commit 15k \(recommit)")
            #expect(n == 15_000)
            #expect(try store.stats().objects == 15_000)
            #expect(try store.get(gvr: "v1/pods", namespace: "ns0", name: "pod-0") == nil)
            #expect(try store.get(gvr: "v1/pods", namespace: "ns0", name: "pod-5000")?.resourceVersion == "2000")
            #expect(try stagingRows(store) == 0)
            #expect(commit < .seconds(20))
        }
    }
}

@Suite struct PrefilterTests {
    /// The SQL prefilter only narrows: every row carrying the pairs is walked, whatever the
    /// neighbouring keys and values look like (`app` vs `xapp`, colons and digits in values).
    @Test func prefilterKeepsEveryRowWithThePairs() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            let rows = [
                obj("a", "web", rv: "1", labels: [("app", "web")]),
                obj("a", "xweb", rv: "2", labels: [("xapp", "web")]),
                obj("a", "webby", rv: "3", labels: [("app", "webby")]),
                obj("a", "colon", rv: "4", labels: [("app", "3:app3:web"), ("tier", "web")]),
                obj("a", "both", rv: "5", labels: [("a", "1"), ("app", "web"), ("z", "9")]),
            ]
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "9", objects: rows)
            func walk(_ p: RowPrefilter) throws -> [String] {
                var out: [String] = []
                try store.forEach(gvr: "v1/pods", namespace: "", after: nil, prefilter: p) { out.append($0.name); return true }
                return out
            }
            // "colon" passes too (its value contains the encoded pair): allowed, the selector rejects it.
            #expect(try walk(RowPrefilter(labels: [("app", "web")])) == ["both", "colon", "web"])
            #expect(try walk(RowPrefilter(labels: [("app", "web"), ("z", "9")])) == ["both"])
            #expect(try walk(RowPrefilter(fields: [("metadata.name", "colon")])) == ["colon"])
            #expect(try walk(RowPrefilter(labels: [("tier", "web")], fields: [("metadata.namespace", "a")])) == ["colon"])
            #expect(try walk(.none).count == 5)
            var paged: [String] = []
            try store.forEach(gvr: "v1/pods", namespace: "a", after: ("a", "both"), prefilter: RowPrefilter(labels: [("app", "web")])) {
                paged.append($0.name); return true
            }
            #expect(paged == ["colon", "web"])
        }
    }
}
