import Synchronization

/// The cache's counters, rendered next to the proxy's on /metrics.
public final class CacheMetrics: Sendable {
    struct Counts {
        var filtered = 0
        var listsCommitted = 0
        var listsDiscarded = 0
        var watchEvents = 0
        var listsUnchanged = 0
        var watchEventsDeduplicated = 0
        var localAnswers: [String: Int] = [:]
        var refusals: [String: Int] = [:]
        var discoveryRefreshes: [String: Int] = [:]
    }

    private let counts = Mutex(Counts())

    func filtered() { counts.withLock { $0.filtered += 1 } }
    func listCommitted() { counts.withLock { $0.listsCommitted += 1 } }
    func listDiscarded() { counts.withLock { $0.listsDiscarded += 1 } }
    func listUnchanged() { counts.withLock { $0.listsUnchanged += 1 } }
    func watchEventSeen() { counts.withLock { $0.watchEventsDeduplicated += 1 } }
    func watchEvent() { counts.withLock { $0.watchEvents += 1 } }
    func answered(_ kind: String) { counts.withLock { $0.localAnswers[kind, default: 0] += 1 } }
    /// A local answer refused because the apiserver had not allowed the caller the access.
    func refused(_ reason: String) { counts.withLock { $0.refusals[reason, default: 0] += 1 } }

    /// A discovery refresh ended (`complete`: every document was fetched).
    func discoveryRefreshed(complete: Bool) { counts.withLock { $0.discoveryRefreshes[complete ? "complete" : "partial", default: 0] += 1 } }

    /// Prometheus samples: (name with labels, type, help, value).
    func samples() -> [(name: String, type: String, help: String, value: Double)] {
        let c = counts.withLock { $0 }
        var out: [(name: String, type: String, help: String, value: Double)] = [
            ("outpost_filtered_objects_total", "counter", "Objects and watch events dropped by filter rules.", Double(c.filtered)),
            ("outpost_cache_lists_committed_total", "counter", "List responses that replaced their cache scope.", Double(c.listsCommitted)),
            ("outpost_cache_lists_discarded_total", "counter", "List responses not cached because they were cut or unparseable.", Double(c.listsDiscarded)),
            ("outpost_cache_watch_events_total", "counter", "Watch events applied to the cache.", Double(c.watchEvents)),
            ("outpost_cache_lists_unchanged_total", "counter", "List responses not written: the snapshot their scope was committed at.", Double(c.listsUnchanged)),
            ("outpost_cache_watch_events_deduplicated_total", "counter", "Watch events not written: another stream had applied that revision.", Double(c.watchEventsDeduplicated)),
        ]
        for (kind, n) in c.localAnswers.sorted(by: { $0.key < $1.key }) {
            out.append(("outpost_cache_answers_total{kind=\"\(kind)\"}", "counter", "Requests answered from the cache, by kind.", Double(n)))
        }
        for (reason, n) in c.refusals.sorted(by: { $0.key < $1.key }) {
            out.append(("outpost_cache_refusals_total{reason=\"\(reason)\"}", "counter",
                        "Cached answers refused: the apiserver had not allowed the caller that access while reachable.", Double(n)))
        }
        for (result, n) in c.discoveryRefreshes.sorted(by: { $0.key < $1.key }) {
            out.append(("outpost_discovery_refreshes_total{result=\"\(result)\"}", "counter",
                        "Discovery refreshes Outpost ran by itself (at start and after outages), by result.", Double(n)))
        }
        return out
    }
}
