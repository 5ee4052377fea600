import KubeJSON
import KubeRequest
import KubeTable

/// The shape of an offline read's body, from the client's Accept (see `OutputTarget`): the
/// objects themselves, a Table (`kubectl get`), or their PartialObjectMetadata (metadata
/// informers). Conversions are written as JSON: a client that prefers protobuf
/// PartialObjectMetadata also takes JSON, and Tables exist only as JSON and YAML.
enum AnswerShape: Sendable, Equatable {
    case objects
    case table(apiVersion: String)
    /// `list`: the client asked for PartialObjectMetadataList (else PartialObjectMetadata).
    /// `protobuf`: it prefers protobuf (the metadata informer), served when every object is cached
    /// as protobuf; `json`: it also takes JSON.
    case metadata(apiVersion: String, list: Bool, protobuf: Bool = false, json: Bool = true)
    /// A 406 with the apiserver's message (and its empty `details`, for some).
    case notAcceptable(String, emptyDetails: Bool)
    /// A conversion the cache cannot write (YAML, or protobuf PartialObjectMetadata with no JSON
    /// alternative): 406 with Outpost's message.
    case unsupported(String)

    /// `printable`: whether Outpost prints this resource's Tables (see `Printers.printer`); when it
    /// does not, a Table ask is answered with the objects if the client takes them.
    init(accept: String?, printable: Bool = true) {
        var candidates = OutputTarget.candidates(accept: accept)
        if !printable, candidates.first?.conversion == .table {
            candidates.removeAll { $0.conversion == .table }
            guard !candidates.isEmpty else {
                self = .unsupported("Tables of this resource cannot be printed from the cache")
                return
            }
        }
        guard let first = candidates.first else {
            let refusal = OutputTarget.notAcceptable(accept: accept)
            self = .notAcceptable(refusal.message, emptyDetails: refusal.emptyDetails)
            return
        }
        guard let conversion = first.conversion else {
            self = .objects
            return
        }
        let json = first.serializer == .json ? first
            : candidates.first { $0.conversion == conversion && $0.serializer == .json }
        if first.serializer == .protobuf && conversion != .table {
            self = .metadata(apiVersion: "meta.k8s.io/" + first.version, list: conversion == .partialObjectMetadataList,
                             protobuf: true, json: json != nil)
            return
        }
        guard let chosen = json else {
            self = .unsupported("\(first.contentType) cannot be served from the cache")
            return
        }
        let apiVersion = "meta.k8s.io/" + chosen.version
        switch conversion {
        case .table: self = .table(apiVersion: apiVersion)
        case .partialObjectMetadata: self = .metadata(apiVersion: apiVersion, list: false)
        case .partialObjectMetadataList: self = .metadata(apiVersion: apiVersion, list: true)
        }
    }

    /// The Content-Type of a JSON body of this shape: 1.20 labels Tables and PartialObjectMetadata
    /// `application/json` too.
    var contentType: String { "application/json" }

    /// Whether the client prefers protobuf PartialObjectMetadata (see `metadata`).
    var prefersProtobufMetadata: Bool {
        if case .metadata(_, _, true, _) = self { return true }
        return false
    }

    /// The encoding of a converted answer: protobuf PartialObjectMetadata when the client prefers
    /// it and no object of the scope is cached as JSON, else JSON if the client takes it (nil: 406).
    func conversionEncoding(hasJSONObjects: Bool) -> AnswerEncoding? {
        guard case .metadata(_, _, true, let json) = self else { return .json }
        if !hasJSONObjects { return .protobuf }
        return json ? .json : nil
    }

    /// Whether the body is something other than the objects.
    var converts: Bool {
        switch self {
        case .table, .metadata: return true
        default: return false
        }
    }

    /// What the apiserver refuses after reading the objects: PartialObjectMetadata of a list or
    /// PartialObjectMetadataList of one object (406, naming its Go type), or a Table ask with an
    /// `includeObject` it does not know (400).
    func refusal(list: Bool, collection: Collection, kind: String, includeObject: String?) -> StatusResponses? {
        if case .table = self, let value = includeObject, IncludeObject(query: value) == nil {
            return StatusResponses(StatusBody(
                message: "Unable to convert to Table as requested: includeObject: Invalid value: \(JSONWriter.quoted(value, htmlSafe: false)): must be 'Metadata', 'Object', 'None', or empty",
                reason: .badRequest, code: 400))
        }
        guard case .metadata(_, let asksList, _, _) = self, asksList != list else { return nil }
        let type = "*\(Self.internalPackage(collection.group)).\(kind)\(list ? "List" : "")"
        return .apiNotAcceptable(list ? "you requested PartialObjectMetadata, but the requested object is a list (\(type))"
            : "you requested PartialObjectMetadataList, but the requested object is not a list (\(type))")
    }

    /// The apiserver's internal package of a built-in group (the `%T` of its storage objects).
    static func internalPackage(_ group: String) -> String {
        switch group {
        case "", "events.k8s.io": return "core"
        case "apiextensions.k8s.io": return "unstructured"
        default: return String(group.split(separator: ".").first ?? "core")
        }
    }
}

/// Writes a JSON list body in the client's shape, item by item (stored objects as JSON with kind
/// and apiVersion in; rows or PartialObjectMetadata out).
struct ShapedListWriter {
    private enum Mode {
        case list(ListBuilder)
        case table(TableWriter)
    }
    private var mode: Mode
    private let now: Double
    private let metadataVersion: String?

    init(shape: AnswerShape, kinds: KindRegistry.Kinds, collection: Collection, include: IncludeObject,
         resourceVersion: String, continueToken: String = "", now: Double) {
        self.now = now
        switch shape {
        case .table(let v):
            mode = .table(TableWriter(apiVersion: v, printer: Printers.printer(group: collection.group, resource: collection.resource) ?? .defaultConverter,
                                      include: include))
            metadataVersion = nil
            pendingMeta = (resourceVersion, continueToken)
        case .metadata(let v, _, _, _):
            mode = .list(ListBuilder(kind: "PartialObjectMetadataList", apiVersion: v, resourceVersion: resourceVersion, continueToken: continueToken))
            metadataVersion = v
        default:
            mode = .list(ListBuilder(kind: kinds.listKind, apiVersion: kinds.apiVersion, resourceVersion: resourceVersion, continueToken: continueToken))
            metadataVersion = nil
        }
    }

    private var pendingMeta: (String, String) = ("", "")

    func begin(into out: inout [UInt8]) {
        switch mode {
        case .list(let b): b.begin(into: &out)
        case .table(let t): t.begin(resourceVersion: pendingMeta.0, continueToken: pendingMeta.1, into: &out)
        }
    }

    mutating func append(item: [UInt8], into out: inout [UInt8]) throws {
        switch mode {
        case .list(var b):
            if let v = metadataVersion {
                b.append(item: try PartialObjectMetadata.of(object: item, apiVersion: v), into: &out)
            } else {
                b.append(item: item, into: &out)
            }
            mode = .list(b)
        case .table(var t):
            try t.appendRow(object: item, now: now, into: &out)
            mode = .table(t)
        }
    }

    func end(into out: inout [UInt8]) {
        switch mode {
        case .list(let b): b.end(into: &out)
        case .table(let t): t.end(into: &out)
        }
    }

    /// One-shot body (a page).
    static func build(shape: AnswerShape, kinds: KindRegistry.Kinds, collection: Collection, include: IncludeObject,
                      resourceVersion: String, continueToken: String, now: Double, items: [[UInt8]]) throws -> [UInt8] {
        var w = ShapedListWriter(shape: shape, kinds: kinds, collection: collection, include: include,
                                 resourceVersion: resourceVersion, continueToken: continueToken, now: now)
        var out: [UInt8] = []
        w.begin(into: &out)
        for item in items { try w.append(item: item, into: &out) }
        w.end(into: &out)
        return out
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Seconds since the epoch, for the age cells of offline Tables.
enum WallClock {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
