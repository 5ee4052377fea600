import CacheStore
import Filters
import KubeJSON
import KubeProto
import KubeRequest
import KubeTable
import Logging
import NIOCore
import NIOHTTP1
import OutpostProxy
import Selectors

/// Shared by the cache-backed answers.
struct AnswerContext: Sendable {
    var collection: Collection
    var namespace: String
    var reader: CacheReader
    var filter: ResourceFilter?
    var metrics: CacheMetrics
    /// What the client's Accept takes.
    var formats: ClientFormats = .json
    /// The body's shape (objects, Table, PartialObjectMetadata) and a Table row's object.
    var shape: AnswerShape = .objects
    var include: IncludeObject = .metadata
    /// The `includeObject` query value as sent (an unknown one is the apiserver's 400 for Tables).
    var includeQuery: String?
    var trust: ScopeTrust
    var logger: Logger
}

extension AnswerContext {
    /// The complete scope that answers (namespace, `selector`): its own, an all-namespace or
    /// unselected one, or else any complete scope whose selection contains it (`ScopeCoverage`);
    /// none when the cache lost a write of the resource that is not yet recorded on disk (see
    /// `ScopeTrust`). Call on the reader thread.
    func coveringScope(_ store: CacheStore, selector: String) throws -> ScopeInfo? {
        guard trust.trusts(collection.gvr) else { return nil }
        var scope = try store.coveringScope(gvr: collection.gvr, namespace: namespace, selector: selector)
        if scope == nil {
            scope = ScopeCoverage.covering(try store.scopes(gvr: collection.gvr), namespace: namespace, selectionKey: selector)
        }
        // Checked again after the read: a loss recorded meanwhile wins.
        return trust.trusts(collection.gvr) ? scope : nil
    }

    /// A response whose head is out cannot be finished: the connection is closed (the client
    /// sees a broken response, never a short one that looks whole) and the reason logged.
    func abort(_ writer: LocalResponseWriter, _ what: String, _ error: any Error) {
        logger.error("offline answer aborted mid-body: the local cache could not be read", metadata: [
            "answer": "\(what)", "resource": "\(collection.gvr)", "namespace": "\(namespace)", "error": "\(error)",
        ])
        writer.abort()
    }

    /// Once the client has room, reads the next batch after `cursor` and hands it over on the
    /// writer's event loop.
    func nextBatch(for writer: LocalResponseWriter, after cursor: CacheReader.Cursor, selection: Selection, count: Int,
                   encoding: AnswerEncoding, kinds: KindRegistry.Kinds, metadataOnly: Bool = false,
                   _ body: @escaping (Result<CacheReader.Batch, Error>) -> Void) {
        let ctx = self
        writer.whenWritable {
            ctx.reader.run(on: writer.eventLoop) { store in
                try CacheReader.batch(store, ctx.collection, namespace: ctx.namespace, after: cursor,
                                      selection: selection, filter: ctx.filter, count: count, encoding: encoding, kinds: kinds,
                                      metadataOnly: metadataOnly)
            }.assumeIsolated().whenComplete(body)
        }
    }

    /// The encoding of a collection answer (list, watch) for this client and scope; nil: 406.
    func encoding(_ store: CacheStore) throws -> AnswerEncoding? {
        let hasJSON = formats.prefersProtobuf
            ? try store.hasObjects(gvr: collection.gvr, namespace: namespace, format: .json) : true
        return AnswerEncoding.choose(formats, hasJSONObjects: hasJSON)
    }
}

extension LocalResponseWriter {
    func finish(with status: StatusResponses) {
        head(status.head)
        body(status.body)
        end()
    }

    static func streamingHead(contentType: String = "application/json") -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Cache-Control", value: "no-cache, private")
        headers.add(name: "X-Outpost-Cache", value: "hit")
        return HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)
    }
}

/// A get from the cache: the object, the apiserver's 404 when a complete cached list says it
/// does not exist, or 503 when the cache cannot know. A get at a resourceVersion newer than
/// anything the cache has seen of it gets the apiserver's "too large" 504 (its watch cache
/// answers that until it catches up; the cache cannot catch up while offline).
final class GetAnswer: LocalResponder {
    private let ctx: AnswerContext
    private let name: String
    /// The version asked for; 0 for any.
    private let resourceVersion: UInt64
    private var cancelled = false

    init(ctx: AnswerContext, name: String, resourceVersion: UInt64 = 0) {
        self.ctx = ctx
        self.name = name
        self.resourceVersion = resourceVersion
    }

    private enum Outcome: Sendable {
        case found([UInt8], AnswerEncoding)
        case notAcceptable
        case refused(StatusResponses)
        case notFound
        case unknown
        case tooLarge(APIStatus)
    }

    /// One object in the client's shape: a one-row Table (its metadata carries the object's
    /// resourceVersion) or its PartialObjectMetadata.
    static func shaped(_ object: [UInt8], ctx: AnswerContext, kinds: KindRegistry.Kinds) throws -> [UInt8] {
        switch ctx.shape {
        case .table(let v):
            var t = TableWriter(apiVersion: v, printer: Printers.printer(group: ctx.collection.group, resource: ctx.collection.resource) ?? .defaultConverter,
                                include: ctx.include)
            var out: [UInt8] = []
            let rv = (try? JSONNode.parse(object))?["metadata", "resourceVersion"].string ?? ""
            t.begin(resourceVersion: rv, into: &out)
            try t.appendRow(object: object, now: WallClock.now(), into: &out)
            t.end(into: &out)
            return out
        case .metadata(let v, _, _, _):
            return try PartialObjectMetadata.of(object: object, apiVersion: v) + [0x0A]
        default:
            return object + [0x0A]
        }
    }

    func start(_ writer: LocalResponseWriter) {
        let ctx = self.ctx, name = self.name, wanted = resourceVersion
        ctx.metrics.answered("get")
        switch ctx.shape {
        case .notAcceptable(let message, let emptyDetails): return writer.finish(with: .apiNotAcceptable(message, emptyDetails: emptyDetails))
        case .unsupported(let message): return writer.finish(with: .notAcceptable(message))
        default: break
        }
        ctx.reader.run(on: writer.eventLoop) { store -> Outcome in
            let obj = try store.get(gvr: ctx.collection.gvr, namespace: ctx.namespace, name: name)
            if wanted > 0 {
                let scope = try store.coveringScope(gvr: ctx.collection.gvr, namespace: ctx.namespace, selector: "")
                let known = max(UInt64(scope?.resourceVersion ?? "") ?? 0, UInt64(obj?.resourceVersion ?? "") ?? 0)
                if known > 0 && wanted > known {
                    return .tooLarge(.tooLargeResourceVersion(wanted, current: known, retryAfterSeconds: 1))
                }
            }
            if let obj,
               ctx.filter?.droppingRule(name: obj.name, namespace: obj.namespace, labels: obj.labels, fields: obj.fieldMap) == nil {
                let kinds = ctx.reader.kinds.lookup(ctx.collection)
                if ctx.shape.converts {
                    if let refusal = ctx.shape.refusal(list: false, collection: ctx.collection, kind: kinds.kind, includeObject: ctx.includeQuery) {
                        return .refused(refusal)
                    }
                    switch ctx.shape.conversionEncoding(hasJSONObjects: obj.format == .json) {
                    case .protobuf?:
                        let message = try ProtoPartialObjectMetadata.message(ofObject: obj.body)
                        return .found(ProtoObjectWriter.encode(typeMeta: ProtoPartialObjectMetadata.typeMeta, message: message), .protobuf)
                    case .json?:
                        return .found(try Self.shaped(try AnswerEncoding.json.body(of: obj, kinds: kinds), ctx: ctx, kinds: kinds), .json)
                    case nil:
                        return .notAcceptable
                    }
                }
                guard let encoding = AnswerEncoding.choose(ctx.formats, object: obj.format) else { return .notAcceptable }
                let body = try encoding.body(of: obj, kinds: kinds)
                switch encoding {
                case .json: return .found(body + [0x0A], .json)
                case .protobuf: return .found(ProtoObjectWriter.encode(typeMeta: kinds.typeMeta, message: body), .protobuf)
                }
            }
            // Any complete scope that holds every object of this name answers "it does not exist"
            // (kubelet's `metadata.name=NODE` list knows whether its node is there).
            if try ctx.coveringScope(store, selector: "f:metadata.name=" + FieldSelector.escapeValue(name)) != nil {
                return .notFound
            }
            return .unknown
        }.assumeIsolated().whenComplete { [self] result in
            guard !cancelled else { return }
            switch result {
            case .success(.found(let body, let encoding)):
                var head = LocalResponseWriter.streamingHead(contentType: encoding == .json ? ctx.shape.contentType : encoding.contentType)
                head.headers.add(name: "Content-Length", value: String(body.count))
                writer.head(head)
                writer.body(ByteBuffer(bytes: body))
                writer.end()
            case .success(.refused(let status)):
                writer.finish(with: status)
            case .success(.notAcceptable):
                writer.finish(with: .notAcceptable("\(ctx.collection.resource) \"\(name)\" is cached as JSON"))
            case .success(.notFound):
                writer.finish(with: .notFound(ctx.collection, name: name))
            case .success(.unknown):
                writer.finish(with: .noCachedData(ctx.collection, namespace: ctx.namespace, what: "this object of"))
            case .success(.tooLarge(let status)):
                writer.finish(with: StatusResponses(status))
            case .failure(let error):
                ctx.logger.warning("offline get failed: the local cache could not be read", metadata: ["error": "\(error)"])
                writer.finish(with: .unavailable("the local cache could not be read: \(error)"))
            }
        }
    }

    func cancel() { cancelled = true }
}

/// A cached discovery or OpenAPI document, or 503. Streamed in slices as the client takes them:
/// an OpenAPI document is megabytes.
final class DocumentAnswer: LocalResponder {
    private let key: String
    private let reader: CacheReader
    private let metrics: CacheMetrics
    private var cancelled = false
    static let sliceSize = 256 << 10

    init(key: String, reader: CacheReader, metrics: CacheMetrics) {
        self.key = key
        self.reader = reader
        self.metrics = metrics
    }

    func start(_ writer: LocalResponseWriter) {
        let key = self.key
        metrics.answered("discovery")
        reader.run(on: writer.eventLoop) { try $0.documentHandle(key: key) }.assumeIsolated().whenComplete { [self] result in
            guard !cancelled else { return }
            guard case .success(let doc?) = result else {
                writer.finish(with: .unavailable("the apiserver is unreachable and \(key) was never cached"))
                return
            }
            var head = LocalResponseWriter.streamingHead(contentType: doc.contentType)
            head.headers.add(name: "Content-Length", value: String(doc.length))
            writer.head(head)
            send(doc, from: 0, to: writer)
        }
    }

    /// The next slice once the client has room; a document replaced meanwhile (a refresh) or a
    /// read error cuts the response (its length was announced: a short one would look whole).
    private func send(_ doc: DocumentHandle, from offset: Int, to writer: LocalResponseWriter) {
        guard offset < doc.length else {
            writer.end()
            return
        }
        let count = min(Self.sliceSize, doc.length - offset), reader = self.reader
        writer.whenWritable { [self] in
            guard !cancelled else { return }
            reader.run(on: writer.eventLoop) { try $0.documentSlice(doc, offset: offset, count: count) }
                .assumeIsolated().whenComplete { [self] result in
                    guard !cancelled else { return }
                    guard case .success(let bytes?) = result else {
                        writer.abort()
                        return
                    }
                    writer.body(ByteBuffer(bytes: bytes))
                    send(doc, from: offset + count, to: writer)
                }
        }
    }

    func cancel() { cancelled = true }
}
