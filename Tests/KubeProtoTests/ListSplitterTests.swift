import Testing
import KubeJSON
@testable import KubeProto

@Suite struct ListSplitterTests {
    @Test func realPodList() throws {
        let body = try Fixture.bytes("podlist.pb")
        let r = try splitList(body)
        #expect(r.info.kind == "PodList" && r.info.apiVersion == "v1")
        #expect(r.info.resourceVersion != nil && r.info.continueToken == nil && r.info.remainingItemCount == nil)
        #expect(r.info.itemCount == 3)
        #expect(r.info.itemTypeMeta == ProtoTypeMeta(apiVersion: "v1", kind: "Pod"))
        #expect(r.items.map(\.meta.name) == ["p1", "p2", "p3"])
        #expect(r.items.allSatisfy { $0.meta.namespace == "kubeproto-fixtures" && $0.meta.kind == nil })
        #expect(r.items.allSatisfy { $0.meta.label("app") == "web" })
        #expect(r.rejoined == body)
        #expect(r.suffix == ProtoEnvelope.trailer)
        for item in r.items { #expect(Array(item.frame.suffix(item.message.count)) == item.message) }

        // Serving the stored items back reproduces the apiserver's bytes exactly.
        let w = ProtoListWriter(typeMeta: ProtoTypeMeta(apiVersion: "v1", kind: "PodList"),
                                listMeta: ProtoListMeta(resourceVersion: r.info.resourceVersion ?? ""),
                                itemMessageSizes: r.items.map(\.message.count))
        var out = w.prefix
        #expect(out == r.prefix)
        for item in r.items { ProtoListWriter.appendItem(item.message, to: &out) }
        out += w.suffix
        #expect(out == body)
        #expect(w.bodyLength == body.count)
    }

    @Test func realPagedList() throws {
        let r = try splitList(try Fixture.bytes("podlist-limit.pb"))
        #expect(r.info.itemCount == 2)
        #expect(r.info.continueToken?.isEmpty == false)
        #expect(r.info.remainingItemCount == 1)
        let w = ProtoListWriter.encode(typeMeta: ProtoTypeMeta(apiVersion: "v1", kind: "PodList"),
                                       listMeta: ProtoListMeta(resourceVersion: r.info.resourceVersion!, continueToken: r.info.continueToken!,
                                                               remainingItemCount: r.info.remainingItemCount),
                                       items: r.items.map(\.message))
        #expect(w == (try Fixture.bytes("podlist-limit.pb")))
    }

    /// Every two-chunk split point, and one byte at a time, give the same segments.
    @Test(arguments: ["podlist.pb", "podlist-limit.pb", "nodelist.pb"])
    func chunkBoundaryIndependence(_ name: String) throws {
        let body = try Fixture.bytes(name)
        let paths = ProtoFieldPaths([(slot: 0, path: [2, 10], kind: .string), (slot: 1, path: [3, 1], kind: .string)])
        let whole = try splitList(body, paths: paths)
        let expected = normalized(whole.segments)
        for cut in 0...body.count {
            let r = try splitList(body, cuts: [cut], paths: paths)
            #expect(normalized(r.segments) == expected, "cut at \(cut)")
            #expect(r.info == whole.info)
            #expect(r.rejoined == body)
        }
        let bytewise = try splitList(body, cuts: Array(1..<body.count), paths: paths)
        #expect(normalized(bytewise.segments) == expected)
        #expect(bytewise.info == whole.info)
    }

    @Test func synthesizedListAllCuts() throws {
        let items = Msg.samplePods(4)
        let body = Msg.podList(items, rv: "77", cont: "c", remaining: 9)
        let whole = try splitList(body)
        #expect(whole.items.map(\.message) == items)
        #expect(whole.info.resourceVersion == "77" && whole.info.continueToken == "c" && whole.info.remainingItemCount == 9)
        #expect(whole.items[1].meta.hasDeletionTimestamp && whole.items[3].meta.generation == 3)
        var rng = SeededRNG(seed: 42)
        for _ in 0..<200 {
            let cuts = (0..<Int.random(in: 1...12, using: &rng)).map { _ in Int.random(in: 0...body.count, using: &rng) }.sorted()
            let r = try splitList(body, cuts: cuts)
            #expect(normalized(r.segments) == normalized(whole.segments))
        }
    }

    @Test func emptyList() throws {
        let body = Msg.podList([], rv: "5")
        let r = try splitList(body)
        #expect(r.items.isEmpty && r.info.itemCount == 0 && r.info.resourceVersion == "5")
        #expect(r.prefix == body && r.suffix.isEmpty)
        // An envelope with an empty raw is a complete (empty) list too.
        let bare = ProtoEnvelope.encode(typeMeta: ProtoTypeMeta(apiVersion: "v1", kind: "PodList"), raw: [])
        #expect(try splitList(bare).info.itemCount == 0)
        for cut in 0...bare.count { #expect(try splitList(bare, cuts: [cut]).prefix == bare) }
    }

    @Test func listMetaAfterItemsAndUnknownFields() throws {
        var list = ProtoWriter()
        list.field(2, bytes: Msg.samplePods(1)[0])
        list.field(9, varint: 1)                                   // unknown varint
        list.tag(10, .fixed32); list.raw([1, 2, 3, 4])             // unknown fixed32
        list.tag(11, .startGroup); list.field(2, string: "g"); list.tag(11, .endGroup) // field 2 in a group is not an item
        list.field(2, bytes: Msg.samplePods(2)[1])
        list.field(1, bytes: ProtoListMeta(resourceVersion: "9", continueToken: "next").encoded)
        let body = ProtoEnvelope.encode(typeMeta: ProtoTypeMeta(apiVersion: "v1", kind: "PodList"), raw: list.bytes)
        let whole = try splitList(body)
        #expect(whole.info.resourceVersion == "9" && whole.info.continueToken == "next")
        #expect(whole.items.map(\.meta.name) == ["pod-0", "pod-1"])
        #expect(whole.rejoined == body)
        for cut in 0...body.count {
            let r = try splitList(body, cuts: [cut])
            #expect(normalized(r.segments) == normalized(whole.segments))
            #expect(r.info == whole.info)
        }
        // The envelope's typeMeta may follow raw as well.
        var env = ProtoWriter()
        env.raw(ProtoEnvelope.magic)
        env.field(2, bytes: list.bytes)
        env.message(1) { $0.field(1, string: "v1"); $0.field(2, string: "PodList") }
        let late = try splitList(env.bytes)
        #expect(late.info.kind == "PodList" && late.info.itemCount == 2)
    }

    @Test func maskedItemsKeepFramingAndByteCount() throws {
        let items = Msg.samplePods(5)
        let body = Msg.podList(items, rv: "1")
        let whole = try splitList(body)
        // A tee that drops items 1 and 3 by masking them.
        var out: [UInt8] = []
        var s = ProtoListSplitter()
        var index = 0
        try body.withUnsafeBytes { b in
            try s.feed(b) { seg in
                switch seg {
                case .prefix(let p), .suffix(let p): out.append(contentsOf: p)
                case .item(let frame, _, _):
                    if index == 1 || index == 3 {
                        let m = try ProtoListSplitter.mask(frame: frame)
                        #expect(m.count == frame.count && m[0] == 0x7A)
                        out += m
                    } else {
                        out.append(contentsOf: frame)
                    }
                    index += 1
                }
            }
        }
        try s.finish()
        #expect(out.count == body.count)
        for cut in stride(from: 0, through: out.count, by: 7) {
            let r = try splitList(out, cuts: [cut])
            #expect(r.items.map(\.message) == [items[0], items[2], items[4]])
            #expect(r.info.resourceVersion == "1" && r.rejoined == out)
        }
        // The mask of an overlong-tag frame keeps its length too.
        let frame: [UInt8] = [0x92, 0x00, 0x02, 0x0A, 0x00]
        let m = try ProtoListSplitter.mask(frame: frame)
        #expect(m == [0xFA, 0x00, 0x02, 0x00, 0x00])
        #expect(kind { _ = try ProtoListSplitter.mask(frame: [0x0A, 0x00]) } == .wrongWireType(field: 1, wireType: 2))
        _ = whole
    }

    @Test func finishRequiresCompleteEnvelope() throws {
        let body = Msg.podList(Msg.samplePods(2))
        for end in 0..<body.count {
            var s = ProtoListSplitter()
            var emittedItems = 0
            do {
                try body.withUnsafeBytes { b in
                    try s.feed(UnsafeRawBufferPointer(rebasing: b[0..<end])) { if case .item = $0 { emittedItems += 1 } }
                }
                try s.finish()
                // Cutting exactly before fields 3/4 leaves a complete envelope.
                #expect(end == body.count - 4 || end == body.count - 2, "truncated at \(end) accepted")
            } catch let e as ProtoError {
                #expect(e.kind == .incomplete)
            }
            #expect(emittedItems <= 2)
        }
        // Missing raw: not a list.
        #expect(kind { _ = try splitList(ProtoEnvelope.magic) } == .incomplete)
        #expect(kind { _ = try splitList([]) } == .incomplete)
    }

    @Test func errors() throws {
        let items = Msg.samplePods(1)
        let tm = ProtoTypeMeta(apiVersion: "v1", kind: "PodList")
        // Not protobuf.
        #expect(kind { _ = try splitList(Array(#"{"kind":"PodList"}"#.utf8)) } == .badMagic)
        // An item larger than the limit is refused before it is buffered.
        let big = Msg.podList([Msg.pod(Msg.objectMeta(name: String(repeating: "x", count: 5000)))])
        #expect(kind { _ = try splitList(big, cuts: [100], maxItemSize: 1000) } == .itemTooLarge(limit: 1000))
        // An item running past the list's end.
        var list = ProtoWriter()
        list.header(2, length: 50)
        list.raw([UInt8](repeating: 0, count: 10))
        let overrun = ProtoEnvelope.encode(typeMeta: tm, raw: list.bytes)
        #expect(kind { _ = try splitList(overrun) } == .lengthTooLarge)
        // A second raw.
        var dup = ProtoWriter()
        dup.raw(ProtoEnvelope.magic)
        dup.field(2, bytes: [])
        dup.field(2, bytes: [])
        #expect(kind { _ = try splitList(dup.bytes) } == .duplicateRaw)
        // Items with the wrong wire type.
        let wrong = ProtoEnvelope.encode(typeMeta: tm, raw: [0x10, 0x01])
        #expect(kind { _ = try splitList(wrong) } == .wrongWireType(field: 2, wireType: 0))
        // A varint that runs past the list's end.
        let cut = ProtoEnvelope.encode(typeMeta: tm, raw: [0x48, 0x80])
        #expect(kind { _ = try splitList(cut) } == .truncated)
        // A group left open at the list's end.
        let open = ProtoEnvelope.encode(typeMeta: tm, raw: [0x4B])
        #expect(kind { _ = try splitList(open) } == .truncated)
        // Deep group nesting.
        let deep = ProtoEnvelope.encode(typeMeta: tm, raw: [UInt8](repeating: 0x4B, count: 1000))
        #expect(kind { _ = try splitList(deep) } == .tooDeep)
        // Bad item content (wrong wire type for metadata) is an error, not an item.
        let badItem = Msg.podList([[0x08, 0x01]] + items)
        #expect(kind { _ = try splitList(badItem) } == .wrongWireType(field: 1, wireType: 0))
        // Poisoned after an error; an error from emit poisons too.
        var s = ProtoListSplitter()
        _ = try? s.feed(wrong)
        #expect(kind { _ = try s.feed([0x00]) } == .poisoned)
        struct Stop: Error {}
        var s2 = ProtoListSplitter()
        #expect(throws: Stop.self) { try Msg.podList(items).withUnsafeBytes { b in try s2.feed(b) { if case .item = $0 { throw Stop() } } } }
        #expect(kind { try s2.finish() } == .poisoned)
    }

    @Test func isComplete() throws {
        let body = Msg.podList(Msg.samplePods(1))
        var s = ProtoListSplitter()
        _ = try s.feed(Array(body.dropLast(4)))
        #expect(s.isComplete)
        _ = try s.feed(Array(body.suffix(4).prefix(1)))
        #expect(!s.isComplete)
        _ = try s.feed(Array(body.suffix(3)))
        #expect(s.isComplete)
    }
}
