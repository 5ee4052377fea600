import Foundation
import KubeJSON
import Testing
@testable import KubeTable

/// Tables captured from the lab kube-apiserver v1.20.2 (scripts/gen/table-fixtures): for each
/// resource the plain list and the Table kubectl asks for, back to back. Outpost's Table of the
/// list's items must equal the apiserver's, the age cells allowing for the second that may pass
/// between the capture's start and end.
enum TableFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func json(_ bytes: [UInt8]) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    }

    /// The capture's start and end (epoch seconds).
    static func capturedAt() throws -> (Double, Double) {
        let lines = String(decoding: try bytes("captured-at"), as: UTF8.self).split(separator: "\n").compactMap { Double($0) }
        return (lines.first ?? 0, lines.last ?? 0)
    }

    /// The raw items of a captured list, with the list's kind (minus "List") and apiVersion added
    /// as Outpost stores them.
    static func items(_ name: String) throws -> (resourceVersion: String, items: [[UInt8]]) {
        var splitter = JSONListSplitter()
        let items = try splitter.feed(try bytes(name)).compactMap { segment -> [UInt8]? in
            if case .item(let b, _) = segment { return b }
            return nil
        }
        let info = try splitter.finish()
        let kind = String(info.kind!.dropLast(4))
        // As the list tee stores them: the list's kind and apiVersion put first.
        let typed = items.map { item -> [UInt8] in
            Array("{\"kind\":\"\(kind)\",\"apiVersion\":\"\(info.apiVersion!)\",".utf8) + item.dropFirst()
        }
        return (info.resourceVersion ?? "", typed)
    }

    static let ageColumns: Set<String> = ["Age", "Last Seen", "First Seen"]

    /// The seconds the capture may have happened at (`date +%s` truncates).
    static func captureSeconds() throws -> [Double] {
        let (t0, t1) = try capturedAt()
        return Array(stride(from: t0, through: t1 + 1, by: 1))
    }

    /// Compares a captured Table with ours built at each second of the capture: every age cell
    /// must be one of those seconds' (the rest must be equal).
    static func compare(captured: Any, builds: [Any]) -> String? {
        guard let c = captured as? [String: Any], let o = builds.first as? [String: Any] else { return "not objects" }
        let others = builds.compactMap { $0 as? [String: Any] }
        let columns = (c["columnDefinitions"] as? [[String: Any]] ?? []).map { $0["name"] as? String ?? "" }
        var c2 = c, o2 = o
        c2["rows"] = nil; o2["rows"] = nil
        if let d = diff(c2, o2) { return "table: \(d)" }
        let cr = c["rows"] as? [[String: Any]] ?? [], or = o["rows"] as? [[String: Any]] ?? []
        guard cr.count == or.count else { return "rows: \(cr.count) vs \(or.count)" }
        for i in cr.indices {
            var crow = cr[i], orow = or[i]
            var ccells = crow["cells"] as? [Any] ?? [], ocells = orow["cells"] as? [Any] ?? []
            guard ccells.count == ocells.count else { return "row \(i): \(ccells.count) cells vs \(ocells.count)" }
            for (j, name) in columns.enumerated() where ageColumns.contains(name) && j < ccells.count {
                let captured = ccells[j] as? String
                let candidates = others.map { (($0["rows"] as? [[String: Any]] ?? [])[i]["cells"] as? [Any] ?? [])[j] as? String }
                guard candidates.contains(captured) else {
                    return "row \(i) \(name): \(captured ?? "-") not in \(candidates)"
                }
                ccells[j] = "age"; ocells[j] = "age"
            }
            crow["cells"] = ccells; orow["cells"] = ocells
            if let d = diff(crow, orow) { return "row \(i) (\(cr[i]["cells"] as? [Any] ?? [])): \(d)" }
        }
        return nil
    }

    static func diff(_ a: Any, _ b: Any, path: String = "$") -> String? {
        switch (a, b) {
        case let (x as [String: Any], y as [String: Any]):
            for k in Set(x.keys).union(y.keys).sorted() {
                guard let xv = x[k] else { return "\(path).\(k): only in ours" }
                guard let yv = y[k] else { return "\(path).\(k): missing in ours" }
                if let d = diff(xv, yv, path: "\(path).\(k)") { return d }
            }
            return nil
        case let (x as [Any], y as [Any]):
            guard x.count == y.count else { return "\(path): \(x.count) vs \(y.count)" }
            for i in x.indices { if let d = diff(x[i], y[i], path: "\(path)[\(i)]") { return d } }
            return nil
        case (is NSNull, is NSNull): return nil
        case let (x as NSNumber, y as NSNumber): return x == y ? nil : "\(path): \(x) vs \(y)"
        case let (x as String, y as String): return x == y ? nil : "\(path): \(x.debugDescription) vs \(y.debugDescription)"
        default: return "\(path): \(a) vs \(b)"
        }
    }
}

@Suite struct TableFixtureTests {
    static let cases: [(String, String, String)] = [
        ("pods", "", "pods"), ("nodes", "", "nodes"), ("services", "", "services"), ("endpoints", "", "endpoints"),
        ("configmaps", "", "configmaps"), ("secrets", "", "secrets"), ("namespaces", "", "namespaces"),
        ("events", "", "events"), ("events-v1", "events.k8s.io", "events"), ("leases", "coordination.k8s.io", "leases"),
        ("roles", "rbac.authorization.k8s.io", "roles"),
    ]

    @Test(arguments: cases)
    func tableEqualsTheApiserversTable(_ name: String, _ group: String, _ resource: String) throws {
        let (rv, items) = try TableFixtures.items("\(name).list.json")
        #expect(!items.isEmpty)
        func build(_ now: Double) throws -> [UInt8] {
            var w = TableWriter(printer: try #require(Printers.printer(group: group, resource: resource)), include: .metadata)
            var out: [UInt8] = []
            w.begin(resourceVersion: rv, into: &out)
            for item in items { try w.appendRow(object: item, now: now, into: &out) }
            w.end(into: &out)
            return out
        }
        let captured = try TableFixtures.bytes("\(name).table.json")
        let builds = try TableFixtures.captureSeconds().map { try build($0) }
        let d = TableFixtures.compare(captured: try TableFixtures.json(captured), builds: try builds.map { try TableFixtures.json($0) })
        #expect(d == nil, "\(name): \(d ?? "")")
        if !String(decoding: captured, as: UTF8.self).contains("\"Age\"") {
            // No age cells: the bytes are the apiserver's own.
            #expect(builds[0] == captured, "\(name): bytes differ")
        }
    }

    @Test func metadataListEqualsTheApiserversPartialObjectMetadataList() throws {
        let (rv, items) = try TableFixtures.items("pods.list.json")
        var b = ListBuilder(kind: "PartialObjectMetadataList", apiVersion: "meta.k8s.io/v1", resourceVersion: rv)
        var out: [UInt8] = []
        b.begin(into: &out)
        for item in items { b.append(item: try PartialObjectMetadata.of(object: item), into: &out) }
        b.end(into: &out)
        #expect(out == (try TableFixtures.bytes("pods.metadata.json")))
    }

    @Test func includeObjectNoneAndObjectRowsMatch() throws {
        let (rv, items) = try TableFixtures.items("pods.list.json")
        let builds = try TableFixtures.captureSeconds().map { now -> Any in
            var w = TableWriter(printer: .pods, include: .none)
            var out: [UInt8] = []
            w.begin(resourceVersion: rv, into: &out)
            for item in items { try w.appendRow(object: item, now: now, into: &out) }
            w.end(into: &out)
            return try TableFixtures.json(out)
        }
        let captured = try TableFixtures.json(try TableFixtures.bytes("pods.none.table.json"))
        let d = TableFixtures.compare(captured: captured, builds: builds)
        #expect(d == nil, "\(d ?? "")")
    }

    /// Online, a row fetched with `includeObject=Object` is cut back to what a default ask gets.
    @Test func strippedObjectRowsEqualMetadataRows() throws {
        var s1 = JSONListSplitter(shape: .table), s2 = JSONListSplitter(shape: .table)
        let objectRows = try s1.feed(try TableFixtures.bytes("pods.object.table.json")).compactMap { seg -> [UInt8]? in
            if case .item(let b, _) = seg { return b }
            return nil
        }
        let metadataRows = try s2.feed(try TableFixtures.bytes("pods.table.json")).compactMap { seg -> [UInt8]? in
            if case .item(let b, _) = seg { return b }
            return nil
        }
        #expect(objectRows.count == 2)
        for (i, row) in objectRows.enumerated() {
            let stripped = try RowRewrite.strip(row: row, to: .metadata, apiVersion: "meta.k8s.io/v1")
            let a = try TableFixtures.json(stripped) as! [String: Any], b = try TableFixtures.json(metadataRows[i]) as! [String: Any]
            #expect(TableFixtures.diff(a["object"]!, b["object"]!) == nil)
            let none = try TableFixtures.json(try RowRewrite.strip(row: row, to: .none, apiVersion: "meta.k8s.io/v1")) as! [String: Any]
            #expect(none["object"] is NSNull)
        }
    }

    @Test func tableRowsCarryTheirObjectsMetadata() throws {
        var s = JSONListSplitter(shape: .table)
        let names = try s.feed(try TableFixtures.bytes("pods.table.json")).compactMap { seg -> String? in
            if case .item(_, let m) = seg { return m.name }
            return nil
        }
        let info = try s.finish()
        #expect(info.kind == "Table")
        #expect(names.contains("pod-running") && names.contains("pod-crash"))
    }
}

@Suite struct GetTableFixtureTests {
    /// A get's Table: one row, the object's resourceVersion as the Table's (what GetAnswer writes).
    @Test func oneObjectTableEqualsTheApiserversGet() throws {
        let (_, items) = try TableFixtures.items("pods.list.json")
        let pod = try #require(items.first { (try? JSONNode.parse($0))?["metadata", "name"].string == "pod-running" })
        let rv = try JSONNode.parse(pod)["metadata", "resourceVersion"].string
        let builds = try TableFixtures.captureSeconds().map { now -> Any in
            var w = TableWriter(printer: .pods, include: .metadata)
            var out: [UInt8] = []
            w.begin(resourceVersion: rv, into: &out)
            try w.appendRow(object: pod, now: now, into: &out)
            w.end(into: &out)
            return try TableFixtures.json(out)
        }
        let d = TableFixtures.compare(captured: try TableFixtures.json(try TableFixtures.bytes("pod.get.table.json")), builds: builds)
        #expect(d == nil, "\(d ?? "")")
    }
}
