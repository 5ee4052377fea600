import Filters
import KubeRequest
import KubeTable
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
        var handover: (hub: WatchHub, from: UInt64)?
        if let info, case let route = watchCacheRoute(head, info) {
            switch route {
            case .local(let plan): return plan
            case .forward(let hub, let from): handover = hub.map { ($0, from) }
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
        if let handover { plan.interceptor = WatchHandover(inner: plan.interceptor, hub: handover.hub, from: handover.from) }
        return plan
    }

    private func ungatedPlan(_ head: HTTPRequestHead, info: RequestInfo?) -> RequestPlan {
        guard let info else { return RequestPlan(head: head) }
        switch info.kind {
        case .discovery:
            return documentPlan(head, path: info.path)
        case .nonResource where info.path == "/version":
            return documentPlan(head, path: info.path)
        case .nonResource where DiscoveryDocuments.isOpenAPI(info.path):
            return openAPIPlan(head, path: info.path)
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

    /// An OpenAPI document passes as negotiated (kubectl asks protobuf); its first 200 makes
    /// the refresher fetch and keep it in that form, and offline it is answered from there.
    private func openAPIPlan(_ head: HTTPRequestHead, path: String) -> RequestPlan {
        guard cache.config.cache.discovery, head.method == .GET, let refresher = cache.runningDiscoveryRefresher else {
            return RequestPlan(head: head)
        }
        let ask = DiscoveryDocuments.OpenAPIAsk(path: path, accept: head.headers["accept"].joined(separator: ","))
        let key = ask.documentKey, c = cache
        return RequestPlan(head: head, interceptor: OpenAPIAskTee(ask: ask, refresher: refresher),
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
        // scope with nothing). A filtered resource's ask is filtered in its shape, uncached
        // (`shapedFilteredRead`), or where it cannot be, rewritten to a plain list.
        let caching = cached && (filter != nil || !Self.asksForAnotherShape(head))
        var tee = cache.teeContext(collection, namespace: info.namespace, filter: filter, caching: caching)
        var answers = AnswerContext(collection: collection, namespace: info.namespace, reader: cache.reader,
                                    filter: filter, metrics: cache.metrics,
                                    formats: ClientFormats(accept: head.headers.first(name: "accept")),
                                    trust: cache.trust, logger: cache.logger)
        if info.verb == .get || info.verb == .list {
            answers.shape = AnswerShape(accept: head.headers.first(name: "accept"),
                                        printable: Printers.printer(group: collection.group, resource: collection.resource) != nil)
            answers.includeQuery = info.query.first("includeObject")?.value
            answers.include = IncludeObject(query: answers.includeQuery) ?? .metadata
        }

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
                if let filter, let shaped = shapedFilteredRead(head, info: info, filter: filter, tee: tee, get: name) {
                    return RequestPlan(head: shaped.head, interceptor: shaped.interceptor,
                                       localResponder: cached ? { GetAnswer(ctx: answers, name: name, resourceVersion: wanted) } : nil)
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
                if let filter, Self.asksForTable(head), let table = TablePlan(head, query: info.query, filter: filter) {
                    return RequestPlan(head: table.head, interceptor: TableWatchTee(ctx: tee, strip: table.strip, apiVersion: table.apiVersion),
                                       localResponder: cached ? { WatchAnswer(ctx: answers, selection: selection, options: options, bookmarkInterval: bookmarks) } : nil)
                }
                return RequestPlan(head: h, interceptor: tee.caching || filter != nil ? WatchTee(ctx: tee, selection: selection) : nil,
                                   localResponder: cached ? { WatchAnswer(ctx: answers, selection: selection, options: options, bookmarkInterval: bookmarks) } : nil)
            }
            let read = params.read ?? ListReadPlan(read: .latest, limit: 0)
            if let filter, let shaped = shapedFilteredRead(head, info: info, filter: filter, tee: tee, get: nil, list: { ListTee(ctx: $0, selection: selection, pages: cache.pages, continuing: nil) }) {
                return RequestPlan(head: shaped.head, interceptor: shaped.interceptor,
                                   localResponder: cached ? { ListAnswer(ctx: answers, selection: selection, read: read) } : nil)
            }
            let continuing = options.continueToken.isEmpty ? nil
                : cache.pages.take(token: options.continueToken, collection: collection, namespace: info.namespace, selectionKey: selection.key)
            // A later page of a list we did not see from its first page cannot complete a scope.
            if !options.continueToken.isEmpty && continuing == nil { tee.caching = false }
            let listTee = tee.caching || filter != nil ? ListTee(ctx: tee, selection: selection, pages: cache.pages, continuing: continuing) : nil
            return RequestPlan(head: h, interceptor: listTee,
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

    /// A read of a filtered resource in another shape than its objects, forwarded as asked and
    /// filtered in that shape, never cached (Table rows and PartialObjectMetadata are not the
    /// objects): a Table row by row (`TableTee`; the head asks for the row objects a field rule
    /// needs), PartialObjectMetadata(List) item by item like a list or object (their metadata is
    /// the objects'), unless a rule reads fields PartialObjectMetadata lacks. nil: the plain path
    /// (which turns a shaped ask into a plain JSON one).
    private func shapedFilteredRead(_ head: HTTPRequestHead, info: RequestInfo, filter: ResourceFilter, tee: TeeContext,
                                    get name: String?, list: ((TeeContext) -> ResponseInterceptor)? = nil) -> (head: HTTPRequestHead, interceptor: ResponseInterceptor)? {
        var ctx = tee
        ctx.caching = false
        func plain() -> ResponseInterceptor {
            if let name { return ObjectTee(ctx: ctx, purpose: .get, name: name) }
            return list?(ctx) ?? ObjectTee(ctx: ctx, purpose: .get, name: "")
        }
        guard let target = OutputTarget.candidates(accept: head.headers.first(name: "accept")).first,
              let conversion = target.conversion else { return nil }
        switch conversion {
        case .table:
            guard let table = TablePlan(head, query: info.query, filter: filter) else { return nil }
            return (table.head, TableTee(ctx: ctx, fallback: plain(), strip: table.strip, apiVersion: table.apiVersion, getName: name))
        case .partialObjectMetadata, .partialObjectMetadataList:
            guard !filter.usesFieldsBeyondMetadata else { return nil }
            var h = head
            h.headers.remove(name: "accept-encoding")
            return (h, plain())
        }
    }

    /// Whether the apiserver answers this Accept with a Table (`kubectl get`): a Table clause is
    /// the first it accepts.
    static func asksForTable(_ head: HTTPRequestHead) -> Bool {
        OutputTarget.candidates(accept: head.headers.first(name: "accept")).first?.conversion == .table
    }

    /// The head forwarded for a teed read: uncompressed (the tee parses the body). Protobuf
    /// (kubelet, client-go) passes as asked: the tee splits it too. A Table ask for a filtered
    /// resource becomes a plain JSON list: the filter reads objects, not table rows.
    static func forwardedReadHead(_ head: HTTPRequestHead, filtered: Bool) -> HTTPRequestHead {
        var h = head
        h.headers.remove(name: "accept-encoding")
        // An Accept the apiserver refuses is forwarded as is: the client gets its 406.
        if filtered && asksForAnotherShape(head) && !OutputTarget.candidates(accept: head.headers.first(name: "accept")).isEmpty {
            h.headers.replaceOrAdd(name: "accept", value: "application/json")
        }
        return h
    }
}
