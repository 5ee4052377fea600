import EdgeCache
import Filters
import KubeProto
import NIOHTTP1
import OutpostTesting
import Testing
@testable import EdgeCache

/// Which object a create names, read from its body as the apiserver would.
@Suite("CreateAnswer target")
struct CreateTargetTests {
    /// A protobuf body: `k8s\0` + Unknown{typeMeta, raw: Pod{metadata: {name, namespace}}}.
    static func protobufPod(name: String, namespace: String) -> [UInt8] {
        func field(_ n: UInt8, _ bytes: [UInt8]) -> [UInt8] { [n << 3 | 2, UInt8(bytes.count)] + bytes }
        let meta = field(1, Array(name.utf8)) + (namespace.isEmpty ? [] : field(3, Array(namespace.utf8)))
        return ProtoEnvelope.encode(typeMeta: ProtoTypeMeta(apiVersion: "v1", kind: "Pod"), raw: field(1, meta))
    }

    @Test func jsonAndProtobufBodiesNameTheObject() {
        let json = Array(#"{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","labels":{"a":"b"}},"spec":{}}"#.utf8)
        #expect(CreateAnswer.target(of: json, contentType: "application/json", namespace: "")! == ("", "n1"))
        #expect(CreateAnswer.target(of: json, contentType: nil, namespace: "")! == ("", "n1"))
        #expect(CreateAnswer.target(of: json, contentType: "application/json; charset=utf-8", namespace: "")! == ("", "n1"))
        let pb = Self.protobufPod(name: "p1", namespace: "demo")
        #expect(CreateAnswer.target(of: pb, contentType: "application/vnd.kubernetes.protobuf", namespace: "demo")! == ("demo", "p1"))
        let pbNoNamespace = Self.protobufPod(name: "p2", namespace: "")
        #expect(CreateAnswer.target(of: pbNoNamespace, contentType: "application/vnd.kubernetes.protobuf", namespace: "demo")! == ("demo", "p2"))
    }

    /// Whatever the apiserver would not answer 409 for, or what cannot be read, has no target
    /// (the answer stays 503).
    @Test func unknowableCreatesHaveNoTarget() {
        let generated = Array(#"{"kind":"Pod","metadata":{"generateName":"web-"}}"#.utf8)
        #expect(CreateAnswer.target(of: generated, contentType: "application/json", namespace: "demo") == nil)
        let otherNamespace = Array(#"{"kind":"Pod","metadata":{"name":"a","namespace":"other"}}"#.utf8)
        #expect(CreateAnswer.target(of: otherNamespace, contentType: "application/json", namespace: "demo") == nil)
        let yaml = Array("kind: Pod\nmetadata:\n  name: a\n".utf8)
        #expect(CreateAnswer.target(of: yaml, contentType: "application/yaml", namespace: "demo") == nil)
        #expect(CreateAnswer.target(of: Array(#"{"kind":"Pod","metadata":{"name":"a""#.utf8), contentType: "application/json", namespace: "demo") == nil)
        #expect(CreateAnswer.target(of: [], contentType: "application/json", namespace: "demo") == nil)
        #expect(CreateAnswer.target(of: Array(#"{"kind":"Pod"}"#.utf8), contentType: "application/vnd.kubernetes.protobuf", namespace: "demo") == nil)
    }

    @Test func alreadyExistsIsTheApiserversBody() {
        let core = CreateAnswer.alreadyExists(Collection(group: "", version: "v1", resource: "nodes"), name: "n1")
        #expect(String(buffer: core.body).trimmingSuffixNewline == #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"nodes \"n1\" already exists","reason":"AlreadyExists","details":{"name":"n1","kind":"nodes"},"code":409}"#)
        #expect(core.head.status.code == 409)
        let grouped = CreateAnswer.alreadyExists(Collection(group: "coordination.k8s.io", version: "v1", resource: "leases"), name: "l")
        #expect(String(buffer: grouped.body).trimmingSuffixNewline == #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"leases.coordination.k8s.io \"l\" already exists","reason":"AlreadyExists","details":{"name":"l","group":"coordination.k8s.io","kind":"leases"},"code":409}"#)
    }
}

/// Offline creates through Outpost in front of a fake apiserver.
@Suite("Offline creates", .serialized)
struct OfflineCreateTests {
    static let path = "/api/v1/namespaces/demo/configmaps"

    static func body(_ name: String) -> [UInt8] {
        Array(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"\#(name)"},"data":{"k":"v"}}"#.utf8)
    }

    /// Online: lists the namespace (caches a, b) and creates "made" (201; the apiserver allowed
    /// Outpost's identity to create configmaps there). Then the link goes down and a read makes
    /// Outpost judge the apiserver offline.
    func warmCreateAndCut(_ h: ProxyHarness, _ cluster: FakeCluster, _ cache: EdgeCache) async throws {
        cluster.route(Self.path, .json(configMapList(rv: 100, items: [configMap("a", rv: 10), configMap("b", rv: 11)])))
        cluster.route(Self.path + "/a", .json(configMap("a", rv: 10, kindAndVersion: true)))
        cluster.authorize { r in
            r.method == "POST" ? .json(configMap("made", rv: 20, kindAndVersion: true), status: 201) : nil
        }
        let c = try await h.client()
        #expect(try await c.request(.GET, Self.path).status == 200)
        #expect(try await c.request(.GET, Self.path + "/a").status == 200)
        let made = try await c.request(.POST, Self.path, headers: [("Content-Type", "application/json")], body: Self.body("made"))
        #expect(made.status == 201)
        #expect(await waitUntil { ((try? cache.store.stats().objects) ?? 0) >= 2 })
        cluster.link = .down
        // Two failed requests in a row: offline.
        for _ in 0..<3 { _ = try? await c.request(.GET, "/api/v1/namespaces/demo/secrets") }
        await c.close()
    }

    @Test func createOfACachedObjectIs409AndEverythingElse503() async throws {
        try await withCachedProxy { h, cluster, cache in
            try await warmCreateAndCut(h, cluster, cache)
            let c = try await h.client()
            // "a" was read online and is cached.
            let a = try await c.request(.POST, Self.path, headers: [("Content-Type", "application/json")], body: Self.body("a"))
            #expect(a.status == 409)
            #expect(a.bodyString.trimmingSuffixNewline == #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"a\" already exists","reason":"AlreadyExists","details":{"name":"a","kind":"configmaps"},"code":409}"#)
            // Not cached: the apiserver might have created it.
            let fresh = try await c.request(.POST, Self.path, headers: [("Content-Type", "application/json")], body: Self.body("fresh"))
            #expect(fresh.status == 503)
            #expect(fresh.bodyString.contains(#""reason":"ServiceUnavailable""#))
            // generateName: the apiserver picks a name.
            let gen = try await c.request(.POST, Self.path, headers: [("Content-Type", "application/json")],
                                          body: Array(#"{"kind":"ConfigMap","metadata":{"generateName":"a"}}"#.utf8))
            #expect(gen.status == 503)
            // "b" was never read by name: the list of the namespace covers a get of it.
            let b = try await c.request(.POST, Self.path, headers: [("Content-Type", "application/json")], body: Self.body("b"))
            #expect(b.status == 409)
            // Another caller, never confirmed by the apiserver: existence is not disclosed.
            let stranger = try await c.request(.POST, Self.path, headers: [("Content-Type", "application/json"), ("Authorization", "Bearer stranger")],
                                               body: Self.body("a"))
            #expect(stranger.status == 503)
            // Updates and deletes stay 503.
            let put = try await c.request(.PUT, Self.path + "/a", headers: [("Content-Type", "application/json")], body: Self.body("a"))
            #expect(put.status == 503)
            // The connection is still usable after local answers that read a body.
            #expect(try await c.request(.GET, Self.path).status == 200)
            await c.close()
        }
    }

    /// While the apiserver is not yet judged offline, a create is the apiserver's to answer: the
    /// cached object never stands in as a fallback (the apiserver may have acted on the request).
    @Test func noFallbackWhileNotJudgedOffline() async throws {
        try await withCachedProxy { h, cluster, cache in
            cluster.route(Self.path, .json(configMapList(rv: 100, items: [configMap("a", rv: 10)])))
            cluster.authorize { r in
                r.method == "POST" ? .json(configMap("made", rv: 20, kindAndVersion: true), status: 201) : nil
            }
            let c = try await h.client()
            #expect(try await c.request(.GET, Self.path).status == 200)
            #expect(try await c.request(.POST, Self.path, headers: [("Content-Type", "application/json")], body: Self.body("made")).status == 201)
            #expect(await waitUntil { ((try? cache.store.stats().objects) ?? 0) >= 2 })
            cluster.link = .down
            do {
                let first = try await c.request(.POST, Self.path, headers: [("Content-Type", "application/json")], body: Self.body("a"))
                #expect(first.status != 409 && first.status >= 500, "the first failure is the apiserver's to report, not the cache's")
                #expect(!first.bodyString.contains("AlreadyExists"))
            } catch {
                // The proxy may answer the failed exchange and close before the client finished
                // writing the body (the client then sees a closed channel): no 409 either.
            }
            await c.close()
        }
    }

    /// A node rebooting into an outage: Outpost and kubelet start together, and kubelet's create
    /// of its Node goes out before Outpost has judged the apiserver unreachable. It waits for the
    /// verdict (no timer), then the cache answers it from the body it kept: 409, not a 504 after
    /// a minute.
    @Test func aCreateWaitingWhenTheApiserverIsJudgedOfflineGetsTheCachedAnswer() async throws {
        try await withCachedProxy { h, cluster, cache in
            cluster.route(Self.path, .json(configMapList(rv: 100, items: [configMap("a", rv: 10)])))
            cluster.authorize { r in
                r.method == "POST" ? .json(configMap("made", rv: 20, kindAndVersion: true), status: 201) : nil
            }
            let c = try await h.client()
            #expect(try await c.request(.GET, Self.path).status == 200)
            #expect(try await c.request(.POST, Self.path, headers: [("Content-Type", "application/json")], body: Self.body("made")).status == 201)
            #expect(await waitUntil { ((try? cache.store.stats().objects) ?? 0) >= 2 })
            await c.close()
            cluster.link = .silent
            h.health.recordFailure("test: the link went silent")     // suspect: no longer believed healthy
            let c2 = try await h.client()
            let health = h.health
            let started = ContinuousClock.now
            async let pending = c2.request(.POST, Self.path, headers: [("Content-Type", "application/json")], body: Self.body("a"))
            try await Task.sleep(for: .milliseconds(600))             // well past the reads' 200 ms fallback
            health.recordFailure("test: still silent")                // offline: the verdict
            let answer = try await pending
            await c2.close()
            #expect(answer.status == 409)
            #expect(answer.bodyString.contains(#""reason":"AlreadyExists""#))
            #expect(ContinuousClock.now - started >= .milliseconds(600), "answered on the verdict, not on a timer")
        }
    }

    @Test func aCallerNeverAllowedToCreateGets503() async throws {
        try await withCachedProxy { h, cluster, cache in
            cluster.route(Self.path, .json(configMapList(rv: 100, items: [configMap("a", rv: 10)])))
            let c = try await h.client()
            #expect(try await c.request(.GET, Self.path).status == 200)
            #expect(await waitUntil { ((try? cache.store.stats().objects) ?? 0) >= 1 })
            cluster.link = .down
            for _ in 0..<3 { _ = try? await c.request(.GET, "/api/v1/namespaces/demo/secrets") }
            let a = try await c.request(.POST, Self.path, headers: [("Content-Type", "application/json")], body: Self.body("a"))
            #expect(a.status == 503, "never allowed to create configmaps here: no 409")
            await c.close()
        }
    }
}

private extension String {
    var trimmingSuffixNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}
