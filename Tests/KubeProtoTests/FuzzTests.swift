import Testing
import KubeJSON
@testable import KubeProto

/// Hostile input: a bad body is a thrown error, never a crash, and never an emitted half item.
@Suite struct FuzzTests {
    /// Checks that an emitted item is whole: a field-2 frame whose length covers exactly the
    /// frame, whose message re-parses to the same metadata.
    static func checkWhole(_ frame: UnsafeRawBufferPointer, _ message: UnsafeRawBufferPointer, _ meta: ObjectMeta,
                           _ paths: ProtoFieldPaths) throws {
        var r = ProtoReader(frame)
        let t = try r.readTag()
        #expect(t == ProtoTag(field: 2, wireType: .lengthDelimited))
        let payload = try r.readLengthDelimited()
        #expect(r.isAtEnd)
        #expect(payload.count == message.count && Array(payload) == Array(message))
        #expect(try ProtoObjectMeta.parse(message, fields: paths) == meta)
    }

    /// Feeds `body` at `cuts`, verifying every item as it is emitted. Returns the items' frames
    /// and whether the body was accepted.
    static func run(_ body: [UInt8], cuts: [Int], paths: ProtoFieldPaths, maxItemSize: Int = 1 << 20) -> (frames: [[UInt8]], ok: Bool, out: [UInt8]) {
        var s = ProtoListSplitter(maxItemSize: maxItemSize, fieldPaths: paths)
        var frames: [[UInt8]] = []
        var out: [UInt8] = []
        var start = 0
        do {
            for c in cuts + [body.count] where c >= start {
                try body[start..<c].withUnsafeBytes { b in
                    try s.feed(b) { seg in
                        switch seg {
                        case .prefix(let p), .suffix(let p): out.append(contentsOf: p)
                        case .item(let f, let m, let meta):
                            try checkWhole(f, m, meta, paths)
                            frames.append(Array(f))
                            out.append(contentsOf: f)
                        }
                    }
                }
                start = c
            }
            try s.finish()
            return (frames, true, out)
        } catch {
            #expect(error is ProtoError)
            return (frames, false, out)
        }
    }

    static let paths = ProtoFieldPaths([(slot: 0, path: [2, 10], kind: .string), (slot: 1, path: [3, 1], kind: .string),
                                        (slot: 2, path: [2, 11], kind: .bool), (slot: 3, path: [3, .first(12), 1], kind: .string)])

    @Test func truncationAtEveryOffset() throws {
        let body = try Fixture.bytes("podlist.pb")
        let full = try splitList(body)
        let frames = full.items.map(\.frame)
        for end in 0..<body.count {
            let r = Self.run(Array(body.prefix(end)), cuts: [end / 2], paths: Self.paths)
            // Only the cuts right before the envelope's empty fields 3/4 are complete bodies.
            #expect(r.ok == (end == body.count - 4 || end == body.count - 2), "end \(end)")
            // Whatever was emitted is a prefix of the real items.
            #expect(Array(frames.prefix(r.frames.count)) == r.frames)
            #expect(Array(body.prefix(r.out.count)) == r.out)
        }
    }

    @Test func watchTruncationAtEveryOffset() throws {
        let body = try Fixture.bytes("watch-configmaps.pb")
        let all = try splitWatch(body)
        for end in 0..<body.count {
            var s = ProtoWatchSplitter()
            var got: [OwnedProtoWatchEvent] = []
            do {
                got = try s.feed(Array(body.prefix(end)))
                try s.finish()
                #expect(got == Array(all.prefix(got.count)) && got.flatMap(\.frame).count == end)
            } catch {
                #expect((error as? ProtoError)?.kind == .incomplete)
                #expect(got.isEmpty || got == Array(all.prefix(got.count)))
            }
        }
    }

    @Test func randomMutations() throws {
        var rng = SeededRNG(seed: 0x5EED)
        let bodies = [try Fixture.bytes("podlist.pb"), try Fixture.bytes("nodelist.pb"), Msg.podList(Msg.samplePods(3), rv: "5")]
        var accepted = 0, rejected = 0
        for round in 0..<1500 {
            var body = bodies[round % bodies.count]
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<body.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: body[at] = UInt8.random(in: 0...255, using: &rng)
                case 1: body[at] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
                case 2: body.remove(at: at)
                default: body.insert(UInt8.random(in: 0...255, using: &rng), at: at)
                }
            }
            let cuts = (0..<Int.random(in: 0...5, using: &rng)).map { _ in Int.random(in: 0...body.count, using: &rng) }.sorted()
            let r = Self.run(body, cuts: cuts, paths: Self.paths)
            if r.ok {
                accepted += 1
                #expect(r.out == body)
            } else {
                rejected += 1
            }
        }
        #expect(accepted + rejected == 1500)
        #expect(rejected > 0)
    }

    @Test func randomWatchMutations() throws {
        var rng = SeededRNG(seed: 0xBEEF)
        let base = try Fixture.bytes("watch-configmaps.pb") + (try Fixture.bytes("watch-pods.pb"))
        for _ in 0..<1000 {
            var body = base
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let at = Int.random(in: 0..<body.count, using: &rng)
                body[at] = UInt8.random(in: 0...255, using: &rng)
            }
            var s = ProtoWatchSplitter(maxEventSize: 1 << 20, fieldPaths: Self.paths)
            var start = 0
            let cuts = (0..<Int.random(in: 0...4, using: &rng)).map { _ in Int.random(in: 0...body.count, using: &rng) }.sorted()
            do {
                for c in cuts + [body.count] where c >= start {
                    try body[start..<c].withUnsafeBytes { b in
                        try s.feed(b) { e in
                            // Every emitted event is a whole frame whose length prefix matches.
                            let n = Int(e.frame[0]) << 24 | Int(e.frame[1]) << 16 | Int(e.frame[2]) << 8 | Int(e.frame[3])
                            #expect(n + 4 == e.frame.count)
                        }
                    }
                    start = c
                }
                try s.finish()
            } catch {
                #expect(error is ProtoError)
            }
        }
    }

    @Test func randomGarbage() {
        var rng = SeededRNG(seed: 99)
        for _ in 0..<2000 {
            let n = Int.random(in: 0...64, using: &rng)
            let junk = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = Self.run(ProtoEnvelope.magic + junk, cuts: [Int.random(in: 0...(n + 4), using: &rng)], paths: Self.paths)
            _ = Self.run(ProtoEnvelope.magic + [0x12, UInt8(n)] + junk, cuts: [6], paths: Self.paths)
            _ = try? ProtoObjectMeta.parse(junk, fields: Self.paths)
            _ = try? ProtoEnvelope.parse(ProtoEnvelope.magic + junk)
            var w = ProtoWatchSplitter()
            _ = try? w.feed([0, 0, 0, UInt8(n)] + junk)
        }
    }

    @Test func oversizedLengths() throws {
        let tm = ProtoTypeMeta(apiVersion: "v1", kind: "PodList")
        for len: UInt64 in [1 << 21, 1 << 31, 1 << 40, UInt64(Int.max), UInt64.max] {
            var list = ProtoWriter()
            list.header(2, length: 0)
            list.bytes.removeLast()
            list.varint(len)
            list.raw([1, 2, 3])
            // As the list's raw: the item cannot fit in the list.
            let inList = ProtoEnvelope.encode(typeMeta: tm, raw: list.bytes)
            #expect(kind { _ = try splitList(inList) } == .lengthTooLarge)
            // With a raw length that claims to hold it, the item limit applies before buffering.
            var env = ProtoWriter()
            env.raw(ProtoEnvelope.magic)
            env.tag(2, .lengthDelimited)
            env.varint(UInt64.max >> 2)
            env.raw(list.bytes)
            let k = kind { _ = try splitList(env.bytes, maxItemSize: 1 << 20) }
            #expect(k == .itemTooLarge(limit: 1 << 20) || k == .lengthTooLarge)
            // Inside an item message.
            var obj = ProtoWriter()
            obj.tag(1, .lengthDelimited)
            obj.varint(len)
            #expect(kind { _ = try ProtoObjectMeta.parse(obj.bytes) } != nil)
        }
        // A raw length that does not fit an Int.
        var env = ProtoWriter()
        env.raw(ProtoEnvelope.magic)
        env.tag(2, .lengthDelimited)
        env.varint(UInt64.max)
        #expect(kind { _ = try splitList(env.bytes) } == .lengthTooLarge)
        // A watch frame claiming 4 GiB.
        #expect(kind { _ = try splitWatch([0xFF, 0xFF, 0xFF, 0xFF, 0x0A]) } == .itemTooLarge(limit: ProtoLimits.defaultMaxItemSize))
    }

    @Test func wrongWireTypesEverywhere() throws {
        // Flip the wire type of every tag the splitter or extractor interprets; each must be an error or
        // (for fields we do not interpret) still parse.
        let body = Msg.podList(Msg.samplePods(2))
        let ok = try splitList(body, paths: Self.paths)
        var rng = SeededRNG(seed: 3)
        var errors = 0
        for at in 0..<body.count where body[at] & 7 == 2 && body[at] < 0x80 {
            var b = body
            b[at] = (b[at] & ~7) | [0, 1, 5, 3, 4][Int.random(in: 0..<5, using: &rng)]
            let r = Self.run(b, cuts: [at], paths: Self.paths)
            if !r.ok { errors += 1 } else { #expect(r.frames.count <= ok.items.count + 1) }
        }
        #expect(errors > 0)
    }

    @Test func deepNesting() {
        let tm = ProtoTypeMeta(apiVersion: "v1", kind: "PodList")
        // Groups inside an item.
        let item = [UInt8](repeating: 0x1B, count: 5000) + [UInt8](repeating: 0x1C, count: 5000)
        #expect(kind { _ = try splitList(Msg.podList([item])) } == .tooDeep)
        // Groups in the list and in the envelope.
        #expect(kind { _ = try splitList(ProtoEnvelope.encode(typeMeta: tm, raw: [UInt8](repeating: 0x1B, count: 5000))) } == .tooDeep)
        #expect(kind { _ = try splitList(ProtoEnvelope.magic + [UInt8](repeating: 0x1B, count: 5000), cuts: [10, 11]) } == .tooDeep)
        // Allowed depth passes.
        let fine = [UInt8](repeating: 0x1B, count: 10) + [UInt8](repeating: 0x1C, count: 10)
        #expect(kind { _ = try splitList(Msg.podList([fine])) } == nil)
        // A field path as deep as the limit cannot recurse further than its own length.
        let chain = (0..<200).map { _ in ProtoPathStep(field: 2) }
        var msg: [UInt8] = [0x52, 0x00]
        for _ in 0..<300 { var w = ProtoWriter(); w.field(2, bytes: msg); msg = w.bytes }
        #expect(kind { _ = try ProtoObjectMeta.parse(msg, fields: ProtoFieldPaths([(slot: 0, path: chain, kind: .string)])) } == .tooDeep)
    }
}
