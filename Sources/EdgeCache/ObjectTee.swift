import CacheStore
import KubeJSON
import KubeProto
import NIOCore
import NIOHTTP1
import OutpostProxy

/// Tees one object: a get, or the object a create/update/patch/delete answered with. Bodies
/// are buffered (objects are small; a cap keeps a freak one out). A filtered object turns a
/// get into the apiserver's 404, so the head waits for the body when a filter applies.
final class ObjectTee: ResponseInterceptor {
    enum Purpose { case get, write, delete }

    private let ctx: TeeContext
    private let purpose: Purpose
    private let name: String
    private var heldHead: HTTPResponseHead?
    private var body: [UInt8] = []
    private var capturing = false
    private var format: BodyFormat = .json
    private var status: UInt = 0
    static let maxObjectSize = 4 << 20

    init(ctx: TeeContext, purpose: Purpose, name: String) {
        self.ctx = ctx
        self.purpose = purpose
        self.name = name
    }

    func head(_ head: HTTPResponseHead, to sink: ResponseSink) {
        status = head.status.code
        let shape = ResponseShape.format(head)
        capturing = shape != nil
        format = shape ?? .json
        if capturing && purpose == .get && ctx.filter != nil {
            heldHead = head
        } else {
            sink.sendHead(head)
        }
    }

    func body(_ buffer: ByteBuffer, to sink: ResponseSink) {
        if capturing {
            if body.count + buffer.readableBytes > Self.maxObjectSize {
                capturing = false
                release(to: sink)
            } else {
                buffer.withReadableBytes { body.append(contentsOf: $0) }
            }
        }
        if heldHead == nil { sink.sendBody(buffer) }
    }

    private func release(to sink: ResponseSink) {
        guard let h = heldHead else { return }
        heldHead = nil
        sink.sendHead(h)
        if !body.isEmpty { sink.sendBody(ByteBuffer(bytes: body)) }
    }

    func end(to sink: ResponseSink) {
        if status == 404 && purpose == .get && ctx.caching {
            let c = ctx.collection, ns = ctx.namespace, name = self.name
            ctx.writer.submit(cost: 64, "forget \(c.gvr)", .objects(gvr: c.gvr)) { _ = try $0.delete(gvr: c.gvr, namespace: ns, name: name) }
        }
        guard capturing, let (meta, stored) = parsed(), !meta.name.isEmpty else {
            release(to: sink)
            return
        }
        if purpose == .get && ctx.drops(meta) {
            heldHead = nil
            let status = StatusResponses.notFound(ctx.collection, name: meta.name)
            sink.sendHead(status.head)
            sink.sendBody(status.body)
            return
        }
        release(to: sink)
        guard ctx.caching else { return }
        let c = ctx.collection
        if purpose == .delete && meta.kind == "Status" {
            let ns = ctx.namespace, name = self.name
            ctx.writer.submit(cost: 64, "delete \(c.gvr)", .objects(gvr: c.gvr)) { _ = try $0.delete(gvr: c.gvr, namespace: ns, name: name) }
            return
        }
        guard meta.kind != "Status", purpose == .get || !ctx.drops(meta) else { return }
        ctx.kinds.learn(c, kind: meta.kind ?? "", apiVersion: meta.apiVersion ?? "", writer: ctx.writer)
        let obj = ctx.indexer.stored(c, meta: meta, body: stored, format: format)
        ctx.writer.submit(cost: body.count, "object \(c.gvr)", .objects(gvr: c.gvr)) { _ = try $0.upsert(obj, onlyIfNewer: true) }
    }

    /// The object's metadata and the bytes to store: JSON without trailing whitespace, or the
    /// protobuf envelope's object message (its kind goes to the KindRegistry).
    private func parsed() -> (ObjectMeta, [UInt8])? {
        switch format {
        case .json:
            guard let meta = try? ObjectMeta.parse(body, fields: ctx.indexer.paths) else { return nil }
            var trimmed = body
            while let last = trimmed.last, last == 0x0A || last == 0x20 || last == 0x0D || last == 0x09 { trimmed.removeLast() }
            return (meta, trimmed)
        case .protobuf:
            guard let envelope = try? ProtoEnvelope.parse(body), envelope.contentEncoding.isEmpty else { return nil }
            let message = Array(body[envelope.raw])
            if envelope.typeMeta.kind == "Status" {
                var meta = ObjectMeta()
                meta.kind = "Status"
                meta.name = "status"
                return (meta, message)
            }
            guard let meta = try? ProtoObjectMeta.parse(message, fields: ctx.indexer.protoPaths, typeMeta: envelope.typeMeta) else {
                return nil
            }
            return (meta, message)
        }
    }

    func abort() {}
}

/// Tees a discovery document (`/api`, `/apis`, `/apis/G/V`, `/version`) verbatim.
final class DocumentTee: ResponseInterceptor {
    private let key: String
    private let writer: CacheWriter
    private let dialect: ApiserverDialect?
    /// Learns resource scopes from APIResourceLists (`/api/v1`, `/apis/G/V`).
    private let scopes: ResourceScopes?
    private var body: [UInt8] = []
    private var contentType: String?

    init(key: String, writer: CacheWriter, dialect: ApiserverDialect?, scopes: ResourceScopes? = nil) {
        self.key = key
        self.writer = writer
        self.dialect = dialect
        self.scopes = ResourceScopes.isResourceListKey(key) ? scopes : nil
    }

    func head(_ head: HTTPResponseHead, to sink: ResponseSink) {
        let encoded = head.headers.first(name: "content-encoding").map { !$0.isEmpty && $0 != "identity" } ?? false
        if head.status.code == 200 && !encoded { contentType = head.headers.first(name: "content-type") }
        sink.sendHead(head)
    }

    func body(_ buffer: ByteBuffer, to sink: ResponseSink) {
        if contentType != nil {
            if body.count + buffer.readableBytes > ObjectTee.maxObjectSize {
                contentType = nil
                body = []
            } else {
                buffer.withReadableBytes { body.append(contentsOf: $0) }
            }
        }
        sink.sendBody(buffer)
    }

    func end(to sink: ResponseSink) {
        guard let ct = contentType, !body.isEmpty else { return }
        dialect?.learn(versionDocument: body)
        scopes?.learn(resourceList: body)
        let doc = StoredDocument(contentType: ct, body: body)
        let key = self.key
        writer.submit(cost: body.count, "document \(key)") { try $0.putDocument(key: key, doc) }
    }

    func abort() {}
}

/// Sees a client's OpenAPI answer pass untouched (it may be gzip, megabytes) and, on a 200, hands
/// the ask to the refresher, which fetches and keeps the document in the negotiated form.
final class OpenAPIAskTee: ResponseInterceptor {
    private let ask: DiscoveryDocuments.OpenAPIAsk
    private let refresher: DiscoveryRefresher

    init(ask: DiscoveryDocuments.OpenAPIAsk, refresher: DiscoveryRefresher) {
        self.ask = ask
        self.refresher = refresher
    }

    func head(_ head: HTTPResponseHead, to sink: ResponseSink) {
        if head.status.code == 200 { refresher.asked(ask) }
        sink.sendHead(head)
    }

    func body(_ buffer: ByteBuffer, to sink: ResponseSink) { sink.sendBody(buffer) }
    func end(to sink: ResponseSink) {}
    func abort() {}
}
