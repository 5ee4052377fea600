import CacheStore
import EdgeCache
import Filters
import KubeConfig
import NIOCore
import NIOPosix
import OutpostCLI
import Upstream

/// `outpost verify`: every complete cached scope against a consistent list (resourceVersion
/// unset) from the apiserver, with the kubeconfig `serve` uses. Objects the config's filters
/// drop are left out of the apiserver's side (they are never cached). Exit 0 clean, 1 a
/// difference, 2 the cache or the apiserver could not be read.
enum Verify {
    static func run(_ o: OperatorOptions) async {
        let st = OperatorCommands.style
        let upstreamConfig: UpstreamConfiguration
        let config: OutpostConfig
        do {
            upstreamConfig = try UpstreamSetup.load(kubeconfig: o.kubeconfig, context: o.context, serverOverride: o.serverAddr)
            if let path = o.config {
                config = try OutpostConfig.parse(yaml: String(decoding: try FileIO.readFile(path), as: UTF8.self))
            } else {
                config = .default
            }
        } catch {
            Outpost.fail("Error: \(error)", code: 2)
        }
        let inspection: CacheInspection
        do {
            inspection = try CacheInspection(directory: o.cacheDir, keyFile: "/nonexistent/outpost-verify-needs-no-key")
        } catch {
            Outpost.fail("Error: cannot read the cache in \(o.cacheDir): \(error)", code: 2)
        }
        defer { inspection.close() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool: UpstreamPool
        do {
            pool = UpstreamPool(connector: try UpstreamConnector(configuration: upstreamConfig))
        } catch {
            Outpost.fail("Error: \(error)", code: 2)
        }

        var results: [(ScopeSummary, ScopeComparison)] = []
        do {
            for s in try inspection.store.scopeSummaries() where s.scope.complete {
                let upstream = try await list(pool, loop: group.next(), scope: s.scope, filters: config.filters)
                let cached = try inspection.store.versions(gvr: s.scope.gvr, namespace: s.scope.namespace)
                results.append((s, ScopeComparison(scopeResourceVersion: s.scope.resourceVersion, cached: cached,
                                                   upstream: upstream, checkExtra: s.scope.selector.isEmpty)))
            }
        } catch {
            Outpost.fail("Error: \(error)", code: 2)
        }
        try? await group.shutdownGracefully()
        let clean = results.allSatisfy { $0.1.isClean }
        if o.output == .json {
            func entries(_ es: [ScopeComparison.Entry]) -> JSONValue {
                .array(es.map { .object([("namespace", .string($0.namespace)), ("name", .string($0.name)),
                                         ("cached", .string($0.cached)), ("upstream", .string($0.upstream))]) })
            }
            let doc: JSONValue = .object([
                ("clean", .bool(clean)),
                ("scopes", .array(results.map { s, c in
                    .object([("resource", .string(s.scope.gvr)), ("namespace", .string(s.scope.namespace)),
                             ("selector", .string(s.scope.selector)), ("resourceVersion", .string(s.scope.resourceVersion)),
                             ("matching", .int(c.matching)), ("missing", entries(c.missing)), ("extra", entries(c.extra)),
                             ("differentVersion", entries(c.differentVersion)), ("newerUpstream", entries(c.newerUpstream))])
                })),
            ])
            print(doc.serialized(pretty: true))
        } else {
            var rows = [["RESOURCE", "NAMESPACE", "SELECTOR", "MATCH", "MISSING", "EXTRA", "OTHER RV", "NEWER UPSTREAM"].map(st.bold)]
            for (s, c) in results {
                func n(_ k: Int) -> String { k == 0 ? "0" : st.red(st.bold("\(k)")) }
                rows.append([TerminalText.resourceName(s.scope.gvr), s.scope.namespace.isEmpty ? "(all)" : s.scope.namespace,
                             s.scope.selector.isEmpty ? "-" : s.scope.selector, "\(c.matching)", n(c.missing.count),
                             c.extra.isEmpty && !s.scope.selector.isEmpty ? "-" : n(c.extra.count),
                             n(c.differentVersion.count), "\(c.newerUpstream.count)"])
            }
            print(TerminalText.table(rows), terminator: "")
            for (s, c) in results where !c.isClean || !c.newerUpstream.isEmpty {
                let r = TerminalText.resourceName(s.scope.gvr)
                func name(_ e: ScopeComparison.Entry) -> String { e.namespace.isEmpty ? e.name : "\(e.namespace)/\(e.name)" }
                for e in c.missing { print("  \(st.red("missing"))      \(r) \(name(e)) (apiserver rv \(e.upstream))") }
                for e in c.extra { print("  \(st.red("extra"))        \(r) \(name(e)) (cached rv \(e.cached))") }
                for e in c.differentVersion { print("  \(st.red("other rv"))     \(r) \(name(e)) (cached \(e.cached), apiserver \(e.upstream))") }
                for e in c.newerUpstream { print("  \(st.dim("newer upstream")) \(r) \(name(e)) (cached \(e.cached.isEmpty ? "-" : e.cached), apiserver \(e.upstream))") }
            }
            print(clean ? st.green("cache matches the apiserver (\(results.count) scopes)")
                        : st.red(st.bold("cache differs from the apiserver")))
        }
        if !clean {
            Outpost.fail("", code: 1)
        }
    }

    struct ListFailure: Error, CustomStringConvertible { var description: String }

    /// The apiserver's (namespace, name, resourceVersion) of the scope's objects, in pages of 500,
    /// without the ones the filters drop.
    static func list(_ pool: UpstreamPool, loop: EventLoop, scope: ScopeInfo, filters: FilterChain) async throws
        -> [(namespace: String, name: String, resourceVersion: String)] {
        guard let path = ScopeComparison.listPath(gvr: scope.gvr, namespace: scope.namespace) else {
            throw ListFailure(description: "cannot name the apiserver path of \(scope.gvr)")
        }
        let parts = scope.gvr.split(separator: "/", omittingEmptySubsequences: false)
        let filter = filters.filter(for: GroupResource(group: String(parts[0]), resource: String(parts[2])))
        var out: [(namespace: String, name: String, resourceVersion: String)] = []
        var token = ""
        repeat {
            var query = [("limit", "500")] + ScopeComparison.selectorQuery(scope.selector)
            if !token.isEmpty { query.append(("continue", token)) }
            let uri = path + "?" + query.map { "\($0.0)=\(ScopeComparison.percentEncoded($0.1))" }.joined(separator: "&")
            let r = try await pool.get(uri, on: loop, timeout: .seconds(60), maxBody: 256 << 20).get()
            let text = String(buffer: r.body)
            guard r.status == .ok else {
                throw ListFailure(description: "GET \(uri): \(r.status.code) \(JSONValue.parse(text)?["message"].string ?? "")")
            }
            guard let doc = JSONValue.parse(text) else { throw ListFailure(description: "GET \(uri): not a JSON list") }
            for item in doc["items"].array {
                let m = item["metadata"]
                let ns = m["namespace"].string ?? "", name = m["name"].string ?? ""
                if let filter {
                    var labels: [(String, String)] = []
                    if case .object(let ls) = m["labels"] { labels = ls.compactMap { k, v in v.string.map { (k, $0) } } }
                    var fields = ["metadata.name": name, "metadata.namespace": ns]
                    if filter.usesFields {
                        fields["status.phase"] = item["status"]["phase"].string ?? ""
                        fields["spec.nodeName"] = item["spec"]["nodeName"].string ?? ""
                        fields["type"] = item["type"].string ?? ""
                    }
                    if filter.droppingRule(name: name, namespace: ns, labels: labels, fields: fields) != nil { continue }
                }
                out.append((ns, name, m["resourceVersion"].string ?? ""))
            }
            token = doc["metadata"]["continue"].string ?? ""
        } while !token.isEmpty
        return out
    }
}
