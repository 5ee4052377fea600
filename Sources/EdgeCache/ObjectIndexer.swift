import CacheStore
import KubeJSON
import KubeProto
import Selectors

/// What the cache extracts from each object of one resource while the bytes stream past: the
/// metadata plus the values of every field the apiserver lets clients select on, computed the
/// way the apiserver computes them, so offline field selectors give the same answers.
struct ObjectIndexer: Sendable {
    let support: ResourceFieldLabels
    let paths: FieldPaths
    /// The same slots, found by field number in protobuf bodies.
    let protoPaths: ProtoFieldPaths
    private let sources: [(label: String, source: FieldValueSource, paths: [[String]])]

    init(group: String, resource: String) {
        support = FieldLabelSupport.forResource(group: group, resource: resource)
        var all: [[String]] = []
        var sources: [(String, FieldValueSource, [[String]])] = []
        for field in support.fields {
            let ps = field.source.paths.compactMap(Self.keyPath)
            all.append(contentsOf: ps)
            sources.append((field.label, field.source, ps))
        }
        paths = FieldPaths(all)
        protoPaths = ProtoFieldPaths(json: paths, group: group, resource: resource)
        self.sources = sources
    }

    private static func keyPath(_ path: [JSONPathComponent]) -> [String]? {
        var out: [String] = []
        for c in path {
            guard case .key(let k) = c else { return nil }
            out.append(k)
        }
        return out
    }

    /// The object's selectable fields (label -> value), as the apiserver's field set.
    func fields(_ meta: ObjectMeta) -> [String: String] {
        var out: [String: String] = [:]
        out.reserveCapacity(sources.count)
        for (label, source, ps) in sources {
            let v: String
            switch source {
            case .string:
                v = ps.first.flatMap { meta.field($0, in: paths) } ?? ""
            case .bool:
                v = ps.first.flatMap { meta.field($0, in: paths) } == "true" ? "true" : "false"
            case .integer:
                v = ps.first.flatMap { meta.field($0, in: paths) } ?? "0"
            case .firstNonEmptyString:
                v = ps.lazy.compactMap { meta.field($0, in: self.paths) }.first { !$0.isEmpty } ?? ""
            case .alwaysEmpty:
                v = ""
            }
            out[label] = v
        }
        return out
    }

    /// `body`: JSON with kind and apiVersion, or the protobuf object message (no envelope; the
    /// kind comes from the KindRegistry when it is served).
    func stored(_ collection: Collection, meta: ObjectMeta, body: [UInt8], format: BodyFormat = .json) -> StoredObject {
        StoredObject(gvr: collection.gvr, namespace: meta.namespace, name: meta.name,
                     resourceVersion: meta.resourceVersion, labels: meta.labels,
                     fields: fields(meta).sorted { $0.key < $1.key }, format: format, body: body)
    }
}

extension StoredObject {
    var fieldMap: [String: String] {
        var m: [String: String] = [:]
        for (k, v) in fields { m[k] = v }
        return m
    }
}

/// List items come without `kind`/`apiVersion` (the list carries them); stored objects must
/// carry them, because the same bytes are later served as watch events and gets.
enum ObjectBody {
    static func withTypeMeta(_ item: UnsafeRawBufferPointer, meta: ObjectMeta, kind: String?, apiVersion: String?) -> [UInt8] {
        guard meta.kind == nil, let kind, let apiVersion, item.count >= 2, item[0] == UInt8(ascii: "{") else {
            return Array(item)
        }
        var out: [UInt8] = []
        out.reserveCapacity(item.count + kind.utf8.count + apiVersion.utf8.count + 32)
        JSONWriter.appendRaw(#"{"kind":"#, to: &out)
        JSONWriter.appendString(kind, to: &out)
        JSONWriter.appendRaw(#","apiVersion":"#, to: &out)
        JSONWriter.appendString(apiVersion, to: &out)
        // An empty object `{}` gets no comma.
        var i = 1
        while i < item.count, item[i] == 0x20 || item[i] == 0x0A || item[i] == 0x09 || item[i] == 0x0D { i += 1 }
        if i < item.count, item[i] != UInt8(ascii: "}") { out.append(UInt8(ascii: ",")) }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: item[1...]))
        return out
    }
}
