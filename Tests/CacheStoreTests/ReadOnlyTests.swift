import Testing
@testable import CacheStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@Suite("read-only store (operator commands)")
struct ReadOnlyTests {
    @Test func readsWhileTheWriterRunsAndNeverWrites() throws {
        try withTempDir { dir in
            let writer = try CacheStore(directory: dir)
            var proto = obj("b", "p2", rv: "7")
            proto.format = .protobuf
            try writer.replaceScope(gvr: "v1/pods", namespace: "", selector: "", listResourceVersion: "9",
                                    objects: [obj("a", "p1", rv: "5"), proto])
            try writer.replaceScope(gvr: "v1/pods", namespace: "a", selector: "l:app=x", listResourceVersion: "9", objects: [])

            let reader = try CacheStore(readingFile: dir + "/cache.db")
            #expect(reader.readOnly)
            #expect(try reader.get(gvr: "v1/pods", namespace: "a", name: "p1")?.resourceVersion == "5")
            let r = try reader.resourceSummaries()
            #expect(r == [ResourceSummary(gvr: "v1/pods", objects: 2, protobufObjects: 1,
                                          bodyBytes: r.first?.bodyBytes ?? -1, sealedObjects: 0)])
            let s = try reader.scopeSummaries()
            #expect(s.map { [$0.scope.namespace, $0.scope.selector] } == [["", ""], ["a", "l:app=x"]])
            #expect(s[0].objects == 2 && s[0].protobufObjects == 1)
            #expect(s[1].objects == nil, "a selector scope's objects are not counted")
            #expect(try reader.versions(gvr: "v1/pods", namespace: "b").map(\.name) == ["p2"])

            // the writer goes on; the reader sees the commit (WAL)
            _ = try writer.upsert(obj("a", "p3", rv: "10"), onlyIfNewer: false)
            #expect(try reader.versions(gvr: "v1/pods", namespace: "a").map(\.name) == ["p1", "p3"])

            // writes through the read-only handle are refused by SQLite
            #expect(throws: CacheStoreError.self) { _ = try reader.upsert(obj("a", "x", rv: "1"), onlyIfNewer: false) }
            #expect(try writer.get(gvr: "v1/pods", namespace: "a", name: "x") == nil)
            reader.close()
            writer.close()
        }
    }

    @Test func aMissingOrDamagedFileIsAnErrorNotAQuarantine() throws {
        try withTempDir { dir in
            #expect(throws: CacheStoreError.self) { _ = try CacheStore(readingFile: dir + "/cache.db") }
            let path = dir + "/cache.db"
            let fd = open(path, O_WRONLY | O_CREAT, 0o600)
            let junk = Array(repeating: UInt8(0x41), count: 8192)
            _ = junk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            #expect(throws: CacheStoreError.self) { _ = try CacheStore(readingFile: path) }
            var st = stat()
            #expect(stat(path, &st) == 0 && st.st_size == 8192, "the damaged file stays where it is")
        }
    }
}
