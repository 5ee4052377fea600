import Filters
import KubeRequest
import NIOHTTP1
import OfflineAccess
import OutpostProxy

/// Plans each request for the cache: which tee sees the forwarded response and which local
/// answer stands by for when the apiserver cannot answer. Pure decisions, no I/O.
struct CacheRouter: RequestRouter {
    let cache: EdgeCache

    /// Every plan with a local answer is guarded: the apiserver's answers are recorded per caller,
    /// and a local answer is given only to a caller it allowed the same access (see `AccessGate`).
    func plan(_ head: HTTPRequestHead, info: RequestInfo?) -> RequestPlan {
        var handover: WatchHub?
        if let info, case let route = watchCacheRoute(head, info) {
            switch route {
            case .local(let plan): return plan
            case .forward(let hub): handover = hub
            }
        }
        var plan = ungatedPlan(head, info: info)
        if let info, plan.localResponder != nil {
            // A create's local answer checks the caller itself, once the body names the object
            // (CreateAnswer); its online answers are recorded like any other.
            plan = plan.localAnswerOnlyOffline
                ? cache.access.recorded(plan, identity: cache.access.identity(of: head), access: AccessGate.access(info))
                : cache.access.guarded(plan, identity: cache.access.identity(of: head), access: AccessGate.access(info))
        }
        if let handover { plan.interceptor = WatchHandover(inner: plan.interceptor, hub: handover) }
        return plan
    }

    private func ungatedPlan(_ head: HTTPRequestHead, info: RequestInfo?) -> RequestPlan {
        guard let info else { return RequestPlan(head: head) }
        switch info.kind {
        case .discovery:
            return documentPlan(head, path: info.path)
        case .nonResource where info.path == "/version":
            return documentPlan(head, path: info.path)
        case .nonResource:
            return RequestPlan(head: head)
        case .resource:
            return resourcePlan(head, info)
        }
    }

    private func documentPlan(_ head: HTTPRequestHead, path: String) -> RequestPlan {
        guard cache.config.cache.discovery, head.method == .GET else { return RequestPlan(head: head) }
        // Discovery is kept as JSON (what kubectl and client-go read); a protobuf ask is
        // answered in JSON, which they accept.
        var h = head
        h.headers.replaceOrAdd(name: "accept", value: "application/json")
        h.headers.remove(name: "accept-encoding")
        let key = "doc:" + path
        let c = cache
        return RequestPlan(head: h, interceptor: DocumentTee(key: key, writer: c.writer, dialect: path == "/version" ? c.dialect : nil, scopes: c.scopes),
                           localResponder: { DocumentAnswer(key: key, reader: c.reader, metrics: c.metrics) })
    }

    private func resourcePlan(_ head: HTTPRequestHead, _ info: RequestInfo) -> RequestPlan {
        guard let collection = Collection(info), info.subresource.isEmpty else { return RequestPlan(head: head) }
        // The apiserver reads `/api/v1/namespaces/x` as namespace x; the object itself is
        // cluster-scoped and stored without a namespace.
        var info = info
        if collection.group.isEmpty && collection.resource == "namespaces" {
            // Only `/api/v1/namespaces[/NAME]` names namespaces; `/api/v1/namespaces/A/namespaces[/B]`
            // is no route (the apiserver answers 404 after authorizing it in A): it must neither
            // forget a cached namespace nor be answered with the cluster's namespaces.
            guard info.namespace.isEmpty || info.namespace == info.name else { return RequestPlan(head: head) }
            info.namespace = ""
        }
        // A cluster-scoped resource under a namespace path is no route either (404 upstream); one
        // whose scope is unknown (a custom resource whose discovery was never seen) is not cached
        // under a namespace path, where a cached answer could be wrong.
        let scope = cache.scopes.scope(of: collection.groupResource)
        if !info.namespace.isEmpty && scope == .cluster { return RequestPlan(head: head) }
        let cached = cache.config.cache.caches(collection.groupResource) && (info.namespace.isEmpty || scope == .namespaced)
        let filter = cache.config.filters.filter(for: collection.groupResource)
        guard cached || filter != nil else { return RequestPlan(head: head) }
        // A Table or metadata-only ask of an unfiltered resource passes through as asked: its rows
        // are not objects, so nothing of it may be cached (a Table read as a list would replace the
        // scope with nothing). A filtered resource's ask is rewritten to a plain list (see below).
        let caching = cached && (filter != nil || !Self.asksForAnotherShape(head))
        var tee = cache.teeContext(collection, namespace: info.namespace, filter: filter, caching: caching)
        let answers = AnswerContext(collection: collection, namespace: info.namespace, reader: cache.reader,
                                    filter: filter, metrics: cache.metrics,
                                    formats: ClientFormats(accept: head.headers.first(name: "accept")),
                                    trust: cache.trust, logger: cache.logger)

        switch info.verb {
        case .get, .list, .watch:
            guard head.method == .GET else { return RequestPlan(head: head) }
            let h = Self.forwardedReadHead(head, filtered: filter != nil)
            if info.verb == .get {
                let name = info.name
                // GetOptions carries only resourceVersion; the watch cache parses a non-empty one
                // (a 500 when it cannot) and the answer compares it with what the cache holds.
                let rv = info.query.first("resourceVersion")
                let wanted: UInt64
                do {
                    wanted = try ListOptions.parseResourceVersion(rv?.value ?? "", quoted: rv?.invalidUTF8Bytes == nil ? nil : rv?.goQuotedValue)
                } catch {
                    let status = StatusResponses(error)
                    return RequestPlan(head: h, interceptor: ObjectTee(ctx: tee, purpose: .get, name: name),
                                       localResponder: cached ? { FixedStatusAnswer(status) } : nil)
                }
                return RequestPlan(head: h, interceptor: tee.caching || filter != nil ? ObjectTee(ctx: tee, purpose: .get, name: name) : nil,
                                   localResponder: cached ? { GetAnswer(ctx: answers, name: name, resourceVersion: wanted) } : nil)
            }
            // The apiserver's checks in its order (ReadParameters); offline we answer as it would.
            let pathName = info.verb == .watch && info.parts.count >= 2 ? info.parts[1] : ""
            let checked = ReadParameters.check(info.query, watch: info.verb == .watch, pathName: pathName,
                                               support: tee.indexer.support, style: cache.dialect.selectorStyle,
                                               rules: cache.dialect.validationRules,
                                               ownToken: { ContinueToken.decode($0) != nil })
            let params: ReadParameters
            switch checked {
            case .success(let p): params = p
            case .failure(let error):
                let status = StatusResponses(error)
                return RequestPlan(head: head, localResponder: { FixedStatusAnswer(status) })
            }
            let options = params.options, selection = params.selection
            let bookmarks = cache.bookmarkInterval
            if info.verb == .watch {
                return RequestPlan(head: h, interceptor: tee.caching || filter != nil ? WatchTee(ctx: tee, selection: selection) : nil,
                                   localResponder: cached ? { WatchAnswer(ctx: answers, selection: selection, options: options, bookmarkInterval: bookmarks) } : nil)
            }
            let read = params.read ?? ListReadPlan(read: .latest, limit: 0)
            let continuing = options.continueToken.isEmpty ? nil
                : cache.pages.take(token: options.continueToken, collection: collection, namespace: info.namespace, selectionKey: selection.key)
            // A later page of a list we did not see from its first page cannot complete a scope.
            if !options.continueToken.isEmpty && continuing == nil { tee.caching = false }
            return RequestPlan(head: h,
                               interceptor: tee.caching || filter != nil ? ListTee(ctx: tee, selection: selection, pages: cache.pages, continuing: continuing) : nil,
                               localResponder: cached ? { ListAnswer(ctx: answers, selection: selection, read: read) } : nil)
        case .create, .update, .patch:
            guard cached else { return RequestPlan(head: head) }
            var h = head
            h.headers.remove(name: "accept-encoding")
            let objectTee = ObjectTee(ctx: tee, purpose: .write, name: info.name)
            guard info.verb == .create, head.method == .POST else { return RequestPlan(head: h, interceptor: objectTee) }
            // Offline, a create of a cached object is the apiserver's 409 (CreateAnswer).
            let gate = cache.access, create = AccessGate.access(info)
            let mayConfirm: @Sendable (String) -> Bool = { name in
                let caller = gate.identity(of: head)
                let get = Access(verb: "get", group: create.group, resource: create.resource, namespace: create.namespace, name: name)
                return gate.decide(caller, create) == .allow && gate.decide(caller, get) == .allow
            }
            let contentType = head.headers.first(name: "content-type")
            return RequestPlan(head: h, interceptor: objectTee,
                               localResponder: { CreateAnswer(ctx: answers, requestContentType: contentType, mayConfirm: mayConfirm) },
                               localAnswerOnlyOffline: true)
        case .delete:
            guard cached else { return RequestPlan(head: head) }
            var h = head
            h.headers.remove(name: "accept-encoding")
            return RequestPlan(head: h, interceptor: ObjectTee(ctx: tee, purpose: .delete, name: info.name))
        default:
            return RequestPlan(head: head)
        }
    }

    /// Whether the Accept asks for a Table or PartialObjectMetadata(List) (`;as=`), not objects.
    static func asksForAnotherShape(_ head: HTTPRequestHead) -> Bool {
        head.headers[canonicalForm: "accept"].contains { $0.lowercased().contains("as=") }
    }

    /// The head forwarded for a teed read: uncompressed (the tee parses the body). Protobuf
    /// (kubelet, client-go) passes as asked: the tee splits it too. A Table ask for a filtered
    /// resource becomes a plain JSON list: the filter reads objects, not table rows.
    static func forwardedReadHead(_ head: HTTPRequestHead, filtered: Bool) -> HTTPRequestHead {
        var h = head
        h.headers.remove(name: "accept-encoding")
        if filtered && asksForAnotherShape(head) {
            h.headers.replaceOrAdd(name: "accept", value: "application/json")
        }
        return h
    }
}
