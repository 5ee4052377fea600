import CacheCrypto
import CacheStore
import KubeJSON
import KubeRequest
import Logging
import NIOHTTP1
import OfflineAccess
import OutpostProxy
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Offline authorization is the apiserver's, remembered. Every response the apiserver gives a
/// request that has a local answer is recorded for the caller (a keyed hash of its credentials)
/// and the access; every local answer (offline, the slow-apiserver fallback, the reboot fast
/// path) first asks the book, and a caller the apiserver did not allow the same access gets the
/// apiserver's 401/403 instead of cached data. The book lives in memory and in the store's
/// `access` table (written by the cache writer, loaded at start).
final class AccessGate: Sendable {
    private let book: Mutex<AccessBook>
    private let hasher: IdentityHasher
    private let writer: CacheWriter
    private let metrics: CacheMetrics
    private let clock: @Sendable () -> Int64
    /// The remembered answers on disk could not be read (a damaged cache file): a caller the book
    /// does not know may be one the apiserver allowed, so it gets a 503, not a 401.
    private let lost = Atomic<Bool>(false)

    init(store: CacheStore, writer: CacheWriter, hasher: IdentityHasher, lifetime: Int64?, metrics: CacheMetrics,
         logger: Logger, clock: @escaping @Sendable () -> Int64 = { Int64(time(nil)) }) {
        self.hasher = hasher
        self.writer = writer
        self.metrics = metrics
        self.clock = clock
        var book = AccessBook(lifetime: lifetime)
        do {
            for row in try store.loadAccess() { if let r = Self.record(row) { book.load(r) } }
        } catch {
            logger.warning("could not load remembered authorizations; offline answers need a fresh online confirmation",
                           metadata: ["error": "\(error)"])
            lost.store(true, ordering: .relaxed)
        }
        if let cutoff = book.expire(now: clock()) {
            writer.submit(cost: 64, "expire remembered authorizations", .bookkeeping) { try $0.saveAccess([], expireBefore: cutoff) }
        }
        self.book = Mutex(book)
    }

    /// The caller of a request, as the apiserver would authenticate it.
    func identity(of head: HTTPRequestHead) -> Identity {
        switch CallerCredentials(headers: head.headers.lazy.map { (name: $0.name, value: $0.value) }) {
        case .outpost: return .outpost
        case .presented(let material): return Identity(bytes: hasher.hash(material))
        }
    }

    static func access(_ info: RequestInfo) -> Access {
        guard case .resource = info.kind else { return .discovery }
        return Access(verb: info.verb.rawValue, group: info.apiGroup, resource: info.resource,
                      namespace: info.namespace, name: info.name)
    }

    /// Wraps a plan: its interceptor records the apiserver's answer, its local answer is gated.
    func guarded(_ plan: RequestPlan, identity: Identity, access: Access) -> RequestPlan {
        var plan = plan
        plan.interceptor = AccessRecorder(inner: plan.interceptor, gate: self, identity: identity, access: access)
        if let local = plan.localResponder {
            plan.localResponder = { [self] in
                let decision = decide(identity, access)
                switch decision {
                case .allow:
                    return local()
                case .unauthorized where lost.load(ordering: .relaxed) && !knows(identity):
                    metrics.refused("unknown_after_damage")
                    return StatusAnswer(StatusBody(
                        message: "outpost: the apiserver is unreachable and the cache lost its record of which callers it allowed "
                            + "(the cache file was damaged); cached answers resume once the apiserver confirms this caller",
                        reason: .serviceUnavailable, details: StatusDetails(retryAfterSeconds: 1), code: 503))
                case .unauthorized:
                    metrics.refused("unauthorized")
                case .forbidden:
                    metrics.refused("forbidden")
                }
                return Self.refusal(decision, access: access)
            }
        }
        return plan
    }

    /// Wraps a plan's interceptor only: the apiserver's answer is recorded, and the local answer
    /// (which decides for itself, see `CreateAnswer`) is left as it is.
    func recorded(_ plan: RequestPlan, identity: Identity, access: Access) -> RequestPlan {
        var plan = plan
        plan.interceptor = AccessRecorder(inner: plan.interceptor, gate: self, identity: identity, access: access)
        return plan
    }

    /// Whether the apiserver allowed this caller the access within the last `maxAge` seconds
    /// (the watch cache answers such a caller without asking it again).
    func confirmedRecently(_ identity: Identity, _ access: Access, maxAge: Int64, sameVerb: Bool = true) -> Bool {
        let now = clock()
        return book.withLock { $0.confirmedRecently(identity, access, now: now, maxAge: maxAge, sameVerb: sameVerb) }
    }

    func knows(_ identity: Identity) -> Bool { book.withLock { $0.knows(identity) } }

    /// The cache file was replaced by an empty one (quarantine): what is remembered in memory is
    /// written into it again, and a caller the book does not know is no longer presumed unknown to
    /// the apiserver.
    func fileReplaced() {
        lost.store(true, ordering: .relaxed)
        let rows = book.withLock { $0.records }.map(Self.row)
        guard !rows.isEmpty else { return }
        writer.submit(cost: 256 * rows.count, "remember authorizations in the fresh cache file", .bookkeeping) { try $0.saveAccess(rows) }
    }

    func decide(_ identity: Identity, _ access: Access) -> AccessDecision {
        let now = clock()
        return book.withLock { $0.decide(identity, access, now: now) }
    }

    /// Remembers the apiserver's answer (`status`: its 403 body, when it refused).
    func record(_ identity: Identity, _ access: Access, statusCode: Int, status: [UInt8]? = nil) {
        guard let outcome = AccessOutcome(statusCode: statusCode) else { return }
        let now = clock()
        let (persist, evicted) = book.withLock { $0.record(identity, access, outcome: outcome, status: status, now: now) }
        guard !persist.isEmpty || !evicted.isEmpty else { return }
        let rows = persist.map(Self.row)
        let forget = evicted.map(\.bytes)
        writer.submit(cost: 256 * rows.count + 64, "remember authorization", .bookkeeping) { try $0.saveAccess(rows, forget: forget) }
    }

    // MARK: answers

    /// The answer to a caller the book refuses: the apiserver's own 401 body, its recorded 403
    /// body for exactly this access, or a 403 worded like its own.
    static func refusal(_ decision: AccessDecision, access: Access) -> LocalResponder {
        switch decision {
        case .allow, .unauthorized:
            return StatusAnswer(StatusBody(message: "Unauthorized", reason: .unauthorized, code: 401))
        case .forbidden(let recorded?):
            return RecordedStatusAnswer(code: 403, body: recorded)
        case .forbidden(nil):
            let subject = access.name.isEmpty ? access.resource : "\(access.resource) \"\(access.name)\""
            let scope = access.namespace.isEmpty ? "at the cluster scope" : "in the namespace \"\(access.namespace)\""
            let message = "\(subject) is forbidden: the apiserver is unreachable and had not allowed this caller to "
                + "\(access.verb) resource \"\(access.resource)\" in API group \"\(access.group)\" \(scope) while it was reachable"
            return StatusAnswer(StatusBody(message: message, reason: .forbidden,
                                           details: StatusDetails(name: access.name, group: access.group, kind: access.resource),
                                           code: 403))
        }
    }

    // MARK: persistence rows

    static func row(_ r: AccessRecord) -> StoredAccess {
        let a = r.access
        return StoredAccess(identity: r.identity.bytes, verb: a?.verb ?? "", group: a?.group ?? "", resource: a?.resource ?? "",
                            namespace: a?.namespace ?? "", name: a?.name ?? "", outcome: r.outcome.rawValue, seen: r.seen,
                            status: r.status)
    }

    static func record(_ row: StoredAccess) -> AccessRecord? {
        guard let outcome = AccessOutcome(rawValue: row.outcome) else { return nil }
        let access = row.verb.isEmpty ? nil
            : Access(verb: row.verb, group: row.group, resource: row.resource, namespace: row.namespace, name: row.name)
        return AccessRecord(identity: Identity(bytes: row.identity), access: access, outcome: outcome, seen: row.seen, status: row.status)
    }
}
