import CacheStore
import KubeJSON
import Logging
import NIOCore
import NIOHTTP1
import OutpostProxy
import Upstream

/// One upstream reflector: keeps one scope of the cache in sync with the apiserver by one list
/// and then one watch, resumed from its resourceVersion after every interruption, and feeds the
/// scope's `WatchHub`. It runs the pure `ReflectorMachine` and only performs its actions: the
/// list and the watch go through the same tees as forwarded responses (`ListTee`, `WatchTee`),
/// so the cache is written, filtered and sealed exactly as for a client's own request.
/// Confined to its event loop.
final class Reflector {
    let scope: ScopeKey
    let hub: WatchHub
    private let loop: EventLoop
    private let collection: Collection
    private let selection: Selection
    private let env: SyncEnvironment
    private var machine = ReflectorMachine()
    private var stream: UpstreamStreamHandle?
    /// Identifies the list or watch in flight: callbacks of an older one are ignored.
    private var generation = 0
    private var retryTimer: Scheduled<Void>?
    private var watchStarted = NIODeadline.now()
    private var watchSawEvent = false
    /// The resource's loss epoch when the current state was established (see `ScopeTrust`).
    private var epoch = 0
    private var stopped = false
    private var logger: Logger
    /// Why the next relist happens: after the apiserver expired the watch, rows of this resource
    /// may have been moved on by other streams while this one was down, so a difference against
    /// them would miss changes; after an invalidation the stream was live up to the relist.
    private enum RelistReason { case expired, invalidated }
    private var relistReason = RelistReason.expired

    init(scope: ScopeKey, collection: Collection, selection: Selection, hub: WatchHub, loop: EventLoop,
         env: SyncEnvironment) {
        self.scope = scope
        self.collection = collection
        self.selection = selection
        self.hub = hub
        self.loop = loop
        self.env = env
        logger = env.cache.logger
        logger[metadataKey: "scope"] = "\(scope)"
    }

    /// Starts from the scope's complete state on disk if there is one (a resume, no list).
    func start() {
        loop.preconditionInEventLoop()
        let cache = env.cache, scope = self.scope
        epoch = cache.trust.epoch(scope.gvr)
        let loop = self.loop
        let box = NIOLoopBound(self, eventLoop: loop)
        @Sendable func stored(_ store: CacheStore) -> String? {
            guard cache.trust.trusts(scope.gvr),
                  let s = try? store.scope(gvr: scope.gvr, namespace: scope.namespace, selector: scope.selector),
                  s.complete, UInt64(s.resourceVersion) != nil else { return nil }
            return s.resourceVersion
        }
        // Read behind the writes already queued: a list a client just made (the usual reason a
        // reflector starts) is then on disk, and the reflector resumes from it instead of listing.
        let queued = cache.writer.submit(cost: 64, "reflector start \(scope)", .cleanup) { store in
            let rv = stored(store)
            loop.execute { box.value.begin(stored: rv) }
        }
        if !queued {
            cache.reader.run(on: loop) { stored($0) }.assumeIsolated().whenComplete { [self] result in
                begin(stored: (try? result.get()) ?? nil)
            }
        }
    }

    private func begin(stored: String?) {
        guard !stopped else { return }
        if let stored, let rv = UInt64(stored) { hub.becameReady(at: rv) }
        perform(machine.start(stored: stored))
    }

    func stop() {
        loop.preconditionInEventLoop()
        stopped = true
        retryTimer?.cancel()
        perform(machine.stop())
        hub.close()
    }

    /// Another stream made the store stop trusting this scope (an object left a selection and the
    /// store forgot it): checked behind that write; an incomplete scope is relisted, and its
    /// watchers get the difference.
    func verifyComplete() {
        guard !stopped else { return }
        let cache = env.cache, scope = self.scope, loop = self.loop
        let box = NIOLoopBound(self, eventLoop: loop)
        cache.writer.submit(cost: 64, "check scope \(scope)", .cleanup) { store in
            let complete = (try? store.scope(gvr: scope.gvr, namespace: scope.namespace, selector: scope.selector))??.complete ?? false
            guard !complete else { return }
            loop.execute { box.value.scopeInvalidated() }
        }
    }

    private func scopeInvalidated() {
        guard !stopped, case .watching = machine.state else { return }
        generation += 1
        stream?.cancel()
        stream = nil
        relistReason = .invalidated
        perform(machine.cacheLost())
    }

    /// The health probe judged the apiserver unreachable: a stream in flight would only go silent.
    func linkDown() {
        guard !stopped else { return }
        retryTimer?.cancel()
        perform(machine.linkDown())
    }

    /// The apiserver is reachable again: resume now (jittered, so a fleet does not arrive at once).
    func linkUp() {
        guard !stopped, case .backingOff = machine.state else { return }
        retryTimer?.cancel()
        let jitter = TimeAmount.milliseconds(Int64.random(in: 0...Int64(env.recoveryJitter.nanoseconds / 1_000_000)))
        retryTimer = loop.assumeIsolated().scheduleTask(in: jitter) { [self] in perform(machine.retry()) }
    }

    private func perform(_ action: ReflectorMachine.Action) {
        switch action {
        case .none:
            break
        case .list(let relist):
            startList(relist: relist)
        case .watch(let rv):
            startWatch(from: rv)
        case .retry(let delay):
            let ms = Int64(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)
            let jittered = TimeAmount.milliseconds(ms + Int64.random(in: 0...max(ms / 5, 1)))
            retryTimer?.cancel()
            retryTimer = loop.assumeIsolated().scheduleTask(in: jittered) { [self] in perform(machine.retry()) }
        case .cancel:
            generation += 1
            stream?.cancel()
            stream = nil
        }
    }

    // MARK: list

    private func startList(relist: Bool) {
        generation += 1
        let gen = generation
        let cache = env.cache
        epoch = cache.trust.epoch(scope.gvr)
        env.metrics.list(relist: relist)
        let box = NIOLoopBound(self, eventLoop: loop)
        let loop = self.loop
        let observer = ListCommitObserver(wantsChanges: relist, committed: { rv, changes in
            loop.execute { box.value.listCommitted(gen, rv: rv, changes: changes, relist: relist) }
        }, failed: { reason in
            loop.execute { box.value.listFailed(gen, reason) }
        })
        let ctx = cache.teeContext(collection, namespace: scope.namespace,
                                   filter: cache.config.filters.filter(for: collection.groupResource), caching: true)
        let tee = ListTee(ctx: ctx, selection: selection, pages: cache.pages, continuing: nil, observer: observer)
        // The first list may come from the apiserver's watch cache ("0"); a relist after 410
        // must not go back in time, so it is a consistent read.
        let path = Self.path(collection, namespace: scope.namespace, selection: selection,
                             extra: relist ? [] : [("resourceVersion", "0")])
        let metrics = env.metrics
        let adapter = StreamAdapter(tee: tee, loop: loop, metrics: metrics, onHead: { [weak self] head in
            self?.env.health.recordSuccess()
            return head.status == .ok
        }, onFinish: { [weak self] error, sawHead in
            guard let self, gen == self.generation else { return }
            self.stream = nil
            if let error, !sawHead { self.env.health.recordFailure("reflector list of \(self.scope): \(error)") }
            // A list that ended cleanly reports through the observer (committed or not).
            if error != nil { observer.failed("\(error!)") }
        })
        stream = env.pool.stream(path: path, headers: Self.acceptHeaders, on: loop, headTimeout: env.headTimeout, delegate: adapter)
        adapter.handle = stream
    }

    private func listCommitted(_ gen: Int, rv: String, changes: RelistChanges, relist: Bool) {
        guard gen == generation, !stopped else { return }
        guard let n = UInt64(rv) else {
            listFailed(gen, "the list carried no resourceVersion")
            return
        }
        if relist && relistReason == .expired && env.engineReflectors(scope.gvr) > 1 {
            // Other reflectors of this resource wrote its rows while this one was away: the
            // difference against the rows could miss changes its watchers never saw. They are
            // ended instead; they resume, get 410 and list again — from the cache, locally.
            hub.restartEndingWatchers(at: n)
            logger.info("relisted after the apiserver expired the watch; local watchers re-list from the cache",
                        metadata: ["resourceVersion": "\(rv)"])
        } else if relist {
            let events = Self.diffEvents(changes)
            env.metrics.diffEvents(events.count)
            hub.resynced(events, at: n)
            logger.info("relisted after the apiserver expired the watch", metadata: [
                "resourceVersion": "\(rv)", "added": "\(changes.added.count)", "modified": "\(changes.modified.count)",
                "deleted": "\(changes.deleted.count)"])
        } else {
            hub.becameReady(at: n)
            hub.publish([], bookmark: n)
        }
        perform(machine.listed(resourceVersion: rv))
    }

    private func listFailed(_ gen: Int, _ reason: String) {
        guard gen == generation, !stopped else { return }
        logger.debug("reflector list failed", metadata: ["reason": "\(reason)"])
        stream?.cancel()
        stream = nil
        perform(machine.listFailed())
    }

    /// Deletions first (their keys may be re-created by an add), then the rest in
    /// resourceVersion order.
    static func diffEvents(_ changes: RelistChanges) -> [HubEvent] {
        var out = changes.deleted.map { HubEvent(type: .deleted, object: $0) }
        let upserts = changes.added.map { HubEvent(type: .added, object: $0) } + changes.modified.map { HubEvent(type: .modified, object: $0) }
        out += upserts.sorted { $0.resourceVersion < $1.resourceVersion }
        return out
    }

    // MARK: watch

    private func startWatch(from rv: String) {
        generation += 1
        let gen = generation
        let cache = env.cache
        watchStarted = .now()
        watchSawEvent = false
        let ctx = cache.teeContext(collection, namespace: scope.namespace,
                                   filter: cache.config.filters.filter(for: collection.groupResource), caching: true)
        let batch = EventBatch()
        let tee = WatchTee(ctx: ctx, selection: selection) { [indexer = ctx.indexer, collection] type, meta, format, object in
            switch type {
            case .added, .modified, .deleted:
                batch.events.append(HubEvent(type: type, object: indexer.stored(collection, meta: meta, body: Array(object), format: format)))
            case .bookmark:
                if let n = UInt64(meta.resourceVersion) { batch.bookmark = n }
            case .error:
                batch.error = Self.isExpired(object) ? .expired : .failed
            default:
                break
            }
        }
        var query: [(String, String)] = [("watch", "1"), ("resourceVersion", rv), ("allowWatchBookmarks", "true"),
                                         ("timeoutSeconds", String(env.watchTimeoutSeconds + Int.random(in: 0...env.watchTimeoutSeconds)))]
        if env.watchTimeoutSeconds <= 0 { query.removeLast() }
        let path = Self.path(collection, namespace: scope.namespace, selection: selection, extra: query)
        let adapter = StreamAdapter(tee: tee, loop: loop, metrics: env.metrics, onHead: { [weak self] head in
            guard let self, gen == self.generation else { return false }
            self.env.health.recordSuccess()
            if head.status.code == 410 {
                self.generation += 1
                self.stream?.cancel()
                self.stream = nil
                self.relistReason = .expired
                self.perform(self.machine.expired())
                return false
            }
            return head.status == .ok
        }, onBody: { [weak self] in
            guard let self, gen == self.generation else { return }
            self.delivered(batch)
        }, onFinish: { [weak self] error, sawHead in
            guard let self, gen == self.generation else { return }
            self.delivered(batch)
            guard gen == self.generation else { return }
            self.stream = nil
            if let error {
                if !sawHead { self.env.health.recordFailure("reflector watch of \(self.scope): \(error)") }
                self.perform(self.machine.watchFailed())
            } else {
                let quick = !self.watchSawEvent && NIODeadline.now() - self.watchStarted < .seconds(1)
                self.perform(self.machine.watchEnded(quick: quick))
            }
        })
        let health = env.health
        adapter.onBytes = { health.recordSuccess() }
        stream = env.pool.stream(path: path, headers: Self.acceptHeaders, on: loop, headTimeout: env.headTimeout, delegate: adapter)
        adapter.handle = stream
    }

    /// Publishes what the last chunk carried, and acts on an ERROR event.
    private func delivered(_ batch: EventBatch) {
        let events = batch.events, bookmark = batch.bookmark, error = batch.error
        batch.events = []
        batch.bookmark = nil
        batch.error = nil
        if env.cache.trust.epoch(scope.gvr) != epoch {
            // The cache lost a write of this resource: its scope on disk no longer follows this
            // stream; relist (the watchers get the difference).
            generation += 1
            stream?.cancel()
            stream = nil
            relistReason = .expired
            perform(machine.cacheLost())
            return
        }
        if !events.isEmpty || bookmark != nil {
            watchSawEvent = true
            env.metrics.eventsIn(events.count)
            hub.publish(events, bookmark: bookmark)
            let last = max(events.last?.resourceVersion ?? 0, bookmark ?? 0)
            if last > 0 { machine.progressed(to: String(last)) }
        }
        if let error {
            generation += 1
            stream?.cancel()
            stream = nil
            switch error {
            case .expired:
                relistReason = .expired
                perform(machine.expired())
            case .failed: perform(machine.watchFailed())
            }
        }
    }

    /// An ERROR event's Status says the resourceVersion is gone (410 Expired / Gone), in JSON
    /// or protobuf: both carry the reason as a string.
    static func isExpired(_ object: UnsafeRawBufferPointer) -> Bool {
        let bytes = Array(object)
        for needle in ["Expired", "Gone"] {
            let n = Array(needle.utf8)
            if bytes.count >= n.count {
                for i in 0...(bytes.count - n.count) where bytes[i] == n[0] && Array(bytes[i..<(i + n.count)]) == n { return true }
            }
        }
        return false
    }

    // MARK: requests

    /// Protobuf where the resource has it (built-in kinds), JSON otherwise (custom resources):
    /// the apiserver picks. The cache stores either, and JSON watchers get protobuf converted.
    static let acceptHeaders: [(String, String)] = [("Accept", "application/vnd.kubernetes.protobuf, application/json")]

    static func path(_ c: Collection, namespace: String, selection: Selection, extra: [(String, String)]) -> String {
        var p = c.group.isEmpty ? "/api/\(c.version)" : "/apis/\(c.group)/\(c.version)"
        if !namespace.isEmpty { p += "/namespaces/\(percentEncoded(namespace))" }
        p += "/\(c.resource)"
        var q: [(String, String)] = []
        if !selection.labels.isEmpty { q.append(("labelSelector", selection.labels.description)) }
        if !selection.fields.isEmpty { q.append(("fieldSelector", selection.fields.description)) }
        q += extra
        if !q.isEmpty { p += "?" + q.map { "\($0.0)=\(percentEncoded($0.1))" }.joined(separator: "&") }
        return p
    }

    static func percentEncoded(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)])
            }
        }
        return out
    }
}

/// The events one chunk of a watch carried (filled by the tee's observer, drained after).
private final class EventBatch {
    enum Failure { case expired, failed }
    var events: [HubEvent] = []
    var bookmark: UInt64?
    var error: Failure?
}

/// Drives a tee from an internal upstream stream, as the proxy drives it from a forwarded one.
private final class StreamAdapter: UpstreamStreamDelegate, ResponseSink {
    private let tee: ResponseInterceptor
    private let metrics: SyncMetrics
    let eventLoop: EventLoop
    private let onHead: (HTTPResponseHead) -> Bool
    private let onBody: () -> Void
    private let onFinish: ((any Error)?, Bool) -> Void
    var onBytes: () -> Void = {}
    private var accepted = false
    private var sawHead = false
    var handle: UpstreamStreamHandle?

    init(tee: ResponseInterceptor, loop: EventLoop, metrics: SyncMetrics, onHead: @escaping (HTTPResponseHead) -> Bool,
         onBody: @escaping () -> Void = {}, onFinish: @escaping ((any Error)?, Bool) -> Void) {
        self.tee = tee
        self.metrics = metrics
        eventLoop = loop
        self.onHead = onHead
        self.onBody = onBody
        self.onFinish = onFinish
    }

    func streamHead(_ head: HTTPResponseHead) {
        sawHead = true
        accepted = onHead(head)
        if accepted { tee.head(head, to: self) }
    }

    func streamBody(_ buffer: ByteBuffer) {
        metrics.received(bytes: buffer.readableBytes)
        // Bytes from the apiserver prove the link (the health probe need not ask meanwhile).
        onBytes()
        guard accepted else { return }
        tee.body(buffer, to: self)
        onBody()
    }

    func streamFinished(_ error: (any Error)?) {
        if accepted {
            if error == nil { tee.end(to: self) } else { tee.abort() }
        } else if sawHead {
            tee.abort()
            onFinish(error ?? UpstreamStreamError.connectionClosed, true)
            return
        } else {
            tee.abort()
        }
        onFinish(error, sawHead)
    }

    var streamReadyForMore: Bool { tee.readyForMore }

    // ResponseSink: nobody downstream; the tee only feeds the cache.
    func sendHead(_ head: HTTPResponseHead) {}
    func sendBody(_ buffer: ByteBuffer) {}
    func abortResponse() {}
    func endStream() {}
    func resumeResponseReads() { handle?.resume() }
}
