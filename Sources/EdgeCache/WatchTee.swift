import CacheStore
import KubeJSON
import KubeProto
import NIOCore
import NIOHTTP1
import OutpostProxy

/// Tees a watch stream: applies each event to the cache in order (ADDED/MODIFIED only when
/// newer, DELETED, BOOKMARK raising the scope's resourceVersion) in one batch per chunk read,
/// and drops the events of filtered objects from what the client sees. An ERROR event or a
/// broken stream leaves the cache as it was after the last whole event.
/// An event as a watch tee parsed it: type, metadata, body format and the object's bytes (valid
/// only during the call).
typealias WatchEventObserver = (WatchEventType, ObjectMeta, BodyFormat, UnsafeRawBufferPointer) -> Void

final class WatchTee: ResponseInterceptor {
    private let ctx: TeeContext
    private let selection: Selection
    private var splitter: WatchEventSplitter
    /// Set at the head for a protobuf stream (length-framed WatchEvents).
    private var protoSplitter: ProtoWatchSplitter?
    private var mode = StreamTeeMode()
    private var ops: [CacheOp] = []
    private var opBytes = 0
    private var lastRV: String?
    /// The cache missed events of this stream (full write queue): it no longer feeds the cache;
    /// what the client sees is unchanged.
    private var cacheFailed = false
    private var lastBump = ContinuousClock.now - .seconds(10)
    /// The batch being built holds an object leaving this selection (see `TeeContext.selectionDeparted`).
    private var departed = false
    /// The resource's loss epoch when the stream began: once the cache loses a write of the
    /// resource, this stream stops feeding it (see `ScopeTrust`).
    private let epoch: Int
    /// Sees every event the client sees, in order, as it is parsed (a reflector's fan-out).
    private let observer: WatchEventObserver?

    init(ctx: TeeContext, selection: Selection, observer: WatchEventObserver? = nil) {
        self.ctx = ctx
        self.selection = selection
        self.observer = observer
        epoch = ctx.trust.epoch(ctx.collection.gvr)
        splitter = WatchEventSplitter(fieldPaths: ctx.indexer.paths)
    }

    func head(_ head: HTTPResponseHead, to sink: ResponseSink) {
        mode.head(head, filtered: ctx.filter != nil, to: sink)
        if mode.active && mode.format == .protobuf {
            protoSplitter = ProtoWatchSplitter(fieldPaths: ctx.indexer.protoPaths)
        }
    }

    func body(_ buffer: ByteBuffer, to sink: ResponseSink) {
        guard mode.passThrough(buffer, to: sink) else { return }
        do {
            var out = ByteBuffer()
            if protoSplitter != nil {
                try buffer.withReadableBytes { bytes in
                    try protoSplitter!.feed(bytes) { event in
                        let kept = handle(type: event.type, meta: event.meta, format: .protobuf,
                                          kind: event.typeMeta.kind, apiVersion: event.typeMeta.apiVersion,
                                          object: event.object)
                        if kept && mode.rewriting { out.writeBytes(event.frame) }
                    }
                }
            } else {
                try buffer.withReadableBytes { bytes in
                    try splitter.feed(bytes) { event in
                        let kept = handle(type: event.type, meta: event.meta, format: .json,
                                          kind: event.meta.kind ?? "", apiVersion: event.meta.apiVersion ?? "",
                                          object: event.objectBytes)
                        if kept && mode.rewriting {
                            out.writeBytes(event.eventBytes)
                            out.writeInteger(UInt8(ascii: "\n"))
                        }
                    }
                }
            }
            if out.readableBytes > 0 { sink.sendBody(out) }
        } catch {
            ctx.logger.warning("watch stream not parseable; no longer cached", metadata: ["gvr": "\(ctx.collection.gvr)", "error": "\(error)"])
            mode.broken = true
            cacheFailed = true
            ops = []
            lastRV = nil
            if mode.rewriting {
                // The filtered stream no longer lines up with the upstream bytes: end it as
                // broken (the client re-watches) rather than pass a torn event through.
                sink.abortResponse()
                return
            }
        }
        flush()
    }

    /// Records the event's effect; returns whether the client should see it.
    private func handle(type: WatchEventType, meta: ObjectMeta, format: BodyFormat, kind: String, apiVersion: String,
                        object: UnsafeRawBufferPointer) -> Bool {
        if let observer, !((type == .added || type == .modified || type == .deleted) && ctx.drops(meta)) {
            observer(type, meta, format, object)
        }
        switch type {
        case .added, .modified:
            if ctx.drops(meta) { return false }
            ctx.kinds.learn(ctx.collection, kind: kind, apiVersion: apiVersion, writer: ctx.writer)
            guard firstSighting(meta) else { return true }
            let obj = ctx.indexer.stored(ctx.collection, meta: meta, body: Array(object), format: format)
            append(.upsert(obj, onlyIfNewer: true), cost: obj.body.count)
        case .deleted:
            if ctx.drops(meta) { return false }
            guard firstSighting(meta) else { return true }
            if selection.isEverything {
                append(.delete(gvr: ctx.collection.gvr, namespace: meta.namespace, name: meta.name), cost: 64)
            } else {
                // A selector watch reports an object leaving the selection as DELETED too, with its
                // previous state (which still matches): the event cannot tell. The object leaves this
                // selection either way; scopes that might still hold it must be relisted.
                append(.deleteFromSelection(gvr: ctx.collection.gvr, namespace: meta.namespace, name: meta.name,
                                            scopeNamespace: ctx.namespace, scopeSelector: selection.key), cost: 64)
                departed = true
            }
        case .bookmark:
            break
        default:
            // ERROR (e.g. 410 Expired): the client relists; the cache keeps what it has.
            return true
        }
        if ctx.caching && !cacheFailed && !meta.resourceVersion.isEmpty { lastRV = meta.resourceVersion }
        ctx.metrics.watchEvent()
        return true
    }

    /// Whether this stream is the first to carry the event's revision (one etcd revision is one
    /// write; with many watchers of a collection, only the first applies it). Still records the
    /// stream's progress for its scope.
    private func firstSighting(_ meta: ObjectMeta) -> Bool {
        guard ctx.caching, !cacheFailed else { return true }
        if ctx.recent.firstSighting(gvr: ctx.collection.gvr, resourceVersion: meta.resourceVersion) { return true }
        if !meta.resourceVersion.isEmpty { lastRV = meta.resourceVersion }
        ctx.metrics.watchEventSeen()
        return false
    }

    private func append(_ op: CacheOp, cost: Int) {
        guard ctx.caching, !cacheFailed else { return }
        ops.append(op)
        opBytes += cost
    }

    /// Writes the events of the last chunk. A stream whose events were all applied by other
    /// streams only advances its scope's resourceVersion, at most once a second (and at its end).
    private func flush(force: Bool = false) {
        if !cacheFailed && ctx.trust.epoch(ctx.collection.gvr) != epoch {
            // The cache lost a write of this resource: this stream's later events would move its
            // scope past the missing change.
            cacheFailed = true
            ops = []
            opBytes = 0
            lastRV = nil
        }
        guard !ops.isEmpty || lastRV != nil else { return }
        let now = ContinuousClock.now
        if ops.isEmpty && !force && now - lastBump < .seconds(1) { return }
        lastBump = now
        var ops = self.ops
        if let rv = lastRV {
            ops.append(.bumpScope(gvr: ctx.collection.gvr, namespace: ctx.namespace, selector: selection.key, resourceVersion: rv))
        }
        self.ops = []
        lastRV = nil
        let batch = ops
        let cost = opBytes
        opBytes = 0
        let submitted = ctx.writer.submit(cost: cost, "watch events \(ctx.collection.gvr)", .objects(gvr: ctx.collection.gvr), { try $0.applyBatch(batch) })
        if departed {
            departed = false
            if submitted { ctx.selectionDeparted?(ctx.collection.gvr, ctx.namespace) }
        }
        if !submitted {
            // The cache missed events: stop feeding it from this stream (the scope keeps the
            // resourceVersion of the last applied batch, so the client's next watch from a newer
            // one gets 410 offline and relists). The client's stream is unaffected.
            cacheFailed = true
        }
    }

    func end(to sink: ResponseSink) { flush(force: true) }

    func abort() { flush(force: true) }
}
