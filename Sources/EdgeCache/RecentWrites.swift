import Synchronization

/// What the cache already holds, remembered in memory so the tees can skip redundant writes
/// without asking the store (a blocking read) on the event loop.
///
/// Why: a hundred kubelet-like watchers of one collection each carry every event, and a client
/// polling a list gets the same snapshot again and again. Each etcd revision is one write, so an
/// event whose resourceVersion was already applied by another stream carries nothing new; a list
/// at exactly the resourceVersion its scope was committed at is the same snapshot.
final class RecentWrites: Sendable {
    /// A ring of the last `capacity` revisions with a set for lookups.
    private struct Revisions {
        var order: [UInt64] = []
        var next = 0
        var seen = Set<UInt64>()

        /// Records `rv`; false when it was already there.
        mutating func insert(_ rv: UInt64, capacity: Int) -> Bool {
            guard seen.insert(rv).inserted else { return false }
            if order.count < capacity {
                order.append(rv)
            } else {
                seen.remove(order[next])
                order[next] = rv
                next = (next + 1) % capacity
            }
            return true
        }
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
        let capacity = self.capacity
        // Mutated in place: a copy out of the dictionary would copy the whole ring per event.
        return revisions.withLock { $0[gvr, default: Revisions()].insert(rv, capacity: capacity) }
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

    /// The cache lost a write of `gvr`: a revision seen is no longer a revision applied, and a
    /// relist of the last committed snapshot must be written again.
    func forget(gvr: String) {
        _ = revisions.withLock { $0.removeValue(forKey: gvr) }
        let prefix = gvr + "\u{0}"
        scopes.withLock { m in
            for k in m.keys where k.hasPrefix(prefix) { m.removeValue(forKey: k) }
        }
    }

    /// The cache file was replaced by an empty one: nothing is known to be written.
    func forgetAll() {
        revisions.withLock { $0 = [:] }
        scopes.withLock { $0 = [:] }
    }
}
