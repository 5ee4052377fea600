import CacheStore
import KubeJSON
import Logging
import OfflineAccess
import Synchronization

/// Keeps discovery in the cache without waiting for a client to ask: at start and after every
/// outage (the upstream going back online), Outpost fetches `/version`, `/api`, `/apis`, every
/// resource list they name, and the OpenAPI documents clients asked for once; so kubectl run
/// for the first time on a node while the link is cut still finds its API groups.
///
/// Bounded so a fleet coming back from one outage is no storm: each refresh waits a random
/// delay first (`startJitter` at start, `recoveryJitter` after an outage), then runs at most
/// `concurrency` requests at a time; triggers that arrive meanwhile fold into one more refresh.
/// A refresh cut by a transport error is retried while the apiserver stays reachable (3 times,
/// 5/10/20 s apart).
///
/// Documents are written straight into the store from this task, not through the writer queue:
/// an OpenAPI document is megabytes, more than the queue's budget, and nothing else waits on it.
public final class DiscoveryRefresher: Sendable {
    /// An upstream answer: status, Content-Type, the body, and for ranged asks the ETag and
    /// Content-Range.
    public struct Fetched: Sendable {
        public var status: Int
        public var contentType: String?
        public var body: [UInt8]
        public var etag: String?
        public var contentRange: String?
        public init(status: Int, contentType: String?, body: [UInt8], etag: String? = nil, contentRange: String? = nil) {
            self.status = status
            self.contentType = contentType
            self.body = body
            self.etag = etag
            self.contentRange = contentRange
        }
    }

    /// One GET upstream with Outpost's credentials.
    public struct Request: Sendable, Equatable {
        public var path: String
        public var accept: String
        /// Bytes asked for (a `Range` header); nil: the whole document.
        public var range: Range<Int>?
        /// The whole document may be megabytes (an OpenAPI document whose server ignores ranges).
        public var large: Bool
    }

    /// Performs a `Request`. Throws on transport errors.
    public typealias Fetch = @Sendable (Request) async throws -> Fetched

    public struct Settings: Sendable {
        public var startJitter: Duration
        public var recoveryJitter: Duration
        public var concurrency: Int
        public var retryDelays: [Duration]
        /// OpenAPI documents are fetched in ranges of this many bytes.
        public var rangeSize: Int
        public init(startJitter: Duration = .seconds(1), recoveryJitter: Duration = .seconds(10), concurrency: Int = 3,
                    retryDelays: [Duration] = [.seconds(5), .seconds(10), .seconds(20)], rangeSize: Int = 1 << 20) {
            self.startJitter = startJitter
            self.recoveryJitter = recoveryJitter
            self.concurrency = max(1, concurrency)
            self.retryDelays = retryDelays
            self.rangeSize = max(1, rangeSize)
        }
    }

    enum Trigger: Sendable {
        /// The apiserver became reachable (`afterOutage`: it had been unreachable since start;
        /// false at a start with the link up).
        case online(afterOutage: Bool)
        /// A client got an OpenAPI document Outpost had not fetched before.
        case asked(DiscoveryDocuments.OpenAPIAsk)
    }

    private let cache: EdgeCache
    private let settings: Settings
    private let stream: AsyncStream<Trigger>
    private let continuation: AsyncStream<Trigger>.Continuation
    private let sawOutage = Atomic<Bool>(false)
    /// A refresh is queued and has not started: more triggers fold into it.
    private let pending = Atomic<Bool>(false)
    /// OpenAPI asks already remembered (loaded from the store, then added as clients ask).
    private let known: Mutex<Set<DiscoveryDocuments.OpenAPIAsk>>

    init(cache: EdgeCache, settings: Settings) {
        self.cache = cache
        self.settings = settings
        (stream, continuation) = AsyncStream.makeStream(of: Trigger.self, bufferingPolicy: .bufferingNewest(64))
        let keys = (try? cache.store.documentKeys(prefix: DiscoveryDocuments.askedPrefix)) ?? []
        // A document half fetched when Outpost stopped is never published.
        try? cache.store.deleteDocuments(keys: (try? cache.store.documentKeys(prefix: "staging:")) ?? [])
        known = Mutex(Set(keys.compactMap { DiscoveryDocuments.OpenAPIAsk(askedKey: $0) }))
    }

    /// The apiserver is reachable (call on every transition to online).
    public func upstreamOnline() {
        guard !pending.exchange(true, ordering: .relaxed) else { return }
        continuation.yield(.online(afterOutage: sawOutage.load(ordering: .relaxed)))
    }

    /// The apiserver is unreachable (call on every transition to offline): the next refresh is a
    /// recovery, when a whole fleet may come back at once, so it waits `recoveryJitter`.
    public func upstreamOffline() {
        sawOutage.store(true, ordering: .relaxed)
    }

    /// A client got `ask` with a 200: remember it and fetch it (once; later at every refresh).
    func asked(_ ask: DiscoveryDocuments.OpenAPIAsk) {
        guard known.withLock({ $0.insert(ask).inserted }) else { return }
        let key = ask.askedKey
        cache.writer.submit(cost: 64, "remember \(ask.path)") { try $0.putDocument(key: key, StoredDocument(contentType: "", body: [])) }
        continuation.yield(.asked(ask))
    }

    /// Ends `run` once its current refresh is over.
    public func finish() { continuation.finish() }

    /// Serves triggers until `finish` or cancellation. `isOnline`: whether the apiserver is
    /// reachable now (a refresh is skipped, a retry given up, when it is not).
    public func run(fetch: @escaping Fetch, isOnline: @escaping @Sendable () -> Bool) async {
        for await trigger in stream {
            switch trigger {
            case .asked(let ask):
                guard isOnline() else { continue }
                _ = await fetchOpenAPI([ask], fetch: fetch)
            case .online(let afterOutage):
                let jitter = afterOutage ? settings.recoveryJitter : settings.startJitter
                try? await Task.sleep(for: Self.random(upTo: jitter))
                if Task.isCancelled { return }
                pending.store(false, ordering: .relaxed)
                var attempt = 0
                while isOnline(), !Task.isCancelled {
                    let complete = await refresh(fetch: fetch)
                    if complete || attempt >= settings.retryDelays.count { break }
                    try? await Task.sleep(for: settings.retryDelays[attempt])
                    attempt += 1
                }
            }
        }
    }

    private static func random(upTo d: Duration) -> Duration {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        return ms > 0 ? .milliseconds(Int64.random(in: 0...ms)) : .zero
    }

    /// One full refresh. Returns false when a transport error cut it short (a retry may follow).
    func refresh(fetch: @escaping Fetch) async -> Bool {
        let started = ContinuousClock.now
        let discovery = cache.config.cache.discovery
        let roots = discovery ? ["/version", "/api", "/apis"] : ["/version"]
        var complete = true
        var stored = 0
        let rootDocs = await fetchAll(roots.map { Request(path: $0, accept: "application/json", range: nil, large: false) }, fetch: fetch)
        var legacy: [String] = [], groups: [String] = []
        for (path, result) in rootDocs {
            guard case .success(let f) = result else {
                if case .failure(let e) = result { cache.logger.debug("discovery fetch failed", metadata: ["path": "\(path)", "error": "\(e)"]) }
                complete = false
                continue
            }
            guard f.status == 200 else { continue }
            if path == "/version" { cache.dialect.learn(versionDocument: f.body) }
            if path == "/api" { legacy = (try? DiscoveryLists.legacyVersions(f.body)) ?? [] }
            if path == "/apis" { groups = (try? DiscoveryLists.groupVersions(f.body)) ?? [] }
            if put(DiscoveryDocuments.key(path), f) { stored += 1 }
        }
        if rootDocs.contains(where: { if case .success(let f) = $0.1 { return f.status == 200 } else { return false } }) {
            // The apiserver authenticated Outpost: clients without credentials act as Outpost and
            // may read discovery offline.
            cache.access.record(.outpost, .discovery, statusCode: 200)
        }
        if discovery {
            let lists = DiscoveryDocuments.resourceListPaths(legacyVersions: legacy, groupVersions: groups)
            for (path, result) in await fetchAll(lists.map { Request(path: $0, accept: "application/json", range: nil, large: false) }, fetch: fetch) {
                guard case .success(let f) = result else {
                    if case .failure(let e) = result { cache.logger.debug("discovery fetch failed", metadata: ["path": "\(path)", "error": "\(e)"]) }
                    complete = false
                    continue
                }
                if f.status == 200, put(DiscoveryDocuments.key(path), f) { stored += 1 }
            }
            if !legacy.isEmpty && !groups.isEmpty { prune(keeping: lists) }
            let asks = known.withLock { $0 }.sorted { ($0.path, $0.accept) < ($1.path, $1.accept) }
            let (n, ok) = await fetchOpenAPI(asks, fetch: fetch)
            stored += n
            complete = complete && ok
        }
        cache.metrics.discoveryRefreshed(complete: complete)
        cache.logger.info("discovery refreshed", metadata: [
            "documents": "\(stored)", "complete": "\(complete)", "took": "\(ContinuousClock.now - started)"])
        return complete
    }

    /// Forgets the resource lists of group versions the apiserver no longer serves (a CRD
    /// deleted, an API version turned off): offline they would still answer 200.
    private func prune(keeping lists: [String]) {
        do {
            let keep = Set(lists.map(DiscoveryDocuments.key))
            let stale = try cache.store.documentKeys(prefix: "doc:/ap").filter {
                DiscoveryDocuments.isResourceListKey($0) && !keep.contains($0)
            }
            try cache.store.deleteDocuments(keys: stale)
        } catch {
            cache.logger.warning("could not forget stale discovery documents", metadata: ["error": "\(error)"])
        }
    }

    /// OpenAPI documents one at a time.
    private func fetchOpenAPI(_ asks: [DiscoveryDocuments.OpenAPIAsk], fetch: @escaping Fetch) async -> (stored: Int, complete: Bool) {
        var stored = 0, complete = true
        for ask in asks {
            do {
                if try await fetchInSlices(ask, fetch: fetch) { stored += 1 }
            } catch {
                complete = false
                cache.logger.debug("could not fetch an OpenAPI document", metadata: ["path": "\(ask.path)", "error": "\(error)"])
            }
        }
        return (stored, complete)
    }

    /// Fetches an OpenAPI document (megabytes) in `rangeSize` ranges straight into the store, so
    /// it is never whole in memory: written under a staging key, published in one transaction once
    /// complete. Every range must carry the first one's ETag (the document did not change between
    /// them); without an ETag, or from a server that ignores ranges, it is fetched whole. Returns
    /// whether it was stored.
    private func fetchInSlices(_ ask: DiscoveryDocuments.OpenAPIAsk, fetch: @escaping Fetch) async throws -> Bool {
        let size = settings.rangeSize
        let first = try await fetch(Request(path: ask.path, accept: ask.accept, range: 0..<size, large: true))
        if first.status == 200 { return put(ask.documentKey, first) }
        guard first.status == 206, let ct = first.contentType, !ct.isEmpty,
              let r = DiscoveryDocuments.ContentRange(first.contentRange), r.start == 0, r.count == first.body.count else { return false }
        if r.total == first.body.count { return put(ask.documentKey, first) }
        guard let etag = first.etag, !etag.isEmpty else {
            let whole = try await fetch(Request(path: ask.path, accept: ask.accept, range: nil, large: true))
            return whole.status == 200 && put(ask.documentKey, whole)
        }
        let store = cache.store, staging = "staging:" + ask.documentKey
        var published = false
        defer { if !published { try? store.deleteDocuments(keys: [staging]) } }
        do {
            try store.beginDocument(key: staging, contentType: ct, length: r.total)
            try store.writeDocument(key: staging, offset: 0, first.body)
            var offset = first.body.count
            while offset < r.total {
                let f = try await fetch(Request(path: ask.path, accept: ask.accept, range: offset..<min(offset + size, r.total), large: true))
                guard f.status == 206, f.etag == etag, let fr = DiscoveryDocuments.ContentRange(f.contentRange),
                      fr.start == offset, fr.total == r.total, fr.count == f.body.count, fr.count > 0 else {
                    cache.logger.debug("OpenAPI document changed or answered oddly between ranges; next refresh",
                                       metadata: ["path": "\(ask.path)"])
                    return false
                }
                try store.writeDocument(key: staging, offset: offset, f.body)
                offset += f.body.count
            }
            try store.renameDocument(from: staging, to: ask.documentKey)
            published = true
            return true
        } catch let error as CacheStoreError {
            cache.logger.warning("could not store an OpenAPI document", metadata: ["path": "\(ask.path)", "error": "\(error)"])
            return false
        }
    }

    /// Stores an answer verbatim (with the apiserver's Content-Type). False when it was not stored.
    private func put(_ key: String, _ f: Fetched) -> Bool {
        guard let ct = f.contentType, !ct.isEmpty, !f.body.isEmpty else { return false }
        do {
            try cache.store.putDocument(key: key, StoredDocument(contentType: ct, body: f.body))
            // A group version's resource list says which of its resources are namespaced.
            if ResourceScopes.isResourceListKey(key) { cache.scopes.learn(resourceList: f.body) }
            return true
        } catch {
            cache.logger.warning("could not store a discovery document", metadata: ["key": "\(key)", "error": "\(error)"])
            return false
        }
    }

    /// GETs `items` at most `concurrency` at a time (in batches); results (by path) in the order of
    /// `items`. Child tasks hand back a reference (`FetchOutcome`): a release build (Swift 6.3)
    /// returned garbage indices from child tasks typed `(Int, Result<Fetched, Error>)` — a trap at
    /// start, then lost results.
    private func fetchAll(_ items: [Request], fetch: @escaping Fetch) async -> [(String, Result<Fetched, Error>)] {
        let window = max(1, settings.concurrency)
        var results = [Result<Fetched, Error>?](repeating: nil, count: items.count)
        var first = 0
        while first < items.count {
            let batch = Array(items.indices[first..<min(first + window, items.count)])
            let got = await withTaskGroup(of: FetchOutcome.self, returning: [FetchOutcome].self) { group in
                for index in batch {
                    let request = items[index]
                    group.addTask {
                        do { return FetchOutcome(index: index, result: .success(try await fetch(request))) }
                        catch { return FetchOutcome(index: index, result: .failure(error)) }
                    }
                }
                var out: [FetchOutcome] = []
                for await r in group { out.append(r) }
                return out
            }
            for o in got where results.indices.contains(o.index) { results[o.index] = o.result }
            first += window
        }
        return zip(items, results).map { ($0.path, $1 ?? .failure(DiscoveryFetchMissing())) }
    }

    final class FetchOutcome: Sendable {
        let index: Int
        let result: Result<Fetched, Error>
        init(index: Int, result: Result<Fetched, Error>) {
            self.index = index
            self.result = result
        }
    }
}

/// A fetch whose result never came back (cannot happen; kept so a bug is an error, not a trap).
struct DiscoveryFetchMissing: Error {}
