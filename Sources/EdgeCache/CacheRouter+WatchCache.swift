import KubeRequest
import NIOHTTP1
import OutpostProxy

/// The watch cache's share of routing: which reads the node answers from its reflectors
/// instead of the apiserver, online and offline alike.
///
/// A read is answered locally when all of these hold:
/// - it is a watch, or a list with `resourceVersion=0` (any state will do; every informer's
///   first list), of a cached resource, asking for objects (not a Table / metadata shape);
/// - the scope's reflector has a complete state (it listed, or the scope was complete on disk);
/// - the caller is one the apiserver allowed this access (or a covering list/watch): within
///   `SyncSettings.onlineAuthorizationAge` while the apiserver is reachable — like its own
///   authorization cache — and within the offline lifetime while it is not.
/// Anything else takes the forwarding path, whose answer also confirms the caller for next
/// time. Requests that reach here start the scope's reflector when the caller is confirmed, so
/// an unknown caller cannot make Outpost open upstream watches.
/// What the watch cache does with a read.
enum WatchCacheRoute {
    /// Answered by the watch cache.
    case local(RequestPlan)
    /// Forwarded; a watch is handed over to `handover` once that hub is ready (and its history
    /// reaches back to `from`, where the watch started).
    case forward(handover: WatchHub?, from: UInt64 = 0)
}

extension CacheRouter {
    func watchCacheRoute(_ head: HTTPRequestHead, _ info: RequestInfo) -> WatchCacheRoute {
        guard let sync = cache.sync, case .resource = info.kind, head.method == .GET, info.subresource.isEmpty,
              info.verb == .watch || info.verb == .list,
              let collection = Collection(info), !Self.asksForAnotherShape(head) else { return .forward(handover: nil) }
        var namespace = info.namespace
        if collection.group.isEmpty && collection.resource == "namespaces" {
            guard namespace.isEmpty else { return .forward(handover: nil) }
            namespace = ""
        }
        // As in `resourcePlan`: a cluster-scoped resource under a namespace path is no route, and
        // one of unknown scope is not cached there.
        let resourceScope = cache.scopes.scope(of: collection.groupResource)
        if !namespace.isEmpty && resourceScope == .cluster { return .forward(handover: nil) }
        guard cache.config.cache.caches(collection.groupResource), namespace.isEmpty || resourceScope == .namespaced
        else { return .forward(handover: nil) }
        let watch = info.verb == .watch
        // A watch by name (`/watch/.../NAME`) is a scope of one; leave it to the forwarding path.
        if watch && info.parts.count >= 2 { return .forward(handover: nil) }
        let filter = cache.config.filters.filter(for: collection.groupResource)
        let indexer = cache.teeContext(collection, namespace: namespace, filter: filter, caching: false).indexer
        let identity = cache.access.identity(of: head)
        let access = AccessGate.access(info)
        // Online: this very verb confirmed within the last minutes. Offline: the book allows it
        // (as for every local answer).
        let online = sync.isOnline
        let confirmed = online
            ? cache.access.confirmedRecently(identity, access, maxAge: sync.settings.onlineAuthorizationAge)
            : { if case .allow = cache.access.decide(identity, access) { return true } else { return false } }()
        // A caller the apiserver allowed a list or a watch of the scope may start its reflector
        // (the answer it is given still waits for the confirmation of its own verb).
        let mayStart = confirmed || (online && cache.access.confirmedRecently(
            identity, access, maxAge: sync.settings.onlineAuthorizationAge, sameVerb: false))
        // Outpost serves WatchList itself, so a WatchList ask is validated like an apiserver that
        // has it; anything else exactly like the apiserver behind.
        let watchList = watch && info.query.first("sendInitialEvents") != nil
        let rules: ListOptions.ValidationRules = watchList ? .watchList(featureEnabled: true) : cache.dialect.validationRules
        let params: ReadParameters
        switch ReadParameters.check(info.query, watch: watch, pathName: "", support: indexer.support,
                                    style: cache.dialect.selectorStyle, rules: rules,
                                    ownToken: { ContinueToken.decode($0) != nil }) {
        case .success(let p):
            params = p
        case .failure(let error):
            // A watch's WatchList parameters are judged by the watch cache that would serve it
            // (the apiserver behind may predate them); everything else is the forwarding path's.
            guard confirmed, watchList else { return .forward(handover: nil) }
            let status = StatusResponses(error)
            return .local(RequestPlan(head: head, localResponder: { FixedStatusAnswer(status) }, answerLocally: true))
        }
        let scope = ScopeKey(gvr: collection.gvr, namespace: namespace, selector: params.selection.key)
        // Only a reflector-like client is handed over (client-go's always asks for bookmarks and
        // re-watches when a watch ends); `kubectl get -w` or a plain script would stop instead.
        // From "" or "0" it starts with the whole state: its position is unknown here.
        let startedAt = UInt64(params.options.resourceVersion) ?? 0
        let handsOver = watch && params.options.allowWatchBookmarks && startedAt > 0
        guard confirmed else {
            // Its answer will confirm it: the hub takes the watch over afterwards.
            // (A caller the apiserver allowed a list or a watch of the scope starts its reflector,
            // so its next watch is served locally.)
            let hub = mayStart && watch
                ? sync.hub(for: scope, collection: collection, selection: params.selection)
                : sync.existingHub(for: scope)
            return .forward(handover: handsOver ? hub : nil, from: startedAt)
        }
        let options = params.options
        if !watch {
            // Only "any state" lists: a consistent read (no resourceVersion) goes to the
            // apiserver, and so does one that must be newer than a version.
            guard options.resourceVersion == "0", options.continueToken.isEmpty,
                  options.resourceVersionMatch == nil || options.resourceVersionMatch == .notOlderThan
            else { return .forward(handover: nil) }
        }
        guard let hub = sync.hub(for: scope, collection: collection, selection: params.selection) else { return .forward(handover: nil) }
        guard hub.isReady else { return .forward(handover: handsOver ? hub : nil, from: startedAt) }
        let answers = AnswerContext(collection: collection, namespace: namespace, reader: cache.reader,
                                    filter: filter, metrics: cache.metrics,
                                    formats: ClientFormats(accept: head.headers.first(name: "accept")),
                                    trust: cache.trust, logger: cache.logger)
        let selection = params.selection
        let bookmarks = cache.bookmarkInterval
        if watch {
            return .local(RequestPlan(head: head, localResponder: {
                HubWatchAnswer(ctx: answers, hub: hub, engine: sync, selection: selection, options: options, bookmarkInterval: bookmarks)
            }, answerLocally: true))
        }
        let read = params.read ?? ListReadPlan(read: .latest, limit: 0)
        sync.env.metrics.localList()
        return .local(RequestPlan(head: head, localResponder: { ListAnswer(ctx: answers, selection: selection, read: read) },
                                  answerLocally: true))
    }
}
