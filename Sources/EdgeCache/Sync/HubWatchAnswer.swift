import CacheStore
import KubeJSON
import KubeProto
import KubeRequest
import NIOCore
import OutpostProxy

/// A local watch served by the watch cache, online and offline alike: the scope's reflector
/// feeds its hub, the hub feeds this stream. Nothing about it changes when the link drops or
/// returns (it only goes quiet); it ends at `timeoutSeconds`, when the client leaves, or when
/// the scope stops being trustworthy.
///
/// Where it starts:
/// - from a resourceVersion inside the scope's history: the events after it, then live;
/// - from one older than the history: the apiserver's 410 Expired ERROR event;
/// - from "" / "0", or with `sendInitialEvents=true` (WatchList): an ADDED per cached object
///   (read from the store in batches), then — for WatchList — a BOOKMARK carrying the state's
///   resourceVersion and the `k8s.io/initial-events-end` annotation, then live events.
final class HubWatchAnswer: LocalResponder {
    private let ctx: AnswerContext
    private let hub: WatchHub
    private let engine: SyncEngine
    private let selection: Selection
    private let options: ListOptions
    private let bookmarkInterval: TimeAmount
    private var writer: LocalResponseWriter?
    private var subscription: Int?
    private var cancelled = false
    private var encoding: AnswerEncoding = .json
    private var kinds = KindRegistry.Kinds(kind: "", apiVersion: "")
    /// Deliveries that arrived while the initial state was still being sent, and their bytes
    /// (bounded like the backlog: a client that does not read its initial state cannot make
    /// Outpost hold the scope's events for it forever).
    private var held: [HubDelivery]? = nil
    private var heldBytes = 0
    /// The scope's resourceVersion this watcher has been given everything up to.
    private var through: UInt64 = 0
    private var timeoutTimer: Scheduled<Void>?
    private var bookmarkTimer: Scheduled<Void>?
    /// Bytes written while the client was not reading: past `maxBacklog` the watch ends (as the
    /// apiserver ends a watcher that cannot keep up) and the client resumes from its position.
    private var backlog = 0
    static let maxBacklog = 8 << 20
    private static let batchSize = 256

    init(ctx: AnswerContext, hub: WatchHub, engine: SyncEngine, selection: Selection, options: ListOptions,
         bookmarkInterval: TimeAmount) {
        self.ctx = ctx
        self.hub = hub
        self.engine = engine
        self.selection = selection
        self.options = options
        self.bookmarkInterval = bookmarkInterval
    }

    private var wantsInitialState: Bool {
        if let s = options.sendInitialEvents { return s }
        return options.resourceVersion.isEmpty || options.resourceVersion == "0"
    }

    private enum Start: Sendable {
        case notAcceptable
        case noScope
        case tooLarge(APIStatus)
        case ready(kinds: KindRegistry.Kinds, encoding: AnswerEncoding, stateRV: UInt64?, first: CacheReader.Batch?)
    }

    func start(_ writer: LocalResponseWriter) {
        self.writer = writer
        ctx.metrics.answered("watch")
        engine.env.metrics.localWatch()
        let ctx = self.ctx, selection = self.selection, scope = hub.scope, initial = wantsInitialState, options = self.options
        ctx.reader.run(on: writer.eventLoop) { store -> Start in
            let kinds = ctx.reader.kinds.lookup(ctx.collection)
            guard let encoding = try ctx.encoding(store) else { return .notAcceptable }
            guard initial else { return .ready(kinds: kinds, encoding: encoding, stateRV: nil, first: nil) }
            // The state the initial events describe: the scope as committed on disk. The hub's
            // history covers what happened since (the disk trails it by the write queue).
            guard ctx.trust.trusts(scope.gvr),
                  let s = try store.scope(gvr: scope.gvr, namespace: scope.namespace, selector: scope.selector),
                  s.complete, let rv = UInt64(s.resourceVersion) else { return .noScope }
            // NotOlderThan: the state must be at least the client's (the apiserver's watch cache
            // waits for it and then says "too large"; the disk trails the hub by moments).
            if let want = UInt64(options.resourceVersion), want > rv {
                return .tooLarge(.tooLargeResourceVersion(want, current: rv, retryAfterSeconds: 1))
            }
            let first = try CacheReader.batch(store, ctx.collection, namespace: ctx.namespace, after: nil,
                                              selection: selection, filter: ctx.filter, count: Self.batchSize,
                                              encoding: encoding, kinds: kinds)
            return .ready(kinds: kinds, encoding: encoding, stateRV: rv, first: first)
        }.assumeIsolated().whenComplete { [self] result in
            guard !cancelled else { return }
            switch result {
            case .failure(let error):
                ctx.logger.warning("local watch failed: the cache could not be read", metadata: ["error": "\(error)"])
                writer.finish(with: .unavailable("the local cache could not be read: \(error)"))
            case .success(.notAcceptable):
                writer.finish(with: .notAcceptable("some \(ctx.collection.resource) are cached as JSON"))
            case .success(.noScope):
                writer.finish(with: .noCachedData(ctx.collection, namespace: ctx.namespace, what: "a watch of"))
            case .success(.tooLarge(let status)):
                writer.finish(with: StatusResponses(status))
            case .success(.ready(let kinds, let encoding, let stateRV, let first)):
                self.kinds = kinds
                self.encoding = encoding
                begin(writer, stateRV: stateRV, first: first)
            }
        }
    }

    private func begin(_ writer: LocalResponseWriter, stateRV: UInt64?, first: CacheReader.Batch?) {
        let from: UInt64
        if let stateRV {
            from = stateRV
        } else if let rv = UInt64(options.resourceVersion) {
            from = rv
        } else if options.resourceVersion.isEmpty {
            // `sendInitialEvents=false` from "": start at the most recent state, no replay.
            from = hub.currentResourceVersion
        } else {
            // Not a decimal resourceVersion: the apiserver's watch cache cannot place it either.
            writer.finish(with: StatusResponses(APIStatus.resourceVersionTooOld))
            return
        }
        let box = NIOLoopBound(self, eventLoop: writer.eventLoop)
        if first != nil { held = [] }
        switch hub.subscribe(after: from, on: writer.eventLoop, deliver: { d in box.value.receive(d) }) {
        case .notReady:
            writer.finish(with: .noCachedData(ctx.collection, namespace: ctx.namespace, what: "a watch of"))
            return
        case .expired(let floor):
            engine.env.metrics.watchExpired()
            writer.head(LocalResponseWriter.streamingHead(contentType: WatchAnswer.contentType(encoding)))
            writeExpired(requested: options.resourceVersion, current: String(max(floor, hub.currentResourceVersion)))
            writer.end()
            self.writer = nil
            return
        case .subscribed(let id):
            subscription = id
        }
        through = from
        writer.head(LocalResponseWriter.streamingHead(contentType: WatchAnswer.contentType(encoding)))
        if options.watchTimeoutSeconds == 0 || (options.watchTimeoutSeconds ?? 1) < 0 {
            finish()
            return
        }
        writer.flush()
        let timeout = TimeAmount.seconds(options.watchTimeoutSeconds ?? WatchAnswer.defaultTimeout)
        timeoutTimer = writer.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in finish() }
        if options.allowWatchBookmarks { scheduleBookmark() }
        if let first { sendInitial(first, stateRV: from) }
    }

    // MARK: initial state

    private func sendInitial(_ batch: CacheReader.Batch, stateRV: UInt64) {
        guard let writer else { return }
        ctx.streamInitialEvents(batch, to: writer, selection: selection, batchSize: Self.batchSize, encoding: encoding,
                                kinds: kinds, isCancelled: { [self] in cancelled }, stop: { [self] in cancel() },
                                done: { [self] in initialStateSent(stateRV: stateRV) })
    }

    private func initialStateSent(stateRV: UInt64) {
        guard let writer else { return }
        if options.sendInitialEvents == true {
            // KEP-3157: the initial events are over, and they described the state at stateRV.
            writer.body(ByteBuffer(bytes: bookmark(stateRV, initialEventsEnd: true)))
        }
        let waiting = held ?? []
        held = nil
        for d in waiting { receive(d) }
        writer.flush()
    }

    // MARK: live

    private func receive(_ delivery: HubDelivery) {
        guard !cancelled, let writer else { return }
        if held != nil {
            held!.append(delivery)
            if case .events(let events, _) = delivery { heldBytes += events.reduce(0) { $0 + $1.cost } }
            if case .resynced(let events, _) = delivery { heldBytes += events.reduce(0) { $0 + $1.cost } }
            if !account(heldBytes) {
                ctx.logger.notice("local watcher not reading its initial state; its watch ends",
                                  metadata: ["scope": "\(hub.scope)"])
                cancel()
                writer.abort()
            }
            return
        }
        var out: [UInt8] = []
        var sent = 0
        do {
            switch delivery {
            case .events(let events, let upTo):
                for e in events where e.resourceVersion > through || e.resourceVersion == 0 {
                    out += try e.frame(encoding, kinds: kinds)
                    sent += 1
                }
                through = max(through, upTo)
            case .resynced(let events, let rv):
                for e in events {
                    out += try e.frame(encoding, kinds: kinds)
                    sent += 1
                }
                through = rv
                if options.allowWatchBookmarks { out += bookmark(rv, initialEventsEnd: false) }
            case .closed:
                finish()
                return
            }
        } catch {
            // An object this watcher's format cannot carry (JSON in a protobuf stream): end the
            // watch; the client re-watches (and is then given JSON, or a 406).
            ctx.logger.warning("local watch ended: an event could not be encoded", metadata: ["error": "\(error)"])
            finish()
            return
        }
        guard !out.isEmpty else { return }
        engine.env.metrics.eventsOut(sent)
        if !writer.isWritable {
            if !account(backlog + out.count) {
                ctx.logger.notice("local watcher too slow; its watch ends and it resumes from its resourceVersion",
                                  metadata: ["scope": "\(hub.scope)"])
                finish()
                return
            }
        } else {
            _ = account(0)
        }
        writer.body(ByteBuffer(bytes: out))
        writer.flush()
    }

    /// Sets this watcher's backlog (bytes written or held while its client does not read) and
    /// counts it against its own bound and the bound of all local watchers together; false when
    /// either is exceeded.
    private func account(_ bytes: Int) -> Bool {
        let delta = bytes - backlog
        backlog = bytes
        let total = engine.backlog.add(delta, ordering: .relaxed).newValue
        return bytes <= Self.maxBacklog && (delta <= 0 || total <= engine.settings.maxTotalBacklog)
    }

    private func bookmark(_ rv: UInt64, initialEventsEnd: Bool) -> [UInt8] {
        WatchFrames.bookmark(String(rv), encoding: encoding, kinds: kinds,
                             annotations: initialEventsEnd ? [("k8s.io/initial-events-end", "true")] : [])
    }

    private func scheduleBookmark() {
        guard let writer else { return }
        bookmarkTimer = writer.eventLoop.assumeIsolated().scheduleTask(in: bookmarkInterval) { [self] in
            guard !cancelled, let writer = self.writer else { return }
            if held == nil && through > 0 {
                writer.body(ByteBuffer(bytes: bookmark(through, initialEventsEnd: false)))
                writer.flush()
            }
            scheduleBookmark()
        }
    }

    private func writeExpired(requested: String, current: String) {
        writer?.body(ByteBuffer(bytes: WatchFrames.expired(requested: requested, current: current, encoding: encoding)))
    }

    private func finish() {
        guard !cancelled, let writer else { return }
        release()
        self.writer = nil
        writer.flush()
        writer.end()
    }

    private func release() {
        if backlog != 0 { _ = account(0) }
        held = nil
        timeoutTimer?.cancel()
        timeoutTimer = nil
        bookmarkTimer?.cancel()
        bookmarkTimer = nil
        if let id = subscription {
            subscription = nil
            hub.unsubscribe(id)
            engine.touched(hub.scope)
        }
    }

    func cancel() {
        cancelled = true
        release()
        writer = nil
    }

    /// The link's state does not concern a watch the watch cache serves: it stays open.
    func upstreamReachabilityChanged(online: Bool) {}

    func shutdown() { finish() }
}
