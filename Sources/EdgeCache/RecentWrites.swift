import Synchronization

/// What the cache already holds, remembered in memory so the tees can skip redundant writes
/// without asking the store (a blocking read) on the event loop.
///
/// Why: a hundred kubelet-like watchers of one collection each carry every event, and a client
/// polling a list gets the same snapshot again and again. Each etcd revision is one write, so an
/// event whose resourceVersion was already applied by another stream carries nothing new; a list
/// at exactly the resourceVersion its scope was committed at is the same snapshot.
final class RecentWrites: Sendable {
    private struct Revisions {
        var order: [UInt64] = []
        var next = 0
        var seen = Set<UInt64>()
    }

    private let revisions = Mutex<[String: Revisions]>([:])
    private let scopes = Mutex<[String: String]>([:])
    /// Revisions remembered per collection (a ring): far more than any burst of events in flight.
    private let capacity: Int

    init(capacity: Int = 8192) { self.capacity = capacity }

    /// True the first time `resourceVersion` is seen for `gvr` (the caller applies the event);
    /// false when another stream already did. Non-numeric versions are always "first".
    func firstSighting(gvr: String, resourceVersion: String) -> Bool {
        guard let rv = UInt64(resourceVersion) else { return true }
        return revisions.withLock { all in
            var r = all[gvr] ?? Revisions()
            defer { all[gvr] = r }
            if r.seen.contains(rv) { return false }
            if r.order.count < capacity {
                r.order.append(rv)
            } else {
                r.seen.remove(r.order[r.next])
                r.order[r.next] = rv
                r.next = (r.next + 1) % capacity
            }
            r.seen.insert(rv)
            return true
        }
    }

    private static func key(_ gvr: String, _ namespace: String, _ selector: String) -> String {
        gvr + "\u{0}" + namespace + "\u{0}" + selector
    }

    /// The resourceVersion a list of this scope was last committed at (in this process).
    func committedVersion(gvr: String, namespace: String, selector: String) -> String? {
        scopes.withLock { $0[Self.key(gvr, namespace, selector)] }
    }

    func committed(gvr: String, namespace: String, selector: String, resourceVersion: String) {
        scopes.withLock { $0[Self.key(gvr, namespace, selector)] = resourceVersion }
    }

    /// Forgets a scope (its data changed outside a list commit, e.g. a write failed).
    func forget(gvr: String, namespace: String, selector: String) {
        _ = scopes.withLock { $0.removeValue(forKey: Self.key(gvr, namespace, selector)) }
    }
}
