import KubeJSON

/// Streams a protobuf List body from stored item messages with O(1) memory: after a first
/// pass that sums the items' sizes (`init`), write `prefix`, then each item's `itemHeader`
/// + message (or `appendItem`), then `suffix`. The bytes are what the apiserver writes for the
/// same list (ListMeta before the items, fields 3/4 of the envelope empty).
public struct ProtoListWriter: Sendable {
    public let typeMeta: ProtoTypeMeta
    public let listMeta: ProtoListMeta
    /// Length of the List message (the envelope's `raw`).
    public let rawLength: Int
    /// Total body length, for Content-Length.
    public let bodyLength: Int
    let listMetaBytes: [UInt8]

    /// `itemMessageSizes`: the byte count of each item's message, in order (only the sum of
    /// their framed sizes is kept).
    public init<S: Sequence>(typeMeta: ProtoTypeMeta, listMeta: ProtoListMeta, itemMessageSizes: S) where S.Element == Int {
        var items = 0
        for s in itemMessageSizes { items += Self.itemFrameSize(messageLength: s) }
        self.init(typeMeta: typeMeta, listMeta: listMeta, itemsFramedLength: items)
    }

    /// When the caller already summed `itemFrameSize(messageLength:)` over the items.
    public init(typeMeta: ProtoTypeMeta, listMeta: ProtoListMeta, itemsFramedLength: Int) {
        self.typeMeta = typeMeta
        self.listMeta = listMeta
        listMetaBytes = listMeta.encoded
        rawLength = ProtoWriter.fieldSize(field: 1, length: listMetaBytes.count) + itemsFramedLength
        bodyLength = ProtoEnvelope.bodySize(typeMeta: typeMeta, rawLength: rawLength)
    }

    /// Bytes one item of `messageLength` bytes takes in the list (tag + length + message).
    public static func itemFrameSize(messageLength: Int) -> Int {
        ProtoWriter.fieldSize(field: 2, length: messageLength)
    }

    /// Magic, envelope header (with the List's length) and the ListMeta.
    public var prefix: [UInt8] {
        var out = ProtoEnvelope.header(typeMeta: typeMeta, rawLength: rawLength)
        var w = ProtoWriter()
        w.field(1, bytes: listMetaBytes)
        out.append(contentsOf: w.bytes)
        return out
    }

    /// Field 2's tag and length for an item message of `messageLength` bytes.
    public static func itemHeader(messageLength: Int) -> [UInt8] {
        var w = ProtoWriter(capacity: 6)
        w.header(2, length: messageLength)
        return w.bytes
    }

    /// Appends one framed item.
    public static func appendItem(_ message: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        var w = ProtoWriter(capacity: 6)
        w.header(2, length: message.count)
        out.append(contentsOf: w.bytes)
        out.append(contentsOf: message)
    }

    public static func appendItem(_ message: [UInt8], to out: inout [UInt8]) {
        message.withUnsafeBytes { appendItem($0, to: &out) }
    }

    /// What follows the last item: the envelope's empty contentEncoding/contentType.
    public var suffix: [UInt8] { ProtoEnvelope.trailer }

    /// A whole body at once (tests, small lists).
    public static func encode(typeMeta: ProtoTypeMeta, listMeta: ProtoListMeta, items: [[UInt8]]) -> [UInt8] {
        let w = ProtoListWriter(typeMeta: typeMeta, listMeta: listMeta, itemMessageSizes: items.map(\.count))
        var out = w.prefix
        out.reserveCapacity(w.bodyLength)
        for item in items { appendItem(item, to: &out) }
        out.append(contentsOf: w.suffix)
        return out
    }
}

/// A get response: the envelope around one stored object message.
public enum ProtoObjectWriter {
    public static func encode(typeMeta: ProtoTypeMeta, message: UnsafeRawBufferPointer) -> [UInt8] {
        ProtoEnvelope.encode(typeMeta: typeMeta, raw: message)
    }

    public static func encode(typeMeta: ProtoTypeMeta, message: [UInt8]) -> [UInt8] {
        ProtoEnvelope.encode(typeMeta: typeMeta, raw: message)
    }
}

/// Watch frames as the apiserver writes them: a 4-byte big-endian length, then
/// `WatchEvent` {1 type, 2 RawExtension {1 raw = k8s\0 + Unknown(typeMeta, object)}}.
public enum ProtoWatchWriter {
    /// One event frame around a stored object message.
    public static func frame(type: WatchEventType, typeMeta: ProtoTypeMeta, object: UnsafeRawBufferPointer) -> [UInt8] {
        let inner = ProtoEnvelope.bodySize(typeMeta: typeMeta, rawLength: object.count)
        let ext = ProtoWriter.fieldSize(field: 1, length: inner)
        let typeLen = type.rawValue.utf8.count
        let event = ProtoWriter.fieldSize(field: 1, length: typeLen) + ProtoWriter.fieldSize(field: 2, length: ext)
        var w = ProtoWriter(capacity: 4 + event)
        let n = UInt32(truncatingIfNeeded: event)
        w.raw([UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)])
        w.field(1, string: type.rawValue)
        w.header(2, length: ext)
        w.header(1, length: inner)
        w.raw(ProtoEnvelope.header(typeMeta: typeMeta, rawLength: object.count))
        w.raw(object)
        w.raw(ProtoEnvelope.trailer)
        return w.bytes
    }

    public static func frame(type: WatchEventType, typeMeta: ProtoTypeMeta, object: [UInt8]) -> [UInt8] {
        object.withUnsafeBytes { frame(type: type, typeMeta: typeMeta, object: $0) }
    }

    /// A BOOKMARK frame. The apiserver's bookmark object is the zero value of the watched kind
    /// with only `metadata.resourceVersion` set, and protobuf writes every non-pointer field,
    /// so after the metadata come the kind's empty fields (for a Pod `12 1c …` spec and
    /// `1a 0e …` status; nothing for a ConfigMap). Pass them as `zeroFields` (e.g. taken from
    /// an upstream bookmark with `zeroFields(ofBookmarkObject:)`) for byte-identical frames;
    /// without them the frame decodes to the same object.
    public static func bookmark(typeMeta: ProtoTypeMeta, resourceVersion: String,
                                annotations: [(String, String)] = [], zeroFields: [UInt8] = []) -> [UInt8] {
        var object = bookmarkObject(resourceVersion: resourceVersion, annotations: annotations)
        object.append(contentsOf: zeroFields)
        return frame(type: .bookmark, typeMeta: typeMeta, object: object)
    }

    /// Field 1 (metadata) of a bookmark object, exactly as the 1.20 apiserver writes a zero
    /// ObjectMeta: strings 1–6 (only resourceVersion non-empty), generation 7 = 0, an empty
    /// creationTimestamp 8 (a zero Time marshals to nothing), annotations 12 if any (sorted by
    /// key, like Go's map marshalling), clusterName 15 "".
    public static func bookmarkObject(resourceVersion: String, annotations: [(String, String)] = []) -> [UInt8] {
        var md = ProtoWriter(capacity: 32 + resourceVersion.utf8.count)
        md.field(1, string: "")                 // name
        md.field(2, string: "")                 // generateName
        md.field(3, string: "")                 // namespace
        md.field(4, string: "")                 // selfLink
        md.field(5, string: "")                 // uid
        md.field(6, string: resourceVersion)    // resourceVersion
        md.field(7, varint: 0)                  // generation
        md.header(8, length: 0)                 // creationTimestamp
        for (k, v) in annotations.sorted(by: { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }) {
            md.message(12) { e in
                e.field(1, string: k)
                e.field(2, string: v)
            }
        }
        md.field(15, string: "")                // clusterName
        var w = ProtoWriter(capacity: md.bytes.count + 4)
        w.field(1, bytes: md.bytes)
        return w.bytes
    }

    /// The fields after `metadata` in an object message (a bookmark's zero-valued rest).
    public static func zeroFields(ofBookmarkObject object: UnsafeRawBufferPointer) throws(ProtoError) -> [UInt8] {
        var r = ProtoReader(object)
        var out: [UInt8] = []
        while !r.isAtEnd {
            let at = r.offset
            let tag = try r.readTag()
            try r.skip(tag, tagOffset: at)
            if tag.field != 1 { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: object[at..<r.offset])) }
        }
        return out
    }
}
