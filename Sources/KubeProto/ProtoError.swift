/// An error raised while scanning the protobuf wire format. `offset` is the absolute byte
/// offset in the stream fed to the scanner (or in the buffer, for one-shot functions), so a
/// tee can log where an upstream body went bad.
public struct ProtoError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Hashable, Sendable {
        /// The input (or the enclosing message) ended inside a tag, varint, fixed value or
        /// length-delimited payload.
        case truncated
        /// A varint longer than 10 bytes, or a 10-byte varint that overflows 64 bits.
        case overlongVarint
        /// Wire type 6 or 7, which no protobuf encoder produces.
        case badWireType(UInt8)
        /// Field number 0 or above 2^29-1.
        case badFieldNumber
        /// A field we interpret arrived with another wire type than its schema's
        /// (a Go decoder rejects the message the same way: "wrong wireType").
        case wrongWireType(field: Int, wireType: UInt8)
        /// A length that runs past the enclosing message or cannot be represented.
        case lengthTooLarge
        /// Groups (or field paths) nested deeper than `ProtoLimits.maxDepth`.
        case tooDeep
        /// An end-group tag without its start-group, or with another field number.
        case unmatchedEndGroup
        /// A body that does not start with `k8s\0`.
        case badMagic
        /// A list item / watch frame / buffered header message larger than the configured limit.
        case itemTooLarge(limit: Int)
        /// A second `raw` field in the envelope of a list (its items would be ambiguous).
        case duplicateRaw
        /// `finish()` was called before the body (or frame) was complete, or a list body
        /// had no `raw` field at all.
        case incomplete
        /// A watch event without a `type` or an `object.raw`.
        case invalidWatchEvent
        /// `feed` was called after an error was thrown; the scanner is poisoned.
        case poisoned
    }

    public var kind: Kind
    public var offset: Int

    public init(_ kind: Kind, offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String {
        "ProtoError(\(kind) at byte \(offset))"
    }
}

/// Limits shared by the protobuf scanners.
public enum ProtoLimits {
    /// Maximum group nesting depth (the only nesting the scanners follow without a schema).
    /// The apiserver never emits groups; a deep stack of them is an attack, not data.
    public static let maxDepth = 64
    /// Default maximum size for one list item / watch frame, the same as the JSON side.
    public static let defaultMaxItemSize = 16 * 1024 * 1024
    /// Largest field number protobuf allows.
    public static let maxFieldNumber = (1 << 29) - 1
}
