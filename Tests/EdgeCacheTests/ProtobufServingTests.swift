import EdgeCache
import KubeJSON
import KubeProto
import OutpostTesting
import Testing

/// kubelet's wire format end to end: protobuf lists, gets and watches pass through untouched
/// and feed the cache; offline a protobuf client gets protobuf assembled from the stored item
/// messages, and a JSON client gets the same objects converted.
@Suite("Protobuf serving", .serialized)
struct ProtobufServingTests {
    static let path = "/api/v1/namespaces/demo/pods"
    static let kubelet = [("Accept", "application/vnd.kubernetes.protobuf, */*")]
    static let protobufOnly = [("Accept", "application/vnd.kubernetes.protobuf")]
    static let pb = [("Content-Type", "application/vnd.kubernetes.protobuf")]
    static let podType = ProtoTypeMeta(apiVersion: "v1", kind: "Pod")
    static let listType = ProtoTypeMeta(apiVersion: "v1", kind: "PodList")

    /// A Pod message: metadata {name, namespace, resourceVersion, labels}, spec {nodeName}, status {phase}.
    static func pod(_ name: String, rv: Int, node: String = "edge-1", labels: [(String, String)] = []) -> [UInt8] {
        var w = ProtoWriter()
        w.message(1) { m in
            m.field(1, string: name)
            m.field(3, string: "demo")
            m.field(6, string: String(rv))
            for (k, v) in labels { m.message(11) { e in e.field(1, string: k); e.field(2, string: v) } }
        }
        w.message(2) { s in s.field(10, string: node) }
        w.message(3) { s in s.field(1, string: "Running") }
        return w.bytes
    }

    static func list(rv: Int, _ items: [[UInt8]]) -> [UInt8] {
        ProtoListWriter.encode(typeMeta: listType, listMeta: ProtoListMeta(resourceVersion: String(rv)), items: items)
    }

    static func items(_ body: [UInt8]) throws -> [ObjectMeta] {
        var s = ProtoListSplitter()
        var metas: [ObjectMeta] = []
        for seg in try s.feed(body) { if case .item(_, _, let meta) = seg { metas.append(meta) } }
        _ = try s.finish()
        return metas
    }

    func seed(_ cluster: FakeCluster) -> [UInt8] {
        let body = Self.list(rv: 50, [
            Self.pod("a", rv: 10, labels: [("app", "web")]),
            Self.pod("b", rv: 11, node: "edge-2", labels: [("app", "db")]),
            Self.pod("skip-c", rv: 12, labels: [("app", "web")]),
        ])
        cluster.route(Self.path, .respond(status: 200, headers: Self.pb, chunks: [.init(bytes: body)], contentLength: true))
        return body
    }

    @Test func filteredProtobufListKeepsItsLengthAndIsCachedThenServedOffline() async throws {
        try await withCachedProxy { h, cluster, cache in
            let upstream = seed(cluster)
            let c = try await h.client()
            let online = try await c.request(.GET, Self.path, headers: Self.kubelet)
            #expect(online.status == 200)
            #expect(online.header("content-type") == "application/vnd.kubernetes.protobuf")
            #expect(online.header("content-length") == String(upstream.count), "masking keeps the length")
            #expect(online.body.count == upstream.count)
            #expect(try Self.items(online.body).map(\.name) == ["a", "b"], "skip-c is masked, not delivered")
            #expect(await waitUntil { (try? cache.store.stats().objects) == 2 })
            // The gets below are answered offline only because this caller made them online once.
            let b = ProtoObjectWriter.encode(typeMeta: Self.podType, message: Self.pod("b", rv: 11, node: "edge-2", labels: [("app", "db")]))
            cluster.route(Self.path + "/b", .respond(status: 200, headers: Self.pb, chunks: [.init(bytes: b)], contentLength: true))
            #expect(try await c.request(.GET, Self.path + "/b", headers: Self.kubelet).status == 200)

            cluster.link = .down
            let offline = try await c.request(.GET, Self.path, headers: Self.kubelet)
            #expect(offline.status == 200)
            #expect(offline.header("x-outpost-cache") == "hit")
            #expect(offline.header("content-type") == "application/vnd.kubernetes.protobuf")
            #expect(offline.body == Self.list(rv: 50, [Self.pod("a", rv: 10, labels: [("app", "web")]),
                                                       Self.pod("b", rv: 11, node: "edge-2", labels: [("app", "db")])]),
                    "the offline list is the apiserver's bytes for the kept items")

            let node = try await c.request(.GET, Self.path + "?fieldSelector=spec.nodeName%3Dedge-2", headers: Self.kubelet)
            #expect(try Self.items(node.body).map(\.name) == ["b"], "field selectors read the protobuf-indexed fields")
            let web = try await c.request(.GET, Self.path + "?labelSelector=app%3Dweb&limit=1", headers: Self.kubelet)
            #expect(try Self.items(web.body).map(\.name) == ["a"])

            let json = try await c.request(.GET, Self.path, headers: [("Accept", "application/json")])
            #expect(json.status == 200)
            #expect(json.header("content-type") == "application/json")
            #expect(itemNames(json.bodyString).filter { $0 == "a" || $0 == "b" } == ["a", "b"])
            #expect(json.bodyString.contains(#""nodeName":"edge-2""#), "protobuf objects are converted for JSON clients")
            #expect(json.bodyString.contains(#""kind":"Pod","apiVersion":"v1""#))

            let get = try await c.request(.GET, Self.path + "/b", headers: Self.kubelet)
            #expect(get.status == 200)
            #expect(get.body == ProtoObjectWriter.encode(typeMeta: Self.podType, message: Self.pod("b", rv: 11, node: "edge-2", labels: [("app", "db")])))
            let getJSON = try await c.request(.GET, Self.path + "/b")
            #expect(getJSON.status == 200)
            #expect(getJSON.bodyString.contains(#""name":"b""#) && getJSON.bodyString.contains(#""phase":"Running""#))
            await c.close()
        }
    }

    @Test func protobufWatchFeedsTheCacheAndDropsFilteredEvents() async throws {
        try await withCachedProxy { h, cluster, cache in
            _ = seed(cluster)
            let feed = StreamFeed()
            cluster.route(Self.path + "?watch=true&resourceVersion=50",
                          .stream(status: 200, headers: [("Content-Type", "application/vnd.kubernetes.protobuf;stream=watch")], feed: feed))
            let c = try await h.client()
            _ = try await c.request(.GET, Self.path, headers: Self.kubelet)
            #expect(await waitUntil { (try? cache.store.stats().objects) == 2 })
            let w = try await h.client()
            let parts = try await w.send(.GET, Self.path + "?watch=true&resourceVersion=50", headers: Self.kubelet)
            #expect(await waitUntil { feed.isAttached })
            let hidden = ProtoWatchWriter.frame(type: .added, typeMeta: Self.podType, object: Self.pod("skip-x", rv: 60))
            let added = ProtoWatchWriter.frame(type: .added, typeMeta: Self.podType, object: Self.pod("new", rv: 61))
            let deleted = ProtoWatchWriter.frame(type: .deleted, typeMeta: Self.podType, object: Self.pod("a", rv: 62, labels: [("app", "web")]))
            // Frames split across chunks on purpose.
            let all = hidden + added + deleted
            feed.send(bytes: Array(all[..<7]))
            feed.send(bytes: Array(all[7...]))
            feed.finish()
            let r = await TestClient.collect(parts)
            #expect(r.body == added + deleted, "the filtered event is dropped, the others pass byte for byte")
            #expect(await waitUntil {
                let names = (try? cache.store.list(gvr: "/v1/pods", namespace: "demo"))?.map(\.name) ?? []
                return names == ["b", "new"]
            })
            #expect(try cache.store.get(gvr: "/v1/pods", namespace: "demo", name: "new")?.format == .protobuf)
            await c.close()
        }
    }

    @Test func offlineProtobufWatchReplaysBookmarksAndExpires() async throws {
        try await withCachedProxy(bookmarkInterval: 1) { h, cluster, cache in
            _ = seed(cluster)
            let c = try await h.client()
            _ = try await c.request(.GET, Self.path, headers: Self.kubelet)
            #expect(await waitUntil { (try? cache.store.stats().objects) == 2 })
            let w = try await h.client()
            _ = try await w.request(.GET, Self.path + "?watch=true&timeoutSeconds=1", headers: Self.kubelet)  // confirms the watch access
            await w.close()
            cluster.link = .down
            let r = try await c.request(.GET, Self.path + "?watch=true&resourceVersion=0&allowWatchBookmarks=true&timeoutSeconds=2",
                                        headers: Self.kubelet)
            #expect(r.header("content-type") == "application/vnd.kubernetes.protobuf;stream=watch")
            var s = ProtoWatchSplitter()
            let events = try s.feed(r.body)
            #expect(events.map(\.type) .prefix(2) == [.added, .added])
            #expect(events.prefix(2).map(\.meta.name) == ["a", "b"])
            #expect(events.dropFirst(2).allSatisfy { $0.type == .bookmark && $0.meta.resourceVersion == "50" })
            #expect(events.count >= 3, "at least one bookmark in 2 s at a 1 s interval")

            let old = try await c.request(.GET, Self.path + "?watch=true&resourceVersion=7", headers: Self.kubelet)
            var s2 = ProtoWatchSplitter()
            let expired = try s2.feed(old.body)
            #expect(expired.count == 1 && expired.first?.type == .error)
            #expect(expired.first?.typeMeta.kind == "Status")
            await c.close()
        }
    }

    @Test func protobufOnlyClientGets406ForObjectsCachedAsJSON() async throws {
        try await withCachedProxy { h, cluster, cache in
            cluster.route("/api/v1/namespaces/demo/configmaps", .json(configMapList(rv: 5, items: [configMap("j", rv: 4)])))
            let c = try await h.client()
            _ = try await c.request(.GET, "/api/v1/namespaces/demo/configmaps")
            #expect(await waitUntil { (try? cache.store.stats().objects) == 1 })
            cluster.link = .down
            let kubelet = try await c.request(.GET, "/api/v1/namespaces/demo/configmaps", headers: Self.kubelet)
            #expect(kubelet.status == 200 && kubelet.header("content-type") == "application/json", "*/* takes JSON")
            let only = try await c.request(.GET, "/api/v1/namespaces/demo/configmaps", headers: Self.protobufOnly)
            #expect(only.status == 406)
            #expect(only.bodyString.contains(#""reason":"NotAcceptable""#))
            await c.close()
        }
    }
}
