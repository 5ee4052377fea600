import CacheStore
import KubeJSON
import KubeRequest
import NIOCore
import OutpostProxy

/// A list from the cache with the apiserver's semantics: selectors evaluated on the stored
/// labels and fields, `limit`/`continue` pages, the scope's resourceVersion. A list whose
/// scope was never completely cached is a 503, never an empty list: an empty pod list would
/// tell kubelet that its pods are gone.
final class ListAnswer: LocalResponder {
    private let ctx: AnswerContext
    private let selection: Selection
    private let options: ListOptions
    private var cancelled = false
    private var builder: ListBuilder?
    private static let batchSize = 256
    /// Pages up to this size are assembled before writing (the continue token goes before the
    /// items); a larger `limit` streams the whole list.
    private static let maxPagedLimit = 5000

    init(ctx: AnswerContext, selection: Selection, options: ListOptions) {
        self.ctx = ctx
        self.selection = selection
        self.options = options
    }

    private struct Start: Sendable {
        var scope: ScopeInfo?
        var kinds: KindRegistry.Kinds
        var first: CacheReader.Batch
    }

    func start(_ writer: LocalResponseWriter) {
        ctx.metrics.answered("list")
        var cursor: CacheReader.Cursor? = nil
        if !options.continueToken.isEmpty {
            guard let c = ContinueToken.decode(options.continueToken) else {
                writer.finish(with: .gone("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."))
                return
            }
            cursor = c
        }
        let limit = options.limit > 0 && options.limit <= Int64(Self.maxPagedLimit) ? Int(options.limit) : 0
        let ctx = self.ctx, selection = self.selection, startCursor = cursor
        let first = limit > 0 ? limit + 1 : Self.batchSize
        ctx.reader.run(on: writer.eventLoop) { store -> Start in
            let scope = try store.coveringScope(gvr: ctx.collection.gvr, namespace: ctx.namespace, selector: selection.key)
            let kinds = ctx.reader.kinds.lookup(ctx.collection)
            guard scope != nil else { return Start(scope: nil, kinds: kinds, first: .init(bodies: [], next: nil)) }
            // A page needs limit+1 matches to know whether another page follows.
            var batch = try CacheReader.batch(store, ctx.collection, namespace: ctx.namespace, after: startCursor,
                                              selection: selection, filter: ctx.filter, count: first)
            while limit > 0, batch.bodies.count < first, let next = batch.next {
                let more = try CacheReader.batch(store, ctx.collection, namespace: ctx.namespace, after: next,
                                                 selection: selection, filter: ctx.filter, count: first - batch.bodies.count)
                batch.bodies += more.bodies
                batch.next = more.next
            }
            return Start(scope: scope, kinds: kinds, first: batch)
        }.assumeIsolated().whenComplete { [self] result in
            guard !cancelled else { return }
            switch result {
            case .failure(let error):
                writer.finish(with: .unavailable("the local cache could not be read: \(error)"))
            case .success(let s):
                guard let scope = s.scope else {
                    writer.finish(with: .noCachedData(ctx.collection, namespace: ctx.namespace, what: "a list of"))
                    return
                }
                if limit > 0 {
                    writePage(s, scope: scope, limit: limit, writer: writer)
                } else {
                    let b = ListBuilder(kind: s.kinds.listKind, apiVersion: s.kinds.apiVersion, resourceVersion: scope.resourceVersion)
                    var out: [UInt8] = []
                    b.begin(into: &out)
                    builder = b
                    writer.head(LocalResponseWriter.streamingHead())
                    writer.body(ByteBuffer(bytes: out))
                    stream(s.first, writer: writer)
                }
            }
        }
    }

    /// One page of at most `limit` items, with a continue token when more match.
    private func writePage(_ s: Start, scope: ScopeInfo, limit: Int, writer: LocalResponseWriter) {
        var bodies = s.first.bodies
        var token = ""
        if bodies.count > limit {
            bodies.removeLast(bodies.count - limit)
        }
        if bodies.count == limit, s.first.bodies.count > limit || s.first.next != nil {
            // Resume after the last item returned (its key is in its own metadata).
            if let last = bodies.last, let meta = try? ObjectMeta.parse(last) {
                token = ContinueToken.encode(.init(namespace: meta.namespace, name: meta.name))
            }
        }
        let body = ListBuilder.build(kind: s.kinds.listKind, apiVersion: s.kinds.apiVersion,
                                     resourceVersion: scope.resourceVersion, continueToken: token, items: bodies)
        var head = LocalResponseWriter.streamingHead()
        head.headers.add(name: "Content-Length", value: String(body.count))
        writer.head(head)
        writer.body(ByteBuffer(bytes: body))
        writer.end()
    }

    /// Writes a batch, then fetches the next one once the client has room.
    private func stream(_ batch: CacheReader.Batch, writer: LocalResponseWriter) {
        guard !cancelled, var b = builder else { return }
        var out: [UInt8] = []
        out.reserveCapacity(batch.bodies.reduce(0) { $0 + $1.count + 1 })
        for body in batch.bodies { b.append(item: body, into: &out) }
        guard let next = batch.next else {
            b.end(into: &out)
            builder = nil
            writer.body(ByteBuffer(bytes: out))
            writer.end()
            return
        }
        builder = b
        if !out.isEmpty { writer.body(ByteBuffer(bytes: out)) }
        ctx.nextBatch(for: writer, after: next, selection: selection, count: Self.batchSize) { [self] result in
            guard !cancelled else { return }
            switch result {
            case .success(let batch): stream(batch, writer: writer)
            case .failure:
                // The head is out: the only honest signal left is an incomplete body.
                cancelled = true
                writer.abort()
            }
        }
    }

    func cancel() { cancelled = true }
}
