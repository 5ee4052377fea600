/// `runtime.TypeMeta` as carried by the protobuf envelope (items inside a list carry none).
public struct ProtoTypeMeta: Sendable, Hashable, CustomStringConvertible {
    public var apiVersion: String
    public var kind: String

    public init(apiVersion: String, kind: String) {
        self.apiVersion = apiVersion
        self.kind = kind
    }

    public var description: String { "\(apiVersion)/\(kind)" }
}

/// The Kubernetes protobuf envelope: the magic `k8s\0`, then a `runtime.Unknown` message
/// {1 typeMeta {1 apiVersion, 2 kind}, 2 raw (the object's message), 3 contentEncoding,
/// 4 contentType} that runs to the end of the body (it has no length of its own).
///
/// The apiserver (`Unknown.NestedMarshalTo`) always writes all four fields in order, the last
/// two as empty strings, so a body ends with `trailer`.
public struct ProtoEnvelope: Sendable, Equatable {
    public static let magic: [UInt8] = [0x6B, 0x38, 0x73, 0x00]
    /// Fields 3 and 4 as the apiserver writes them: two empty strings.
    public static let trailer: [UInt8] = [0x1A, 0x00, 0x22, 0x00]

    public var typeMeta: ProtoTypeMeta
    /// Range of `raw` (the object's message) inside the parsed body.
    public var raw: Range<Int>
    public var contentEncoding: String
    public var contentType: String

    /// Whether `body` starts with the magic (a cheap content sniff).
    public static func hasMagic(_ body: UnsafeRawBufferPointer) -> Bool {
        body.count >= 4 && body[0] == 0x6B && body[1] == 0x38 && body[2] == 0x73 && body[3] == 0x00
    }

    /// Parses a complete body. A missing `raw` is an empty message (proto semantics); a
    /// repeated field keeps its last value, as protobuf decoders do.
    public static func parse(_ body: UnsafeRawBufferPointer, base: Int = 0) throws(ProtoError) -> ProtoEnvelope {
        guard hasMagic(body) else {
            var i = 0
            while i < min(4, body.count) && body[i] == magic[i] { i += 1 }
            throw ProtoError(i == body.count ? .truncated : .badMagic, offset: base + i)
        }
        var r = ProtoReader(UnsafeRawBufferPointer(rebasing: body[4...]), base: base + 4)
        var env = ProtoEnvelope(typeMeta: ProtoTypeMeta(apiVersion: "", kind: ""), raw: body.count..<body.count,
                                contentEncoding: "", contentType: "")
        while !r.isAtEnd {
            let at = r.offset
            let tag = try r.readTag()
            switch tag.field {
            case 1:
                try r.expect(tag, .lengthDelimited, tagOffset: at)
                let tm = try r.readLengthDelimited()
                try parseTypeMeta(tm, into: &env.typeMeta, base: r.base + r.offset - tm.count)
            case 2:
                try r.expect(tag, .lengthDelimited, tagOffset: at)
                let p = try r.readLengthDelimited()
                let end = 4 + r.offset
                env.raw = (end - p.count)..<end
            case 3:
                env.contentEncoding = try r.readString(tag, tagOffset: at)
            case 4:
                env.contentType = try r.readString(tag, tagOffset: at)
            default:
                try r.skip(tag, tagOffset: at)
            }
        }
        return env
    }

    public static func parse(_ body: [UInt8]) throws(ProtoError) -> ProtoEnvelope {
        let r: Result<ProtoEnvelope, ProtoError> = body.withUnsafeBytes { b in
            Result { () throws(ProtoError) -> ProtoEnvelope in try parse(b) }
        }
        return try r.get()
    }

    /// Parses a `TypeMeta` message (merging into `tm`: later fields win).
    static func parseTypeMeta(_ bytes: UnsafeRawBufferPointer, into tm: inout ProtoTypeMeta, base: Int) throws(ProtoError) {
        var r = ProtoReader(bytes, base: base)
        while !r.isAtEnd {
            let at = r.offset
            let tag = try r.readTag()
            switch tag.field {
            case 1:
                tm.apiVersion = try r.readString(tag, tagOffset: at)
            case 2:
                tm.kind = try r.readString(tag, tagOffset: at)
            default:
                try r.skip(tag, tagOffset: at)
            }
        }
    }

    /// The encoded `TypeMeta` message (both fields, always, like the apiserver).
    static func typeMetaMessage(_ tm: ProtoTypeMeta) -> [UInt8] {
        var w = ProtoWriter(capacity: tm.apiVersion.utf8.count + tm.kind.utf8.count + 4)
        w.field(1, string: tm.apiVersion)
        w.field(2, string: tm.kind)
        return w.bytes
    }

    /// Everything before the raw payload: magic, field 1 (typeMeta), field 2's tag and length.
    /// Stream `rawLength` bytes of message after it, then `trailer`.
    public static func header(typeMeta: ProtoTypeMeta, rawLength: Int) -> [UInt8] {
        var w = ProtoWriter(capacity: 32 + typeMeta.kind.utf8.count + typeMeta.apiVersion.utf8.count)
        w.raw(magic)
        w.field(1, bytes: typeMetaMessage(typeMeta))
        w.header(2, length: rawLength)
        return w.bytes
    }

    /// Total body size for a raw payload of `rawLength` bytes (for Content-Length).
    public static func bodySize(typeMeta: ProtoTypeMeta, rawLength: Int) -> Int {
        let tm = typeMeta.apiVersion.utf8.count + typeMeta.kind.utf8.count
            + ProtoWriter.fieldSize(field: 1, length: typeMeta.apiVersion.utf8.count) - typeMeta.apiVersion.utf8.count
            + ProtoWriter.fieldSize(field: 2, length: typeMeta.kind.utf8.count) - typeMeta.kind.utf8.count
        return magic.count + ProtoWriter.fieldSize(field: 1, length: tm) + ProtoWriter.fieldSize(field: 2, length: rawLength)
            + trailer.count
    }

    /// A complete body around `raw`, byte-identical to what the apiserver writes.
    public static func encode(typeMeta: ProtoTypeMeta, raw: UnsafeRawBufferPointer) -> [UInt8] {
        var out = header(typeMeta: typeMeta, rawLength: raw.count)
        out.reserveCapacity(out.count + raw.count + trailer.count)
        out.append(contentsOf: raw)
        out.append(contentsOf: trailer)
        return out
    }

    public static func encode(typeMeta: ProtoTypeMeta, raw: [UInt8]) -> [UInt8] {
        raw.withUnsafeBytes { encode(typeMeta: typeMeta, raw: $0) }
    }
}
