import CacheStore
import KubeJSON
import KubeProto
import NIOCore
import OfflineAccess
import OutpostProxy

/// Offline, a create of an object the cache holds gets the apiserver's 409 `AlreadyExists`, word
/// for word; every other offline create gets the usual 503 (nothing is faked: a create that would
/// have succeeded is never answered 201). kubelet re-registers its node this way: its create of
/// the Node, answered 409, makes it read the node and carry on, instead of retrying the create
/// until the link returns.
///
/// The answer needs the object's name, which is in the request body (JSON or protobuf), so the
/// plan is `localAnswerOnlyOffline`: it starts as the request arrives and reads the whole body.
/// The apiserver authorizes a create before it looks at storage, so the 409 goes only to a caller
/// it allowed to create this resource here and to read this very object (saying "exists" to
/// anyone else would disclose it).
final class CreateAnswer: LocalResponder {
    private let ctx: AnswerContext
    private let requestContentType: String?
    /// Whether the caller may learn that the named object exists (see above).
    private let mayConfirm: @Sendable (_ name: String) -> Bool
    private var body: [UInt8] = []
    private var overflow = false
    private var writer: LocalResponseWriter?
    private var cancelled = false
    /// Bodies are held only to read the name; a Node or Pod is a few KiB. Larger ones get the 503
    /// (honest), so thousands of offline uploads cannot hold more than 64 KiB each.
    static let maxBody = 64 << 10

    init(ctx: AnswerContext, requestContentType: String?, mayConfirm: @escaping @Sendable (_ name: String) -> Bool) {
        self.ctx = ctx
        self.requestContentType = requestContentType
        self.mayConfirm = mayConfirm
    }

    func start(_ writer: LocalResponseWriter) { self.writer = writer }

    func requestBody(_ buffer: ByteBuffer) {
        guard !overflow else { return }
        if body.count + buffer.readableBytes > Self.maxBody {
            overflow = true
            body = []
        } else {
            body += buffer.readableBytesView
        }
    }

    func requestEnded() {
        guard let writer, !cancelled else { return }
        ctx.metrics.answered("create")
        guard !overflow, let target = Self.target(of: body, contentType: requestContentType, namespace: ctx.namespace),
              mayConfirm(target.name) else {
            writer.finish(with: Self.offline)
            return
        }
        let ctx = self.ctx
        ctx.reader.run(on: writer.eventLoop) { store -> Bool in
            guard let obj = try store.get(gvr: ctx.collection.gvr, namespace: ctx.namespace, name: target.name) else { return false }
            // A filtered object is hidden from clients: its existence is not theirs to learn.
            return ctx.filter?.droppingRule(name: obj.name, namespace: obj.namespace, labels: obj.labels, fields: obj.fieldMap) == nil
        }.assumeIsolated().whenComplete { [self] result in
            guard !cancelled else { return }
            if case .success(true) = result {
                writer.finish(with: Self.alreadyExists(ctx.collection, name: target.name))
            } else {
                writer.finish(with: Self.offline)
            }
        }
    }

    func cancel() { cancelled = true }

    /// The 503 every offline write gets (the proxy's own wording).
    static let offline = StatusResponses.unavailable(
        "the apiserver is unreachable (offline); only cached reads are served until it is back")

    /// The apiserver's 409 for a create of an existing object.
    static func alreadyExists(_ c: Collection, name: String) -> StatusResponses {
        let resource = c.group.isEmpty ? c.resource : "\(c.resource).\(c.group)"
        return StatusResponses(StatusBody(message: "\(resource) \"\(name)\" already exists", reason: .alreadyExists,
                                          details: StatusDetails(name: name, group: c.group, kind: c.resource), code: 409))
    }

    /// The object a create names: its `metadata.name` from a JSON or protobuf body, when the body
    /// is one and its namespace (if any) is the request's. Nil when the answer cannot be known
    /// (no name: `generateName` picks one at the apiserver; another namespace: the apiserver's
    /// 400; YAML or an unreadable body).
    static func target(of body: [UInt8], contentType: String?, namespace: String) -> (namespace: String, name: String)? {
        let type = (contentType ?? "application/json").split(separator: ";").first.map {
            $0.trimmingCharacters(in: " \t").lowercased()
        } ?? ""
        let meta: ObjectMeta
        switch type {
        case "application/json":
            guard let m = try? ObjectMeta.parse(body) else { return nil }
            meta = m
        case "application/vnd.kubernetes.protobuf":
            guard let (envelope, m) = try? ProtoObjectMeta.parseBody(body), envelope.contentEncoding.isEmpty else { return nil }
            meta = m
        default:
            return nil
        }
        guard !meta.name.isEmpty, meta.namespace.isEmpty || meta.namespace == namespace else { return nil }
        return (namespace, meta.name)
    }
}

private extension Substring {
    func trimmingCharacters(in set: String) -> String {
        var s = self[...]
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
