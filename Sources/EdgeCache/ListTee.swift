import CacheStore
import KubeJSON
import KubeProto
import NIOCore
import NIOHTTP1
import OutpostProxy
import Synchronization

/// A staged list in progress, touched only on the writer thread (jobs run in order there),
/// except `failed`, which a dropped job sets from an event loop.
final class StagingHandle: @unchecked Sendable {
    var id: StagedListID?
    /// The resource's loss epoch when the list began (see `ScopeTrust`): a list that overlapped a
    /// lost write cannot complete a scope.
    let epoch: Int
    private let lostChunk = Atomic<Bool>(false)

    init(epoch: Int) { self.epoch = epoch }

    /// A chunk (or the commit) of this list did not reach the disk: it must never be committed.
    var failed: Bool { lostChunk.load(ordering: .relaxed) }
    func fail() { lostChunk.store(true, ordering: .relaxed) }

    func ensure(_ store: CacheStore) throws -> StagedListID {
        if let id { return id }
        let new = try store.beginStagedList()
        id = new
        return new
    }

    func discard(_ store: CacheStore) throws {
        guard let id else { return }
        self.id = nil
        try store.discardStagedList(id)
    }
}

/// Tees a list response: splits it into items as it streams (never holding the whole list),
/// drops filtered items (re-emitting the list without Content-Length, so its framing stays
/// right), and stages the kept items on the writer thread. Only a list that arrived complete
/// and parsed replaces its cache scope; a cut one is discarded. Pages (`limit`/`continue`) of
/// one list accumulate in one staging area and commit with the last page.
final class ListTee: ResponseInterceptor {
    private let ctx: TeeContext
    private let selection: Selection
    private let pages: PagedLists
    private let handle: StagingHandle
    private var splitter: JSONListSplitter
    /// Set at the head when the body is protobuf (kubelet and client-go ask for it).
    private var protoSplitter: ProtoListSplitter?
    private var mode = StreamTeeMode()
    private var wroteItem = false
    private var untyped: [([UInt8], ObjectMeta)] = []
    /// What a rewriting tee sends for the current chunk: one write per chunk, not per item.
    private var out = ByteBuffer()
    private var batch: [StoredObject] = []
    private var batchBytes = 0
    private var cacheFailed = false
    private var waitingForWriter = false
    /// Counts pauses, so a late wake-up from an earlier pause does nothing.
    private var pauses = 0
    /// The writer's ticket for the current pause and its give-up timer (see `stopWaiting`).
    private var drainWait: (ticket: Int?, giveUp: Scheduled<Void>)?
    private weak var wakeTarget: ResponseSink?
    /// Decided at the first item: the list is the very snapshot its scope was last committed
    /// at (same resourceVersion, not paged), so there is nothing to write (it is still filtered).
    private var sameSnapshot: Bool?
    private var sawItem = false
    private let isContinuation: Bool
    /// Told how the list ended: committed (with what it changed, when asked) or not.
    private let observer: ListCommitObserver?
    private static let batchLimit = 256 << 10

    init(ctx: TeeContext, selection: Selection, pages: PagedLists, continuing handle: StagingHandle?,
         observer: ListCommitObserver? = nil) {
        self.observer = observer
        self.ctx = ctx
        self.selection = selection
        self.pages = pages
        self.handle = handle ?? StagingHandle(epoch: ctx.trust.epoch(ctx.collection.gvr))
        isContinuation = handle != nil
        splitter = JSONListSplitter(fieldPaths: ctx.indexer.paths)
    }

    func head(_ head: HTTPResponseHead, to sink: ResponseSink) {
        mode.head(head, filtered: ctx.filter != nil, to: sink)
        if mode.active && mode.format == .protobuf {
            protoSplitter = ProtoListSplitter(fieldPaths: ctx.indexer.protoPaths)
        }
    }

    func body(_ buffer: ByteBuffer, to sink: ResponseSink) {
        wakeTarget = sink
        guard mode.passThrough(buffer, to: sink) else { return }
        do {
            if protoSplitter != nil {
                try feedProtobuf(buffer)
            } else {
                try buffer.withReadableBytes { bytes in
                    try splitter.feed(bytes) { segment in
                        switch segment {
                        case .prefix(let b), .suffix(let b):
                            if mode.rewriting { out.writeBytes(b) }
                        case .item(let b, let meta):
                            item(b, meta)
                        }
                    }
                }
            }
        } catch {
            // Never seen from a real apiserver (oversized item, broken JSON). Stop caching.
            ctx.logger.warning("list not parseable", metadata: ["gvr": "\(ctx.collection.gvr)", "error": "\(error)"])
            stopCaching()
            if mode.rewriting {
                // What went out so far no longer lines up with the upstream bytes: a filtered
                // list cannot be finished correctly, so it ends as broken, never as complete.
                out = ByteBuffer()
                mode.broken = true
                sink.abortResponse()
                return
            }
            mode.broken = true
        }
        if out.readableBytes > 0 {
            sink.sendBody(out)
            out = ByteBuffer()
        }
        if sameSnapshot == nil && sawItem {
            // Decided once the first items were split (the list's metadata precedes them), and
            // outside the splitter's feed (its info cannot be read while it runs).
            if let p = protoSplitter {
                checkSnapshot(resourceVersion: p.info.resourceVersion, continueToken: p.info.continueToken)
            } else {
                checkSnapshot(resourceVersion: splitter.info.resourceVersion, continueToken: splitter.info.continueToken)
            }
            if sameSnapshot == true {
                untyped = []
                batch = []
                batchBytes = 0
            }
        }
        flushBatch(force: false)
        if caching && ctx.writer.isBackedUp && !waitingForWriter {
            // Pause the apiserver rather than have the cache writer drop this list; but a disk
            // that hangs must not hang the client: after `maxWriterWait` caching gives way.
            waitingForWriter = true
            let generation = pauses &+ 1
            pauses = generation
            let wake = NIOLoopBound(WakeTarget(tee: self), eventLoop: sink.eventLoop)
            let ticket = ctx.writer.whenDrained(on: sink.eventLoop) { wake.value.tee?.resume(generation, giveUp: false) }
            let timer = sink.eventLoop.assumeIsolated().scheduleTask(in: Self.maxWriterWait) { () -> Void in wake.value.tee?.resume(generation, giveUp: true) }
            drainWait = (ticket, timer)
        }
    }

    /// How long a list waits for the cache writer before it is forwarded uncached.
    static let maxWriterWait = TimeAmount.seconds(2)

    private func resume(_ generation: Int, giveUp: Bool) {
        guard waitingForWriter, generation == pauses else { return }
        waitingForWriter = false
        stopWaiting()
        if giveUp {
            ctx.logger.warning("cache writer too slow; this list is forwarded uncached", metadata: ["gvr": "\(ctx.collection.gvr)"])
            stopCaching()
        }
        wakeTarget?.resumeResponseReads()
    }

    var readyForMore: Bool { !waitingForWriter }

    /// Whether this response still feeds the cache (a full write queue or a parse error ends that;
    /// filtering goes on regardless).
    private var caching: Bool { ctx.caching && !cacheFailed && sameSnapshot != true }

    private func checkSnapshot(resourceVersion: String?, continueToken: String?) {
        guard sameSnapshot == nil else { return }
        sameSnapshot = false
        guard ctx.caching, !isContinuation, (continueToken ?? "").isEmpty, let rv = resourceVersion, !rv.isEmpty,
              ctx.recent.committedVersion(gvr: ctx.collection.gvr, namespace: ctx.namespace, selector: selection.key) == rv
        else { return }
        sameSnapshot = true
        ctx.metrics.listUnchanged()
    }

    private func stopCaching() {
        observer?.failed("the list was not cached")
        guard caching else { return }
        cacheFailed = true
        ctx.metrics.listDiscarded()
        discardStaging()
    }

    /// A protobuf list: the envelope's length was sent before the items, so a filtered item is
    /// not removed but masked (same length, an unknown field every decoder skips).
    private func feedProtobuf(_ buffer: ByteBuffer) throws {
        try buffer.withReadableBytes { bytes in
            try protoSplitter!.feed(bytes) { segment in
                switch segment {
                case .prefix(let b), .suffix(let b):
                    if mode.rewriting { out.writeBytes(b) }
                case .item(let frame, let message, let meta):
                    sawItem = true
                    if ctx.drops(meta) {
                        if mode.rewriting { out.writeBytes(try ProtoListSplitter.mask(frame: frame)) }
                        return
                    }
                    if mode.rewriting { out.writeBytes(frame) }
                    guard caching else { return }
                    batchBytes += message.count
                    batch.append(ctx.indexer.stored(ctx.collection, meta: meta, body: Array(message), format: .protobuf))
                }
            }
        }
    }

    private func item(_ bytes: UnsafeRawBufferPointer, _ meta: ObjectMeta) {
        sawItem = true
        if ctx.drops(meta) { return }
        if mode.rewriting {
            if wroteItem { out.writeInteger(UInt8(ascii: ",")) }
            out.writeBytes(bytes)
            wroteItem = true
        }
        guard caching else { return }
        // The splitter is mid-feed here: the list's kind is read after the chunk (typeItems).
        batchBytes += bytes.count
        untyped.append((Array(bytes), meta))
    }

    /// Gives the items of the last chunk their kind and apiVersion (from the list's) and
    /// queues them for staging.
    private func typeItems() {
        guard !untyped.isEmpty else { return }
        let info = splitter.info
        let kind = info.kind.map { $0.hasSuffix("List") ? String($0.dropLast(4)) : $0 }
        for (bytes, meta) in untyped {
            let body = bytes.withUnsafeBytes { ObjectBody.withTypeMeta($0, meta: meta, kind: kind, apiVersion: info.apiVersion) }
            batch.append(ctx.indexer.stored(ctx.collection, meta: meta, body: body))
        }
        untyped = []
    }

    private func flushBatch(force: Bool) {
        typeItems()
        guard !batch.isEmpty, force || batchBytes >= min(Self.batchLimit, ctx.writer.budget / 8) else { return }
        let objects = batch
        let handle = self.handle
        batch = []
        let cost = batchBytes
        batchBytes = 0
        let ok = ctx.writer.submit(cost: cost, "stage \(ctx.collection.gvr)", .staged(handle)) { store in
            guard !handle.failed else { throw CacheWriter.Skipped() }
            try store.stage(try handle.ensure(store), objects: objects)
        }
        if !ok { stopCaching() }
    }

    func end(to sink: ResponseSink) {
        stopWaiting()
        guard mode.active, !mode.broken else {
            observer?.failed(mode.active ? "the list did not parse" : "the apiserver did not answer with a list")
            return
        }
        let info: (kind: String?, apiVersion: String?, resourceVersion: String?, continueToken: String?)
        do {
            if protoSplitter != nil {
                let i = try protoSplitter!.finish()
                info = (i.kind, i.apiVersion, i.resourceVersion, i.continueToken)
            } else {
                let i = try splitter.finish()
                info = (i.kind, i.apiVersion, i.resourceVersion, i.continueToken)
            }
        } catch {
            stopCaching()
            return
        }
        guard caching else {
            if sameSnapshot == true {
                observer?.committed(info.resourceVersion ?? "", RelistChanges())
            } else {
                observer?.failed("the list was not cached")
            }
            return
        }
        flushBatch(force: true)
        guard caching else { return }
        if let kind = info.kind, kind.hasSuffix("List"), let apiVersion = info.apiVersion {
            ctx.kinds.learn(ctx.collection, kind: String(kind.dropLast(4)), apiVersion: apiVersion, writer: ctx.writer)
        }
        if let token = info.continueToken, !token.isEmpty {
            observer?.failed("the list was paged")
            // More pages follow: keep staging until the last one.
            pages.register(token: token, handle: handle, collection: ctx.collection, namespace: ctx.namespace,
                           selectionKey: selection.key, writer: ctx.writer)
            return
        }
        let c = ctx.collection
        let namespace = ctx.namespace
        let selection = self.selection
        let rv = info.resourceVersion ?? ""
        let handle = self.handle
        let metrics = ctx.metrics
        let recent = ctx.recent
        let trust = ctx.trust
        let logger = ctx.logger
        let observer = self.observer
        let submitted = ctx.writer.submit(cost: 64, "commit \(c.gvr)", .staged(handle)) { store in
            guard !handle.failed, trust.epoch(c.gvr) == handle.epoch else {
                observer?.failed("a cache write failed while the list streamed")
                // A chunk never reached the disk, or the cache lost a write of this resource
                // while the list streamed: committing would record a partial truth.
                logger.warning("list not cached: a cache write failed while it streamed", metadata: ["gvr": "\(c.gvr)"])
                try? handle.discard(store)
                metrics.listDiscarded()
                throw CacheWriter.Skipped()
            }
            let id = try handle.ensure(store)
            handle.id = nil
            let matches: (StoredObject) -> Bool = { selection.matches(labels: $0.labels, fields: $0.fieldMap) }
            var changes: RelistChanges?
            do {
                if observer?.wantsChanges == true {
                    changes = try store.relistChanges(id, gvr: c.gvr, namespace: namespace, selector: selection.key,
                                                      listResourceVersion: rv, matchesSelector: matches)
                }
                let n = try store.commitStagedList(id, gvr: c.gvr, namespace: namespace, selector: selection.key,
                                                   listResourceVersion: rv,
                                                   matchesSelector: matches)
                if n >= 1000 { try? store.compact() }
            } catch {
                try? store.discardStagedList(id)
                observer?.failed("the list could not be committed: \(error)")
                throw error
            }
            metrics.listCommitted()
            recent.committed(gvr: c.gvr, namespace: namespace, selector: selection.key, resourceVersion: rv)
            observer?.committed(rv, changes ?? RelistChanges())
        }
        if !submitted { observer?.failed("the cache write queue is full") }
    }

    func abort() {
        stopWaiting()
        observer?.failed("the list was cut")
        guard mode.active else { return }
        stopCaching()
    }

    /// Leaves the writer's drain waiters and cancels the give-up timer (the pause is over, or
    /// the response is gone).
    private func stopWaiting() {
        guard let wait = drainWait else { return }
        drainWait = nil
        if let ticket = wait.ticket { ctx.writer.cancelDrainWait(ticket) }
        wait.giveUp.cancel()
    }

    private func discardStaging() {
        untyped = []
        batch = []
        batchBytes = 0
        let handle = self.handle
        ctx.writer.submit(cost: 64, "discard staged \(ctx.collection.gvr)", .cleanup) { try handle.discard($0) }
    }
}

/// Who to wake when the cache writer has room again (weak: the response may be gone by then).
private final class WakeTarget {
    weak var tee: ListTee?
    init(tee: ListTee) { self.tee = tee }
}

/// Lists in pages: each page's continue token maps to the staging area of the pages so far.
final class PagedLists: Sendable {
    struct Entry: Sendable {
        var handle: StagingHandle
        var collection: Collection
        var namespace: String
        var selectionKey: String
        var expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let ttl: Duration

    init(ttl: Duration = .seconds(300)) { self.ttl = ttl }

    func register(token: String, handle: StagingHandle, collection: Collection, namespace: String,
                  selectionKey: String, writer: CacheWriter) {
        let now = ContinuousClock.now
        let expired = entries.withLock { m -> [Entry] in
            m[token] = Entry(handle: handle, collection: collection, namespace: namespace,
                             selectionKey: selectionKey, expires: now + ttl)
            let old = m.filter { $0.value.expires < now }
            for k in old.keys { m.removeValue(forKey: k) }
            return Array(old.values)
        }
        for e in expired {
            writer.submit(cost: 64, "discard abandoned pages", .cleanup) { try e.handle.discard($0) }
        }
    }

    /// The staging area a `continue` token continues, if it is the next page of a list we saw.
    func take(token: String, collection: Collection, namespace: String, selectionKey: String) -> StagingHandle? {
        entries.withLock { m in
            guard let e = m[token], e.collection == collection, e.namespace == namespace,
                  e.selectionKey == selectionKey else { return nil }
            m.removeValue(forKey: token)
            return e.handle
        }
    }
}


/// Who waits for a list to reach the cache (a reflector): told once, from the writer thread or
/// the list's event loop, whether it committed (at which resourceVersion, and with
/// `wantsChanges`, what it changed) or not.
final class ListCommitObserver: Sendable {
    let wantsChanges: Bool
    private let told = Atomic<Bool>(false)
    private let onCommitted: @Sendable (String, RelistChanges) -> Void
    private let onFailed: @Sendable (String) -> Void

    init(wantsChanges: Bool, committed: @escaping @Sendable (String, RelistChanges) -> Void,
         failed: @escaping @Sendable (String) -> Void) {
        self.wantsChanges = wantsChanges
        onCommitted = committed
        onFailed = failed
    }

    func committed(_ resourceVersion: String, _ changes: RelistChanges) {
        guard !told.exchange(true, ordering: .acquiringAndReleasing) else { return }
        onCommitted(resourceVersion, changes)
    }

    func failed(_ reason: String) {
        guard !told.exchange(true, ordering: .acquiringAndReleasing) else { return }
        onFailed(reason)
    }
}
