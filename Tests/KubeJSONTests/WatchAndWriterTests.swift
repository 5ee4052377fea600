import Testing
@testable import KubeJSON

let ev1 = #"{"type":"ADDED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p1","namespace":"default","resourceVersion":"100","labels":{"a":"b"}},"spec":{"nodeName":"n\"1}"}}}"#
let ev2 = #"{"object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p2","resourceVersion":"101"}},"type":"MODIFIED"}"#
let ev3 = #"{"type":"DELETED","object":{"kind":"Event","apiVersion":"v1","metadata":{"name":"e\u0031"},"type":"Warning","involvedObject":{"name":"p1","kind":"Pod"}}}"#
let ev4 = #"{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"12345","creationTimestamp":null},"spec":{"containers":null},"status":{}}}"#
let ev5 = #"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (2)","reason":"Expired","code":410}}"#
let ev6 = #"{"type":"SOMETHING","object":{}}"#
let watchStream = ev1 + "\n" + ev2 + "\n" + ev3 + ev4 + "\r\n  " + ev5 + "\n" + ev6 + "\n"
let watchPaths = FieldPaths([["spec", "nodeName"], ["type"], ["involvedObject", "name"]])

func runWatch(_ doc: [UInt8], cuts: [Int], paths: FieldPaths = watchPaths, max: Int = JSONLimits.defaultMaxItemSize) throws -> [OwnedWatchEvent] {
    var s = WatchEventSplitter(maxEventSize: max, fieldPaths: paths)
    var out: [OwnedWatchEvent] = []
    var start = 0
    for c in cuts + [doc.count] where c >= start && c <= doc.count {
        out += try doc[start..<c].withUnsafeBytes { try s.feed($0) }
        start = c
    }
    try s.finish()
    #expect(s.eventCount == out.count)
    return out
}

@Suite struct WatchEventSplitterTests {
    @Test func eventsValues() throws {
        let evs = try runWatch(bytes(watchStream), cuts: [])
        #expect(evs.map(\.type) == [.added, .modified, .deleted, .bookmark, .error, .unknown("SOMETHING")])
        #expect(evs.map { str($0.eventBytes) } == [ev1, ev2, ev3, ev4, ev5, ev6])
        #expect(str(evs[0].objectBytes) == #"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p1","namespace":"default","resourceVersion":"100","labels":{"a":"b"}},"spec":{"nodeName":"n\"1}"}}"#)
        #expect(evs[0].meta.name == "p1" && evs[0].meta.namespace == "default" && evs[0].meta.resourceVersion == "100")
        #expect(evs[0].meta.label("a") == "b")
        #expect(evs[0].meta.field(["spec", "nodeName"], in: watchPaths) == "n\"1}")
        #expect(evs[1].meta.name == "p2" && evs[1].meta.resourceVersion == "101")
        #expect(evs[2].meta.name == "e1" && evs[2].meta.kind == "Event")
        #expect(evs[2].meta.field(["type"], in: watchPaths) == "Warning")
        #expect(evs[2].meta.field(["involvedObject", "name"], in: watchPaths) == "p1")
        #expect(evs[3].meta.resourceVersion == "12345")
        #expect(evs[4].meta.kind == "Status")
        #expect(str(evs[5].objectBytes) == "{}")
    }

    @Test func everySplitByteAtATimeAndRandomChunks() throws {
        let doc = bytes(watchStream)
        let reference = try runWatch(doc, cuts: [])
        for cut in 0...doc.count {
            #expect(try runWatch(doc, cuts: [cut]) == reference, "cut \(cut)")
        }
        #expect(try runWatch(doc, cuts: Array(1..<doc.count)) == reference)
        var rng = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let cuts = (0..<Int.random(in: 1..<10, using: &rng)).map { _ in Int.random(in: 0...doc.count, using: &rng) }.sorted()
            #expect(try runWatch(doc, cuts: cuts) == reference)
        }
        // Without any separators at all.
        let packed = bytes(ev1 + ev2 + ev3)
        #expect(try runWatch(packed, cuts: [10, 300]).map(\.type) == [.added, .modified, .deleted])
    }

    @Test func multipleEventsPerChunkAreEmittedInOneFeed() throws {
        var s = WatchEventSplitter()
        let first = try s.feed(bytes(ev1 + "\n" + ev2 + "\n" + String(ev3.prefix(20))))
        #expect(first.map(\.type) == [.added, .modified])
        #expect(!s.isAtEventBoundary)
        let second = try s.feed(bytes(String(ev3.dropFirst(20)) + "\n"))
        #expect(second.map(\.type) == [.deleted])
        #expect(s.isAtEventBoundary)
        try s.finish()
    }

    @Test func truncatedStreamFinishThrows() throws {
        let doc = bytes(watchStream)
        for cut in 0..<doc.count {
            var s = WatchEventSplitter()
            let evs = try doc[0..<cut].withUnsafeBytes { try s.feed($0) }
            if s.isAtEventBoundary {
                try s.finish()
            } else {
                #expect(throws: JSONError(.incomplete, offset: cut)) { try s.finish() }
                #expect(evs.count < 6)
            }
        }
    }

    @Test func invalidEvents() throws {
        func err(_ s: String) -> JSONError? {
            var w = WatchEventSplitter()
            do { _ = try w.feed(bytes(s)); try w.finish(); return nil } catch let e as JSONError { return e } catch { return nil }
        }
        #expect(err(#"{"type":"ADDED"}"#) == JSONError(.invalidWatchEvent, offset: 0))
        #expect(err(#" {"object":{}}"#) == JSONError(.invalidWatchEvent, offset: 1))
        #expect(err(#"{"type":"ADDED","object":[]}"#) == JSONError(.invalidWatchEvent, offset: 25))
        #expect(err("x") == JSONError(.unexpectedByte(UInt8(ascii: "x")), offset: 0))
        #expect(err(ev1 + ",") == JSONError(.unexpectedByte(UInt8(ascii: ",")), offset: ev1.utf8.count))
        #expect(err(#"{"type":"ADDED","object":{"a":}}"#)?.offset == 30)
        var rng = SplitMix64(seed: 99)
        for _ in 0..<2000 {
            var d = bytes(watchStream)
            let at = Int.random(in: 0..<d.count, using: &rng)
            d[at] = UInt8.random(in: 0...255, using: &rng)
            var w = WatchEventSplitter(maxEventSize: 4096)
            let cut = Int.random(in: 0...d.count, using: &rng)
            do {
                _ = try d[0..<cut].withUnsafeBytes { try w.feed($0) }
                _ = try d[cut...].withUnsafeBytes { try w.feed($0) }
                try w.finish()
            } catch is JSONError {}
        }
    }

    @Test func maxEventSize() throws {
        let doc = bytes(watchStream)
        let largest = [ev1, ev2, ev3, ev4, ev5, ev6].map { $0.utf8.count }.max()!
        #expect(try runWatch(doc, cuts: [50], max: largest).count == 6)
        for cuts in [[], [50], Array(1..<doc.count)] {
            #expect {
                _ = try runWatch(doc, cuts: cuts, max: largest - 1)
            } throws: { e in (e as? JSONError)?.kind == .valueTooLarge(limit: largest - 1) }
        }
    }
}

@Suite struct WriterTests {
    @Test func stringEscaping() throws {
        #expect(JSONWriter.quoted("plain") == #""plain""#)
        #expect(JSONWriter.quoted("a\"b\\c\nd\re\tf\u{08}\u{0C}\u{01}\u{1F}") == #""a\"b\\c\nd\re\tf\b\f\u0001\u001f""#)
        #expect(JSONWriter.quoted("<a&b>") == #""\u003ca\u0026b\u003e""#)
        #expect(JSONWriter.quoted("<a&b>", htmlSafe: false) == #""<a&b>""#)
        #expect(JSONWriter.quoted("é😀\u{2028}\u{2029}/") == "\"é😀\\u2028\\u2029/\"")
        #expect(JSONWriter.quoted("") == #""""#)
        // Round trip through the module's own decoder and the reference parser.
        let tricky = "x\"\\\u{0}\u{7F}é😀\u{2028}<>&\n"
        let lit = JSONWriter.quoted(tricky)
        #expect(try RefParser.parse(lit) == .string(tricky))
        let meta = try ObjectMeta.parse(#"{"metadata":{"name":"# + lit + "}}")
        #expect(meta.name == tricky)
    }

    @Test func statusReasonsAndCodes() {
        let expected: [StatusReason: Int] = [
            .badRequest: 400, .unauthorized: 401, .forbidden: 403, .notFound: 404, .methodNotAllowed: 405,
            .notAcceptable: 406, .alreadyExists: 409, .conflict: 409, .gone: 410, .expired: 410,
            .requestEntityTooLarge: 413, .unsupportedMediaType: 415, .invalid: 422, .tooManyRequests: 429,
            .internalError: 500, .serverTimeout: 500, .unknown: 500, .serviceUnavailable: 503, .timeout: 504,
        ]
        #expect(expected.count == StatusReason.allCases.count)
        for r in StatusReason.allCases { #expect(r.httpCode == expected[r], "\(r)") }
        #expect(StatusReason(rawValue: "TooManyRequests") == .tooManyRequests)
        #expect(StatusReason.serviceUnavailable.rawValue == "ServiceUnavailable")
    }

    @Test func statusBodies() throws {
        let s1 = StatusBody(message: "upstream unavailable", reason: .serviceUnavailable)
        #expect(str(s1.serialized()) == #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"upstream unavailable","reason":"ServiceUnavailable","code":503}"# + "\n")
        let s2 = StatusBody(message: #"pods "x<y>" not found"#, reason: .notFound, details: StatusDetails(name: "x<y>", kind: "pods"))
        #expect(str(s2.serialized(trailingNewline: false)) == #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"x\u003cy\u003e\" not found","reason":"NotFound","details":{"name":"x\u003cy\u003e","kind":"pods"},"code":404}"#)
        let s3 = StatusBody(message: "bad", reason: .invalid, details: StatusDetails(
            name: "n", group: "apps", kind: "Deployment", uid: "u",
            causes: [StatusCause(reason: "FieldValueInvalid", message: "m", field: "spec.replicas"), StatusCause(message: "only")],
            retryAfterSeconds: 3))
        let v = try RefParser.parse(s3.serialized())
        #expect(v["code"] == .number("422"))
        #expect(v["details"]?["group"]?.string == "apps")
        #expect(v["details"]?["causes"]?.array?.count == 2)
        #expect(v["details"]?["retryAfterSeconds"] == .number("3"))
        #expect(str(s3.serialized(trailingNewline: false)).contains(#""details":{"name":"n","group":"apps","kind":"Deployment","uid":"u","causes":[{"reason":"FieldValueInvalid","message":"m","field":"spec.replicas"},{"message":"only"}],"retryAfterSeconds":3},"code":422}"#))
        let s4 = StatusBody(message: "", reason: .unknown, details: StatusDetails(), code: 0)
        #expect(str(s4.serialized(trailingNewline: false)) == #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","details":{}}"#)
        let s5 = StatusBody(message: "too many", reason: .tooManyRequests, details: StatusDetails(retryAfterSeconds: 1))
        #expect(str(s5.serialized(trailingNewline: false)) == #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too many","reason":"TooManyRequests","details":{"retryAfterSeconds":1},"code":429}"#)
        // The module's own parser agrees.
        let m = try ObjectMeta.parse(s2.serialized(), fields: FieldPaths([["reason"], ["code"], ["details", "name"]]))
        #expect(m.kind == "Status" && m.fields == ["NotFound", "404", "x<y>"])
    }

    @Test func listBuilderAndRoundTrip() throws {
        let items = [bytes(podA), bytes(podC)]
        let out = ListBuilder.build(kind: "PodList", apiVersion: "v1", resourceVersion: "9", continueToken: "c\"t",
                                    remainingItemCount: 12, items: items)
        #expect(str(out) == #"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9","continue":"c\"t","remainingItemCount":12},"items":["# + podA + "," + podC + "]}\n")
        let r = try split(out, cuts: [33, 77])
        #expect(r.items == items)
        #expect(r.info.resourceVersion == "9" && r.info.continueToken == "c\"t" && r.info.remainingItemCount == 12)
        let empty = ListBuilder.build(kind: "ConfigMapList", apiVersion: "v1", items: [[UInt8]](), trailingNewline: false)
        #expect(str(empty) == #"{"kind":"ConfigMapList","apiVersion":"v1","metadata":{},"items":[]}"#)
        // Streaming form.
        var b = ListBuilder(kind: "PodList", apiVersion: "v1", continueToken: "x")
        var o: [UInt8] = []
        b.begin(into: &o)
        b.append(item: bytes("{}"), into: &o)
        b.append(item: bytes("{}"), into: &o)
        b.end(into: &o, trailingNewline: false)
        #expect(str(o) == #"{"kind":"PodList","apiVersion":"v1","metadata":{"continue":"x"},"items":[{},{}]}"#)
        #expect(b.itemCount == 2)
    }

    @Test func watchEventWriterAndBookmarks() throws {
        #expect(str(WatchEventWriter.event(type: .added, object: bytes(#"{"a":1}"#))) == #"{"type":"ADDED","object":{"a":1}}"# + "\n")
        let bm = WatchEventWriter.bookmark(kind: "Pod", apiVersion: "v1", resourceVersion: "12345")
        #expect(str(bm) == ev4 + "\n")
        let generic = WatchEventWriter.bookmark(kind: "Widget", apiVersion: "example.com/v1", resourceVersion: "7",
                                                annotations: [("k8s.io/initial-events-end", "true")])
        #expect(str(generic) == #"{"type":"BOOKMARK","object":{"kind":"Widget","apiVersion":"example.com/v1","metadata":{"resourceVersion":"7","creationTimestamp":null,"annotations":{"k8s.io/initial-events-end":"true"}}}}"# + "\n")
        let custom = WatchEventWriter.bookmark(kind: "Node", apiVersion: "v1", resourceVersion: "1", bodyTail: #""spec":{},"status":{}"#, nullCreationTimestamp: false)
        #expect(str(custom) == #"{"type":"BOOKMARK","object":{"kind":"Node","apiVersion":"v1","metadata":{"resourceVersion":"1"},"spec":{},"status":{}}}"# + "\n")
        // Written events parse back through the splitter.
        let evs = try runWatch(bm + generic + WatchEventWriter.event(type: .deleted, object: bytes(podA)), cuts: [40])
        #expect(evs.map(\.type) == [.bookmark, .bookmark, .deleted])
        #expect(evs[1].meta.resourceVersion == "7" && evs[1].meta.kind == "Widget")
        #expect(evs[2].objectBytes == bytes(podA))
    }
}

@Suite struct ObjectMetaTests {
    @Test func fieldPathRendering() throws {
        let p = FieldPaths([["spec", "unschedulable"], ["spec", "replicas"], ["spec", "taints"], ["status", "phase"],
                            ["metadata", "annotations", "a/b"], ["metadata", "generation"], ["spec"], ["spec", "unschedulable"],
                            ["missing", "x"], ["metadata", "namespace"]])
        #expect(p.count == 9)
        let m = try ObjectMeta.parse(#"{"spec":{"unschedulable":false,"replicas":-3.5e2,"taints":[{"k":"v"}]},"status":{"phase":null},"metadata":{"generation":-4,"annotations":{"a/b":"x\u0041"},"name":"n"}}"#, fields: p)
        #expect(m.fields == ["false", "-3.5e2", #"[{"k":"v"}]"#, nil, "xA", "-4",
                             #"{"unschedulable":false,"replicas":-3.5e2,"taints":[{"k":"v"}]}"#, nil, ""])
        #expect(m.generation == -4 && m.name == "n")
        #expect(p.index(of: ["spec", "unschedulable"]) == 0)
    }

    @Test func escapedKeysAndSurrogates() throws {
        let m = try ObjectMeta.parse(#"{"met\u0061data":{"n\u0061me":"\ud83d\ude00\u00e9\ud800x","labels":{"\u00e9":"\/"}},"kind":"K"}"#)
        #expect(m.name == "😀é\u{FFFD}x")
        #expect(m.labels.count == 1 && m.labels[0].0 == "é" && m.labels[0].1 == "/")
        #expect(m.kind == "K")
    }

    @Test func rejectsInvalid() {
        for bad in ["", "{", #"{"a"}"#, #"{"a":}"#, "[]", #"{"a":1}x"#, #"{"a":"\u12g4"}"#, #"{"a":-}"#, #"{"a":1.}"#, #"{"a":nul}"#] {
            #expect(throws: JSONError.self, "\(bad)") { _ = try ObjectMeta.parse(bad) }
        }
        #expect(throws: JSONError(.itemNotObject, offset: 1)) { _ = try ObjectMeta.parse(" []") }
    }
}
