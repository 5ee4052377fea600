import KubeProto

/// Converts Kubernetes protobuf objects into the JSON the apiserver would have written for them,
/// so an object only a protobuf client (kubelet) cached can be served to a JSON client (kubectl)
/// while offline.
///
/// Descriptor-driven: one generic walker reads the wire format and looks every field up in
/// `KubeSchema` (generated from the Kubernetes sources), instead of generated Swift types for
/// every Kubernetes type. The output follows Go's encoding/json over the Go structs: fields in
/// struct order, `omitempty` (which never omits structs), nil slices/maps/pointers as `null`,
/// sorted map keys, and the custom marshallers of Time, MicroTime, Duration, Quantity,
/// IntOrString, RawExtension and FieldsV1. Equal to the apiserver's JSON after parsing; byte-equal
/// too except that `\b`/`\f` follow KubeJSON (Go ≥ 1.22) and Quantity strings are passed through
/// (the apiserver only ever sends canonical ones, which are their own canonical form).
public enum ProtoJSON {
    /// Nesting limit for messages (protobuf's default recursion limit).
    public static let maxDepth = 100

    /// Whether (apiVersion, kind) — an object kind or its List — can be converted.
    public static func isSupported(apiVersion: String, kind: String) -> Bool {
        KubeSchema.shared.root(apiVersion: apiVersion, kind: kind) != nil
    }

    /// The JSON object for one protobuf message of `kind` in `apiVersion` — the `raw` of the
    /// apiserver's `k8s\0` envelope, or one item of a List's `items`. With `includeTypeMeta`
    /// (the default) `"kind"` and `"apiVersion"` come first, as in a GET or a watch event; without,
    /// it matches an item inside the apiserver's JSON List (which omits them).
    /// A `...List` kind converts a whole List message.
    public static func convert(message: UnsafeRawBufferPointer, kind: String, apiVersion: String,
                               includeTypeMeta: Bool = true) throws(ProtoJSONError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.count * 2 + 64)
        try append(message: message, kind: kind, apiVersion: apiVersion, includeTypeMeta: includeTypeMeta, to: &out)
        return out
    }

    public static func convert(message: [UInt8], kind: String, apiVersion: String,
                               includeTypeMeta: Bool = true) throws(ProtoJSONError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.count * 2 + 64)
        try append(message: message, kind: kind, apiVersion: apiVersion, includeTypeMeta: includeTypeMeta, to: &out)
        return out
    }

    public static func append(message: [UInt8], kind: String, apiVersion: String,
                              includeTypeMeta: Bool = true, to out: inout [UInt8]) throws(ProtoJSONError) {
        let r: Result<Void, ProtoJSONError> = message.withUnsafeBytes { buf in
            Result { () throws(ProtoJSONError) in
                try append(message: buf, kind: kind, apiVersion: apiVersion, includeTypeMeta: includeTypeMeta, to: &out)
            }
        }
        try r.get()
    }

    /// Appends the JSON object to `out`; on error `out` is left as it was.
    public static func append(message: UnsafeRawBufferPointer, kind: String, apiVersion: String,
                              includeTypeMeta: Bool = true, to out: inout [UInt8]) throws(ProtoJSONError) {
        let schema = KubeSchema.shared
        guard let root = schema.root(apiVersion: apiVersion, kind: kind) else {
            throw ProtoJSONError(.unknownKind(apiVersion: apiVersion, kind: kind), offset: 0)
        }
        var w = Walker(schema: schema, out: out)
        out = []   // let the walker own the buffer uniquely (no copy-on-write)
        let mark = w.out.count
        do {
            try w.writeObject(root, message, 0..<message.count, typeMeta: includeTypeMeta ? (kind, apiVersion) : nil, depth: 0)
        } catch {
            w.out.removeSubrange(mark...)
            out = w.out
            throw error
        }
        out = w.out
    }

    /// Converts a complete protobuf response body: the `k8s\0` magic and `runtime.Unknown`
    /// envelope (parsed by `KubeProto.ProtoEnvelope`), whose typeMeta names the kind.
    /// Not an envelope (no magic, or no kind) → `.notAnEnvelope`; a `contentEncoding` →
    /// `.unsupportedContentEncoding`. A missing `raw` is an empty object (proto semantics).
    public static func convert(envelope: [UInt8], includeTypeMeta: Bool = true) throws(ProtoJSONError) -> [UInt8] {
        let r: Result<[UInt8], ProtoJSONError> = envelope.withUnsafeBytes { body in
            Result { () throws(ProtoJSONError) -> [UInt8] in
                guard ProtoEnvelope.hasMagic(body) else { throw ProtoJSONError(.notAnEnvelope, offset: 0) }
                let e: ProtoEnvelope
                do throws(ProtoError) { e = try ProtoEnvelope.parse(body) } catch { throw ProtoJSONError(error) }
                guard !e.typeMeta.kind.isEmpty else { throw ProtoJSONError(.notAnEnvelope, offset: 4) }
                guard e.contentEncoding.isEmpty else {
                    throw ProtoJSONError(.unsupportedContentEncoding(e.contentEncoding), offset: 4)
                }
                return try convert(message: UnsafeRawBufferPointer(rebasing: body[e.raw]), kind: e.typeMeta.kind,
                                   apiVersion: e.typeMeta.apiVersion, includeTypeMeta: includeTypeMeta)
            }
        }
        return try r.get()
    }
}

/// One conversion. The occurrence lists of every message being written live on two shared
/// stacks (`occ`, `heads`), pushed on entry and popped on exit, so walking an object allocates
/// nothing per message beyond the output buffer (maps allocate a small array to sort keys).
struct Walker {
    let schema: KubeSchema
    var out: [UInt8]

    /// A field occurrence: a varint (`end == -1`, value in `start`) or a payload range.
    struct Occ {
        var start: Int
        var end: Int
        var next: Int32
        var isVarint: Bool { end < 0 }
        var range: Range<Int> { start..<end }
    }
    var occ: [Occ] = []
    /// (head, tail) indexes into `occ` per field of each message on the stack.
    var heads: [Int32] = []

    init(schema: KubeSchema, out: [UInt8]) {
        self.schema = schema
        self.out = out
    }

    typealias Field = KubeSchema.Field

    mutating func writeObject(_ m: Int, _ buf: UnsafeRawBufferPointer, _ range: Range<Int>,
                              typeMeta: (String, String)?, depth: Int) throws(ProtoJSONError) {
        if schema.messages[m].wrapper {
            try writeWrapper(m, buf, range, depth: depth)
            return
        }
        out.append(0x7B)
        var first = true
        try writeFields(m, buf, range, first: &first, typeMeta: typeMeta, depth: depth)
        out.append(0x7D)
    }

    @inline(__always) mutating func key(_ f: Field, _ first: inout Bool) {
        if !first { out.append(0x2C) }
        first = false
        out.append(contentsOf: f.key)
    }

    @inline(__always) mutating func null() { out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]) }

    /// Writes message `m`'s members (without braces) so inline fields can join their parent.
    mutating func writeFields(_ m: Int, _ buf: UnsafeRawBufferPointer, _ range: Range<Int>, first: inout Bool,
                              typeMeta: (String, String)?, depth: Int) throws(ProtoJSONError) {
        guard depth < ProtoJSON.maxDepth else { throw ProtoJSONError(.tooDeep, offset: range.lowerBound) }
        let msg = schema.messages[m]
        let nf = msg.fields.count
        let base = heads.count
        let occBase = occ.count
        heads.append(contentsOf: repeatElement(-1, count: nf * 2))
        defer {
            heads.removeSubrange(base...)
            occ.removeSubrange(occBase...)
        }

        // Pass 1: index the wire fields (any order, repeats allowed) by descriptor field.
        var r = ProtoReader(buf, range: range)
        while !r.isAtEnd {
            let tag = try r.nextTag()
            let fi = msg.fieldIndex(tag.field)
            if fi < 0 { try r.skipUnknown(tag); continue }
            let f = msg.fields[fi]
            let o: Occ
            if tag.wireType == .varint && f.wireType == .varint {
                o = Occ(start: Int(bitPattern: UInt(try r.varint())), end: -1, next: -1)
            } else if tag.wireType == .lengthDelimited && (f.wireType == .lengthDelimited || f.repeated) {
                let v = try r.payloadRange()
                o = Occ(start: v.lowerBound, end: v.upperBound, next: -1)
            } else {
                throw ProtoJSONError(.unsupportedWireType(field: tag.field, wireType: tag.wireType.rawValue), offset: r.absoluteOffset)
            }
            let idx = Int32(occ.count)
            occ.append(o)
            let h = base + fi * 2
            if heads[h] < 0 { heads[h] = idx } else { occ[Int(heads[h + 1])].next = idx }
            heads[h + 1] = idx
        }

        // Pass 2: emit in Go struct order.
        for fi in 0..<nf {
            let f = msg.fields[fi]
            let head = heads[base + fi * 2]
            let tail = heads[base + fi * 2 + 1]
            if f.type == .typeMeta {
                if let (kind, apiVersion) = typeMeta {
                    // TypeMeta{Kind, APIVersion}, both omitempty.
                    if !kind.isEmpty {
                        if !first { out.append(0x2C) }
                        first = false
                        out.append(contentsOf: Array(#""kind":"#.utf8))
                        GoJSON.appendString(kind, to: &out)
                    }
                    if !apiVersion.isEmpty {
                        if !first { out.append(0x2C) }
                        first = false
                        out.append(contentsOf: Array(#""apiVersion":"#.utf8))
                        GoJSON.appendString(apiVersion, to: &out)
                    }
                }
                continue
            }
            if f.map {
                if head < 0 {
                    if !f.omitEmpty { key(f, &first); null() }
                } else {
                    key(f, &first)
                    try writeMap(f, buf, head, depth: depth)
                }
                continue
            }
            if f.repeated {
                if head < 0 {
                    if !f.omitEmpty { key(f, &first); null() }
                    continue
                }
                key(f, &first)
                out.append(0x5B)
                var firstElement = true
                var i = head
                while i >= 0 {
                    let o = occ[Int(i)]
                    if !o.isVarint && f.wireType == .varint {
                        // Packed varints.
                        var p = ProtoReader(buf, range: o.range)
                        while !p.isAtEnd {
                            if !firstElement { out.append(0x2C) }
                            firstElement = false
                            writeVarint(f.type, try p.varint())
                        }
                    } else {
                        if !firstElement { out.append(0x2C) }
                        firstElement = false
                        if let tm = f.typeMeta, case .message(let sub) = f.type {
                            try writeObject(sub, buf, o.range, typeMeta: tm, depth: depth + 1)
                        } else {
                            try writeValue(f.type, buf, o, depth: depth)
                        }
                    }
                    i = o.next
                }
                out.append(0x5D)
                continue
            }
            switch f.type {
            case .message(let sub) where f.inline:
                if head < 0 {
                    if !f.pointer {
                        try writeFields(sub, UnsafeRawBufferPointer(start: nil, count: 0), 0..<0, first: &first, typeMeta: nil, depth: depth + 1)
                    }
                } else {
                    try withMerged(buf, head) { (w: inout Walker, b, r) throws(ProtoJSONError) in
                        try w.writeFields(sub, b, r, first: &first, typeMeta: nil, depth: depth + 1)
                    }
                }
            case .message, .time, .microTime, .duration, .quantity, .intOrString, .rawExtension, .fieldsV1:
                // Structs: encoding/json never omits them; only a nil pointer is omitted/null.
                if head < 0 {
                    if f.pointer {
                        if !f.omitEmpty { key(f, &first); null() }
                    } else {
                        key(f, &first)
                        try writeAbsent(f.type, depth: depth)
                    }
                } else if head == tail {
                    key(f, &first)
                    try writeValue(f.type, buf, occ[Int(head)], depth: depth)
                } else if case .message = f.type {
                    key(f, &first)
                    try withMerged(buf, head) { (w: inout Walker, b, r) throws(ProtoJSONError) in
                        try w.writeValue(f.type, b, Occ(start: r.lowerBound, end: r.upperBound, next: -1), depth: depth)
                    }
                } else {
                    // Kubernetes' custom Unmarshal methods replace, not merge: last one wins.
                    key(f, &first)
                    try writeValue(f.type, buf, occ[Int(tail)], depth: depth)
                }
            default:
                // Scalars (string, ints, bool, []byte); the last occurrence wins.
                if head < 0 {
                    if f.omitEmpty { continue }
                    key(f, &first)
                    if f.pointer || f.type == .bytes { null(); continue }   // nil pointer, nil []byte
                    switch f.type {
                    case .string: out.append(contentsOf: [0x22, 0x22])
                    case .bool: out.append(contentsOf: Array("false".utf8))
                    default: out.append(0x30)
                    }
                    continue
                }
                let o = occ[Int(tail)]
                if f.omitEmpty && !f.pointer {
                    if o.isVarint {
                        if isZero(f.type, UInt64(UInt(bitPattern: o.start))) { continue }
                    } else if o.start == o.end {
                        continue
                    }
                }
                key(f, &first)
                try writeValue(f.type, buf, o, depth: depth)
            }
        }
    }

    func isZero(_ t: KubeSchema.FieldType, _ v: UInt64) -> Bool {
        switch t {
        case .int32: return UInt32(truncatingIfNeeded: v) == 0
        default: return v == 0
        }
    }

    mutating func writeVarint(_ t: KubeSchema.FieldType, _ v: UInt64) {
        switch t {
        case .int32: GoJSON.appendInt(Int64(Int32(truncatingIfNeeded: v)), to: &out)
        case .bool: out.append(contentsOf: v != 0 ? Array("true".utf8) : Array("false".utf8))
        default: GoJSON.appendInt(Int64(bitPattern: v), to: &out)
        }
    }

    /// Runs `body` over one payload: the occurrence itself, or — when a singular message field
    /// occurs several times — their concatenation, which is protobuf's merge.
    mutating func withMerged(_ buf: UnsafeRawBufferPointer, _ head: Int32,
                             _ body: (inout Walker, UnsafeRawBufferPointer, Range<Int>) throws(ProtoJSONError) -> Void) throws(ProtoJSONError) {
        let o = occ[Int(head)]
        if o.next < 0 {
            try body(&self, buf, o.range)
            return
        }
        var merged: [UInt8] = []
        var i = head
        while i >= 0 {
            let p = occ[Int(i)]
            merged.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[p.range]))
            i = p.next
        }
        var err: ProtoJSONError? = nil
        merged.withUnsafeBytes { b in
            do throws(ProtoJSONError) { try body(&self, b, 0..<b.count) } catch { err = error }
        }
        if let err { throw err }
    }

    /// The zero value of a struct-typed field that is not on the wire.
    mutating func writeAbsent(_ t: KubeSchema.FieldType, depth: Int) throws(ProtoJSONError) {
        switch t {
        case .message(let m):
            try writeObject(m, UnsafeRawBufferPointer(start: nil, count: 0), 0..<0, typeMeta: nil, depth: depth + 1)
        case .duration: out.append(contentsOf: Array(#""0s""#.utf8))
        case .quantity: out.append(contentsOf: Array(#""0""#.utf8))
        case .intOrString: out.append(0x30)
        default: null()   // Time, MicroTime (zero → null); RawExtension, FieldsV1 (nil Raw → null)
        }
    }

    mutating func writeValue(_ t: KubeSchema.FieldType, _ buf: UnsafeRawBufferPointer, _ o: Occ, depth: Int) throws(ProtoJSONError) {
        if o.isVarint {
            writeVarint(t, UInt64(UInt(bitPattern: o.start)))
            return
        }
        let payload = UnsafeRawBufferPointer(rebasing: buf[o.range])
        switch t {
        case .string: GoJSON.appendString(payload, to: &out)
        case .bytes: GoJSON.appendBase64(payload, to: &out)
        case .message(let m): try writeObject(m, buf, o.range, typeMeta: nil, depth: depth + 1)
        case .time, .microTime:
            var seconds: UInt64 = 0, nanos: UInt64 = 0
            var r = ProtoReader(buf, range: o.range)
            while !r.isAtEnd {
                let tag = try r.nextTag()
                let (n, wt) = (tag.field, tag.wireType)
                if (n == 1 || n == 2) && wt == .varint {
                    let v = try r.varint()
                    if n == 1 { seconds = v } else { nanos = v }
                } else {
                    try r.skipUnknown(tag)
                }
            }
            if o.start == o.end { null(); return }   // Time.Unmarshal: empty → zero time
            GoJSON.appendTime(seconds: Int64(bitPattern: seconds), nanos: Int64(Int32(truncatingIfNeeded: nanos)),
                              micro: t == .microTime, to: &out)
        case .duration:
            var d: UInt64 = 0
            var r = ProtoReader(buf, range: o.range)
            while !r.isAtEnd {
                let tag = try r.nextTag()
                let (n, wt) = (tag.field, tag.wireType)
                if n == 1 && wt == .varint { d = try r.varint() } else { try r.skipUnknown(tag) }
            }
            GoJSON.appendDuration(Int64(bitPattern: d), to: &out)
        case .quantity:
            var s: Range<Int>? = nil
            var r = ProtoReader(buf, range: o.range)
            while !r.isAtEnd {
                let tag = try r.nextTag()
                let (n, wt) = (tag.field, tag.wireType)
                if n == 1 && wt == .lengthDelimited { s = try r.payloadRange() } else { try r.skipUnknown(tag) }
            }
            if let s, !s.isEmpty {
                GoJSON.appendString(UnsafeRawBufferPointer(rebasing: buf[s]), to: &out)
            } else {
                out.append(contentsOf: Array(#""0""#.utf8))
            }
        case .intOrString:
            var type: UInt64 = 0, intVal: UInt64 = 0
            var str: Range<Int> = 0..<0
            var r = ProtoReader(buf, range: o.range)
            while !r.isAtEnd {
                let tag = try r.nextTag()
                let (n, wt) = (tag.field, tag.wireType)
                switch (n, wt) {
                case (1, .varint): type = try r.varint()
                case (2, .varint): intVal = try r.varint()
                case (3, .lengthDelimited): str = try r.payloadRange()
                default: try r.skipUnknown(tag)
                }
            }
            switch type {
            case 0: GoJSON.appendInt(Int64(Int32(truncatingIfNeeded: intVal)), to: &out)
            case 1: GoJSON.appendString(UnsafeRawBufferPointer(rebasing: buf[str]), to: &out)
            default: throw ProtoJSONError(.invalidIntOrString(type: Int64(bitPattern: type)), offset: o.start)
            }
        case .rawExtension, .fieldsV1:
            var raw: Range<Int>? = nil
            var r = ProtoReader(buf, range: o.range)
            while !r.isAtEnd {
                let tag = try r.nextTag()
                let (n, wt) = (tag.field, tag.wireType)
                if n == 1 && wt == .lengthDelimited { raw = try r.payloadRange() } else { try r.skipUnknown(tag) }
            }
            guard let raw else { null(); return }
            guard GoJSON.compactJSON(UnsafeRawBufferPointer(rebasing: buf[raw]), to: &out) else {
                throw ProtoJSONError(.invalidEmbeddedJSON, offset: raw.lowerBound)
            }
        case .int32, .int64, .bool, .typeMeta:
            // A length-delimited payload for a varint type only reaches here for packed
            // repeated fields, which the caller expands.
            throw ProtoJSONError(.unsupportedWireType(field: 0, wireType: 2), offset: o.start)
        }
    }

    /// `ExtraValue`-style message: its repeated field 1 as a JSON array; nil slice → null.
    mutating func writeWrapper(_ m: Int, _ buf: UnsafeRawBufferPointer, _ range: Range<Int>, depth: Int) throws(ProtoJSONError) {
        let f = schema.messages[m].fields[0]
        var r = ProtoReader(buf, range: range)
        var any = false
        while !r.isAtEnd {
            let tag = try r.nextTag()
            let (n, wt) = (tag.field, tag.wireType)
            guard n == 1 else { try r.skipUnknown(tag); continue }
            guard wt == f.wireType else { throw ProtoJSONError(.unsupportedWireType(field: n, wireType: wt.rawValue), offset: r.absoluteOffset) }
            out.append(any ? 0x2C : 0x5B)
            any = true
            let v = try r.payloadRange()
            try writeValue(f.type, buf, Occ(start: v.lowerBound, end: v.upperBound, next: -1), depth: depth)
        }
        if any { out.append(0x5D) } else { null() }
    }

    /// A protobuf map as a JSON object with keys sorted bytewise (encoding/json sorts map
    /// keys); a repeated key keeps its last value, as Go's map assignment does.
    mutating func writeMap(_ f: Field, _ buf: UnsafeRawBufferPointer, _ head: Int32, depth: Int) throws(ProtoJSONError) {
        var entries: [(key: Range<Int>, value: Occ?)] = []
        var i = head
        while i >= 0 {
            let o = occ[Int(i)]
            var r = ProtoReader(buf, range: o.range)
            var k: Range<Int> = o.start..<o.start
            var v: Occ? = nil
            while !r.isAtEnd {
                let tag = try r.nextTag()
                let (n, wt) = (tag.field, tag.wireType)
                if n == 1 && wt == .lengthDelimited {
                    k = try r.payloadRange()
                } else if n == 2 && wt == f.wireType {
                    if wt == .varint {
                        v = Occ(start: Int(bitPattern: UInt(try r.varint())), end: -1, next: -1)
                    } else {
                        let vr = try r.payloadRange()
                        v = Occ(start: vr.lowerBound, end: vr.upperBound, next: -1)
                    }
                } else if n == 1 || n == 2 {
                    throw ProtoJSONError(.unsupportedWireType(field: n, wireType: wt.rawValue), offset: r.absoluteOffset)
                } else {
                    try r.skipUnknown(tag)
                }
            }
            entries.append((k, v))
            i = o.next
        }
        // Stable sort by key, then keep the last of each run of equal keys.
        let order = entries.indices.sorted { a, b in
            let c = compare(buf, entries[a].key, entries[b].key)
            return c != 0 ? c < 0 : a < b
        }
        out.append(0x7B)
        var firstEntry = true
        for (pos, e) in order.enumerated() {
            if pos + 1 < order.count && compare(buf, entries[e].key, entries[order[pos + 1]].key) == 0 { continue }
            if !firstEntry { out.append(0x2C) }
            firstEntry = false
            GoJSON.appendString(UnsafeRawBufferPointer(rebasing: buf[entries[e].key]), to: &out)
            out.append(0x3A)
            if let v = entries[e].value {
                try writeValue(f.type, buf, v, depth: depth)
            } else {
                // gogo's map decoding starts from the zero value ([]byte{} for bytes: "").
                switch f.type {
                case .string, .bytes: out.append(contentsOf: [0x22, 0x22])
                case .int32, .int64: out.append(0x30)
                case .bool: out.append(contentsOf: Array("false".utf8))
                default: try writeAbsent(f.type, depth: depth)
                }
            }
        }
        out.append(0x7D)
    }

    func compare(_ buf: UnsafeRawBufferPointer, _ a: Range<Int>, _ b: Range<Int>) -> Int {
        let n = min(a.count, b.count)
        for k in 0..<n {
            let x = buf[a.lowerBound + k], y = buf[b.lowerBound + k]
            if x != y { return x < y ? -1 : 1 }
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }
}

/// The converter's view of `KubeProto.ProtoReader`: the same reads, throwing `ProtoJSONError`.
extension ProtoReader {
    @inline(__always) mutating func nextTag() throws(ProtoJSONError) -> ProtoTag {
        do { return try readTag() } catch { throw ProtoJSONError(error) }
    }

    @inline(__always) mutating func varint() throws(ProtoJSONError) -> UInt64 {
        do { return try readVarint() } catch { throw ProtoJSONError(error) }
    }

    /// A length-delimited payload's range, in the walker's buffer (`init(_:range:)`).
    @inline(__always) mutating func payloadRange() throws(ProtoJSONError) -> Range<Int> {
        do { return try readLengthDelimitedRange() } catch { throw ProtoJSONError(error) }
    }

    /// Skips a field the schema does not name. Groups are deprecated and never produced by
    /// Kubernetes; they are rejected rather than skipped (unsupportedWireType, after the tag).
    @inline(__always) mutating func skipUnknown(_ t: ProtoTag) throws(ProtoJSONError) {
        if t.wireType == .startGroup || t.wireType == .endGroup {
            throw ProtoJSONError(.unsupportedWireType(field: t.field, wireType: t.wireType.rawValue), offset: absoluteOffset)
        }
        do { try skip(t, tagOffset: offset) } catch { throw ProtoJSONError(error) }
    }
}
