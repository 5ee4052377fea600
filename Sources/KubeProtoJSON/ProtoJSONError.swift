import KubeProto

/// Why a protobuf object could not be converted. `offset` is the byte offset in the message
/// given to the converter (inside a merged copy when a singular message field occurred more
/// than once on the wire — rare, and only from non-Go encoders).
public struct ProtoJSONError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Hashable, Sendable {
        /// No schema for this (apiVersion, kind). The caller answers 406: the object exists
        /// only as protobuf and we cannot render it as JSON.
        case unknownKind(apiVersion: String, kind: String)
        /// The bytes ended inside a tag, varint or length-delimited value.
        case truncated
        /// A varint longer than 10 bytes.
        case malformedVarint
        /// Field number 0, an out-of-range number, or wire type 6/7.
        case invalidTag
        /// A known field arrived with a wire type its proto type cannot have (or a group).
        case unsupportedWireType(field: Int, wireType: UInt8)
        /// Messages nested deeper than `ProtoJSON.maxDepth`.
        case tooDeep
        /// `intstr.IntOrString` with a type other than 0 (int) or 1 (string); Go's marshaller
        /// fails the same way ("impossible IntOrString.Type").
        case invalidIntOrString(type: Int64)
        /// A `runtime.RawExtension` / `metav1.FieldsV1` whose bytes are not one JSON value
        /// (Go's encoder rejects such marshaller output too).
        case invalidEmbeddedJSON
        /// Not a `k8s\0` protobuf envelope (magic missing, or no typeMeta/raw).
        case notAnEnvelope
        /// The envelope's `contentEncoding` is set (e.g. gzip); we only read identity.
        case unsupportedContentEncoding(String)
    }

    public var kind: Kind
    public var offset: Int

    public init(_ kind: Kind, offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String { "ProtoJSONError(\(kind) at byte \(offset))" }
}

extension ProtoJSONError {
    /// A wire error from `KubeProto.ProtoReader` / `ProtoEnvelope`, at the same offset.
    init(_ e: ProtoError) {
        let kind: Kind
        switch e.kind {
        case .truncated, .lengthTooLarge: kind = .truncated   // a length past the end is a cut message
        case .overlongVarint: kind = .malformedVarint
        case .badWireType, .badFieldNumber, .unmatchedEndGroup: kind = .invalidTag
        case .wrongWireType(let field, let wireType): kind = .unsupportedWireType(field: field, wireType: wireType)
        case .tooDeep: kind = .tooDeep
        case .badMagic, .incomplete, .duplicateRaw, .itemTooLarge, .invalidWatchEvent, .poisoned:
            kind = .notAnEnvelope   // framing errors of the envelope and the stream scanners
        }
        self.init(kind, offset: e.offset)
    }
}
