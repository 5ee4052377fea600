import CacheStore
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The one thread that writes the cache. Tees on the event loops hand it jobs and never wait:
/// a slow disk slows only this thread, and a full queue (the disk cannot keep up) drops work
/// instead of growing memory or slowing clients. A failed or dropped write marks the cache
/// unhealthy (readiness and metrics say so) until a later write succeeds, and a lost write of a
/// resource's objects makes its scopes incomplete (see `ScopeTrust`): that invalidation reaches
/// the disk before any other write does.
public final class CacheWriter: Sendable {
    public struct Health: Sendable, Equatable {
        public var healthy = true
        public var lastError: String?
        public var failedWrites = 0
        public var droppedJobs = 0
        public var writes = 0
    }

    /// What a job means for the cache's truth when it does not happen.
    enum Effect: Sendable {
        /// Objects of this resource (a watch event, an object): losing it invalidates its scopes.
        case objects(gvr: String)
        /// A chunk or the commit of a staged list: losing it fails the list (it is discarded,
        /// never committed partial).
        case staged(StagingHandle)
        /// Anything else that adds data (a document, a kind): losing it costs a cache entry,
        /// never the truth.
        case data
        /// Deleting staging rows: neither proves the disk takes writes nor loses anything.
        case cleanup
        /// Outpost's own small records (remembered authorizations): a success proves nothing
        /// about room for data; a loss costs a remembered answer (a refusal later), never the truth.
        case bookkeeping

        /// Whether a success shows the disk takes data again (and lost invalidations must land first).
        var isData: Bool {
            switch self {
            case .cleanup, .bookkeeping: return false
            case .objects, .staged, .data: return true
            }
        }
    }

    /// Thrown by a job that decided not to write (its list already lost a chunk): neither a
    /// failure nor a success.
    struct Skipped: Error {}

    let store: CacheStore
    let trust: ScopeTrust
    private let recent: RecentWrites
    private let thread: NIOThreadPool
    private let queued = Atomic<Int>(0)
    private let maxQueuedBytes: Int
    private let state: Mutex<Health>
    /// Drain waiters by ticket, so one that stops waiting can leave (see `cancelDrainWait`).
    private let waiters = Mutex<(next: Int, byTicket: [Int: (EventLoop, @Sendable () -> Void)])>((0, [:]))
    private let logger: Logger

    init(store: CacheStore, trust: ScopeTrust, recent: RecentWrites, logger: Logger, maxQueuedBytes: Int = 8 << 20) {
        self.store = store
        self.trust = trust
        self.recent = recent
        self.logger = logger
        self.maxQueuedBytes = maxQueuedBytes
        var health = Health()
        if let problem = store.openWriteProblem ?? store.lowSpaceProblem {
            health.healthy = false
            health.lastError = "the cache could not be written at start: \(problem)"
        }
        state = Mutex(health)
        thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
    }

    public var health: Health { state.withLock { $0 } }

    /// The queue's budget in bytes.
    var budget: Int { maxQueuedBytes }

    /// Over half the queue budget: a tee that can wait (a list being staged) should stop reading
    /// from the apiserver until `whenDrained` fires, rather than have its work dropped.
    var isBackedUp: Bool { queued.load(ordering: .relaxed) > maxQueuedBytes / 2 }

    /// Runs `callback` on `loop` once the queue is below a quarter of its budget (at once if it is).
    /// Returns a ticket for `cancelDrainWait` (nil when it fired at once).
    @discardableResult
    func whenDrained(on loop: EventLoop, _ callback: @escaping @Sendable () -> Void) -> Int? {
        let ticket = waiters.withLock { w -> Int? in
            if queued.load(ordering: .relaxed) <= maxQueuedBytes / 4 { return nil }
            w.next += 1
            w.byTicket[w.next] = (loop, callback)
            return w.next
        }
        if ticket == nil { loop.execute(callback) }
        return ticket
    }

    /// Forgets a waiter that no longer waits (it gave up, or its response ended). A waiter left
    /// behind would be called on its event loop whenever the writer drains, even after that
    /// loop was shut down (a disk that hangs past shutdown), and waiters would pile up while
    /// the disk hangs.
    func cancelDrainWait(_ ticket: Int) {
        waiters.withLock { _ = $0.byTicket.removeValue(forKey: ticket) }
    }

    /// Waiters still registered (for tests).
    var drainWaiterCount: Int { waiters.withLock { $0.byTicket.count } }

    private func wakeWaitersIfDrained() {
        let ready = waiters.withLock { w -> [(EventLoop, @Sendable () -> Void)] in
            guard !w.byTicket.isEmpty, queued.load(ordering: .relaxed) <= maxQueuedBytes / 4 else { return [] }
            defer { w.byTicket = [:] }
            return Array(w.byTicket.values)
        }
        for (loop, callback) in ready { loop.execute(callback) }
    }

    /// Queues `job`; `cost` is roughly the bytes it holds. Returns false (and runs nothing) when
    /// the queue is over budget. Jobs run in submission order.
    @discardableResult
    func submit(cost: Int, _ what: String, _ effect: Effect = .data,
                _ job: @escaping @Sendable (CacheStore) throws -> Void) -> Bool {
        let cost = max(cost, 64)
        if queued.add(cost, ordering: .relaxed).newValue > maxQueuedBytes {
            queued.subtract(cost, ordering: .relaxed)
            state.withLock {
                $0.droppedJobs += 1
                $0.healthy = false
                $0.lastError = "write queue full (the disk is too slow); dropped: \(what)"
            }
            lost(effect, store: nil)
            return false
        }
        let store = self.store
        thread.submit { [self] _ in
            // Runs even during shutdown (state .cancelled): queued writes are not lost.
            defer {
                queued.subtract(cost, ordering: .relaxed)
                wakeWaitersIfDrained()
            }
            do {
                if effect.isData { try persistInvalidations() }
                try job(store)
                if !effect.isData { return }
                state.withLock {
                    $0.writes += 1
                    $0.healthy = true
                }
            } catch is Skipped {
                return
            } catch {
                state.withLock {
                    $0.failedWrites += 1
                    $0.healthy = false
                    $0.lastError = "\(what): \(error)"
                }
                lost(effect, store: store)
                logger.warning("cache write failed", metadata: ["what": "\(what)", "error": "\(error)"])
            }
        }
        return true
    }

    /// A job of `effect` did not happen (`store` is set on the writer thread, nil when it was dropped).
    private func lost(_ effect: Effect, store: CacheStore?) {
        switch effect {
        case .objects(let gvr):
            trust.lost(gvr)
            recent.forget(gvr: gvr)
        case .staged(let handle):
            handle.fail()
            if let store { try? handle.discard(store) }
        case .data, .cleanup, .bookkeeping:
            break
        }
    }

    /// Marks the scopes of resources that lost a write incomplete on disk; until that succeeds no
    /// other write may land (it could make a scope look complete past the missing change).
    private func persistInvalidations() throws {
        for gvr in trust.pending {
            try store.invalidateScopes(gvr: gvr)
            trust.persisted(gvr)
            logger.warning("cache scopes marked incomplete after a lost write", metadata: ["gvr": "\(gvr)"])
        }
    }

    /// Runs the queued jobs and stops the thread (on shutdown).
    public func close() {
        try? thread.syncShutdownGracefully()
    }
}
