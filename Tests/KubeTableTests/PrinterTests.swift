import Testing
@testable import KubeTable

/// Printer branches the fixtures do not reach, checked against the 1.20 printer code paths.
@Suite struct PrinterTests {
    func row(_ printer: TablePrinter, _ json: String, now: Double = 0) throws -> [TableCell] {
        try printer.row(JSONNode.parse(Array(json.utf8)), now: now).cells
    }

    @Test func endpointsBeyondThreeAreCounted() throws {
        let cells = try row(.endpoints, #"{"metadata":{"name":"e"},"subsets":[{"addresses":[{"ip":"1.1.1.1"},{"ip":"1.1.1.2"},{"ip":"fd00::1"},{"ip":"1.1.1.4"}],"ports":[{"port":80}]}]}"#)
        #expect(cells[1] == .string("1.1.1.1:80,1.1.1.2:80,[fd00::1]:80 + 1 more..."))
    }

    @Test func podsDeletedOnALostNodeAreUnknown() throws {
        let cells = try row(.pods, #"{"metadata":{"name":"p","deletionTimestamp":"2026-01-01T00:00:00Z"},"spec":{"containers":[{}]},"status":{"phase":"Running","reason":"NodeLost"}}"#)
        #expect(cells[2] == .string("Unknown"))
    }

    @Test func completedWithARunningContainerIsRunningOrNotReady() throws {
        let base = #""spec":{"containers":[{},{}]},"status":{"phase":"Running","containerStatuses":[{"ready":false,"state":{"terminated":{"exitCode":0,"reason":"Completed"}}},{"ready":true,"state":{"running":{}}}]"#
        #expect(try row(.pods, "{\"metadata\":{\"name\":\"p\"},\(base),\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}")[2] == .string("Running"))
        #expect(try row(.pods, "{\"metadata\":{\"name\":\"p\"},\(base)}}")[2] == .string("NotReady"))
    }

    @Test func eventSeriesCountsOneMore() throws {
        let cells = try row(.events, #"{"metadata":{"name":"e"},"involvedObject":{"kind":"Pod","name":"x"},"eventTime":"1970-01-01T00:00:00.000000Z","series":{"count":4,"lastObservedTime":"1970-01-01T00:00:30.000000Z"},"reportingComponent":"c"}"#, now: 60)
        #expect(cells[0] == .string("30s"))
        #expect(cells[7] == .string("60s"))
        #expect(cells[8] == .int(5))
        #expect(cells[5] == .string("c"))
    }

    @Test func loadBalancerWithExternalIPsListsBoth() throws {
        let cells = try row(.services, #"{"metadata":{"name":"s"},"spec":{"type":"LoadBalancer","clusterIPs":["10.0.0.1"],"externalIPs":["192.0.2.1"],"ports":[{"port":80,"nodePort":30080,"protocol":"TCP"}]},"status":{"loadBalancer":{"ingress":[{"ip":"198.51.100.2"}]}}}"#)
        #expect(cells[2] == .string("10.0.0.1"))
        #expect(cells[3] == .string("198.51.100.2,192.0.2.1"))
        #expect(cells[4] == .string("80:30080/TCP"))
        #expect(cells[6] == .string("<none>"))
    }

    @Test func jsonNodeDecodesEscapesAndRejectsGarbage() throws {
        let node = try JSONNode.parse(Array(#"{"a":"\u003cx\u003e \ud83d\ude00 \n","b":[1,-2.5e3,true,null]}"#.utf8))
        #expect(node["a"].string == "<x> 😀 \n")
        #expect(node["b"].array.count == 4)
        #expect(throws: TableError.self) { try JSONNode.parse(Array(#"{"a":}"#.utf8)) }
        #expect(throws: TableError.self) { try JSONNode.parse(Array(#"{"a":1} x"#.utf8)) }
    }
}

/// The per-event Table of a Table watch, against events captured from the lab apiserver
/// (`kubectl get cm -w`, includeObject=None): first with column definitions, then `null`.
@Suite struct WatchEventTableTests {
    @Test func matchesTheApiserversEvents() throws {
        let cm = Array(#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"watched-x","namespace":"table-fixtures","resourceVersion":"8201","creationTimestamp":"1970-01-01T00:00:00Z"},"data":{"a":"b"}}"#.utf8)
        let later = try TableWriter.watchEventTable(object: cm, printer: .configMaps, include: .none, withColumns: false, now: 0)
        #expect(String(decoding: later, as: UTF8.self)
            == #"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"8201"},"columnDefinitions":null,"rows":[{"cells":["watched-x",1,"0s"],"object":null}]}"#)
        let first = try TableWriter.watchEventTable(object: cm, printer: .configMaps, include: .none, withColumns: true, now: 0)
        #expect(String(decoding: first, as: UTF8.self).hasPrefix(#"{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":"8201"},"columnDefinitions":[{"name":"Name","#))
    }
}

/// Damaged input never crashes the tree parser or the printers: every truncation of a real pod
/// either parses or throws, and seeded byte flips print or throw.
@Suite struct TableRobustnessTests {
    @Test func truncationsAndFlips() throws {
        let (_, items) = try TableFixtures.items("pods.list.json")
        let pod = items[0]
        for cut in 0..<pod.count {
            if let node = try? JSONNode.parse(Array(pod[..<cut])) { _ = TablePrinter.pods.row(node, now: 0) }
        }
        var state: UInt64 = 42
        for _ in 0..<2000 {
            var damaged = pod
            for _ in 0..<3 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                damaged[Int(state >> 33) % damaged.count] = UInt8(truncatingIfNeeded: state >> 17)
            }
            var w = TableWriter(printer: .pods, include: .metadata)
            var out: [UInt8] = []
            try? w.appendRow(object: damaged, now: 0, into: &out)
            _ = try? RowRewrite.strip(row: damaged, to: .metadata, apiVersion: "meta.k8s.io/v1")
        }
    }
}

@Suite struct SkippingParseTests {
    /// Skipped members keep their exact ranges, so copies of `metadata` stay byte for byte.
    @Test func skippedMembersKeepTheirRanges() throws {
        let text = #"{"metadata":{"name":"a","managedFields":[{"x":"}]\"{","y":[1,{"z":null}]}],"annotations":{"k":"v"},"labels":{"l":"1"}},"spec":7}"#
        let bytes = Array(text.utf8)
        let full = try JSONNode.parse(bytes)
        let skipped = try JSONNode.parse(bytes, skipping: ["managedFields", "annotations"])
        #expect(full.range(of: "metadata") == skipped.range(of: "metadata"))
        #expect(full["metadata"].members.map(\.range) == skipped["metadata"].members.map(\.range))
        #expect(skipped["metadata", "managedFields"] == .null)
        #expect(skipped["metadata", "labels", "l"].string == "1")
        #expect(skipped["spec"] == .number("7"))
        #expect(throws: TableError.self) { try JSONNode.parse(Array(#"{"managedFields":[1,2"#.utf8), skipping: ["managedFields"]) }
    }
}
