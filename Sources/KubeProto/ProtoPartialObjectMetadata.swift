/// `meta.k8s.io/v1` PartialObjectMetadata in protobuf, from a stored object message: its field 1
/// (ObjectMeta) is every Kubernetes object's field 1, so the metadata bytes are reused as they are
/// (the apiserver marshals the same ObjectMeta both times). For metadata informers offline.
public enum ProtoPartialObjectMetadata {
    public static let typeMeta = ProtoTypeMeta(apiVersion: "meta.k8s.io/v1", kind: "PartialObjectMetadata")
    public static let listTypeMeta = ProtoTypeMeta(apiVersion: "meta.k8s.io/v1", kind: "PartialObjectMetadataList")

    /// The PartialObjectMetadata message (`metadata` = field 1) of an object message; the last
    /// field 1 wins, as in protobuf decoding. An object without one gives an empty message.
    public static func message(ofObject object: [UInt8]) throws(ProtoError) -> [UInt8] {
        let range: Result<Range<Int>?, ProtoError> = object.withUnsafeBytes { raw in
            Result { () throws(ProtoError) -> Range<Int>? in
                var reader = ProtoReader(raw)
                var meta: Range<Int>?
                while !reader.isAtEnd {
                    let at = reader.offset
                    let tag = try reader.readTag()
                    if tag.field == 1 && tag.wireType == .lengthDelimited {
                        meta = try reader.readLengthDelimitedRange()
                    } else {
                        try reader.skip(tag, tagOffset: at)
                    }
                }
                return meta
            }
        }
        guard let meta = try range.get() else { return [] }
        var w = ProtoWriter(capacity: meta.count + 6)
        object.withUnsafeBytes { w.field(1, bytes: UnsafeRawBufferPointer(rebasing: $0[meta])) }
        return w.bytes
    }
}
