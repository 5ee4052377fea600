import Foundation
import Testing
import KubeJSON
@testable import KubeProto

@Suite struct EnvelopeTests {
    @Test func configMapGetFixture() throws {
        let body = try Fixture.bytes("configmap.pb")
        let (env, meta) = try ProtoObjectMeta.parseBody(body)
        #expect(env.typeMeta == ProtoTypeMeta(apiVersion: "v1", kind: "ConfigMap"))
        #expect(env.contentEncoding == "" && env.contentType == "")
        #expect(meta.kind == "ConfigMap" && meta.apiVersion == "v1")
        #expect(meta.name == "cm1" && meta.namespace == "kubeproto-fixtures")
        #expect(!meta.uid.isEmpty && !meta.resourceVersion.isEmpty)
        #expect(meta.labels.count == 1 && meta.label("team") == "a")
        #expect(meta.generation == nil && !meta.hasDeletionTimestamp)
        // Writing the stored message back gives the apiserver's exact bytes.
        let message = Array(body[env.raw])
        #expect(ProtoObjectWriter.encode(typeMeta: env.typeMeta, message: message) == body)
        #expect(ProtoEnvelope.bodySize(typeMeta: env.typeMeta, rawLength: message.count) == body.count)
        #expect(Array(body.suffix(4)) == ProtoEnvelope.trailer)
    }

    @Test func roundTripAndFields() throws {
        let tm = ProtoTypeMeta(apiVersion: "apps/v1", kind: "Deployment")
        let raw: [UInt8] = Array(repeating: 0x41, count: 300)
        let body = ProtoEnvelope.encode(typeMeta: tm, raw: raw)
        #expect(Array(body.prefix(4)) == ProtoEnvelope.magic)
        let env = try ProtoEnvelope.parse(body)
        #expect(env.typeMeta == tm)
        #expect(Array(body[env.raw]) == raw)
        #expect(ProtoEnvelope.bodySize(typeMeta: tm, rawLength: 300) == body.count)
        // Non-empty contentType / contentEncoding and an unknown field are read / skipped.
        var w = ProtoWriter()
        w.raw(ProtoEnvelope.magic)
        w.field(2, bytes: [1, 2])
        w.field(3, string: "gzip")
        w.field(4, string: "application/x")
        w.field(9, varint: 7)
        let e2 = try ProtoEnvelope.parse(w.bytes)
        #expect(e2.contentEncoding == "gzip" && e2.contentType == "application/x")
        #expect(Array(w.bytes[e2.raw]) == [1, 2])
        #expect(e2.typeMeta == ProtoTypeMeta(apiVersion: "", kind: ""))
    }

    @Test func badEnvelopes() {
        #expect(kind { _ = try ProtoEnvelope.parse(Array("{\"kind\"".utf8)) } == .badMagic)
        #expect(kind { _ = try ProtoEnvelope.parse([0x6B, 0x38]) } == .truncated)
        #expect(kind { _ = try ProtoEnvelope.parse(ProtoEnvelope.magic + [0x12, 0x05, 0x00]) } == .truncated)
        #expect(kind { _ = try ProtoEnvelope.parse(ProtoEnvelope.magic + [0x10, 0x05]) } == .wrongWireType(field: 2, wireType: 0))
    }
}

@Suite struct ObjectMetaTests {
    @Test func everyField() throws {
        var md = ProtoWriter()
        md.field(1, string: "name-1")
        md.field(2, string: "gen-")
        md.field(3, string: "ns")
        md.field(4, string: "/self")
        md.field(5, string: "uid-1")
        md.field(6, string: "42")
        md.field(7, int64: 5)
        md.message(8) { $0.field(1, int64: 1_700_000_000) }
        md.message(9) { $0.field(1, int64: 1_700_000_100) }
        md.field(10, int64: 30)
        md.message(11) { $0.field(1, string: "z"); $0.field(2, string: "1") }
        md.message(11) { $0.field(1, string: "a"); $0.field(2, string: "2") }
        md.message(11) { $0.field(2, string: "no-key") }
        md.message(12) { $0.field(1, string: "note"); $0.field(2, string: "x") }
        md.message(13) { $0.field(1, string: "ReplicaSet"); $0.field(3, string: "rs"); $0.field(6, bool: true) }
        md.field(14, string: "fin")
        md.field(15, string: "")
        md.message(17) { $0.field(1, string: "kubectl") }
        var obj = ProtoWriter()
        obj.field(1, bytes: md.bytes)
        obj.message(2) { $0.field(10, string: "node") }
        let m = try ProtoObjectMeta.parse(obj.bytes, typeMeta: ProtoTypeMeta(apiVersion: "v1", kind: "Pod"))
        #expect(m.name == "name-1" && m.namespace == "ns" && m.uid == "uid-1" && m.resourceVersion == "42")
        #expect(m.generation == 5)
        #expect(m.hasDeletionTimestamp)
        #expect(m.kind == "Pod" && m.apiVersion == "v1")
        // Wire order, not sorted; a missing key reads as "".
        #expect(m.labels.map(\.0) == ["z", "a", ""])
        #expect(m.label("a") == "2" && m.label("") == "no-key")
    }

    @Test func protobufSemantics() throws {
        // generation 0 is nil (JSON omits it); repeated scalars: last wins; labels: last value wins;
        // a second metadata field merges.
        var obj = ProtoWriter()
        obj.field(1, bytes: Msg.objectMeta(name: "a", rv: "1", labels: [("k", "v1")]))
        var md2 = ProtoWriter()
        md2.field(6, string: "2")
        md2.message(11) { $0.field(1, string: "k"); $0.field(2, string: "v2") }
        obj.field(1, bytes: md2.bytes)
        let m = try ProtoObjectMeta.parse(obj.bytes)
        #expect(m.name == "a" && m.resourceVersion == "2" && m.generation == nil)
        #expect(m.labels.count == 1 && m.label("k") == "v2")
        #expect(m.kind == nil && m.apiVersion == nil)
        #expect(try ProtoObjectMeta.parse([]) == ObjectMeta())
    }

    @Test func wrongWireTypes() {
        #expect(kind { _ = try ProtoObjectMeta.parse([0x08, 0x01]) } == .wrongWireType(field: 1, wireType: 0))
        // name as a varint inside metadata
        #expect(kind { _ = try ProtoObjectMeta.parse([0x0A, 0x02, 0x08, 0x01]) } == .wrongWireType(field: 1, wireType: 0))
        // generation as a string
        #expect(kind { _ = try ProtoObjectMeta.parse([0x0A, 0x03, 0x3A, 0x01, 0x31]) } == .wrongWireType(field: 7, wireType: 2))
        // labels entry truncated
        #expect(kind { _ = try ProtoObjectMeta.parse([0x0A, 0x04, 0x5A, 0x02, 0x0A, 0x05]) } == .truncated)
    }

    @Test func fieldPathsRenderLikeJSON() throws {
        var obj = ProtoWriter()
        obj.field(1, bytes: Msg.objectMeta(name: "p", namespace: "ns", generation: 3, labels: [("app", "web")]))
        obj.message(2) { s in
            s.field(10, string: "node-a")
            s.field(11, bool: true)
            s.field(12, int64: -7)
        }
        obj.message(3) { s in
            s.field(1, string: "Running")
            s.message(12) { $0.field(1, string: "10.0.0.1") }
            s.message(12) { $0.field(1, string: "fd00::1") }
        }
        obj.field(9, string: "Warning")
        let paths = ProtoFieldPaths([
            (slot: 0, path: [2, 10], kind: .string),
            (slot: 1, path: [2, 11], kind: .bool),
            (slot: 2, path: [2, 12], kind: .int),
            (slot: 3, path: [3, 1], kind: .string),
            (slot: 4, path: [3, .first(12), 1], kind: .string),
            (slot: 5, path: [2, 99], kind: .string),
            (slot: 6, path: [9], kind: .string),
            (slot: 7, path: [1, 1], kind: .string),
            (slot: 9, path: [3, 12, 1], kind: .string),
        ])
        let m = try ProtoObjectMeta.parse(obj.bytes, fields: paths)
        #expect(m.fields == ["node-a", "true", "-7", "Running", "10.0.0.1", nil, "Warning", "p", nil, "fd00::1"])
        #expect(m.name == "p" && m.label("app") == "web")

        // A path whose value has the wrong wire type is an error, as for a Go decoder.
        let bad = ProtoFieldPaths([(slot: 0, path: [2, 10], kind: .bool)])
        #expect(kind { _ = try ProtoObjectMeta.parse(obj.bytes, fields: bad) } == .wrongWireType(field: 10, wireType: 2))
        let bad2 = ProtoFieldPaths([(slot: 0, path: [2, 11, 1], kind: .string)])
        #expect(kind { _ = try ProtoObjectMeta.parse(obj.bytes, fields: bad2) } == .wrongWireType(field: 11, wireType: 0))
    }

    @Test func fromJSONFieldPaths() throws {
        let json = FieldPaths([["spec", "nodeName"], ["metadata", "name"], ["status", "phase"],
                               ["metadata", "labels", "app"], ["metadata", "generation"], ["spec", "unknownThing"]])
        let paths = ProtoFieldPaths(json: json, group: "", resource: "pods")
        #expect(paths.count == json.count)
        let obj = Msg.pod(Msg.objectMeta(name: "x", generation: 2, labels: [("app", "web")]), nodeName: "n9", phase: "Failed")
        let m = try ProtoObjectMeta.parse(obj, fields: paths)
        #expect(m.field(["spec", "nodeName"], in: json) == "n9")
        #expect(m.field(["metadata", "name"], in: json) == "x")
        #expect(m.field(["status", "phase"], in: json) == "Failed")
        #expect(m.field(["metadata", "labels", "app"], in: json) == "web")
        #expect(m.field(["metadata", "generation"], in: json) == "2")
        #expect(m.field(["spec", "unknownThing"], in: json) == nil)
    }

    /// The real PodList's items give the same ObjectMeta as the JSON rendering of the same list.
    @Test func matchesJSONSide() throws {
        let json = try Fixture.bytes("podlist.json")
        var js = JSONListSplitter(fieldPaths: FieldPaths([["spec", "nodeName"], ["status", "phase"], ["status", "podIP"],
                                                          ["spec", "restartPolicy"], ["metadata", "name"]]))
        var jsonMetas: [ObjectMeta] = []
        for seg in try js.feed(json) { if case .item(_, let m) = seg { jsonMetas.append(m) } }
        let protoPaths = ProtoFieldPaths(json: js.fieldPaths, group: "", resource: "pods")
        let r = try splitList(try Fixture.bytes("podlist.pb"), paths: protoPaths)
        // Protobuf writes empty strings JSON omits; the cache's indexer reads nil as "" anyway.
        func norm(_ m: ObjectMeta) -> ObjectMeta { var m = m; m.fields = m.fields.map { $0 ?? "" }; return m }
        #expect(r.items.map { norm($0.meta) } == jsonMetas.map(norm))
        #expect(jsonMetas.count == 3)
        #expect(jsonMetas.contains { $0.name == "p2" && $0.fields[2] == "10.1.2.3" })
    }
}

/// Every `ProtoSelectableFields` entry: the numbers agree with the real generated.proto files
/// (when the Kubernetes source is unpacked on this machine), and extraction reads the value.
@Suite struct SelectableFieldsTests {
    static let src = "/var/tmp/kube-lab/cache/src/k8s/staging/src/k8s.io/api/"
    /// resource -> (proto file, top-level message)
    static let messages: [String: (String, String)] = [
        "pods": ("core/v1", "Pod"), "nodes": ("core/v1", "Node"), "replicationcontrollers": ("core/v1", "ReplicationController"),
        "events": ("core/v1", "Event"), "namespaces": ("core/v1", "Namespace"), "secrets": ("core/v1", "Secret"),
        "services": ("core/v1", "Service"), "jobs": ("batch/v1", "Job"),
        "certificatesigningrequests": ("certificates/v1", "CertificateSigningRequest"),
    ]

    @Test(arguments: ProtoSelectableFields.table)
    func entry(_ e: ProtoSelectableFields.Entry) throws {
        // 1. Against the schema.
        let (file, top) = try #require(Self.messages[e.resource])
        let schemaPath = Self.src + file + "/generated.proto"
        if FileManager.default.fileExists(atPath: Self.src) {
            let schema = try #require(ProtoSchema(path: schemaPath), "cannot read \(schemaPath)")
            var message = top
            var steps: [ProtoPathStep] = []
            var kind: ProtoFieldPaths.ValueKind = .string
            var i = 0
            while i < e.jsonPath.count {
                let name = e.jsonPath[i]
                let f = try #require(schema.field(message, name), "\(message).\(name) not in schema")
                var step = ProtoPathStep(field: f.number)
                if f.repeated {
                    // A repeated field is addressed by "0" (first element) in the JSON path.
                    #expect(i + 1 < e.jsonPath.count && e.jsonPath[i + 1] == "0")
                    step.firstElementOnly = true
                    i += 1
                }
                steps.append(step)
                switch f.type {
                case "string": kind = .string
                case "bool": kind = .bool
                case "int32", "int64": kind = .int
                default: message = String(f.type.split(separator: ".").last!)
                }
                i += 1
            }
            #expect(steps == e.field.path, "\(e.resource) \(e.jsonPath)")
            #expect(kind == e.field.kind, "\(e.resource) \(e.jsonPath)")
        }
        #expect(ProtoSelectableFields.lookup(group: e.group, resource: e.resource, path: e.jsonPath) == e.field)

        // 2. Extraction through the JSON paths the cache indexes.
        let value: [UInt8]
        let expected: String
        var inner = ProtoWriter()
        switch e.field.kind {
        case .string: inner.field(e.field.path.last!.field, string: "v-\(e.field.path.last!.field)"); expected = "v-\(e.field.path.last!.field)"
        case .bool: inner.field(e.field.path.last!.field, bool: true); expected = "true"
        case .int: inner.field(e.field.path.last!.field, int64: 12345); expected = "12345"
        }
        value = inner.bytes
        var bytes = value
        for step in e.field.path.dropLast().reversed() {
            var w = ProtoWriter()
            if step.firstElementOnly {
                // A decoy second element must not win.
                w.field(step.field, bytes: bytes)
                var decoy = ProtoWriter()
                decoy.field(e.field.path.last!.field, string: "decoy")
                w.field(step.field, bytes: decoy.bytes)
            } else {
                w.field(step.field, bytes: bytes)
            }
            bytes = w.bytes
        }
        var obj = ProtoWriter()
        obj.field(1, bytes: Msg.objectMeta(name: "o", namespace: "n"))
        obj.raw(bytes)
        let json = FieldPaths([e.jsonPath, ["metadata", "name"]])
        let paths = ProtoFieldPaths(json: json, group: e.group, resource: e.resource)
        let m = try ProtoObjectMeta.parse(obj.bytes, fields: paths)
        #expect(m.field(e.jsonPath, in: json) == expected)
        #expect(m.field(["metadata", "name"], in: json) == "o")
    }

    @Test func metadataPathsForAnyResource() {
        #expect(ProtoSelectableFields.lookup(group: "apps", resource: "deployments", path: ["metadata", "name"])?.path == [1, 1])
        #expect(ProtoSelectableFields.lookup(group: "apps", resource: "deployments", path: ["metadata", "namespace"])?.path == [1, 3])
        #expect(ProtoSelectableFields.lookup(group: "apps", resource: "deployments", path: ["spec", "replicas"]) == nil)
    }

    @Test func realNodeListUnschedulable() throws {
        let json = FieldPaths([["spec", "unschedulable"]])
        let r = try splitList(try Fixture.bytes("nodelist.pb"), paths: ProtoFieldPaths(json: json, group: "", resource: "nodes"))
        #expect(r.info.kind == "NodeList")
        #expect(r.items.count >= 1)
        // Protobuf always writes the bool: false where JSON omits it.
        #expect(r.items.allSatisfy { $0.meta.fields == ["false"] || $0.meta.fields == ["true"] })
    }
}

/// A tiny reader of `generated.proto` files: message -> field name -> (number, type, repeated).
struct ProtoSchema {
    struct Field { var number: Int; var type: String; var repeated: Bool }
    var messages: [String: [String: Field]] = [:]

    init?(path: String) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var current: String?
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("message "), line.hasSuffix("{") {
                current = String(line.dropFirst(8).dropLast().trimmingCharacters(in: .whitespaces))
                messages[current!] = [:]
            } else if line == "}" {
                current = nil
            } else if let cur = current, line.hasPrefix("optional ") || line.hasPrefix("repeated ") {
                // optional string nodeName = 10;
                let parts = line.replacingOccurrences(of: ";", with: "").split(separator: " ")
                guard parts.count >= 5, let n = Int(parts[4]) else { continue }
                messages[cur]![String(parts[2])] = Field(number: n, type: String(parts[1]), repeated: parts[0] == "repeated")
            }
        }
    }

    func field(_ message: String, _ name: String) -> Field? { messages[message]?[name] }
}
