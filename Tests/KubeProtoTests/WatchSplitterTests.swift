import Testing
import KubeJSON
@testable import KubeProto

@Suite struct WatchSplitterTests {
    @Test func realConfigMapWatch() throws {
        let body = try Fixture.bytes("watch-configmaps.pb")
        let events = try splitWatch(body)
        #expect(events.map(\.type) == [.modified, .added, .deleted, .bookmark])
        #expect(events.map(\.meta.name) == ["cm1", "cm2", "cm2", ""])
        #expect(events.allSatisfy { $0.typeMeta == ProtoTypeMeta(apiVersion: "v1", kind: "ConfigMap") })
        #expect(events.allSatisfy { $0.meta.kind == "ConfigMap" && $0.meta.apiVersion == "v1" })
        #expect(events[0].meta.label("team") == "a")
        #expect(!events[3].meta.resourceVersion.isEmpty)
        #expect(events.flatMap(\.frame) == body)
        // Re-framing the stored objects gives the apiserver's exact bytes.
        for e in events {
            #expect(ProtoWatchWriter.frame(type: e.type, typeMeta: e.typeMeta, object: e.object) == e.frame)
        }
        // So does a bookmark written from its resourceVersion alone (ConfigMap has no zero fields).
        #expect(ProtoWatchWriter.bookmark(typeMeta: events[3].typeMeta, resourceVersion: events[3].meta.resourceVersion) == events[3].frame)
    }

    @Test func realPodWatchWithBookmark() throws {
        let body = try Fixture.bytes("watch-pods.pb")
        let json = FieldPaths([["spec", "nodeName"], ["status", "phase"]])
        let events = try splitWatch(body, paths: ProtoFieldPaths(json: json, group: "", resource: "pods"))
        try #require(events.map(\.type) == [.modified, .bookmark])
        #expect(events[0].meta.label("extra") == "yes" && events[0].meta.name == "p3")
        #expect(events[0].meta.field(["spec", "nodeName"], in: json) == "edge-node-1")
        #expect(events[0].meta.field(["status", "phase"], in: json) == "Pending")
        let bm = events[1]
        #expect(bm.meta.name == "" && !bm.meta.resourceVersion.isEmpty && bm.meta.kind == "Pod")
        // The apiserver's Pod bookmark carries the empty spec and status of a zero Pod.
        let zero = try bm.object.withUnsafeBytes { b in try ProtoWatchWriter.zeroFields(ofBookmarkObject: b) }
        #expect(!zero.isEmpty)
        #expect(ProtoWatchWriter.bookmark(typeMeta: bm.typeMeta, resourceVersion: bm.meta.resourceVersion, zeroFields: zero) == bm.frame)
        // Without them it still reads back as a bookmark with the same resourceVersion.
        let plain = try splitWatch(ProtoWatchWriter.bookmark(typeMeta: bm.typeMeta, resourceVersion: "123",
                                                             annotations: [("k8s.io/initial-events-end", "true")]))
        #expect(plain.count == 1 && plain[0].type == .bookmark && plain[0].meta.resourceVersion == "123")
    }

    @Test func realErrorEvent() throws {
        let events = try splitWatch(try Fixture.bytes("watch-error.pb"))
        #expect(events.count == 1)
        let e = events[0]
        #expect(e.type == .error)
        #expect(e.typeMeta == ProtoTypeMeta(apiVersion: "v1", kind: "Status"))
        // Not read as ObjectMeta (field 1 of a Status is a ListMeta).
        #expect(e.meta.name == "" && e.meta.resourceVersion == "" && e.meta.kind == "Status")
        // The raw Status is exposed: code 410 is field 6.
        var code: UInt64?
        try e.object.withUnsafeBytes { b in
            var r = ProtoReader(b)
            while !r.isAtEnd {
                let at = r.offset
                let t = try r.readTag()
                if t.field == 6 { code = try r.readVarint() } else { try r.skip(t, tagOffset: at) }
            }
        }
        #expect(code == 410)
    }

    @Test(arguments: ["watch-configmaps.pb", "watch-pods.pb", "watch-error.pb"])
    func chunkBoundaryIndependence(_ name: String) throws {
        let body = try Fixture.bytes(name)
        let whole = try splitWatch(body)
        for cut in 0...body.count {
            #expect(try splitWatch(body, cuts: [cut]) == whole, "cut at \(cut)")
        }
        #expect(try splitWatch(body, cuts: Array(1..<body.count)) == whole)
        var rng = SeededRNG(seed: 7)
        for _ in 0..<100 {
            let cuts = (0..<Int.random(in: 1...10, using: &rng)).map { _ in Int.random(in: 0...body.count, using: &rng) }.sorted()
            #expect(try splitWatch(body, cuts: cuts) == whole)
        }
    }

    @Test func writtenFramesRoundTrip() throws {
        let tm = ProtoTypeMeta(apiVersion: "v1", kind: "Pod")
        let pods = Msg.samplePods(3)
        var stream: [UInt8] = []
        for (i, p) in pods.enumerated() { stream += ProtoWatchWriter.frame(type: i == 2 ? .deleted : .added, typeMeta: tm, object: p) }
        stream += ProtoWatchWriter.bookmark(typeMeta: tm, resourceVersion: "99")
        let events = try splitWatch(stream)
        #expect(events.map(\.type) == [.added, .added, .deleted, .bookmark])
        #expect(events.prefix(3).map(\.object) == pods)
        #expect(events[1].meta.hasDeletionTimestamp && events[2].meta.name == "pod-2")
        #expect(events[3].meta.resourceVersion == "99")
        // A large object (multi-byte lengths everywhere).
        let big = Msg.pod(Msg.objectMeta(name: String(repeating: "n", count: 70_000)))
        let e = try splitWatch(ProtoWatchWriter.frame(type: .modified, typeMeta: tm, object: big), cuts: [3, 5, 40_000])
        #expect(e.count == 1 && e[0].object == big && e[0].meta.name.count == 70_000)
    }

    @Test func errors() throws {
        let tm = ProtoTypeMeta(apiVersion: "v1", kind: "Pod")
        let frame = ProtoWatchWriter.frame(type: .added, typeMeta: tm, object: Msg.samplePods(1)[0])
        // Too large, judged from the length prefix before buffering.
        #expect(kind { _ = try splitWatch(frame, cuts: [2], maxEventSize: 100) } == .itemTooLarge(limit: 100))
        // Truncated stream.
        for end in 1..<frame.count {
            var s = ProtoWatchSplitter()
            let out = try s.feed(Array(frame.prefix(end)))
            #expect(out.isEmpty && !s.isAtEventBoundary)
            #expect(kind { try s.finish() } == .incomplete)
        }
        // Empty frame / no object / no type.
        #expect(kind { _ = try splitWatch([0, 0, 0, 0]) } == .invalidWatchEvent)
        var noObject = ProtoWriter()
        noObject.field(1, string: "ADDED")
        let nob = noObject.bytes
        #expect(kind { _ = try splitWatch([0, 0, 0, UInt8(nob.count)] + nob) } == .invalidWatchEvent)
        // Inner raw without magic.
        var w = ProtoWriter()
        w.field(1, string: "ADDED")
        w.message(2) { $0.field(1, bytes: Array("{}".utf8)) }
        #expect(kind { _ = try splitWatch([0, 0, 0, UInt8(w.bytes.count)] + w.bytes) } == .badMagic)
        // Frame length beyond its content: inner length too large.
        var bad = frame
        bad[5] = 0x7F  // the type's length
        #expect(kind { _ = try splitWatch(bad) } != nil)
        // Poisoned.
        var s = ProtoWatchSplitter()
        _ = try? s.feed([0, 0, 0, 0])
        #expect(kind { _ = try s.feed(frame) } == .poisoned)
    }
}
