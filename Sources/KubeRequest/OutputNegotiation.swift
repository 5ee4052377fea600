/// What the apiserver would send for a read of a built-in resource, chosen from the `Accept`
/// header the way its `NegotiateOutputMediaType` does: clauses by preference (q, then
/// specificity), for each the serializers in its order (JSON, YAML, protobuf), the first whose
/// parameters the endpoint allows. `as`/`g`/`v` ask for a conversion: `Table` (JSON or YAML
/// only) and `PartialObjectMetadata(List)` (any serializer) in `meta.k8s.io` v1 or v1beta1.
public struct OutputTarget: Sendable, Hashable {
    public enum Serializer: String, Sendable, Hashable {
        case json = "application/json"
        case yaml = "application/yaml"
        case protobuf = "application/vnd.kubernetes.protobuf"
    }

    public enum Conversion: Sendable, Hashable {
        case table
        case partialObjectMetadata
        case partialObjectMetadataList
    }

    public var serializer: Serializer
    public var conversion: Conversion?
    /// `v1` or `v1beta1` for a conversion.
    public var version: String

    public init(serializer: Serializer, conversion: Conversion? = nil, version: String = "v1") {
        self.serializer = serializer
        self.conversion = conversion
        self.version = version
    }

    /// Every (clause, serializer) pair the apiserver would accept, in the order it tries them: the
    /// first is its answer; later ones are what the client also takes. Empty: 406.
    public static func candidates(accept header: String?) -> [OutputTarget] {
        let serializers: [Serializer] = [.json, .yaml, .protobuf]
        let accept = AcceptHeader(header)
        if accept.isEmpty { return [OutputTarget(serializer: .json)] }
        var out: [OutputTarget] = []
        for range in accept.rangesByPreference {
            for s in serializers where matches(range, s) {
                if let target = admit(range, s), !out.contains(target) { out.append(target) }
            }
        }
        return out
    }

    static func matches(_ range: MediaRange, _ s: Serializer) -> Bool {
        let parts = s.rawValue.split(separator: "/")
        if range.type == "*" && range.subtype == "*" { return true }
        return range.type == parts[0] && (range.subtype == "*" || range.subtype == parts[1])
    }

    /// `acceptMediaTypeOptions` + `AllowsMediaTypeTransform` for a list or get endpoint.
    static func admit(_ range: MediaRange, _ s: Serializer) -> OutputTarget? {
        if let stream = range[parameter: "stream"], !stream.isEmpty, stream != "watch" { return nil }
        if let sv = range[parameter: "sv"], !sv.isEmpty { return nil }
        let kind = range[parameter: "as"], group = range[parameter: "g"], version = range[parameter: "v"]
        guard kind != nil || group != nil || version != nil else { return OutputTarget(serializer: s) }
        guard group == "meta.k8s.io", let version, version == "v1" || version == "v1beta1" else { return nil }
        switch kind {
        case "Table":
            guard s != .protobuf else { return nil }
            return OutputTarget(serializer: s, conversion: .table, version: version)
        case "PartialObjectMetadata":
            return OutputTarget(serializer: s, conversion: .partialObjectMetadata, version: version)
        case "PartialObjectMetadataList":
            return OutputTarget(serializer: s, conversion: .partialObjectMetadataList, version: version)
        default:
            return nil
        }
    }

    /// The Content-Type of the body: the serializer's (1.20 labels Tables and
    /// PartialObjectMetadata with the plain media type).
    public var contentType: String { serializer.rawValue }

    /// The apiserver's 406 when no clause is accepted: its list of media types when some clause
    /// names one of them exactly (its parameters made it unacceptable), else a bare "406: Not
    /// Acceptable" with empty details (what 1.20 writes for `text/html`, `application/*;as=...`).
    public static func notAcceptable(accept header: String?) -> (message: String, emptyDetails: Bool) {
        let named = AcceptHeader(header).ranges.contains { range in
            [Serializer.json, .yaml, .protobuf].contains { range.type + "/" + range.subtype == $0.rawValue }
        }
        return named ? (notAcceptableMessage, false) : ("406: Not Acceptable", true)
    }

    static let notAcceptableMessage = "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf"
}
