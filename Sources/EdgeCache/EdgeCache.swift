import CacheCrypto
import CacheStore
import Filters
import OfflineAccess
import Logging
import NIOCore
import OutpostProxy
import Synchronization

/// Outpost's edge autonomy in one place: the on-disk store, the writer thread fed by the tees,
/// the reader that answers offline, and the router that wires both into the proxy.
public final class EdgeCache: Sendable {
    public let store: CacheStore
    public let writer: CacheWriter
    public let metrics = CacheMetrics()
    let syncMetrics = SyncMetrics()
    private let syncBox = Mutex<SyncEngine?>(nil)
    /// The watch cache, once attached (`attach`); without it every read is forwarded as a tee.
    var sync: SyncEngine? { syncBox.withLock { $0 } }
    let reader: CacheReader
    let kinds: KindRegistry
    let pages = PagedLists()
    let recent = RecentWrites()
    let access: AccessGate
    let trust = ScopeTrust()
    let dialect = ApiserverDialect()
    /// Which resources are namespaced (discovery, then the built-in table).
    let scopes: ResourceScopes
    private let configBox: Mutex<OutpostConfig>
    /// The config in force (replaced by `reload`).
    public var config: OutpostConfig { configBox.withLock { $0 } }
    let bookmarkInterval: TimeAmount
    let logger: Logger
    private let indexers = Mutex<[GroupResource: ObjectIndexer]>([:])
    private let discoveryBox = Mutex<DiscoveryRefresher?>(nil)
    static let maxIndexers = 1024

    /// Opens (or creates) the cache in `directory`. What was cached before is served at once.
    /// `writeQueueBudget`: bytes of cache work that may wait for the writer thread; past half of
    /// it, list tees pause the apiserver, past all of it, work is dropped (and readiness says so).
    /// `keys`: the key file's keys (bodies of `config.cache.encrypted` resources are sealed with the
    /// first; callers' credentials are hashed with its identity key). `accessLifetime`: seconds the
    /// apiserver's answer to a caller stays good for offline answers (nil: until it answers otherwise).
    /// Throws when the directory cannot hold a cache at all (see `CacheService.open`, which then
    /// forwards without one).
    public init(directory: String, config: OutpostConfig, logger: Logger, bookmarkInterval: TimeAmount = .seconds(5),
                writeQueueBudget: Int = 4 << 20, quickCheckBudget: Duration? = CacheStore.defaultQuickCheckBudget,
                keys: CacheKeys = .generate(), accessLifetime: Int64? = 7 * 86400) throws {
        let sealing = ResourceSealing(sealer: BodySealer(keys: keys), resources: config.cache.encrypted)
        store = try CacheStore(directory: directory, quickCheckBudget: quickCheckBudget, cipher: sealing)
        if let moved = store.recoveredCorruptFile {
            logger.error("cache file was corrupt; moved aside, starting empty", metadata: ["moved": "\(moved)"])
        }
        for note in store.openNotes { logger.warning("cache: \(note)") }
        // Start-up bookkeeping that writes is best effort: on a full disk Outpost still starts and
        // serves what it has (bodies sealed with a key still in the file still open).
        do {
            let report = try store.resealBodies()
            if report.resealed > 0 || report.dropped > 0 {
                logger.notice("cache bodies re-encrypted with the current key", metadata: [
                    "resealed": "\(report.resealed)",
                    "droppedUnreadable": "\(report.dropped)"])
            }
        } catch {
            logger.warning("could not re-encrypt cached bodies with the current key; will retry at the next start",
                           metadata: ["error": "\(error)"])
        }
        writer = CacheWriter(store: store, trust: trust, recent: recent, logger: logger, maxQueuedBytes: writeQueueBudget)
        let hasher = IdentityHasher(keys: keys)
        // The remembered answers are keyed by hashes under the identity key: another key makes them
        // meaningless (they can no longer match anyone), so they are dropped.
        let check = hasher.hash(Array("outpost access identity check".utf8))
        do {
            let stored = try store.meta(key: "access-identity-check")
            if let stored, stored != check {
                logger.warning("the key file's identity key changed: forgetting remembered authorizations")
                try store.clearAccess(keeping: Identity.outpost.bytes)
            }
            if stored != check { try store.putMeta(key: "access-identity-check", value: check) }
        } catch {
            logger.warning("could not record the identity key check", metadata: ["error": "\(error)"])
        }
        access = AccessGate(store: store, writer: writer, hasher: hasher, lifetime: accessLifetime, metrics: metrics, logger: logger)
        // Found corrupt while starting: the remembered callers went with the old file.
        if store.quarantines > 0 || store.recoveredCorruptFile != nil { access.fileReplaced() }
        kinds = KindRegistry(store: store)
        scopes = ResourceScopes(store: store)
        reader = CacheReader(store: store, kinds: kinds)
        if let version = try? store.document(key: "doc:/version") { dialect.learn(versionDocument: version.body) }
        self.configBox = Mutex(config)
        self.bookmarkInterval = bookmarkInterval
        self.logger = logger
        let trust = self.trust, recent = self.recent, kinds = self.kinds, access = self.access
        store.onQuarantine { moved in
            access.fileReplaced()
            // Whatever was in flight wrote to the file that is gone; the fresh one fills from
            // the apiserver's answers as they pass, and until then its scopes are simply absent (503).
            trust.lostEverything()
            recent.forgetAll()
            kinds.forget()
            logger.error("cache file found corrupt while in use; moved aside, continuing with an empty cache",
                         metadata: ["moved": "\(moved)"])
        }
    }

    /// Puts a re-read config file in force (SIGHUP) without touching connections: requests
    /// routed from now on use its cached resources and filters. Scopes of resources whose filter
    /// rules changed stop being complete (at once in memory, on disk with the next write) and
    /// streams in flight for them stop feeding the cache, so no offline answer mixes the two
    /// rule sets; the next list re-fills them. Refused (nothing changes) when `cache.encrypt`
    /// differs: sealed bodies are re-sealed only at start. Returns the resources re-synced.
    public func reload(_ new: OutpostConfig) throws(ConfigReloadError) -> [GroupResource] {
        let old = config
        guard old.cache.encrypted == new.cache.encrypted else {
            throw ConfigReloadError("cache.encrypt changed: restart Outpost to re-seal the cache with it")
        }
        func rules(_ c: OutpostConfig, _ gr: GroupResource) -> [FilterRule] {
            c.filters.rules.filter { $0.resources.isEmpty || $0.resources.contains(gr) }
        }
        var stored: [GroupResource: [String]] = [:]
        for r in (try? store.resourceSummaries()) ?? [] {
            let p = r.gvr.split(separator: "/", omittingEmptySubsequences: false)
            if p.count == 3 { stored[GroupResource(group: String(p[0]), resource: String(p[2])), default: []].append(r.gvr) }
        }
        for s in (try? store.scopeSummaries()) ?? [] {
            let p = s.scope.gvr.split(separator: "/", omittingEmptySubsequences: false)
            if p.count == 3 { stored[GroupResource(group: String(p[0]), resource: String(p[2])), default: []].append(s.scope.gvr) }
        }
        let affected = stored.keys.filter { rules(old, $0) != rules(new, $0) }.sorted { $0.description < $1.description }
        configBox.withLock { $0 = new }
        for gr in affected {
            for gvr in Set(stored[gr] ?? []) {
                trust.lost(gvr)
                recent.forget(gvr: gvr)
            }
        }
        return affected
    }

    /// Learns the apiserver's version (its selector error wording changed in 1.22) and keeps
    /// the document for offline discovery.
    public func learnVersion(_ body: [UInt8], contentType: String) {
        dialect.learn(versionDocument: body)
        writer.submit(cost: body.count, "document /version", .data) {
            try $0.putDocument(key: "doc:/version", StoredDocument(contentType: contentType, body: body))
        }
    }

    /// Makes `engine` the node's watch cache: from now on local watches and resourceVersion=0
    /// lists of cached resources are served from its reflectors.
    public func attach(_ engine: SyncEngine) {
        syncBox.withLock { $0 = engine }
        engine.start()
    }

    /// The refresher that keeps discovery cached (made once; the executable runs it as a service).
    public func discoveryRefresher(_ settings: DiscoveryRefresher.Settings = .init()) -> DiscoveryRefresher {
        discoveryBox.withLock { box in
            if let r = box { return r }
            let r = DiscoveryRefresher(cache: self, settings: settings)
            box = r
            return r
        }
    }

    /// The refresher, once made: clients' OpenAPI asks are handed to it.
    var runningDiscoveryRefresher: DiscoveryRefresher? { discoveryBox.withLock { $0 } }

    /// The proxy's request router (tees and local answers).
    public var router: any RequestRouter { CacheRouter(cache: self) }

    func teeContext(_ collection: Collection, namespace: String, filter: ResourceFilter?, caching: Bool) -> TeeContext {
        var ctx = TeeContext(collection: collection, namespace: namespace, indexer: indexer(collection), filter: filter,
                             caching: caching, writer: writer, kinds: kinds, metrics: metrics, recent: recent, trust: trust,
                             logger: logger)
        if let sync { ctx.selectionDeparted = { [weak sync] gvr, ns in sync?.selectionDeparted(gvr: gvr, namespace: ns) } }
        return ctx
    }

    private func indexer(_ c: Collection) -> ObjectIndexer {
        let gr = c.groupResource
        if let i = indexers.withLock({ $0[gr] }) { return i }
        let i = ObjectIndexer(group: c.group, resource: c.resource)
        // Every resource is cached by default, so a client naming made-up resources must not grow
        // this map without bound: past the cap an indexer is built per request (cheap) instead.
        indexers.withLock { if $0.count < Self.maxIndexers { $0[gr] = i } }
        return i
    }

    /// Readiness of the cache: false after a failed or dropped write (full disk, slow disk).
    public var readiness: (ready: Bool, reason: String) {
        let h = writer.health
        return h.healthy ? (true, "cache ok") : (false, "cache unhealthy: \(h.lastError ?? "unknown")")
    }

    /// Prometheus samples for /metrics.
    public func samples() -> [(name: String, type: String, help: String, value: Double)] {
        var out = metrics.samples()
        out += syncMetrics.samples(sync)
        let h = writer.health
        out.append(("outpost_cache_healthy", "gauge", "1 when the last cache write succeeded.", h.healthy ? 1 : 0))
        out.append(("outpost_cache_write_failures_total", "counter", "Cache writes that failed.", Double(h.failedWrites)))
        out.append(("outpost_cache_dropped_writes_total", "counter", "Cache writes dropped because the write queue was full.", Double(h.droppedJobs)))
        if let s = try? store.stats() {
            out.append(("outpost_cache_objects", "gauge", "Objects in the cache.", Double(s.objects)))
            out.append(("outpost_cache_object_bytes", "gauge", "Bytes of cached object bodies.", Double(s.bodyBytes)))
        }
        out.append(("outpost_cache_file_bytes", "gauge", "Size of the cache database on disk.", Double(store.fileSize())))
        return out
    }

    /// Finishes queued writes, stops the threads and closes the store (its WAL checkpointed).
    public func close() {
        sync?.shutdown()
        writer.close()
        reader.close()
        store.close()
    }
}


/// Why a re-read config file was not put in force.
public struct ConfigReloadError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
