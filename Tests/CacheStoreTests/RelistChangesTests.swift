import Testing
@testable import CacheStore

@Suite struct RelistChangesTests {
    /// The difference a relist makes is exactly what its commit does: new objects added,
    /// changed ones modified (new bodies), vanished ones deleted (their last stored bodies);
    /// unchanged objects, objects a watch made newer meanwhile, and objects newer than the list
    /// are no change.
    @Test func theDifferenceIsWhatTheCommitDoes() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "10", objects: [
                obj("a", "same", rv: "5", body: "same@5"), obj("a", "changed", rv: "6", body: "changed@6"),
                obj("a", "gone", rv: "7", body: "gone@7"), obj("a", "watched", rv: "8", body: "watched@8"),
            ])
            // A watch event newer than the list arrived meanwhile: the list's copy is older.
            try store.upsert(obj("a", "watched", rv: "30", body: "watched@30"), onlyIfNewer: true)
            // Created after the list's snapshot: the commit keeps it, so it is no deletion.
            try store.upsert(obj("a", "late", rv: "25", body: "late@25"), onlyIfNewer: true)
            let list = try store.beginStagedList()
            try store.stage(list, objects: [obj("a", "same", rv: "5", body: "same@5"), obj("a", "changed", rv: "12", body: "changed@12"),
                                            obj("a", "new", rv: "15", body: "new@15"), obj("a", "watched", rv: "18", body: "watched@18")])
            let changes = try store.relistChanges(list, gvr: "v1/pods", namespace: "", selector: "",
                                                  listResourceVersion: "20", matchesSelector: nil)
            #expect(names(changes.added) == ["a/new"])
            #expect(names(changes.modified) == ["a/changed"])
            #expect(bodyString(changes.modified.first) == "changed@12")
            #expect(names(changes.deleted) == ["a/gone"])
            #expect(bodyString(changes.deleted.first) == "gone@7")
            try store.commitStagedList(list, gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "20", matchesSelector: nil)
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/changed", "a/late", "a/new", "a/same", "a/watched"])
            #expect(bodyString(try store.get(gvr: "v1/pods", namespace: "a", name: "watched")) == "watched@30")
        }
    }

    /// A selector scope deletes only objects its selector matches; other objects of the
    /// collection are none of its business.
    @Test func aSelectorScopeDiffsOnlyWhatItSelects() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            var mine = obj("a", "mine", rv: "5")
            mine.labels = [("app", "x")]
            var other = obj("a", "other", rv: "6")
            other.labels = [("app", "y")]
            try store.upsert(mine, onlyIfNewer: false)
            try store.upsert(other, onlyIfNewer: false)
            let list = try store.beginStagedList()
            try store.stage(list, objects: [])
            let changes = try store.relistChanges(list, gvr: "v1/pods", namespace: "", selector: "l:app=x", listResourceVersion: "20",
                                                  matchesSelector: { o in o.labels.contains { $0 == ("app", "x") } })
            #expect(names(changes.deleted) == ["a/mine"])
            #expect(changes.added.isEmpty && changes.modified.isEmpty)
        }
    }
}
