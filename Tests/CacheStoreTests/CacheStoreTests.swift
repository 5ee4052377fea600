import Testing
@testable import CacheStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct PairCodecTests {
    @Test func roundTripsOddCharacters() throws {
        let pairs: [(String, String)] = [
            ("app", "nginx"), ("", ""), ("a:b", "1:2"), ("12", "34:"), ("sep\u{1F}x\u{1E}", "\u{1E}\u{1F}"),
            ("nul\u{0}in", "v\u{0}"), ("ünï", "🚀 rocket"), ("line\nbreak", "tab\t"), ("k", String(repeating: "x", count: 1000)),
        ]
        let encoded = PairCodec.encode(pairs)
        let decoded = try #require(PairCodec.decode(encoded))
        #expect(pairsEqual(decoded, pairs))
        #expect(PairCodec.encode([]) == "")
        #expect(PairCodec.decode("")?.isEmpty == true)
        #expect(PairCodec.encode([("app", "web")]) == "3:app3:web")
    }

    @Test func rejectsInvalidEncodings() {
        #expect(PairCodec.decode("x") == nil)
        #expect(PairCodec.decode("5:ab") == nil)          // too short
        #expect(PairCodec.decode("3:abc") == nil)         // key without value
        #expect(PairCodec.decode("3abc1:x") == nil)       // missing colon
        #expect(PairCodec.decode("99999999999:a") == nil) // absurd length
    }

    @Test func oddLabelsSurviveTheStore() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            let labels: [(String, String)] = [("a\u{1F}b", "c\u{1E}d"), ("ü", "🚀"), ("x", "")]
            var o = obj("ns", "p", rv: "1", labels: labels)
            o.fields = [("spec.nodeName", "node:1"), ("status.phase", "Running")]
            o.format = .protobuf
            o.body = [0x6b, 0x38, 0x73, 0x00, 0xff, 0x00]
            try store.upsert(o, onlyIfNewer: false)
            let back = try #require(try store.get(gvr: "v1/pods", namespace: "ns", name: "p"))
            #expect(pairsEqual(back.labels, labels))
            #expect(pairsEqual(back.fields, o.fields))
            #expect(back.format == .protobuf)
            #expect(back.body == [0x6b, 0x38, 0x73, 0x00, 0xff, 0x00])
            #expect(back.resourceVersion == "1")
        }
    }
}

@Suite struct ScopeTests {
    @Test func fullScopeForAllNamespacesDeletesMissingObjects() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "10", objects: [
                obj("a", "p1", rv: "5"), obj("a", "p2", rv: "6"), obj("b", "p3", rv: "7"),
            ])
            try store.upsert(obj("x", "svc", rv: "8", gvr: "v1/services"), onlyIfNewer: false)
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "20", objects: [
                obj("a", "p1", rv: "15", body: "new p1"), obj("c", "p4", rv: "18"),
            ])
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/p1", "c/p4"])
            #expect(bodyString(try store.get(gvr: "v1/pods", namespace: "a", name: "p1")) == "new p1")
            #expect(try store.get(gvr: "v1/pods", namespace: "a", name: "p1")?.resourceVersion == "15")
            // other resources untouched
            #expect(names(try store.list(gvr: "v1/services", namespace: "")) == ["x/svc"])
            let scope = try #require(try store.scope(gvr: "v1/pods", namespace: "", selector: ""))
            #expect(scope.resourceVersion == "20")
            #expect(scope.complete)
            #expect(scope.updatedAt > 1_600_000_000)
        }
    }

    @Test func fullNamespacedScopeOnlyDeletesInItsNamespace() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "10", objects: [
                obj("a", "p1", rv: "5"), obj("a", "p2", rv: "6"), obj("b", "p3", rv: "7"),
            ])
            try store.replaceScope(gvr: "v1/pods", namespace: "a", selector: "", listResourceVersion: "12", objects: [
                obj("a", "p2", rv: "11"),
            ])
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/p2", "b/p3"])
            #expect(try store.scope(gvr: "v1/pods", namespace: "a", selector: "")?.resourceVersion == "12")
            #expect(try store.scope(gvr: "v1/pods", namespace: "", selector: "")?.resourceVersion == "10")
            // an empty full list empties the namespace
            try store.replaceScope(gvr: "v1/pods", namespace: "a", selector: "", listResourceVersion: "13", objects: [])
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["b/p3"])
        }
    }

    @Test func selectorScopeOnlyUpserts() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.replaceScope(gvr: "v1/pods", namespace: "a", selector: "", listResourceVersion: "10", objects: [
                obj("a", "web-1", rv: "5", labels: [("app", "web")]), obj("a", "db-1", rv: "6", labels: [("app", "db")]),
            ])
            try store.replaceScope(gvr: "v1/pods", namespace: "a", selector: "app=web", listResourceVersion: "15", objects: [
                obj("a", "web-2", rv: "14", labels: [("app", "web")]),
            ])
            // web-1 is not in the selector list but must not be deleted (only a full list may delete); db-1 neither
            #expect(names(try store.list(gvr: "v1/pods", namespace: "a")) == ["a/db-1", "a/web-1", "a/web-2"])
            let s = try #require(try store.scope(gvr: "v1/pods", namespace: "a", selector: "app=web"))
            #expect(s == ScopeInfo(gvr: "v1/pods", namespace: "a", selector: "app=web", resourceVersion: "15",
                                   complete: true, updatedAt: s.updatedAt))
            #expect(try store.scope(gvr: "v1/pods", namespace: "a", selector: "app=db") == nil)
        }
    }

    @Test func completeScopeCoverage() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            #expect(try store.hasAnyCompleteScope(gvr: "v1/pods", namespace: "a") == false)
            try store.replaceScope(gvr: "v1/pods", namespace: "a", selector: "app=web", listResourceVersion: "5", objects: [])
            #expect(try store.hasAnyCompleteScope(gvr: "v1/pods", namespace: "a"))
            #expect(try store.hasAnyCompleteScope(gvr: "v1/pods", namespace: "b") == false)
            #expect(try store.hasAnyCompleteScope(gvr: "v1/pods", namespace: "") == false)
            #expect(try store.coveringScope(gvr: "v1/pods", namespace: "a", selector: "app=web")?.selector == "app=web")
            #expect(try store.coveringScope(gvr: "v1/pods", namespace: "a", selector: "app=db") == nil)
            #expect(try store.coveringScope(gvr: "v1/pods", namespace: "a", selector: "") == nil)

            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "9", objects: [])
            #expect(try store.hasAnyCompleteScope(gvr: "v1/pods", namespace: "b"))
            #expect(try store.hasAnyCompleteScope(gvr: "v1/pods", namespace: ""))
            #expect(try store.hasAnyCompleteScope(gvr: "v1/services", namespace: "") == false)
            // exact namespace+selector preferred, then the all-namespace full list
            #expect(try store.coveringScope(gvr: "v1/pods", namespace: "a", selector: "app=web")?.resourceVersion == "5")
            let all = try #require(try store.coveringScope(gvr: "v1/pods", namespace: "b", selector: "app=db"))
            #expect(all.namespace == "" && all.selector == "" && all.resourceVersion == "9")
        }
    }
}

@Suite struct WriteTests {
    @Test func onlyIfNewerComparesNumerically() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            let g = { try store.get(gvr: "v1/pods", namespace: "a", name: "p") }
            #expect(try store.upsert(obj("a", "p", rv: "10", body: "v10"), onlyIfNewer: true))
            #expect(try store.upsert(obj("a", "p", rv: "9", body: "v9"), onlyIfNewer: true) == false)
            #expect(try store.upsert(obj("a", "p", rv: "10", body: "v10b"), onlyIfNewer: true) == false)
            #expect(bodyString(try g()) == "v10")
            // "9" < "10" numerically even though "9" > "10" as text; and 100 > 99 although shorter-looking compare fails
            #expect(try store.upsert(obj("a", "p", rv: "100", body: "v100"), onlyIfNewer: true))
            #expect(bodyString(try g()) == "v100")
            #expect(try store.upsert(obj("a", "p", rv: "99", body: "v99"), onlyIfNewer: true) == false)
            // non-numeric versions always replace
            #expect(try store.upsert(obj("a", "p", rv: "abc", body: "vabc"), onlyIfNewer: true))
            #expect(try g()?.resourceVersion == "abc")
            #expect(try store.upsert(obj("a", "p", rv: "5", body: "v5"), onlyIfNewer: true))
            #expect(try g()?.resourceVersion == "5")
            // without onlyIfNewer an older version replaces
            #expect(try store.upsert(obj("a", "p", rv: "1", body: "v1"), onlyIfNewer: false))
            #expect(bodyString(try g()) == "v1")
            // beyond Int64 but valid UInt64: always replaces (stored without numeric rv)
            #expect(try store.upsert(obj("a", "p", rv: "18446744073709551615", body: "max"), onlyIfNewer: true))
            #expect(try store.upsert(obj("a", "p", rv: "2", body: "v2"), onlyIfNewer: true))
            #expect(bodyString(try g()) == "v2")
        }
    }

    @Test func deletes() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.upsert(obj("a", "p1", rv: "1"), onlyIfNewer: false)
            try store.upsert(obj("a", "p2", rv: "2"), onlyIfNewer: false)
            #expect(try store.delete(gvr: "v1/pods", namespace: "a", name: "p1"))
            #expect(try store.delete(gvr: "v1/pods", namespace: "a", name: "p1") == false)
            #expect(try store.delete(gvr: "v1/pods", namespace: "b", name: "p2") == false)
            #expect(try store.get(gvr: "v1/pods", namespace: "a", name: "p1") == nil)
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/p2"])
        }
    }

    @Test func batchesApplyInOrderAndAtomically() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "10", objects: [
                obj("a", "p1", rv: "5"), obj("a", "p2", rv: "6"),
            ])
            try store.applyBatch([
                .upsert(obj("a", "p3", rv: "11"), onlyIfNewer: true),
                .upsert(obj("a", "p1", rv: "12", body: "p1@12"), onlyIfNewer: true),
                .upsert(obj("a", "p1", rv: "4", body: "stale"), onlyIfNewer: true),
                .delete(gvr: "v1/pods", namespace: "a", name: "p2"),
                .upsert(obj("a", "p2", rv: "13", body: "p2 again"), onlyIfNewer: true),
                .delete(gvr: "v1/pods", namespace: "a", name: "p3"),
                .bumpScope(gvr: "v1/pods", namespace: "", selector: "", resourceVersion: "14"),
            ])
            #expect(names(try store.list(gvr: "v1/pods", namespace: "a")) == ["a/p1", "a/p2"])
            #expect(bodyString(try store.get(gvr: "v1/pods", namespace: "a", name: "p1")) == "p1@12")
            #expect(bodyString(try store.get(gvr: "v1/pods", namespace: "a", name: "p2")) == "p2 again")
            #expect(try store.scope(gvr: "v1/pods", namespace: "", selector: "")?.resourceVersion == "14")

            // a failing op (empty name violates a CHECK) rolls back the whole batch
            #expect(throws: CacheStoreError.self) {
                try store.applyBatch([
                    .delete(gvr: "v1/pods", namespace: "a", name: "p1"),
                    .upsert(obj("a", "p9", rv: "20"), onlyIfNewer: false),
                    .upsert(obj("a", "", rv: "21"), onlyIfNewer: false),
                    .bumpScope(gvr: "v1/pods", namespace: "", selector: "", resourceVersion: "22"),
                ])
            }
            #expect(names(try store.list(gvr: "v1/pods", namespace: "a")) == ["a/p1", "a/p2"])
            #expect(try store.scope(gvr: "v1/pods", namespace: "", selector: "")?.resourceVersion == "14")
            try store.applyBatch([])
        }
    }

    @Test func bookmarksBumpExactlyOneScopeMonotonically() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.replaceScope(gvr: "v1/pods", namespace: "a", selector: "", listResourceVersion: "100", objects: [obj("a", "p", rv: "90")])
            try store.replaceScope(gvr: "v1/pods", namespace: "a", selector: "app=x", listResourceVersion: "110", objects: [])
            try store.replaceScope(gvr: "v1/pods", namespace: "b", selector: "", listResourceVersion: "100", objects: [])
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "100", objects: [])
            // only (v1/pods, a, "") moves: not the selector scope, not namespace b, not the all-namespace scope
            #expect(try store.bumpScope(gvr: "v1/pods", namespace: "a", selector: "", resourceVersion: "105"))
            #expect(try store.scope(gvr: "v1/pods", namespace: "a", selector: "")?.resourceVersion == "105")
            #expect(try store.scope(gvr: "v1/pods", namespace: "a", selector: "app=x")?.resourceVersion == "110")
            #expect(try store.scope(gvr: "v1/pods", namespace: "b", selector: "")?.resourceVersion == "100")
            #expect(try store.scope(gvr: "v1/pods", namespace: "", selector: "")?.resourceVersion == "100")
            // the selector scope by its exact selector string; older or equal bookmarks change nothing
            #expect(try store.bumpScope(gvr: "v1/pods", namespace: "a", selector: "app=x", resourceVersion: "150"))
            #expect(try store.bumpScope(gvr: "v1/pods", namespace: "a", selector: "app=x", resourceVersion: "120") == false)
            #expect(try store.bumpScope(gvr: "v1/pods", namespace: "a", selector: "app=x", resourceVersion: "150") == false)
            #expect(try store.scope(gvr: "v1/pods", namespace: "a", selector: "app=x")?.resourceVersion == "150")
            #expect(try store.scope(gvr: "v1/pods", namespace: "a", selector: "")?.resourceVersion == "105")
            // a selector that differs textually is another scope; unknown scopes are not created
            #expect(try store.bumpScope(gvr: "v1/pods", namespace: "a", selector: "app = x", resourceVersion: "999") == false)
            #expect(try store.bumpScope(gvr: "v1/pods", namespace: "zzz", selector: "", resourceVersion: "999") == false)
            #expect(try store.scope(gvr: "v1/pods", namespace: "zzz", selector: "") == nil)
            #expect(try store.scopes(gvr: "v1/pods").count == 4)
            #expect(try store.maxResourceVersion(gvr: "v1/pods") == "150")
            // the batch form is exact too
            try store.applyBatch([.bumpScope(gvr: "v1/pods", namespace: "b", selector: "", resourceVersion: "160")])
            #expect(try store.scope(gvr: "v1/pods", namespace: "b", selector: "")?.resourceVersion == "160")
            #expect(try store.scope(gvr: "v1/pods", namespace: "a", selector: "")?.resourceVersion == "105")
        }
    }

    @Test func maxResourceVersionUsesObjectsAndScopes() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            #expect(try store.maxResourceVersion(gvr: "v1/pods") == nil)
            try store.upsert(obj("a", "p1", rv: "9"), onlyIfNewer: false)
            try store.upsert(obj("a", "p2", rv: "10"), onlyIfNewer: false)
            try store.upsert(obj("a", "p3", rv: "weird"), onlyIfNewer: false)
            try store.upsert(obj("a", "s", rv: "500", gvr: "v1/services"), onlyIfNewer: false)
            #expect(try store.maxResourceVersion(gvr: "v1/pods") == "10")
            try store.replaceScope(gvr: "v1/pods", namespace: "a", selector: "app=x", listResourceVersion: "42", objects: [])
            #expect(try store.maxResourceVersion(gvr: "v1/pods") == "42")
            try store.upsert(obj("b", "p", rv: "43"), onlyIfNewer: false)
            #expect(try store.maxResourceVersion(gvr: "v1/pods") == "43")
            #expect(try store.maxResourceVersion(gvr: "v1/services") == "500")
        }
    }

    @Test func metaDocuments() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            #expect(try store.meta(key: "/api") == nil)
            try store.putMeta(key: "/api", value: Array("{\"versions\":[\"v1\"]}".utf8))
            try store.putMeta(key: "/apis", value: [0, 1, 2, 0, 255])
            try store.putMeta(key: "empty", value: [])
            #expect(try store.meta(key: "/api") == Array("{\"versions\":[\"v1\"]}".utf8))
            #expect(try store.meta(key: "/apis") == [0, 1, 2, 0, 255])
            #expect(try store.meta(key: "empty") == [])
            try store.putMeta(key: "/api", value: Array("v2".utf8))
            #expect(try store.meta(key: "/api") == Array("v2".utf8))
        }
    }

    @Test func statsCountObjectsAndBodyBytes() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            #expect(try store.stats() == CacheStats(objects: 0, bodyBytes: 0, scopes: 0))
            try store.upsert(obj("a", "p1", rv: "1", body: "12345"), onlyIfNewer: false)
            try store.upsert(obj("a", "p2", rv: "1", body: "123"), onlyIfNewer: false)
            #expect(try store.stats() == CacheStats(objects: 2, bodyBytes: 8, scopes: 0))
            try store.replaceScope(gvr: "v1/pods", namespace: "b", selector: "", listResourceVersion: "5",
                                   objects: [obj("b", "p3", rv: "4", body: "1234567")])
            try store.replaceScope(gvr: "v1/pods", namespace: "b", selector: "app=x", listResourceVersion: "5", objects: [])
            #expect(try store.stats() == CacheStats(objects: 3, bodyBytes: 15, scopes: 2))
            // staged rows are not cached objects until the commit
            let list = try store.beginStagedList()
            try store.stage(list, objects: [obj("c", "p4", rv: "6", body: "12")])
            #expect(try store.stats().objects == 3)
            try store.commitStagedList(list, gvr: "v1/pods", namespace: "c", selector: "", listResourceVersion: "6",
                                       matchesSelector: nil)
            #expect(try store.stats() == CacheStats(objects: 4, bodyBytes: 17, scopes: 3))
        }
    }

    @Test func concurrentWritersAndReaders() async throws {
        try await withTempDirAsync { dir in
            let store = try CacheStore(directory: dir)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for t in 0..<4 {
                    group.addTask {
                        for i in 0..<100 {
                            try store.upsert(obj("ns\(t)", "p\(i)", rv: "\(i + 1)"), onlyIfNewer: true)
                            _ = try store.list(gvr: "v1/pods", namespace: "ns\(t)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try store.stats().objects == 400)
        }
    }
}

func withTempDirAsync(_ body: (String) async throws -> Void) async throws {
    var template = Array("/tmp/cachestore-test-XXXXXX".utf8CString)
    let dir = template.withUnsafeMutableBufferPointer { buf in String(cString: mkdtemp(buf.baseAddress!)!) }
    defer { removeTree(dir) }
    try await body(dir)
}

@Suite struct ReadTests {
    @Test func listIsOrderedByNamespaceThenName() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            let keys = [("b", "x"), ("a", "z"), ("a-b", "a"), ("a", "a10"), ("a", "a2"), ("", "cluster"), ("a", "B")]
            for (i, (ns, n)) in keys.enumerated() { try store.upsert(obj(ns, n, rv: "\(i + 1)"), onlyIfNewer: false) }
            try store.upsert(obj("a", "other-resource", rv: "1", gvr: "apps/v1/deployments"), onlyIfNewer: false)
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) ==
                    ["/cluster", "a/B", "a/a10", "a/a2", "a/z", "a-b/a", "b/x"])
            #expect(names(try store.list(gvr: "v1/pods", namespace: "a")) == ["a/B", "a/a10", "a/a2", "a/z"])
            #expect(try store.list(gvr: "v1/pods", namespace: "nope").isEmpty)
            #expect(names(try store.list(gvr: "apps/v1/deployments", namespace: "")) == ["a/other-resource"])
        }
    }

    @Test func paginationWithForEachAfter() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            var objects: [StoredObject] = []
            for ns in ["n1", "n2", "n3"] { for i in 0..<7 { objects.append(obj(ns, "p\(i)", rv: "\(i + 1)")) } }
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "50", objects: objects.reversed())
            let all = names(try store.list(gvr: "v1/pods", namespace: ""))
            #expect(all.count == 21)

            for (namespace, expected) in [("", all), ("n2", all.filter { $0.hasPrefix("n2/") })] {
                var pages: [[String]] = []
                var cursor: (namespace: String, name: String)? = nil
                while true {
                    var page: [StoredObject] = []
                    try store.forEach(gvr: "v1/pods", namespace: namespace, after: cursor) { o in
                        page.append(o)
                        return page.count < 5
                    }
                    if page.isEmpty { break }
                    pages.append(names(page))
                    cursor = (page.last!.namespace, page.last!.name)
                }
                #expect(pages.flatMap { $0 } == expected)
                #expect(pages.dropLast().allSatisfy { $0.count == 5 })
            }
            var afterN1: [String] = []
            try store.forEach(gvr: "v1/pods", namespace: "", after: ("n1", "p6")) { afterN1.append("\($0.namespace)/\($0.name)"); return afterN1.count < 2 }
            #expect(afterN1 == ["n2/p0", "n2/p1"])
            // a namespaced walk with a cursor from another namespace: all of it, or none of it
            var n2: [String] = []
            try store.forEach(gvr: "v1/pods", namespace: "n2", after: ("n1", "zzz")) { n2.append($0.name); return true }
            #expect(n2 == (0..<7).map { "p\($0)" })
            var none: [String] = []
            try store.forEach(gvr: "v1/pods", namespace: "n2", after: ("n3", "")) { none.append($0.name); return true }
            #expect(none.isEmpty)
            // errors thrown by the body propagate and leave the store usable
            #expect(throws: InjectedFailure.self) {
                try store.forEach(gvr: "v1/pods", namespace: "", after: nil) { _ in throw InjectedFailure() }
            }
            #expect(try store.list(gvr: "v1/pods", namespace: "n3").count == 7)
        }
    }
}

@Suite struct DurabilityTests {
    @Test func reopenShowsCommittedData() throws {
        try withTempDir { dir in
            let sub = dir + "/nested/state"
            do {
                let store = try CacheStore(directory: sub)
                try store.replaceScope(gvr: "v1/pods", namespace: "a", selector: "", listResourceVersion: "7", objects: [obj("a", "p", rv: "6")])
                try store.putMeta(key: "/api", value: [1, 2, 3])
                try store.applyBatch([.upsert(obj("a", "q", rv: "8"), onlyIfNewer: true)])
                #expect(store.path == sub + "/cache.db")
                #expect(store.recoveredCorruptFile == nil)
            }
            #expect(fileExists(sub + "/cache.db"))
            let store = try CacheStore(directory: sub)
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/p", "a/q"])
            #expect(try store.scope(gvr: "v1/pods", namespace: "a", selector: "")?.resourceVersion == "7")
            #expect(try store.meta(key: "/api") == [1, 2, 3])
            #expect(store.recoveredCorruptFile == nil)
        }
    }

    /// What a kill -9 leaves on disk is the db file plus the WAL as the kernel has them: copy them while the writer
    /// is still open (no close, no checkpoint) and open the copy.
    @Test func crashImageWhileOpenShowsCommittedData() throws {
        try withTempDir { dir in
            let live = dir + "/live", image = dir + "/image"
            let store = try CacheStore(directory: live)
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "10",
                                   objects: (0..<50).map { obj("a", "p\($0)", rv: "\($0 + 1)") })
            try store.applyBatch([.delete(gvr: "v1/pods", namespace: "a", name: "p0"), .bumpScope(gvr: "v1/pods", namespace: "", selector: "", resourceVersion: "11")])
            #expect(fileSize(live + "/cache.db-wal") > 0)
            _ = mkdir(image, 0o755)
            copyCrashImage(from: live, to: image)
            let recovered = try CacheStore(directory: image)
            #expect(try recovered.stats().objects == 49)
            #expect(try recovered.get(gvr: "v1/pods", namespace: "a", name: "p0") == nil)
            #expect(try recovered.scope(gvr: "v1/pods", namespace: "", selector: "")?.resourceVersion == "11")
            _ = store
        }
    }

    /// A crash in the middle of a large replaceScope (uncommitted pages already spilled into the WAL) shows the
    /// previous contents, and so does the live store after the transaction fails.
    @Test func crashOrFailureMidReplaceKeepsPreviousScope() throws {
        try withTempDir { dir in
            let live = dir + "/live", image = dir + "/image"
            _ = mkdir(image, 0o755)
            let store = try CacheStore(directory: live)
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "10",
                                   objects: [obj("a", "old1", rv: "1"), obj("a", "old2", rv: "2")])
            let big = String(repeating: "x", count: 3000)
            let replacement = (0..<3000).map { obj("b", "new\($0)", rv: "\($0 + 20)", body: big) }
            store._setAfterUpsertInReplace { n in
                if n == 2500 {
                    copyCrashImage(from: live, to: image)
                    throw InjectedFailure()
                }
            }
            #expect(throws: InjectedFailure.self) {
                try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "99", objects: replacement)
            }
            store._setAfterUpsertInReplace(nil)
            #expect(fileSize(image + "/cache.db-wal") > 1_000_000) // the uncommitted transaction had spilled to the WAL
            for s in [store, try CacheStore(directory: image)] {
                #expect(names(try s.list(gvr: "v1/pods", namespace: "")) == ["a/old1", "a/old2"])
                #expect(try s.scope(gvr: "v1/pods", namespace: "", selector: "")?.resourceVersion == "10")
            }
            // a constraint failure in the middle (empty name) also rolls back and reports SQLite's message
            do {
                try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "100",
                                       objects: [obj("a", "fine", rv: "3"), obj("a", "", rv: "4")])
                Issue.record("expected a failure")
            } catch let e as CacheStoreError {
                #expect(e.description.contains("CHECK constraint failed"))
            }
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/old1", "a/old2"])
            // and the store keeps working
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "101", objects: [obj("c", "ok", rv: "5")])
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["c/ok"])
        }
    }

    @Test func fullDiskSurfacesAsErrorWithoutDamage() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "10",
                                   objects: [obj("a", "p1", rv: "1"), obj("a", "p2", rv: "2")])
            try store._exec("PRAGMA max_page_count=1") // clamps to the current size: any growth is SQLITE_FULL
            let big = String(repeating: "y", count: 3000)
            do {
                try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "20",
                                       objects: (0..<500).map { obj("b", "q\($0)", rv: "\($0 + 20)", body: big) })
                Issue.record("expected SQLITE_FULL")
            } catch let e as CacheStoreError {
                #expect(e.isDiskFull)
                #expect(e.isIOError == false)
                #expect(e.primaryCode == 13) // SQLITE_FULL
                #expect(e.description.contains("full"))
            }
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/p1", "a/p2"])
            #expect(try store.scope(gvr: "v1/pods", namespace: "", selector: "")?.resourceVersion == "10")
            try store._exec("PRAGMA max_page_count=1073741823")
            try store.upsert(obj("a", "p3", rv: "3", body: big), onlyIfNewer: false)
            #expect(try store.stats().objects == 3)
            try store._exec("PRAGMA integrity_check")
        }
    }

    @Test func garbageFileIsMovedAsideAndStoreStartsEmpty() throws {
        try withTempDir { dir in
            let garbage = Array(repeating: Array("this is not an sqlite database\n".utf8), count: 300).flatMap { $0 }
            writeFile(dir + "/cache.db", garbage)
            let store = try CacheStore(directory: dir)
            let moved = try #require(store.recoveredCorruptFile)
            #expect(moved.hasPrefix(dir + "/cache.db.corrupt-"), "moved aside with a timestamp")
            #expect(readFile(moved).map { $0 == garbage } == true)
            #expect(try store.stats().objects == 0)
            try store.upsert(obj("a", "p", rv: "1"), onlyIfNewer: false)
            #expect(try store.get(gvr: "v1/pods", namespace: "a", name: "p")?.resourceVersion == "1")

            // a second damaged file in the same second gets a name of its own
            let dir2 = dir + "/second"
            _ = mkdir(dir2, 0o755)
            writeFile(dir2 + "/cache.db", garbage)
            let first = try #require(try CacheStore(directory: dir2).recoveredCorruptFile)
            writeFile(dir2 + "/cache.db", garbage)
            let second = try #require(try CacheStore(directory: dir2).recoveredCorruptFile)
            #expect(first != second)
            #expect(readFile(first).map { $0 == garbage } == true && readFile(second).map { $0 == garbage } == true)
        }
    }

    @Test func unusableDirectoryIsAnError() throws {
        try withTempDir { dir in
            writeFile(dir + "/file", [1])
            #expect(throws: CacheStoreError.self) { _ = try CacheStore(directory: dir + "/file/sub") }
        }
    }
}

@Suite struct PerformanceTests {
    @Test func replaceScopeOf10kPodSizedObjects() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            let body = String(repeating: "p", count: 3072)
            let objects = (0..<10_000).map { i in
                obj("ns\(i % 50)", "pod-\(i)", rv: "\(i + 1000)", labels: [("app", "app\(i % 20)"), ("pod-template-hash", "abc\(i % 7)")], body: body)
            }
            let clock = ContinuousClock()
            let first = try clock.measure {
                try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "20000", objects: objects)
            }
            let second = try clock.measure {
                try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "20001", objects: objects)
            }
            var listed = 0
            let scan = try clock.measure {
                try store.forEach(gvr: "v1/pods", namespace: "", after: nil) { _ in listed += 1; return true }
            }
            try store._exec("PRAGMA wal_checkpoint(TRUNCATE)")
            let dbBytes = fileSize(store.path)
            print("PERF replaceScope 10k x 3KB: first \(first), again \(second); forEach 10k \(scan); "
                  + "cache.db \(dbBytes) bytes = \(dbBytes / 10) bytes per 1000 objects")
            #expect(listed == 10_000)
            #expect(try store.stats() == CacheStats(objects: 10_000, bodyBytes: 10_000 * 3072, scopes: 1))
            #expect(first < .seconds(10))
            #expect(dbBytes < 10_000 * 6000)
        }
    }
}
