import KubeJSON

/// Extracts a `KubeJSON.ObjectMeta` from an object's protobuf message (a `Pod`, `ConfigMap`,
/// …: field 1 is always `metadata`), so the cache code is shared with the JSON path.
///
/// ObjectMeta fields read (apimachinery `meta/v1/generated.proto`): 1 name, 3 namespace,
/// 5 uid, 6 resourceVersion, 7 generation, 9 deletionTimestamp (presence only), 11 labels
/// (map entries {1 key, 2 value}, in wire order — the apiserver sorts them by key, as JSON
/// does). Everything else is skipped after a framing check.
///
/// To match what the JSON side yields for the same object: `generation` 0 is reported as nil
/// (JSON omits it: `omitempty`), and a label key repeated on the wire replaces the earlier
/// value (map semantics).
public enum ProtoObjectMeta {
    /// Parses an object message. `typeMeta` (from an envelope) fills `kind`/`apiVersion`;
    /// list items have none and leave them nil, like JSON list items. `base` is the stream
    /// offset of `message[0]`, for errors.
    public static func parse(_ message: UnsafeRawBufferPointer, fields paths: ProtoFieldPaths = .none,
                             typeMeta: ProtoTypeMeta? = nil, base: Int = 0) throws(ProtoError) -> ObjectMeta {
        var m = ObjectMeta()
        if let typeMeta {
            m.kind = typeMeta.kind.isEmpty ? nil : typeMeta.kind
            m.apiVersion = typeMeta.apiVersion.isEmpty ? nil : typeMeta.apiVersion
        }
        if paths.slotCount > 0 { m.fields = Array(repeating: nil, count: paths.slotCount) }
        var seen: [Bool] = paths.hasFirstOnly ? Array(repeating: false, count: paths.children.count) : []
        let kids = paths.children[0]
        var r = ProtoReader(message, base: base)
        while !r.isAtEnd {
            let at = r.offset
            let tag = try r.readTag()
            if tag.field == 1 {
                try r.expect(tag, .lengthDelimited, tagOffset: at)
                let md = try r.readLengthDelimited()
                let mdBase = r.base + r.offset - md.count
                try parseMetadata(md, base: mdBase, into: &m)
                if !kids.isEmpty {
                    // Numeric paths under metadata (e.g. [1, 4] selfLink) walk the same bytes.
                    var again = ProtoReader(UnsafeRawBufferPointer(rebasing: message[at..<r.offset]), base: base + at)
                    let t = try again.readTag()
                    try paths.visit(&again, tag: t, tagOffset: 0, kids: kids, depth: 0, &m.fields, &seen)
                }
            } else if kids.isEmpty {
                try r.skip(tag, tagOffset: at)
            } else {
                try paths.visit(&r, tag: tag, tagOffset: at, kids: kids, depth: 0, &m.fields, &seen)
            }
        }
        if !paths.knownMeta.isEmpty { fillKnown(&m, paths) }
        return m
    }

    public static func parse(_ message: [UInt8], fields paths: ProtoFieldPaths = .none,
                             typeMeta: ProtoTypeMeta? = nil) throws(ProtoError) -> ObjectMeta {
        let r: Result<ObjectMeta, ProtoError> = message.withUnsafeBytes { b in
            Result { () throws(ProtoError) -> ObjectMeta in try parse(b, fields: paths, typeMeta: typeMeta) }
        }
        return try r.get()
    }

    /// Parses a complete `k8s\0` + Unknown body (a get response), returning the envelope
    /// (with the object message's range) and the object's metadata, kind and apiVersion
    /// taken from the envelope.
    public static func parseBody(_ body: UnsafeRawBufferPointer, fields paths: ProtoFieldPaths = .none,
                                 base: Int = 0) throws(ProtoError) -> (envelope: ProtoEnvelope, meta: ObjectMeta) {
        let env = try ProtoEnvelope.parse(body, base: base)
        let meta = try parse(UnsafeRawBufferPointer(rebasing: body[env.raw]), fields: paths,
                             typeMeta: env.typeMeta, base: base + env.raw.lowerBound)
        return (env, meta)
    }

    public static func parseBody(_ body: [UInt8], fields paths: ProtoFieldPaths = .none) throws(ProtoError)
        -> (envelope: ProtoEnvelope, meta: ObjectMeta) {
        let r: Result<(envelope: ProtoEnvelope, meta: ObjectMeta), ProtoError> = body.withUnsafeBytes { b in
            Result { () throws(ProtoError) -> (envelope: ProtoEnvelope, meta: ObjectMeta) in try parseBody(b, fields: paths) }
        }
        return try r.get()
    }

    static func fillKnown(_ m: inout ObjectMeta, _ paths: ProtoFieldPaths) {
        for (slot, tail) in paths.knownMeta {
            switch tail[0] {
            case "name": m.fields[slot] = m.name
            case "namespace": m.fields[slot] = m.namespace
            case "uid": m.fields[slot] = m.uid
            case "resourceVersion": m.fields[slot] = m.resourceVersion
            case "generation": m.fields[slot] = m.generation.map { String($0) }
            case "labels": m.fields[slot] = m.label(tail[1])
            default: break
            }
        }
    }

    /// Merges one `ObjectMeta` message into `m` (a repeated `metadata` field merges, as in
    /// protobuf; scalars: last one wins).
    static func parseMetadata(_ md: UnsafeRawBufferPointer, base: Int, into m: inout ObjectMeta) throws(ProtoError) {
        var r = ProtoReader(md, base: base)
        while !r.isAtEnd {
            let at = r.offset
            let tag = try r.readTag()
            switch tag.field {
            case 1:
                m.name = try r.readString(tag, tagOffset: at)
            case 3:
                m.namespace = try r.readString(tag, tagOffset: at)
            case 5:
                m.uid = try r.readString(tag, tagOffset: at)
            case 6:
                m.resourceVersion = try r.readString(tag, tagOffset: at)
            case 7:
                let g = try r.readInt64(tag, tagOffset: at)
                m.generation = g == 0 ? nil : g
            case 9:
                // A *Time: present only when set; its content (seconds, nanos) is irrelevant.
                try r.expect(tag, .lengthDelimited, tagOffset: at)
                _ = try r.readLengthDelimited()
                m.hasDeletionTimestamp = true
            case 11:
                try r.expect(tag, .lengthDelimited, tagOffset: at)
                let entry = try r.readLengthDelimited()
                let (k, v) = try parseMapEntry(entry, base: r.base + r.offset - entry.count)
                if let i = m.labels.firstIndex(where: { $0.0 == k }) {
                    m.labels[i].1 = v
                } else {
                    m.labels.append((k, v))
                }
            default:
                try r.skip(tag, tagOffset: at)
            }
        }
    }

    /// A `map<string,string>` entry; a missing key or value is "" (proto map semantics).
    static func parseMapEntry(_ e: UnsafeRawBufferPointer, base: Int) throws(ProtoError) -> (String, String) {
        var r = ProtoReader(e, base: base)
        var key = "", value = ""
        while !r.isAtEnd {
            let at = r.offset
            let tag = try r.readTag()
            switch tag.field {
            case 1:
                key = try r.readString(tag, tagOffset: at)
            case 2:
                value = try r.readString(tag, tagOffset: at)
            default:
                try r.skip(tag, tagOffset: at)
            }
        }
        return (key, value)
    }
}
