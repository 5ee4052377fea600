import Logging
import NIOCore
import OutpostProxy
import Synchronization
import Upstream

/// What reflectors share: the cache they feed, the way upstream and its health, their settings.
struct SyncEnvironment: Sendable {
    let cache: EdgeCache
    let pool: UpstreamPool
    let health: UpstreamHealth
    let metrics: SyncMetrics
    /// A response head must come within this (a black-holed link otherwise hangs a reflector).
    var headTimeout: TimeAmount = .seconds(10)
    /// The upstream watch's timeoutSeconds (plus up to as much again at random, like client-go),
    /// so a stream that silently died is replaced at the latest then.
    var watchTimeoutSeconds = 300
    /// At most this much random delay before reflectors resume after the link came back.
    var recoveryJitter: TimeAmount = .seconds(1)

    /// Reflectors of a resource running now (the engine's count).
    func engineReflectors(_ gvr: String) -> Int { cache.sync?.reflectors(of: gvr) ?? 1 }
}

/// Settings of the watch cache (`outpost serve --watch-cache-*`).
public struct SyncSettings: Sendable {
    /// A reflector with no local watcher stops after this long without a local request.
    public var linger: Duration = .seconds(600)
    /// Events kept per scope for watchers that resume (and bytes, whichever bound comes first).
    public var historyEvents = 1000
    public var historyBytes = 2 << 20
    /// Scopes reflected at once; past it, a new scope is forwarded as before (a flood of
    /// distinct selectors must not open unbounded upstream watches).
    public var maxReflectors = 256
    /// Bytes all local watchers together may have waiting for clients that do not read; a
    /// watcher that would pass it is ended (it resumes from its position).
    public var maxTotalBacklog = 32 << 20
    /// How recently the apiserver must have allowed a caller the access for Outpost to answer
    /// it from the watch cache while the apiserver is reachable (like its own webhook
    /// authorization cache); older confirmations send the request upstream, which confirms again.
    public var onlineAuthorizationAge: Int64 = 300

    public init() {}
}

/// The node's watch cache: one reflector per scope in use, started by the first local list or
/// watch of the scope, kept while local watchers use it and for `linger` after, stopped when
/// idle. Local requests find the scope's hub here; the router decides whether the hub answers.
public final class SyncEngine: Sendable {
    let env: SyncEnvironment
    let settings: SyncSettings
    private struct Entry {
        var reflector: ReflectorBox
        var loop: EventLoop
        var hub: WatchHub
        var lastUsed: ContinuousClock.Instant
    }
    private let entries = Mutex<[ScopeKey: Entry]>([:])
    private let group: EventLoopGroup
    private let sweeper = Mutex<RepeatedTask?>(nil)
    /// Bytes local watchers hold for clients that are not reading (see `SyncSettings.maxTotalBacklog`).
    let backlog = Atomic<Int>(0)

    public init(cache: EdgeCache, pool: UpstreamPool, health: UpstreamHealth, group: EventLoopGroup,
                settings: SyncSettings = SyncSettings()) {
        env = SyncEnvironment(cache: cache, pool: pool, health: health, metrics: cache.syncMetrics)
        self.settings = settings
        self.group = group
    }

    init(env: SyncEnvironment, group: EventLoopGroup, settings: SyncSettings) {
        self.env = env
        self.settings = settings
        self.group = group
    }

    /// Starts the idle sweep; reflectors start on demand.
    public func start() {
        let loop = group.next()
        let task = loop.scheduleRepeatedTask(initialDelay: .seconds(15), delay: .seconds(15)) { [weak self] _ in
            self?.sweep()
        }
        sweeper.withLock { $0 = task }
    }

    /// The apiserver's reachability changed: reflectors drop silent streams, or resume.
    public func reachabilityChanged(online: Bool) {
        let all = entries.withLock { Array($0.values) }
        for e in all {
            let r = e.reflector
            e.loop.execute { online ? r.value.linkUp() : r.value.linkDown() }
        }
    }

    /// Whether the apiserver is reachable now (as the health probe and requests judge it).
    var isOnline: Bool {
        if case .offline = env.health.snapshot.state { return false }
        return true
    }

    /// The hub of `scope`, starting its reflector if none runs (nil when the engine is at its
    /// bound). Cheap and non-blocking: the router calls it per request.
    func hub(for scope: ScopeKey, collection: Collection, selection: Selection) -> WatchHub? {
        let now = ContinuousClock.now
        let (entry, created) = entries.withLock { m -> (Entry?, Bool) in
            if var e = m[scope] {
                e.lastUsed = now
                m[scope] = e
                return (e, false)
            }
            guard m.count < settings.maxReflectors else { return (nil, false) }
            let loop = group.next()
            let hub = WatchHub(scope: scope, maxEvents: settings.historyEvents, maxBytes: settings.historyBytes)
            // Built on its loop below; the box is only touched there.
            let box = Self.makeReflector(scope: scope, collection: collection, selection: selection, hub: hub, loop: loop, env: env)
            let e = Entry(reflector: box, loop: loop, hub: hub, lastUsed: now)
            m[scope] = e
            return (e, true)
        }
        guard let entry else {
            env.metrics.reflectorRefused()
            return nil
        }
        if created {
            env.metrics.reflectorStarted()
            env.cache.logger.debug("reflector started", metadata: ["scope": "\(scope)"])
            let r = entry.reflector
            entry.loop.execute { r.value.start() }
        }
        return entry.hub
    }

    /// The hub of `scope` if its reflector runs (never starts one).
    func existingHub(for scope: ScopeKey) -> WatchHub? {
        entries.withLock { $0[scope]?.hub }
    }

    private static func makeReflector(scope: ScopeKey, collection: Collection, selection: Selection, hub: WatchHub,
                                      loop: EventLoop, env: SyncEnvironment) -> ReflectorBox {
        ReflectorBox(Reflector(scope: scope, collection: collection, selection: selection, hub: hub, loop: loop, env: env), loop: loop)
    }

    /// A selector watch of `gvr` in `namespace` reported an object leaving its selection; the
    /// store forgot the object and stopped trusting the other scopes that may hold it. Their
    /// reflectors check (behind that write) and relist what is no longer complete.
    func selectionDeparted(gvr: String, namespace: String) {
        let affected = entries.withLock { m in
            m.filter { $0.key.gvr == gvr && ($0.key.namespace.isEmpty || namespace.isEmpty || $0.key.namespace == namespace) }
                .map(\.value)
        }
        for e in affected {
            let r = e.reflector
            e.loop.execute { r.value.verifyComplete() }
        }
    }

    /// Reflectors of `gvr` running now.
    func reflectors(of gvr: String) -> Int {
        entries.withLock { m in m.keys.filter { $0.gvr == gvr }.count }
    }

    /// A local watcher left the scope: its reflector lingers from now.
    func touched(_ scope: ScopeKey) {
        let now = ContinuousClock.now
        entries.withLock { m in m[scope]?.lastUsed = now }
    }

    /// Stops reflectors that had no watcher and no request for `linger`.
    func sweep(now: ContinuousClock.Instant = .now) {
        let idle = entries.withLock { m -> [Entry] in
            let doomed = m.filter { $0.value.hub.watcherCount == 0 && now - $0.value.lastUsed >= settings.linger }
            for k in doomed.keys { m.removeValue(forKey: k) }
            return Array(doomed.values)
        }
        for e in idle {
            env.metrics.reflectorStopped()
            let r = e.reflector
            e.loop.execute { r.value.stop() }
        }
    }

    /// Stops every reflector (shutdown).
    public func shutdown() {
        sweeper.withLock { $0?.cancel(); $0 = nil }
        let all = entries.withLock { m -> [Entry] in
            let v = Array(m.values)
            m = [:]
            return v
        }
        for e in all {
            let r = e.reflector
            e.loop.execute { r.value.stop() }
        }
    }

    /// Reflectors running and local watchers per scope (for /metrics).
    var snapshot: [(scope: ScopeKey, watchers: Int, ready: Bool)] {
        entries.withLock { m in m.map { ($0.key, $0.value.hub.watcherCount, $0.value.hub.isReady) } }
    }
}

/// A reflector made off its loop and only ever used on it (`value` checks).
final class ReflectorBox: @unchecked Sendable {
    private let reflector: Reflector
    private let loop: EventLoop

    init(_ reflector: Reflector, loop: EventLoop) {
        self.reflector = reflector
        self.loop = loop
    }

    var value: Reflector {
        loop.preconditionInEventLoop()
        return reflector
    }
}

/// Counters of the watch cache, rendered on /metrics.
final class SyncMetrics: Sendable {
    private let started = Atomic<Int>(0)
    private let stopped = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)
    private let lists = Atomic<Int>(0)
    private let relists = Atomic<Int>(0)
    private let inEvents = Atomic<Int>(0)
    private let outEvents = Atomic<Int>(0)
    private let diffs = Atomic<Int>(0)
    private let localWatches = Atomic<Int>(0)
    private let expiredWatches = Atomic<Int>(0)
    private let localLists = Atomic<Int>(0)
    private let bytesIn = Atomic<Int>(0)

    func reflectorStarted() { started.add(1, ordering: .relaxed) }
    func reflectorStopped() { stopped.add(1, ordering: .relaxed) }
    func reflectorRefused() { refused.add(1, ordering: .relaxed) }
    func list(relist: Bool) {
        if relist { relists.add(1, ordering: .relaxed) } else { lists.add(1, ordering: .relaxed) }
    }
    func eventsIn(_ n: Int) { inEvents.add(n, ordering: .relaxed) }
    func eventsOut(_ n: Int) { outEvents.add(n, ordering: .relaxed) }
    func diffEvents(_ n: Int) { diffs.add(n, ordering: .relaxed) }
    func localWatch() { localWatches.add(1, ordering: .relaxed) }
    func watchExpired() { expiredWatches.add(1, ordering: .relaxed) }
    func localList() { localLists.add(1, ordering: .relaxed) }
    func received(bytes n: Int) { bytesIn.add(n, ordering: .relaxed) }

    func samples(_ engine: SyncEngine?) -> [(name: String, type: String, help: String, value: Double)] {
        var out: [(String, String, String, Double)] = [
            ("outpost_reflectors_started_total", "counter", "Upstream reflectors started (one per scope in use).", Double(started.load(ordering: .relaxed))),
            ("outpost_reflectors_stopped_total", "counter", "Upstream reflectors stopped after lingering idle.", Double(stopped.load(ordering: .relaxed))),
            ("outpost_reflectors_refused_total", "counter", "Scopes not reflected because the reflector bound was reached.", Double(refused.load(ordering: .relaxed))),
            ("outpost_reflector_lists_total", "counter", "Lists reflectors made to start a scope.", Double(lists.load(ordering: .relaxed))),
            ("outpost_reflector_relists_total", "counter", "Relists after the apiserver expired a reflector's resourceVersion (410).", Double(relists.load(ordering: .relaxed))),
            ("outpost_reflector_events_total", "counter", "Watch events reflectors received from the apiserver.", Double(inEvents.load(ordering: .relaxed))),
            ("outpost_local_watch_events_total", "counter", "Watch events sent to local watchers by the watch cache.", Double(outEvents.load(ordering: .relaxed))),
            ("outpost_relist_diff_events_total", "counter", "Events emitted to local watchers to carry them across a relist.", Double(diffs.load(ordering: .relaxed))),
            ("outpost_local_watches_total", "counter", "Watches served by the watch cache.", Double(localWatches.load(ordering: .relaxed))),
            ("outpost_local_watches_expired_total", "counter", "Local watches answered 410 Expired (older than the scope's history).", Double(expiredWatches.load(ordering: .relaxed))),
            ("outpost_reflector_received_bytes_total", "counter", "Body bytes reflectors received from the apiserver (lists and watches).", Double(bytesIn.load(ordering: .relaxed))),
            ("outpost_local_lists_total", "counter", "resourceVersion=0 / NotOlderThan lists served by the watch cache.", Double(localLists.load(ordering: .relaxed))),
        ]
        if let engine {
            let snap = engine.snapshot
            out.append(("outpost_reflectors_running", "gauge", "Upstream reflectors running.", Double(snap.count)))
            out.append(("outpost_local_watchers", "gauge", "Local watchers served by the watch cache.", Double(snap.reduce(0) { $0 + $1.watchers })))
            for s in snap.sorted(by: { $0.scope.description < $1.scope.description }) {
                let label = ProxyMetrics.labelValue(s.scope.description)
                out.append(("outpost_scope_local_watchers{scope=\"\(label)\"}", "gauge",
                            "Local watchers per reflected scope (resource, namespace, selectors).", Double(s.watchers)))
            }
        }
        return out
    }
}
