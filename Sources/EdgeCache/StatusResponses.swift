import KubeJSON
import KubeRequest
import NIOCore
import NIOHTTP1
import OutpostProxy

/// The `metav1.Status` answers the cache gives, worded like the apiserver's where it has one.
struct StatusResponses {
    var status: StatusBody
    var head: HTTPResponseHead
    var body: ByteBuffer

    init(_ status: StatusBody) {
        self.init(status, bytes: status.serialized())
    }

    /// The Status the apiserver would send, decided by KubeRequest (code, reason, message,
    /// details and, for an expired continue token, `metadata.continue`).
    init(_ api: APIStatus) {
        let details = api.hasDetails
            ? StatusDetails(group: api.group, kind: api.kind,
                            causes: api.causes.map { StatusCause(reason: $0.reason, message: $0.message, field: $0.field) },
                            retryAfterSeconds: api.retryAfterSeconds)
            : nil
        let body = StatusBody(message: api.message, reason: StatusReason(rawValue: api.reason) ?? .unknown,
                              details: details, code: api.code)
        var bytes = body.serialized()
        if !api.continueToken.isEmpty {
            // StatusBody writes an empty ListMeta; the token goes in it, where the apiserver puts it.
            let empty = Array(#""metadata":{}"#.utf8)
            var meta = Array(#""metadata":{"continue":"#.utf8)
            JSONWriter.appendString(api.continueToken, to: &meta)
            meta.append(UInt8(ascii: "}"))
            if let at = bytes.firstRange(of: empty) { bytes.replaceSubrange(at, with: meta) }
        }
        self.init(body, bytes: bytes)
    }

    private init(_ status: StatusBody, bytes: [UInt8]) {
        self.status = status
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Cache-Control", value: "no-cache, private")
        headers.add(name: "Content-Length", value: String(bytes.count))
        head = HTTPResponseHead(version: .http1_1, status: .init(statusCode: status.code), headers: headers)
        body = ByteBuffer(bytes: bytes)
    }

    static func notFound(_ c: Collection, name: String) -> StatusResponses {
        let resource = c.group.isEmpty ? c.resource : "\(c.resource).\(c.group)"
        return StatusResponses(StatusBody(message: "\(resource) \"\(name)\" not found", reason: .notFound,
                                          details: StatusDetails(name: name, group: c.group, kind: c.resource), code: 404))
    }

    static func badRequest(_ message: String) -> StatusResponses {
        StatusResponses(StatusBody(message: message, reason: .badRequest, code: 400))
    }

    static func noCachedData(_ c: Collection, namespace: String, what: String) -> StatusResponses {
        let place = namespace.isEmpty ? "" : " in namespace \"\(namespace)\""
        return StatusResponses(StatusBody(
            message: "outpost: the apiserver is unreachable and the local cache has no complete data for \(what) \(c.resource)\(place); refusing to guess (an empty answer would read as \"nothing exists\")",
            reason: .serviceUnavailable, details: StatusDetails(group: c.group, kind: c.resource, retryAfterSeconds: 1), code: 503))
    }

    static func unavailable(_ message: String) -> StatusResponses {
        StatusResponses(StatusBody(message: "outpost: \(message)", reason: .serviceUnavailable, code: 503))
    }

    /// The client takes neither protobuf nor JSON in the form the cache holds (a protobuf-only
    /// client and objects cached as JSON), worded like the apiserver's 406.
    static func notAcceptable(_ what: String) -> StatusResponses {
        StatusResponses(StatusBody(message: "outpost (offline): \(what); only JSON can be served for it", reason: .notAcceptable, code: 406))
    }

    /// The apiserver's own 406 (a media type or conversion it refuses), word for word.
    static func apiNotAcceptable(_ message: String, emptyDetails: Bool = false) -> StatusResponses {
        StatusResponses(StatusBody(message: message, reason: .notAcceptable, details: emptyDetails ? StatusDetails() : nil, code: 406))
    }

    static func gone(_ message: String) -> StatusResponses {
        StatusResponses(StatusBody(message: message, reason: .expired, code: 410))
    }
}

/// Answers one prepared Status (head and body as StatusResponses built them).
final class FixedStatusAnswer: LocalResponder {
    private let status: StatusResponses

    init(_ status: StatusResponses) {
        self.status = status
    }

    func start(_ writer: LocalResponseWriter) {
        writer.finish(with: status)
    }

    func cancel() {}
}
