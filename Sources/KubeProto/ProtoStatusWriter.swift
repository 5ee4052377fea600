/// A `metav1.Status` in protobuf, for errors inside a protobuf watch stream (the 410 Expired
/// ERROR event an offline watch from a too-old resourceVersion gets), framed as the apiserver
/// frames it: Status {1 metadata ListMeta, 2 status, 3 message, 4 reason, 5 details, 6 code}.
public enum ProtoStatusWriter {
    public static let typeMeta = ProtoTypeMeta(apiVersion: "v1", kind: "Status")

    /// The Status message (no envelope). Empty strings are written, as gogo-protobuf writes
    /// every non-pointer field.
    public static func message(status: String = "Failure", message: String, reason: String, code: Int32) -> [UInt8] {
        var w = ProtoWriter()
        w.message(1) { _ in }
        w.field(2, string: status)
        w.field(3, string: message)
        w.field(4, string: reason)
        w.field(6, varint: UInt64(bitPattern: Int64(code)))
        return w.bytes
    }
}
