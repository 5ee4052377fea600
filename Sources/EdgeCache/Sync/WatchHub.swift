import CacheStore
import KubeJSON
import KubeProto
import NIOCore
import Synchronization

/// One change of a scope as the reflector received it: parsed once, encoded at most once per
/// format, shared by every local watcher (the bytes are never copied per watcher).
final class HubEvent: HistoryEvent, Sendable {
    let type: WatchEventType
    let resourceVersion: UInt64
    let object: StoredObject
    let cost: Int
    private let frames = Mutex<(json: [UInt8]?, protobuf: [UInt8]?)>((nil, nil))

    init(type: WatchEventType, object: StoredObject) {
        self.type = type
        self.object = object
        resourceVersion = UInt64(object.resourceVersion) ?? 0
        cost = object.body.count + 160
    }

    /// The event as a watch stream carries it (a JSON line, or a length-prefixed protobuf frame).
    func frame(_ encoding: AnswerEncoding, kinds: KindRegistry.Kinds) throws -> [UInt8] {
        if let f = frames.withLock({ encoding == .json ? $0.json : $0.protobuf }) { return f }
        let body = try encoding.body(of: object, kinds: kinds)
        let f: [UInt8]
        switch encoding {
        case .json: f = WatchEventWriter.event(type: type, object: body)
        case .protobuf: f = ProtoWatchWriter.frame(type: type, typeMeta: kinds.typeMeta, object: body)
        }
        frames.withLock { if encoding == .json { $0.json = f } else { $0.protobuf = f } }
        return f
    }
}

/// What a hub hands a local watcher: events in resourceVersion order, and the resourceVersion
/// the scope reached (for bookmarks).
enum HubDelivery: Sendable {
    case events([HubEvent], through: UInt64)
    /// A relist replaced the scope: `events` turn what the watcher saw into the new state
    /// (deletions first), and the scope is now at `resourceVersion`.
    case resynced([HubEvent], at: UInt64)
    /// The scope is gone (its reflector stopped for good, or the cache lost it): end the watch.
    case closed
}

/// A local watcher as the hub sees it: where to deliver (its connection's event loop).
struct HubSubscriber: Sendable {
    let id: Int
    let eventLoop: EventLoop
    let deliver: @Sendable (HubDelivery) -> Void
}

/// The fan-out of one scope: the reflector publishes what it receives, the hub keeps a bounded
/// history and hands every event, in order, to each local watcher on its own event loop. A
/// watcher resuming from a resourceVersion inside the window is given what it missed; one from
/// before it is told it expired. Thread-safe: publishing and subscribing take one short lock,
/// and deliveries are enqueued under it, so each watcher sees one gap-free ordered stream.
final class WatchHub: Sendable {
    let scope: ScopeKey
    private struct State {
        var history: EventHistory<HubEvent>?
        var subscribers: [Int: HubSubscriber] = [:]
        var nextID = 0
    }
    private let state = Mutex(State())
    private let limits: (events: Int, bytes: Int)

    init(scope: ScopeKey, maxEvents: Int, maxBytes: Int) {
        self.scope = scope
        limits = (maxEvents, maxBytes)
    }

    /// Whether the hub can serve: the reflector has a complete state (a list, or the scope
    /// complete on disk) to start from.
    var isReady: Bool { state.withLock { $0.history != nil } }

    /// The newest resourceVersion of the scope (0 before it is ready).
    var currentResourceVersion: UInt64 { state.withLock { $0.history?.current ?? 0 } }

    /// The oldest resourceVersion a watcher may resume from (nil before the hub is ready).
    var floor: UInt64? { state.withLock { $0.history?.floor } }

    var watcherCount: Int { state.withLock { $0.subscribers.count } }

    /// The reflector has a complete state at `rv`: the hub serves from now on.
    func becameReady(at rv: UInt64) {
        state.withLock { s in
            if s.history == nil {
                s.history = EventHistory(startingAt: rv, maxEvents: limits.events, maxBytes: limits.bytes)
            }
        }
    }

    /// New events from the upstream watch, in order; `bookmark`: a resourceVersion reached
    /// without an event.
    func publish(_ events: [HubEvent], bookmark: UInt64? = nil) {
        state.withLock { s in
            guard s.history != nil else { return }
            var fresh: [HubEvent] = []
            for e in events where s.history!.append(e) { fresh.append(e) }
            if let bookmark { s.history!.advance(to: bookmark) }
            let through = s.history!.current
            guard !fresh.isEmpty || bookmark != nil else { return }
            for sub in s.subscribers.values {
                let d = sub.deliver
                let batch = fresh
                sub.eventLoop.execute { d(.events(batch, through: through)) }
            }
        }
    }

    /// A relist replaced the scope's state at `rv`: every watcher gets `changes` (the
    /// difference between what it had and the new state) and the history restarts at `rv`.
    func resynced(_ changes: [HubEvent], at rv: UInt64) {
        state.withLock { s in
            if s.history == nil {
                s.history = EventHistory(startingAt: rv, maxEvents: limits.events, maxBytes: limits.bytes)
            } else {
                s.history!.restart(at: rv)
            }
            for sub in s.subscribers.values {
                let d = sub.deliver
                sub.eventLoop.execute { d(.resynced(changes, at: rv)) }
            }
        }
    }

    /// A relist replaced the scope's state at `rv`, and the difference cannot be trusted: every
    /// watcher is ended (it resumes, is told 410 and lists again) and the history restarts at `rv`.
    func restartEndingWatchers(at rv: UInt64) {
        state.withLock { s in
            if s.history == nil {
                s.history = EventHistory(startingAt: rv, maxEvents: limits.events, maxBytes: limits.bytes)
            } else {
                s.history!.restart(at: rv)
            }
            for sub in s.subscribers.values {
                let d = sub.deliver
                sub.eventLoop.execute { d(.closed) }
            }
            s.subscribers = [:]
        }
    }

    enum Subscription {
        /// Subscribed; `replay` is on its way to the watcher (first, before anything live).
        case subscribed(id: Int)
        /// `rv` is older than the window (the watcher must relist): the apiserver's 410.
        case expired(floor: UInt64)
        case notReady
    }

    /// Subscribes a watcher that has seen the scope up to `rv`: it is given every event after
    /// it, then everything live.
    func subscribe(after rv: UInt64, on loop: EventLoop, deliver: @escaping @Sendable (HubDelivery) -> Void) -> Subscription {
        state.withLock { s in
            guard let history = s.history else { return .notReady }
            switch history.replay(after: rv) {
            case .expired(let floor):
                return .expired(floor: floor)
            case .events(let missed):
                let id = s.nextID
                s.nextID += 1
                s.subscribers[id] = HubSubscriber(id: id, eventLoop: loop, deliver: deliver)
                let batch = Array(missed), through = history.current
                loop.execute { deliver(.events(batch, through: through)) }
                return .subscribed(id: id)
            }
        }
    }

    func unsubscribe(_ id: Int) {
        _ = state.withLock { $0.subscribers.removeValue(forKey: id) }
    }

    /// Ends every local watch (the reflector stopped or the scope became untrustworthy).
    func close() {
        state.withLock { s in
            for sub in s.subscribers.values {
                let d = sub.deliver
                sub.eventLoop.execute { d(.closed) }
            }
            s.subscribers = [:]
            s.history = nil
        }
    }
}

/// A reflector's scope: resource, namespace ("" = all) and selectors (`Selection.key`).
struct ScopeKey: Hashable, Sendable, CustomStringConvertible {
    var gvr: String
    var namespace: String
    var selector: String

    var description: String {
        var s = gvr
        if !namespace.isEmpty { s += " in \(namespace)" }
        if !selector.isEmpty { s += " [\(selector)]" }
        return s
    }
}
