/// What a history keeps of an event: its position and its weight.
protocol HistoryEvent {
    var resourceVersion: UInt64 { get }
    /// Bytes it holds (counted against the history's byte bound).
    var cost: Int { get }
}

/// A scope's recent events, bounded by count and bytes, like the apiserver's watch cache: a
/// watcher that resumes from a resourceVersion inside the window gets exactly the events it
/// missed; one from before the window gets 410 Expired and relists. Pure.
struct EventHistory<Event: HistoryEvent> {
    /// The oldest resourceVersion a watcher may resume from: every event after it is here.
    private(set) var floor: UInt64
    /// The newest resourceVersion reached (an event or a bookmark).
    private(set) var current: UInt64
    private var events: [Event] = []
    private var head = 0
    private(set) var bytes = 0
    let maxEvents: Int
    let maxBytes: Int

    init(startingAt rv: UInt64, maxEvents: Int, maxBytes: Int) {
        floor = rv
        current = rv
        self.maxEvents = max(1, maxEvents)
        self.maxBytes = max(1, maxBytes)
    }

    var count: Int { events.count - head }

    enum Replay {
        /// Every event after the requested resourceVersion, in order (possibly none).
        case events(ArraySlice<Event>)
        /// The requested resourceVersion is older than the window.
        case expired(floor: UInt64)
    }

    /// The events a watcher from `rv` has not seen.
    func replay(after rv: UInt64) -> Replay {
        guard rv >= floor else { return .expired(floor: floor) }
        let live = events[head...]
        // Events are in resourceVersion order: find the first one after `rv`.
        var lo = live.startIndex, hi = live.endIndex
        while lo < hi {
            let mid = (lo + hi) / 2
            if live[mid].resourceVersion <= rv { lo = mid + 1 } else { hi = mid }
        }
        return .events(live[lo...])
    }

    /// Appends an event; an event not newer than `current` is ignored (returns false): the
    /// history is in resourceVersion order, as the apiserver's is.
    @discardableResult
    mutating func append(_ event: Event) -> Bool {
        guard event.resourceVersion > current else { return false }
        events.append(event)
        bytes += event.cost
        current = event.resourceVersion
        while count > maxEvents || (bytes > maxBytes && count > 1) { evictOldest() }
        return true
    }

    /// A bookmark or a list moved the scope to `rv` without events in between.
    mutating func advance(to rv: UInt64) {
        // Nothing happened between the last event and `rv`: a watcher from any position in
        // between is served (with no events), so the floor stays.
        guard rv > current else { return }
        current = rv
    }

    /// After a relist the watchers were given the difference, not the events: the window starts
    /// again at the list's resourceVersion (older positions cannot be replayed faithfully).
    mutating func restart(at rv: UInt64) {
        events.removeAll(keepingCapacity: false)
        head = 0
        bytes = 0
        floor = max(rv, floor)
        current = max(rv, current)
    }

    private mutating func evictOldest() {
        let e = events[head]
        head += 1
        bytes -= e.cost
        floor = e.resourceVersion
        if head > 64 && head * 2 > events.count {
            events.removeFirst(head)
            head = 0
        }
    }
}
