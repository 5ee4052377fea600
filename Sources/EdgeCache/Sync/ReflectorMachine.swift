/// The life of one upstream reflector (one scope: resource, namespace, selectors), as a pure
/// state machine: every event returns the action its driver (`Reflector`) performs, so every
/// transition is testable without a socket or a timer.
///
///     idle ──start──▶ listing ──listed──▶ watching ──ended──▶ watching (resumed from its RV)
///       │               │  ▲                 │ ├──expired (410)──▶ listing (relist, diffed)
///       │ (complete     │  └──retry──┐       │ └──failed──▶ backingOff ──retry──▶ watching
///       │  scope on     └──failed──▶ backingOff
///       └──disk)──────────────────────────▶ watching (resumed from the stored RV: no list)
///
/// A resume from a resourceVersion is always tried before a list: after an outage or a reboot
/// the apiserver sends only what changed; only its 410 costs a relist.
struct ReflectorMachine: Sendable {
    enum State: Equatable, Sendable {
        case idle
        case listing(relist: Bool)
        case watching(resourceVersion: String)
        case backingOff(then: Next)
        case stopped
    }

    /// What a backing-off reflector does when its timer fires.
    enum Next: Equatable, Sendable {
        case list(relist: Bool)
        case watch(resourceVersion: String)
    }

    enum Action: Equatable, Sendable {
        case none
        /// List the scope. `relist`: the cache holds an older state; emit the difference.
        case list(relist: Bool)
        case watch(from: String)
        case retry(after: Duration)
        /// Abandon the list or watch in flight (stop, link judged down).
        case cancel
    }

    private(set) var state: State = .idle
    /// Failures in a row (reset by a list that completed or a watch that delivered anything).
    private(set) var failures = 0
    /// The newest resourceVersion the reflector has reached (list or event).
    private(set) var resourceVersion: String?
    private let backoff: Backoff

    init(backoff: Backoff = Backoff()) { self.backoff = backoff }

    /// Starts it. `stored`: the resourceVersion of the scope's complete state on disk, if any
    /// (a previous list, possibly before a reboot).
    mutating func start(stored: String?) -> Action {
        guard state == .idle else { return .none }
        if let stored, !stored.isEmpty {
            resourceVersion = stored
            state = .watching(resourceVersion: stored)
            return .watch(from: stored)
        }
        state = .listing(relist: false)
        return .list(relist: false)
    }

    /// The list completed at `resourceVersion` and is committed.
    mutating func listed(resourceVersion rv: String) -> Action {
        guard case .listing = state else { return .none }
        failures = 0
        resourceVersion = rv
        state = .watching(resourceVersion: rv)
        return .watch(from: rv)
    }

    mutating func listFailed() -> Action {
        guard case .listing(let relist) = state else { return .none }
        return backOff(then: .list(relist: relist))
    }

    /// The watch delivered an event or bookmark at `rv`.
    mutating func progressed(to rv: String) {
        guard case .watching = state else { return }
        failures = 0
        resourceVersion = rv
        state = .watching(resourceVersion: rv)
    }

    /// The watch ended cleanly (its timeout): watch again from where it got.
    /// `quick`: it ended within a second with nothing in it, which a healthy apiserver does not
    /// do; it counts as a failure so a misbehaving server is not hammered.
    mutating func watchEnded(quick: Bool) -> Action {
        guard case .watching(let rv) = state else { return .none }
        if quick { return backOff(then: .watch(resourceVersion: rv)) }
        return .watch(from: rv)
    }

    /// The apiserver no longer has history from the reflector's resourceVersion (410 Expired /
    /// Gone): one relist, whose difference from the cache goes to the local watchers.
    mutating func expired() -> Action {
        guard case .watching = state else { return .none }
        state = .listing(relist: true)
        return .list(relist: true)
    }

    /// The watch failed (connection refused or cut, 5xx, 429): retry it after a backoff.
    mutating func watchFailed() -> Action {
        guard case .watching(let rv) = state else { return .none }
        return backOff(then: .watch(resourceVersion: rv))
    }

    /// The link was judged down (health probe): drop the stream in flight, which would only go
    /// silent, and wait.
    mutating func linkDown() -> Action {
        switch state {
        case .listing(let relist):
            state = .backingOff(then: .list(relist: relist))
            return .cancel
        case .watching(let rv):
            state = .backingOff(then: .watch(resourceVersion: rv))
            return .cancel
        default:
            return .none
        }
    }

    /// The backoff timer fired, or the link came back: do what was waiting.
    mutating func retry() -> Action {
        guard case .backingOff(let next) = state else { return .none }
        switch next {
        case .list(let relist):
            state = .listing(relist: relist)
            return .list(relist: relist)
        case .watch(let rv):
            state = .watching(resourceVersion: rv)
            return .watch(from: rv)
        }
    }

    /// The cache lost a write of this resource: what is on disk is no longer the reflector's
    /// state, so it lists again (diffed against what local watchers last saw).
    mutating func cacheLost() -> Action {
        switch state {
        case .watching:
            state = .listing(relist: true)
            return .list(relist: true)
        case .backingOff:
            state = .backingOff(then: .list(relist: true))
            return .none
        default:
            return .none
        }
    }

    mutating func stop() -> Action {
        let wasActive: Bool
        switch state {
        case .listing, .watching: wasActive = true
        default: wasActive = false
        }
        state = .stopped
        return wasActive ? .cancel : .none
    }

    private mutating func backOff(then next: Next) -> Action {
        failures += 1
        state = .backingOff(then: next)
        return .retry(after: backoff.delay(afterFailures: failures))
    }
}

/// Exponential backoff with a cap; the driver adds jitter.
struct Backoff: Sendable {
    var initial: Duration = .milliseconds(500)
    var cap: Duration = .seconds(30)

    func delay(afterFailures n: Int) -> Duration {
        var d = initial
        for _ in 1..<max(n, 1) {
            d = d * 2
            if d >= cap { return cap }
        }
        return min(d, cap)
    }
}
