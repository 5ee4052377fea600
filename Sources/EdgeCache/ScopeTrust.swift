import Synchronization

/// Which cached scopes may still claim to be complete after the cache missed a write.
///
/// Why: a watch event the disk refused (full, failing) or the write queue dropped is a change the
/// cache never recorded. A complete scope of that resource would then answer offline with an
/// object that no longer exists, or a 404 / an empty list for one that does. So a lost write of a
/// resource makes all its scopes incomplete — at once in memory (readers ask `trusts`), durably
/// as soon as the writer can write (`pending` → `CacheStore.invalidateScopes`, before any other
/// write) — until a list that *began after the loss* commits. Every stream that began before the
/// loss stops feeding the cache (its `epoch` is stale): its later events could bump a scope's
/// resourceVersion past the missing change.
final class ScopeTrust: Sendable {
    private struct State {
        var epochs: [String: Int] = [:]
        /// Raised by a quarantine: every stream in flight wrote to a file that is gone.
        var global = 0
        /// Resources whose scopes are not yet marked incomplete on disk.
        var pending: Set<String> = []
    }

    private let state = Mutex(State())

    /// The loss epoch of `gvr`: a tee records it when it starts and may write only while it is unchanged.
    func epoch(_ gvr: String) -> Int {
        state.withLock { $0.global &+ $0.epochs[gvr, default: 0] }
    }

    /// A write of `gvr` was lost: its scopes are incomplete from now on.
    func lost(_ gvr: String) {
        state.withLock {
            $0.epochs[gvr, default: 0] += 1
            $0.pending.insert(gvr)
        }
    }

    /// The file was replaced by an empty one (quarantine): nothing in flight may commit into it.
    func lostEverything() {
        state.withLock { $0.global += 1 }
    }

    /// Whether the stored scope flags of `gvr` can be believed (no loss waits to be recorded).
    func trusts(_ gvr: String) -> Bool {
        state.withLock { !$0.pending.contains(gvr) }
    }

    /// Resources whose invalidation must reach the disk before any other write.
    var pending: [String] { state.withLock { Array($0.pending) } }

    /// `gvr`'s scopes are marked incomplete on disk.
    func persisted(_ gvr: String) {
        _ = state.withLock { $0.pending.remove(gvr) }
    }
}
