import Testing
@testable import CacheStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct SchemaTests {
    @Test func migratesAVersion1Database() throws {
        try withTempDir { dir in
            do {
                let store = try CacheStore(directory: dir)
                #expect(try store._queryInt("PRAGMA user_version") == CacheStore.schemaVersion)
                try store.replaceScope(gvr: "v1/pods", namespace: "a", selector: "", listResourceVersion: "7",
                                       objects: [obj("a", "p", rv: "6")])
                try store.putMeta(key: "k", value: [1, 2])
                // turn the file into what version 1 wrote: no staging, no documents, user_version 1
                try store._exec("DROP TABLE staging; DROP TABLE documents; PRAGMA user_version=1")
                #expect(try store._queryInt("PRAGMA user_version") == 1)
                #expect(try store._queryInt(
                    "SELECT count(*) FROM sqlite_master WHERE name IN ('staging', 'documents')") == 0)
            }
            let store = try CacheStore(directory: dir)
            #expect(try store._queryInt("PRAGMA user_version") == CacheStore.schemaVersion)
            #expect(try store._queryInt(
                "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN ('staging', 'documents')") == 2)
            // old data intact, new features work
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/p"])
            #expect(try store.scope(gvr: "v1/pods", namespace: "a", selector: "")?.resourceVersion == "7")
            #expect(try store.meta(key: "k") == [1, 2])
            try store.putDocument(key: "/api", StoredDocument(contentType: "application/json", body: [1]))
            #expect(try store.document(key: "/api")?.body == [1])
            let list = try store.beginStagedList()
            try store.stage(list, objects: [obj("a", "q", rv: "8")])
            try store.commitStagedList(list, gvr: "v1/pods", namespace: "a", selector: "",
                                       listResourceVersion: "9", matchesSelector: nil)
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/q"])
        }
    }

    @Test func newerSchemaVersionIsKept() throws {
        try withTempDir { dir in
            do {
                let store = try CacheStore(directory: dir)
                try store.upsert(obj("a", "p", rv: "1"), onlyIfNewer: false)
                try store._exec("PRAGMA user_version=7")
            }
            let store = try CacheStore(directory: dir)
            #expect(try store._queryInt("PRAGMA user_version") == 7)
            #expect(names(try store.list(gvr: "v1/pods", namespace: "")) == ["a/p"])
        }
    }
}

@Suite struct DocumentAndSizeTests {
    @Test func documentsRoundTrip() throws {
        try withTempDir { dir in
            do {
                let store = try CacheStore(directory: dir)
                #expect(try store.document(key: "/api") == nil)
                let api = StoredDocument(contentType: "application/json", body: Array("{\"kind\":\"APIVersions\"}".utf8))
                let proto = StoredDocument(
                    contentType: "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
                    body: [0x6b, 0x38, 0x73, 0x00, 0xff, 0x00])
                try store.putDocument(key: "/api", api)
                try store.putDocument(key: "/apis", proto)
                try store.putDocument(key: "/empty", StoredDocument(contentType: "", body: []))
                #expect(try store.document(key: "/api") == api)
                #expect(try store.document(key: "/apis") == proto)
                #expect(try store.document(key: "/empty") == StoredDocument(contentType: "", body: []))
                #expect(try store.document(key: "/API") == nil)
                // documents and meta are separate namespaces
                #expect(try store.meta(key: "/api") == nil)
                let v2 = StoredDocument(contentType: "application/json;v=2", body: Array("v2".utf8))
                try store.putDocument(key: "/api", v2)
                #expect(try store.document(key: "/api") == v2)
                #expect(try store._queryInt("SELECT updated_at FROM documents WHERE key='/api'") ?? 0 > 1_600_000_000)
            }
            let reopened = try CacheStore(directory: dir)
            #expect(try reopened.document(key: "/api")?.contentType == "application/json;v=2")
            #expect(try reopened.document(key: "/apis")?.body == [0x6b, 0x38, 0x73, 0x00, 0xff, 0x00])
        }
    }

    @Test func scopesOfAResource() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            #expect(try store.scopes(gvr: "v1/pods").isEmpty)
            try store.replaceScope(gvr: "v1/pods", namespace: "b", selector: "", listResourceVersion: "3", objects: [])
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "1", objects: [])
            try store.replaceScope(gvr: "v1/pods", namespace: "b", selector: "app=x", listResourceVersion: "4", objects: [])
            try store.replaceScope(gvr: "v1/services", namespace: "", selector: "", listResourceVersion: "2", objects: [])
            let scopes = try store.scopes(gvr: "v1/pods")
            #expect(scopes.map { "\($0.namespace)|\($0.selector)|\($0.resourceVersion)" } == ["||1", "b||3", "b|app=x|4"])
            #expect(scopes.allSatisfy { $0.gvr == "v1/pods" && $0.complete && $0.updatedAt > 1_600_000_000 })
            #expect(try store.scopes(gvr: "v1/services").map(\.resourceVersion) == ["2"])
        }
    }

    @Test func fileSizeCountsDatabaseAndWAL() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            let empty = store.fileSize()
            #expect(empty > 0)
            #expect(empty == fileSize(dir + "/cache.db") + fileSize(dir + "/cache.db-wal"))
            let body = String(repeating: "f", count: 4096)
            try store.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "1",
                                   objects: (0..<100).map { obj("a", "p\($0)", rv: "1", body: body) })
            let full = store.fileSize()
            #expect(full >= empty + 100 * 4096)
            #expect(fileSize(dir + "/cache.db-wal") > 0) // the commit sits in the WAL: it must be counted
            #expect(full == fileSize(dir + "/cache.db") + fileSize(dir + "/cache.db-wal"))
            // missing files count 0
            unlink(dir + "/cache.db-wal")
            unlink(dir + "/cache.db")
            #expect(store.fileSize() == 0)
        }
    }
}

@Suite struct ErrorClassificationTests {
    @Test func resultCodesTellDiskFullFromIOErrors() {
        let ioerrWrite: Int32 = 10 | (3 << 8) // SQLITE_IOERR_WRITE
        let full = CacheStoreError(code: 13, message: "database or disk is full", context: "COMMIT")
        #expect(full.isDiskFull && !full.isIOError && full.primaryCode == 13)
        let noSpace = CacheStoreError(code: ioerrWrite, message: "disk I/O error", context: "step", systemErrno: ENOSPC)
        #expect(noSpace.primaryCode == 10 && noSpace.isDiskFull && !noSpace.isIOError)
        #expect(noSpace.description.contains("errno \(ENOSPC)"))
        let quota = CacheStoreError(code: ioerrWrite, message: "disk I/O error", context: "step", systemErrno: EDQUOT)
        #expect(quota.isDiskFull)
        let broken = CacheStoreError(code: ioerrWrite, message: "disk I/O error", context: "step", systemErrno: EIO)
        #expect(broken.isIOError && !broken.isDiskFull && !broken.isCorrupt)
        let corrupt = CacheStoreError(code: 11, message: "malformed", context: "step")
        #expect(corrupt.isCorrupt && !corrupt.isDiskFull && !corrupt.isIOError)
        #expect(CacheStoreError(code: 0, message: "x", context: "y").description == "CacheStore: y: x (sqlite code 0)")
    }
}

@Suite("Compaction")
struct CompactionTests {
    @Test func compactGivesStagingSpaceBack() throws {
        try withTempDir { dir in
            let store = try CacheStore(directory: dir)
            let objects = (0..<2000).map { i in
                StoredObject(gvr: "/v1/pods", namespace: "ns", name: "p\(i)", resourceVersion: "\(i + 1)",
                             body: Array(repeating: UInt8(ascii: "x"), count: 2000))
            }
            let id = try store.beginStagedList()
            try store.stage(id, objects: objects)
            try store.commitStagedList(id, gvr: "/v1/pods", namespace: "ns", selector: "", listResourceVersion: "5000",
                                       matchesSelector: nil)
            let before = store.fileSize()
            try store.compact()
            let after = store.fileSize()
            #expect(after < before, "before \(before), after \(after)")
            #expect(after < 2000 * 2000 * 3 / 2, "about one copy of the objects remains: \(after)")
            #expect(try store.stats().objects == 2000)
        }
    }
}
