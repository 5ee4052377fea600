import Testing
@testable import KubeJSON

let podA = #"{"metadata":{"name":"a","namespace":"ns1","uid":"u-1","resourceVersion":"10","generation":3,"labels":{"app":"web","tier":"fe"}},"spec":{"nodeName":"n1","unschedulable":true,"containers":[{"name":"c","args":["[","]","{\"x\":1}","\\"]}]},"status":{"phase":"Running"}}"#
let podB = #"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"b\u00e9\ud83d\ude00","namespace":"ns\"2","labels":{"k\/e\ny":"v\t1"},"deletionTimestamp":"2024-01-01T00:00:00Z"},"spec":{"nodeName":null,"weird":"}]\"[{"},"status":{"phase":"Pending","n":[1,-2.5e+3,0,{"a":[[],{}]}]}}"#
let podC = #"{"metadata":{"name":"c","deletionTimestamp":null,"generation":9999999999999999999999},"status":{}}"#
let smallList = #"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"123","continue":"tok\u003d","remainingItemCount":5},"items":[ "# + podA + " ,\n" + podB + "," + podC + " ] }\n"
let paths = FieldPaths([["spec", "nodeName"], ["status", "phase"], ["spec", "unschedulable"], ["metadata", "name"], ["metadata", "labels", "app"]])

@Suite struct ListSplitterTests {
    @Test func basicListValues() throws {
        let r = try split(bytes(smallList), cuts: [], paths: paths)
        #expect(r.info.kind == "PodList")
        #expect(r.info.apiVersion == "v1")
        #expect(r.info.resourceVersion == "123")
        #expect(r.info.continueToken == "tok=")
        #expect(r.info.remainingItemCount == 5)
        #expect(r.info.items == .array)
        #expect(r.info.itemCount == 3)
        #expect(r.items.map(str) == [podA, podB, podC])
        #expect(str(r.prefix) == #"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"123","continue":"tok\u003d","remainingItemCount":5},"items":["#)
        #expect(str(r.suffix) == "] }\n")

        let a = r.metas[0]
        #expect(a.name == "a" && a.namespace == "ns1" && a.uid == "u-1" && a.resourceVersion == "10")
        #expect(a.generation == 3)
        #expect(a.labels.map { $0.0 } == ["app", "tier"])
        #expect(a.label("tier") == "fe")
        #expect(!a.hasDeletionTimestamp)
        #expect(a.kind == nil)
        #expect(a.field(["spec", "nodeName"], in: paths) == "n1")
        #expect(a.field(["status", "phase"], in: paths) == "Running")
        #expect(a.field(["spec", "unschedulable"], in: paths) == "true")
        #expect(a.field(["metadata", "name"], in: paths) == "a")
        #expect(a.field(["metadata", "labels", "app"], in: paths) == "web")

        let b = r.metas[1]
        #expect(b.name == "bé😀")
        #expect(b.namespace == "ns\"2")
        #expect(b.labels.count == 1)
        #expect(b.labels[0].0 == "k/e\ny" && b.labels[0].1 == "v\t1")
        #expect(b.hasDeletionTimestamp)
        #expect(b.kind == "Pod" && b.apiVersion == "v1")
        #expect(b.field(["spec", "nodeName"], in: paths) == nil)
        #expect(b.field(["status", "phase"], in: paths) == "Pending")
        #expect(b.field(["spec", "unschedulable"], in: paths) == nil)
        #expect(b.field(["metadata", "labels", "app"], in: paths) == nil)

        let c = r.metas[2]
        #expect(c.name == "c" && !c.hasDeletionTimestamp && c.generation == nil)
        #expect(c.fields.count == paths.count)
    }

    @Test func everyTwoWaySplitAndByteAtATime() throws {
        let doc = bytes(smallList)
        let reference = try split(doc, cuts: [], paths: paths)
        for cut in 0...doc.count {
            let r = try split(doc, cuts: [cut], paths: paths)
            #expect(r == reference, "cut at \(cut)")
        }
        // Three-way splits around item boundaries.
        for a in stride(from: 0, through: doc.count, by: 7) {
            for b in stride(from: a, through: doc.count, by: 11) {
                #expect(try split(doc, cuts: [a, b], paths: paths) == reference)
            }
        }
        let bytewise = try split(doc, cuts: Array(1..<doc.count), paths: paths)
        #expect(bytewise == reference)
        #expect(bytewise.rebuild() == reference.rebuild())
        #expect(try RefParser.parse(reference.rebuild()) == RefParser.parse(doc))
    }

    @Test func metadataAfterItems() throws {
        let doc = bytes(#"{"items":["# + podA + "," + podC + #"],"metadata":{"continue":"","resourceVersion":"77","remainingItemCount":0},"apiVersion":"v1","kind":"PodList","extra":[1,{"items":2}]}"#)
        for cut in 0...doc.count {
            let r = try split(doc, cuts: [cut])
            #expect(r.info.resourceVersion == "77")
            #expect(r.info.continueToken == "")
            #expect(r.info.remainingItemCount == 0)
            #expect(r.info.kind == "PodList")
            #expect(r.items.map(str) == [podA, podC])
            #expect(str(r.prefix) == #"{"items":["#)
            #expect(str(r.suffix).hasPrefix(#"],"metadata""#))
        }
    }

    @Test func itemsNullMissingAndEmpty() throws {
        let cases: [(String, ListInfo.Items)] = [
            (#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"5"},"items":null}"#, .null),
            (#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"5"}}"#, .missing),
            (#" {"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"5"},"items":[ ]} "#, .array),
        ]
        for (doc, expected) in cases {
            let d = bytes(doc)
            for cut in 0...d.count {
                let r = try split(d, cuts: [cut])
                #expect(r.items.isEmpty)
                #expect(r.info.items == expected)
                #expect(r.info.resourceVersion == "5")
                #expect(r.prefix + r.suffix == d || expected == .array)
                #expect(try RefParser.parse(r.rebuild()) == RefParser.parse(d))
            }
        }
        #expect(try split(bytes("{}"), cuts: [1]).info == ListInfo())
    }

    @Test func truncatedAtEveryIndexThrowsOnFinish() throws {
        let doc = bytes(smallList)
        // Item end offsets in the document.
        var itemEnds: [Int] = []
        var searchFrom = doc.startIndex
        for item in [podA, podB, podC] {
            let ib = bytes(item)
            var k = searchFrom
            while !doc[k..<(k + ib.count)].elementsEqual(ib) { k += 1 }
            itemEnds.append(k + ib.count)
            searchFrom = k + ib.count
        }
        // Index of the root closing brace: the document is complete once it is fed.
        let lastBrace = doc.lastIndex(of: UInt8(ascii: "}"))!
        for cut in 0..<doc.count {
            for chunking in [[Int](), [cut / 2], Array(stride(from: 1, to: cut, by: 3))] {
                var s = JSONListSplitter()
                var emitted = 0
                var start = 0
                for c in chunking + [cut] where c >= start {
                    try doc[start..<c].withUnsafeBytes { try s.feed($0) { if case .item = $0 { emitted += 1 } } }
                    start = c
                }
                #expect(emitted == itemEnds.filter { $0 <= cut }.count, "cut \(cut)")
                if cut > lastBrace {
                    #expect(throws: Never.self) { try s.finish() }
                } else {
                    #expect(throws: JSONError(.incomplete, offset: cut)) { try s.finish() }
                }
            }
        }
    }

    @Test func rebuildDroppingItems() throws {
        let r = try split(bytes(smallList), cuts: [50, 200], paths: paths)
        let rebuilt = r.rebuild { $0.name != "a" && !$0.hasDeletionTimestamp }
        let v = try RefParser.parse(rebuilt)
        let items = try #require(v["items"]?.array)
        #expect(items.count == 1)
        #expect(items[0]["metadata"]?["name"]?.string == "c")
        #expect(v["metadata"]?["resourceVersion"]?.string == "123")
        #expect(v["kind"]?.string == "PodList")
        // Dropping everything still yields a valid, empty list.
        let none = try RefParser.parse(r.rebuild { _ in false })
        #expect(none["items"] == .array([]))
        // Rebuilt output re-splits to the same items.
        let again = try split(rebuilt, cuts: [])
        #expect(again.items.map(str) == [podC])
    }

    @Test func garbageAndErrorOffsets() throws {
        func err(_ s: String, cuts: [Int] = []) -> JSONError? {
            do { _ = try split(bytes(s), cuts: cuts); return nil } catch let e as JSONError { return e } catch { return nil }
        }
        #expect(err("[1,2]") == JSONError(.rootNotObject, offset: 0))
        #expect(err(#"{"items":[1]}"#) == JSONError(.itemNotObject, offset: 10))
        #expect(err(#"{"items":[{}],"items":[]}"#) == JSONError(.duplicateItems, offset: 22))
        #expect(err(#"{"items":[{"a":tru}]}"#)?.kind == .unexpectedByte(UInt8(ascii: "}")))
        #expect(err(#"{"items":[{"a":01}]}"#, cuts: [12])?.offset == 16)
        #expect(err(#"{"items":[{"a":"x\qy"}]}"#, cuts: [5, 18]) == JSONError(.invalidEscape, offset: 17))
        #expect(err(#"{"items":[{}]} x"#) == JSONError(.trailingData, offset: 15))
        #expect(err(#"{"items":{}}"#) == JSONError(.unexpectedByte(UInt8(ascii: "{")), offset: 9))
        #expect(err("{\"items\":[{\"a\":\"x\ny\"}]}") == JSONError(.controlCharacterInString, offset: 17))
        #expect(err(#"{"items":[{},]}"#)?.kind == .unexpectedByte(UInt8(ascii: "]")))
        #expect(err(#"{"items":[{"a":1 "b":2}]}"#)?.offset == 17)
        // Poisoned after error.
        var s = JSONListSplitter()
        #expect(throws: JSONError.self) { _ = try s.feed(bytes("]")) }
        #expect(throws: JSONError(.poisoned, offset: 0)) { _ = try s.feed(bytes("{}")) }
    }

    @Test func deepNestingIsAnErrorNotACrash() throws {
        let deep = #"{"items":[{"a":"# + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "}]}"
        #expect(throws: JSONError.self) { _ = try split(bytes(deep), cuts: []) }
        #expect(throws: JSONError.self) { _ = try split(bytes(deep), cuts: [100, 3000]) }
        let ok = #"{"items":[{"a":"# + String(repeating: "[", count: 1000) + String(repeating: "]", count: 1000) + "}]}"
        #expect(try split(bytes(ok), cuts: [500]).items.count == 1)
    }

    @Test func maxItemSize() throws {
        let doc = bytes(smallList)
        let big = bytes(podB).count
        #expect(try split(doc, cuts: [], maxItemSize: big).items.count == 3)
        for cuts in [[], [120], Array(stride(from: 1, to: doc.count, by: 5))] {
            #expect {
                _ = try split(doc, cuts: cuts, maxItemSize: big - 1)
            } throws: { e in
                guard let e = e as? JSONError, case .valueTooLarge(let limit) = e.kind else { return false }
                return limit == big - 1
            }
        }
    }

    @Test func fuzzGarbageNeverCrashesAndAgreesWithReference() throws {
        var rng = SplitMix64(seed: 42)
        let base = bytes(smallList)
        let alphabet = Array(#"{}[]":,\ntrue01-e.u"#.utf8) + [0x00, 0xFF, 0x5C]
        var accepted = 0
        for round in 0..<3000 {
            var doc: [UInt8]
            if round % 5 == 0 {
                doc = (0..<Int.random(in: 0..<80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                doc = base
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let at = Int.random(in: 0..<doc.count, using: &rng)
                    switch Int.random(in: 0..<3, using: &rng) {
                    case 0: doc[at] = alphabet.randomElement(using: &rng)!
                    case 1: doc.remove(at: at)
                    default: doc.insert(alphabet.randomElement(using: &rng)!, at: at)
                    }
                }
            }
            let cuts = (0..<Int.random(in: 0..<6, using: &rng)).map { _ in Int.random(in: 0...max(doc.count, 1), using: &rng) }.sorted()
            let ref = try? RefParser.parse(doc)
            do {
                let r = try split(doc, cuts: cuts)
                accepted += 1
                // Anything we accept must be valid JSON, and rebuilding must be lossless.
                let v = try #require(ref, "accepted invalid JSON: \(str(doc))")
                #expect(try RefParser.parse(r.rebuild()) == v)
            } catch is JSONError {
                // Rejected: fine unless the reference says it is a valid list-shaped object.
                if let ref, case .object(let members) = ref {
                    let itemsOK: Bool
                    switch ref["items"] {
                    case nil, .null?: itemsOK = true
                    case .array(let a)?: itemsOK = a.allSatisfy { if case .object = $0 { return true }; return false }
                    default: itemsOK = false
                    }
                    let dupItems = members.filter { $0.0 == "items" }.count > 1
                    #expect(!itemsOK || dupItems, "rejected valid list: \(str(doc))")
                }
            }
        }
        #expect(accepted > 0)
    }
}
