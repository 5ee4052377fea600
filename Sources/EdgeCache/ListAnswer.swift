import CacheStore
import KubeJSON
import KubeProto
import KubeRequest
import KubeTable
import NIOCore
import OutpostProxy

/// A list from the cache with the apiserver's semantics: selectors evaluated on the stored
/// labels and fields, `limit`/`continue` pages, the scope's resourceVersion. A list whose
/// scope was never completely cached is a 503, never an empty list: an empty pod list would
/// tell kubelet that its pods are gone. A client that prefers protobuf (kubelet) gets protobuf
/// when every object of the scope was cached as protobuf, assembled from the stored item
/// messages without re-encoding them; otherwise JSON, with protobuf objects converted.
final class ListAnswer: LocalResponder {
    private let ctx: AnswerContext
    private let selection: Selection
    private let read: ListReadPlan
    private var cancelled = false
    private var builder: ShapedListWriter?
    /// A streamed protobuf list: the item bytes still to come (its length went out first).
    private var protobufRemaining = 0
    private static let batchSize = 256
    /// Pages up to this size are assembled before writing (the continue token goes before the
    /// items); a larger `limit` streams the whole list.
    private static let maxPagedLimit = 5000

    /// A protobuf answer is a PartialObjectMetadataList (the metadata informer's first choice).
    private var metadataOnly: Bool { ctx.shape.prefersProtobufMetadata }

    private func listTypeMeta(_ kinds: KindRegistry.Kinds) -> ProtoTypeMeta {
        metadataOnly ? ProtoPartialObjectMetadata.listTypeMeta : kinds.listTypeMeta
    }

    init(ctx: AnswerContext, selection: Selection, read: ListReadPlan) {
        self.ctx = ctx
        self.selection = selection
        self.read = read
    }

    private struct Start: Sendable {
        var scope: ScopeInfo?
        /// What the apiserver would answer instead, given the version asked for and the cache's.
        var refusal: APIStatus? = nil
        var kinds: KindRegistry.Kinds
        var encoding: AnswerEncoding?
        var first: CacheReader.Batch
        /// Protobuf, unpaged: the framed length of all items (first pass).
        var protobufItemsLength = 0
    }

    func start(_ writer: LocalResponseWriter) {
        ctx.metrics.answered("list")
        switch ctx.shape {
        case .notAcceptable(let message, let emptyDetails): return writer.finish(with: .apiNotAcceptable(message, emptyDetails: emptyDetails))
        case .unsupported(let message): return writer.finish(with: .notAcceptable(message))
        default: break
        }
        let cursor: CacheReader.Cursor?
        switch Self.resumePoint(read.read, namespace: ctx.namespace) {
        case .refuse(let status):
            writer.finish(with: StatusResponses(status))
            return
        case .from(let c):
            cursor = c
        }
        let limit = read.limit > 0 && read.limit <= Int64(Self.maxPagedLimit) ? Int(read.limit) : 0
        let ctx = self.ctx, selection = self.selection, startCursor = cursor, wanted = read.read
        let metadataOnly = self.metadataOnly
        let first = limit > 0 ? limit + 1 : Self.batchSize
        ctx.reader.run(on: writer.eventLoop) { store -> Start in
            let scope = try ctx.coveringScope(store, selector: selection.key)
            let kinds = ctx.reader.kinds.lookup(ctx.collection)
            let empty = CacheReader.Batch(bodies: [], next: nil)
            guard let scope else { return Start(scope: nil, kinds: kinds, encoding: .json, first: empty) }
            if let refusal = Self.refusal(wanted, scopeVersion: scope.resourceVersion) {
                return Start(scope: scope, refusal: refusal, kinds: kinds, encoding: .json, first: empty)
            }
            let chosen: AnswerEncoding?
            if ctx.shape.prefersProtobufMetadata {
                chosen = ctx.shape.conversionEncoding(hasJSONObjects: try store.hasObjects(gvr: ctx.collection.gvr, namespace: ctx.namespace, format: .json))
            } else {
                chosen = ctx.shape.converts ? .json : try ctx.encoding(store)
            }
            guard let encoding = chosen else { return Start(scope: scope, kinds: kinds, encoding: nil, first: empty) }
            var itemsLength = 0
            if encoding == .protobuf && limit == 0 {
                itemsLength = try CacheReader.protobufItemsLength(store, ctx.collection, namespace: ctx.namespace,
                                                                  selection: selection, filter: ctx.filter, metadataOnly: metadataOnly)
            }
            // A page needs limit+1 matches to know whether another page follows.
            var batch = try CacheReader.batch(store, ctx.collection, namespace: ctx.namespace, after: startCursor,
                                              selection: selection, filter: ctx.filter, count: first,
                                              encoding: encoding, kinds: kinds, metadataOnly: metadataOnly)
            while limit > 0, batch.bodies.count < first, let next = batch.next {
                let more = try CacheReader.batch(store, ctx.collection, namespace: ctx.namespace, after: next,
                                                 selection: selection, filter: ctx.filter, count: first - batch.bodies.count,
                                                 encoding: encoding, kinds: kinds, metadataOnly: metadataOnly)
                batch.bodies += more.bodies
                batch.keys += more.keys
                batch.next = more.next
            }
            return Start(scope: scope, kinds: kinds, encoding: encoding, first: batch, protobufItemsLength: itemsLength)
        }.assumeIsolated().whenComplete { [self] result in
            guard !cancelled else { return }
            switch result {
            case .failure(let error):
                ctx.logger.warning("offline list failed: the local cache could not be read", metadata: ["error": "\(error)"])
                writer.finish(with: .unavailable("the local cache could not be read: \(error)"))
            case .success(let s):
                guard let scope = s.scope else {
                    writer.finish(with: .noCachedData(ctx.collection, namespace: ctx.namespace, what: "a list of"))
                    return
                }
                if let refusal = s.refusal {
                    writer.finish(with: StatusResponses(refusal))
                    return
                }
                if let refusal = ctx.shape.refusal(list: true, collection: ctx.collection, kind: s.kinds.kind, includeObject: ctx.includeQuery) {
                    writer.finish(with: refusal)
                    return
                }
                guard let encoding = s.encoding else {
                    writer.finish(with: .notAcceptable("some \(ctx.collection.resource) are cached as JSON"))
                    return
                }
                if limit > 0 {
                    writePage(s, scope: scope, limit: limit, encoding: encoding, writer: writer)
                } else if encoding == .protobuf {
                    let w = ProtoListWriter(typeMeta: listTypeMeta(s.kinds), listMeta: ProtoListMeta(resourceVersion: scope.resourceVersion),
                                            itemsFramedLength: s.protobufItemsLength)
                    var head = LocalResponseWriter.streamingHead(contentType: encoding.contentType)
                    head.headers.add(name: "Content-Length", value: String(w.bodyLength))
                    writer.head(head)
                    writer.body(ByteBuffer(bytes: w.prefix))
                    protobufRemaining = s.protobufItemsLength
                    streamProtobuf(s.first, kinds: s.kinds, suffix: w.suffix, writer: writer)
                } else {
                    let b = ShapedListWriter(shape: ctx.shape, kinds: s.kinds, collection: ctx.collection, include: ctx.include,
                                             resourceVersion: scope.resourceVersion, now: WallClock.now())
                    var out: [UInt8] = []
                    b.begin(into: &out)
                    builder = b
                    writer.head(LocalResponseWriter.streamingHead(contentType: ctx.shape.contentType))
                    writer.body(ByteBuffer(bytes: out))
                    stream(s.first, kinds: s.kinds, writer: writer)
                }
            }
        }
    }

    private enum ResumePoint {
        case from(CacheReader.Cursor?)
        case refuse(APIStatus)
    }

    /// Where a page starts. A token of a cache-served page resumes after its last item. An
    /// apiserver token names a revision the cache does not keep (it holds the current state,
    /// not history), so it gets etcd's answer for a compacted revision: 410, with a token that
    /// goes on at the newest state — and such a token (revision -1, "go on inconsistently")
    /// resumes from the cache. Only within one namespace, or for cluster-scoped objects: across
    /// namespaces etcd orders keys as `namespace/name` and the cache as (namespace, name), which
    /// differ when one namespace's name prefixes another's, so resuming there could skip objects.
    private static func resumePoint(_ read: ResourceVersionRead, namespace: String) -> ResumePoint {
        guard case .continuing(let token) = read else { return .from(nil) }
        switch token {
        case .own(let text):
            return .from(ContinueToken.decode(text))
        case .apiserver(let rv, let startKey):
            let name = startKey.hasSuffix("\u{0}") ? String(startKey.dropLast()) : nil
            guard let name, !name.contains("/") else { return .refuse(.continueExpired) }
            if rv == -1 { return .from(CacheReader.Cursor(namespace: namespace, name: name)) }
            return .refuse(.inconsistentContinue(token: APIContinueToken.encode(resourceVersion: -1, startKey: startKey)))
        }
    }

    /// The apiserver's answer when the cache's state cannot serve the version asked for, or
    /// nil to serve it. `scopeVersion` is the resourceVersion of the cached list.
    /// - not older than V: served when V ≤ the cache's version; otherwise "too large" (504):
    ///   the apiserver answers that when it has not reached V, and the cache has not.
    /// - exactly V: served when V is the cache's version; an older V gets etcd's 410 for a
    ///   compacted revision (the cache keeps no history); a newer one "too large" (online it
    ///   would be a past state the cache never saw, or etcd's 500 for a future revision: the
    ///   cache cannot tell which, and a retry is the honest answer).
    static func refusal(_ read: ResourceVersionRead, scopeVersion: String) -> APIStatus? {
        let have = UInt64(scopeVersion) ?? 0
        switch read {
        case .latest, .continuing:
            return nil
        case .notOlderThan(let want, let retry):
            return want <= have ? nil : .tooLargeResourceVersion(want, current: have, retryAfterSeconds: retry)
        case .exact(let want):
            if want == have { return nil }
            return want < have ? .resourceVersionTooOld : .tooLargeResourceVersion(want, current: have, retryAfterSeconds: 0)
        }
    }

    /// One page of at most `limit` items, with a continue token when more match.
    private func writePage(_ s: Start, scope: ScopeInfo, limit: Int, encoding: AnswerEncoding, writer: LocalResponseWriter) {
        var bodies = s.first.bodies
        var token = ""
        if bodies.count > limit {
            bodies.removeLast(bodies.count - limit)
        }
        if bodies.count == limit, s.first.bodies.count > limit || s.first.next != nil, limit <= s.first.keys.count {
            // Resume after the last item returned.
            token = ContinueToken.encode(s.first.keys[limit - 1])
        }
        let body: [UInt8]
        switch encoding {
        case .json:
            do {
                body = try ShapedListWriter.build(shape: ctx.shape, kinds: s.kinds, collection: ctx.collection, include: ctx.include,
                                                  resourceVersion: scope.resourceVersion, continueToken: token,
                                                  now: WallClock.now(), items: bodies)
            } catch {
                ctx.logger.warning("offline list failed: a cached object could not be converted", metadata: ["error": "\(error)"])
                return writer.finish(with: .unavailable("a cached \(ctx.collection.resource) object could not be converted: \(error)"))
            }
        case .protobuf:
            body = ProtoListWriter.encode(typeMeta: listTypeMeta(s.kinds),
                                          listMeta: ProtoListMeta(resourceVersion: scope.resourceVersion, continueToken: token),
                                          items: bodies)
        }
        var head = LocalResponseWriter.streamingHead(contentType: encoding == .json ? ctx.shape.contentType : encoding.contentType)
        head.headers.add(name: "Content-Length", value: String(body.count))
        writer.head(head)
        writer.body(ByteBuffer(bytes: body))
        writer.end()
    }

    /// Writes a JSON batch, then fetches the next one once the client has room.
    private func stream(_ batch: CacheReader.Batch, kinds: KindRegistry.Kinds, writer: LocalResponseWriter) {
        guard !cancelled, var b = builder else { return }
        var out: [UInt8] = []
        out.reserveCapacity(batch.bodies.reduce(0) { $0 + $1.count + 1 })
        do {
            for body in batch.bodies { try b.append(item: body, into: &out) }
        } catch {
            // The head is out: the only honest signal left is an incomplete body.
            cancelled = true
            ctx.abort(writer, "list", error)
            return
        }
        guard let next = batch.next else {
            b.end(into: &out)
            builder = nil
            writer.body(ByteBuffer(bytes: out))
            writer.end()
            return
        }
        builder = b
        if !out.isEmpty { writer.body(ByteBuffer(bytes: out)) }
        fetch(after: next, encoding: .json, kinds: kinds, writer: writer) { [self] in stream($0, kinds: kinds, writer: writer) }
    }

    /// Writes a protobuf batch (each stored message framed as a List item). The envelope's
    /// length was computed in a first pass; if the cache changed in between, the bytes no
    /// longer add up and the response is aborted rather than sent malformed.
    private func streamProtobuf(_ batch: CacheReader.Batch, kinds: KindRegistry.Kinds, suffix: [UInt8], writer: LocalResponseWriter) {
        guard !cancelled else { return }
        var out: [UInt8] = []
        out.reserveCapacity(batch.bodies.reduce(0) { $0 + $1.count + 6 })
        for body in batch.bodies { ProtoListWriter.appendItem(body, to: &out) }
        protobufRemaining -= out.count
        guard protobufRemaining >= 0 else {
            cancelled = true
            writer.abort()
            return
        }
        guard let next = batch.next else {
            guard protobufRemaining == 0 else {
                cancelled = true
                writer.abort()
                return
            }
            out.append(contentsOf: suffix)
            writer.body(ByteBuffer(bytes: out))
            writer.end()
            return
        }
        if !out.isEmpty { writer.body(ByteBuffer(bytes: out)) }
        fetch(after: next, encoding: .protobuf, kinds: kinds, writer: writer) { [self] in
            streamProtobuf($0, kinds: kinds, suffix: suffix, writer: writer)
        }
    }

    private func fetch(after next: CacheReader.Cursor, encoding: AnswerEncoding, kinds: KindRegistry.Kinds,
                       writer: LocalResponseWriter, _ then: @escaping (CacheReader.Batch) -> Void) {
        ctx.nextBatch(for: writer, after: next, selection: selection, count: Self.batchSize, encoding: encoding, kinds: kinds,
                      metadataOnly: metadataOnly) { [self] result in
            guard !cancelled else { return }
            switch result {
            case .success(let batch): then(batch)
            case .failure(let error):
                // The head is out: the only honest signal left is an incomplete body.
                cancelled = true
                ctx.abort(writer, "list", error)
            }
        }
    }

    func cancel() { cancelled = true }
}
