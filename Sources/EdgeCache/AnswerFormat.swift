import CacheStore
import KubeJSON
import KubeProto
import KubeProtoJSON
import KubeRequest

/// What a client takes, from its `Accept` (kubelet: `application/vnd.kubernetes.protobuf, */*`;
/// kubectl and most tools: JSON).
struct ClientFormats: Sendable, Equatable {
    /// Protobuf is the client's first choice.
    var prefersProtobuf: Bool
    var acceptsJSON: Bool

    init(accept: String?) {
        let header = AcceptHeader(accept)
        // No Accept means JSON to the apiserver, and so does `*/*`: among formats the client takes
        // alike, the apiserver's own order (JSON first) decides. kubelet's
        // `application/vnd.kubernetes.protobuf, */*` names protobuf first, so it gets protobuf.
        prefersProtobuf = !header.isEmpty && header.negotiate([.json, .protobuf])?.format == .protobuf
        acceptsJSON = header.accepts(.json)
    }

    init(prefersProtobuf: Bool, acceptsJSON: Bool) {
        self.prefersProtobuf = prefersProtobuf
        self.acceptsJSON = acceptsJSON
    }

    static let json = ClientFormats(prefersProtobuf: false, acceptsJSON: true)
}

/// How one offline answer encodes its objects. Objects are stored in the format they arrived
/// in; a protobuf answer is only possible when every object it may contain is protobuf (JSON
/// cannot be turned into protobuf without the Go types), a JSON answer converts protobuf
/// objects through the Kubernetes schema (KubeProtoJSON).
enum AnswerEncoding: Sendable, Equatable {
    case json
    case protobuf

    var contentType: String {
        switch self {
        case .json: return "application/json"
        case .protobuf: return "application/vnd.kubernetes.protobuf"
        }
    }

    /// The encoding for a collection answer, or nil when the client takes nothing we can give
    /// (406). `hasJSONObjects`: whether the scope holds any object cached as JSON.
    static func choose(_ formats: ClientFormats, hasJSONObjects: Bool) -> AnswerEncoding? {
        if formats.prefersProtobuf && !hasJSONObjects { return .protobuf }
        if formats.acceptsJSON { return .json }
        return nil
    }

    /// The encoding for one object.
    static func choose(_ formats: ClientFormats, object: BodyFormat) -> AnswerEncoding? {
        choose(formats, hasJSONObjects: object == .json)
    }

    /// The object's body in this encoding: JSON with kind and apiVersion, or the protobuf
    /// object message (framing is the caller's). Throws for an object that cannot be converted.
    func body(of object: StoredObject, kinds: KindRegistry.Kinds) throws -> [UInt8] {
        switch (self, object.format) {
        case (.json, .json), (.protobuf, .protobuf):
            return object.body
        case (.json, .protobuf):
            return try ProtoJSON.convert(message: object.body, kind: kinds.kind, apiVersion: kinds.apiVersion)
        case (.protobuf, .json):
            throw AnswerEncodingError.jsonObjectInProtobufAnswer(object.name)
        }
    }
}

enum AnswerEncodingError: Error, CustomStringConvertible {
    case jsonObjectInProtobufAnswer(String)

    var description: String {
        switch self {
        case .jsonObjectInProtobufAnswer(let name): return "object \(name) is cached as JSON and cannot be served as protobuf"
        }
    }
}

extension KindRegistry.Kinds {
    var typeMeta: ProtoTypeMeta { ProtoTypeMeta(apiVersion: apiVersion, kind: kind) }
    var listTypeMeta: ProtoTypeMeta { ProtoTypeMeta(apiVersion: apiVersion, kind: listKind) }
}
