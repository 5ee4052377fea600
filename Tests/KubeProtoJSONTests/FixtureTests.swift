import Foundation
import Testing
import KubeProto
@testable import KubeProtoJSON

/// Fixtures captured from a real kube-apiserver v1.20.2 (namespace `protojson-fixtures`): for each
/// object the JSON body (`Accept: application/json`) and the protobuf body (`k8s\0` + envelope).
/// See Fixtures/README.md for how they were made.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static let objects = [
        "pod", "service", "node", "configmap", "secret", "endpoints", "namespace", "event-core",
        "lease", "event-v1", "endpointslice", "deployment", "statefulset", "daemonset",
        "configmap-list", "status-notfound",
    ]
}

/// Compares two parsed JSON values and returns the path of the first difference, or nil.
func jsonDiff(_ a: Any, _ b: Any, path: String = "$") -> String? {
    switch (a, b) {
    case let (x as [String: Any], y as [String: Any]):
        for k in Set(x.keys).union(y.keys).sorted() {
            guard let xv = x[k] else { return "\(path).\(k): missing in converted" }
            guard let yv = y[k] else { return "\(path).\(k): unexpected in converted (\(xv))" }
            if let d = jsonDiff(xv, yv, path: "\(path).\(k)") { return d }
        }
        return nil
    case let (x as [Any], y as [Any]):
        guard x.count == y.count else { return "\(path): \(x.count) elements vs \(y.count)" }
        for i in x.indices {
            if let d = jsonDiff(x[i], y[i], path: "\(path)[\(i)]") { return d }
        }
        return nil
    case (is NSNull, is NSNull):
        return nil
    case let (x as NSNumber, y as NSNumber):
        // Distinguish booleans from numbers (a Bool NSNumber's objCType is "c").
        let xb = String(cString: x.objCType) == "c", yb = String(cString: y.objCType) == "c"
        return xb == yb && x == y ? nil : "\(path): \(x) vs \(y)"
    case let (x as String, y as String):
        return x == y ? nil : "\(path): \(x.debugDescription) vs \(y.debugDescription)"
    default:
        return "\(path): \(type(of: a)) \(a) vs \(type(of: b)) \(b)"
    }
}

func parseJSON(_ bytes: [UInt8]) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
}

/// The apiserver under test was built with Go 1.19, which escapes \b and \f as \u0008/\u000c;
/// we (like KubeJSON, and Go ≥ 1.22) write \b and \f. Everything else must be byte-identical.
func normalizeGoEscapes(_ b: [UInt8]) -> [UInt8] {
    var s = String(decoding: b, as: UTF8.self)
    s = s.replacingOccurrences(of: "\\u0008", with: "\\b").replacingOccurrences(of: "\\u000c", with: "\\f")
    return Array(s.utf8)
}

@Suite struct FixtureTests {
    @Test(arguments: Fixtures.objects)
    func convertedEqualsApiserverJSON(_ name: String) throws {
        let pb = try Fixtures.bytes("\(name).pb")
        var expected = try Fixtures.bytes("\(name).json")
        if expected.last == 0x0A { expected.removeLast() }   // json.Encoder's trailing newline
        let converted = try ProtoJSON.convert(envelope: pb)
        let diff = jsonDiff(try parseJSON(expected), try parseJSON(converted))
        #expect(diff == nil, "\(name): \(diff ?? "")\n\(String(decoding: converted, as: UTF8.self))")
        #expect(normalizeGoEscapes(expected) == converted, "\(name): not byte-identical")
    }

    @Test func envelopeNamesTheKind() throws {
        let e = try ProtoEnvelope.parse(try Fixtures.bytes("lease.pb"))
        #expect(e.typeMeta.apiVersion == "coordination.k8s.io/v1")
        #expect(e.typeMeta.kind == "Lease")
        #expect(e.contentEncoding == "")
        #expect(e.raw.lowerBound > 4)
    }

    /// The cache converts list items one at a time: each `items` element of the protobuf List,
    /// converted without TypeMeta, equals the matching element of the apiserver's JSON List; with
    /// TypeMeta it gains kind/apiVersion first.
    @Test func listItemsOneAtATime() throws {
        let pb = try Fixtures.bytes("configmap-list.pb")
        let e = try ProtoEnvelope.parse(pb)
        #expect(e.typeMeta.kind == "ConfigMapList")
        let list = try parseJSON(try Fixtures.bytes("configmap-list.json")) as! [String: Any]
        let items = list["items"] as! [Any]
        var converted: [[UInt8]] = []
        try pb.withUnsafeBytes { buf in
            var r = ProtoReader(buf, range: e.raw)
            while !r.isAtEnd {
                let at = r.offset
                let tag = try r.readTag()
                guard tag.field == 2 else { try r.skip(tag, tagOffset: at); continue }
                let item = try r.readLengthDelimitedRange()
                converted.append(try ProtoJSON.convert(message: Array(pb[item]), kind: "ConfigMap", apiVersion: "v1",
                                                       includeTypeMeta: false))
            }
        }
        #expect(converted.count == items.count && !items.isEmpty)
        for (i, c) in converted.enumerated() {
            #expect(jsonDiff(items[i], try parseJSON(c)) == nil)
        }
        let withMeta = try ProtoJSON.convert(message: [], kind: "ConfigMap", apiVersion: "v1")
        #expect(String(decoding: withMeta, as: UTF8.self).hasPrefix(#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"#))
    }
}
