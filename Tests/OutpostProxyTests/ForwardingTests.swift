import NIOCore
import NIOHTTP1
import OutpostTesting
import Synchronization
import Testing

@testable import OutpostProxy

@Suite("Forwarding against the fake apiserver", .timeLimit(.minutes(1)))
struct ForwardingTests {
    @Test func forwardsQueryAndHeadersAndInjectsCredentials() async throws {
        try await ProxyHarness.with(fake: { _ in .json(#"{"kind":"PodList","items":[]}"#) }) { h in
            let c = try await h.client()
            let uri = "/api/v1/namespaces/d/pods?labelSelector=app%3Dweb%2Ctier+in+%28a%2Cb%29&fieldSelector=spec.nodeName%3Dn1&limit=5"
            let r = try await c.request(.GET, uri, headers: [("Accept", "application/json"), ("Connection", "keep-alive"), ("X-Custom", "v")])
            #expect(r.status == 200)
            #expect(r.bodyString == #"{"kind":"PodList","items":[]}"#)
            let seen = try #require(h.fake.requests.last)
            #expect(seen.uri == uri, "the query string must pass untouched")
            #expect(seen.header("authorization") == "Bearer outpost-secret-token")
            #expect(seen.header("x-custom") == "v")
            #expect(seen.header("host") == "127.0.0.1:\(h.fakePort)")
            // the client's own credentials win
            _ = try await c.request(.GET, "/api", headers: [("Authorization", "Bearer client-token")])
            #expect(h.fake.requests.last?.header("authorization") == "Bearer client-token")
            await c.close()
        }
    }

    @Test func keepAliveReusesOneUpstreamConnection() async throws {
        try await ProxyHarness.with(fake: { _ in .json("{}") }) { h in
            let c = try await h.client()
            for _ in 0..<5 { #expect(try await c.request(.GET, "/api/v1/pods").status == 200) }
            #expect(h.fake.connectionCount == 1)
            await c.close()
        }
    }

    @Test func streamsWatchEventsAsTheyArrive() async throws {
        let feed = StreamFeed()
        try await ProxyHarness.with(fake: { _ in
            .stream(status: 200, headers: [("Content-Type", "application/json")], feed: feed)
        }) { h in
            let c = try await h.client()
            let parts = try await c.send(.GET, "/api/v1/pods?watch=true&allowWatchBookmarks=true")
            var it = parts.makeAsyncIterator()
            guard case .head(200, _) = await it.next() else { Issue.record("head"); return }
            for i in 0..<3 {
                let event = #"{"type":"ADDED","object":{"metadata":{"name":"p\#(i)"}}}"# + "\n"
                let sent = ContinuousClock.now
                feed.send(event)
                guard case .body(let b) = await it.next() else { Issue.record("event \(i)"); return }
                #expect(String(decoding: b, as: UTF8.self) == event)
                #expect(ContinuousClock.now - sent < .seconds(1), "events must be flushed per chunk")
            }
            feed.finish()
            guard case .end = await it.next() else { Issue.record("end"); return }
            await c.close()
        }
    }

    @Test func largeRequestBodyIsStreamedIntact() async throws {
        try await ProxyHarness.with(fake: { r in .json("{\"got\":\(r.body.count)}", status: 201) }) { h in
            let c = try await h.client()
            var body = [UInt8](repeating: 0, count: 5 * 1024 * 1024 + 7)
            for i in body.indices { body[i] = UInt8(truncatingIfNeeded: i &* 31) }
            let r = try await c.request(.POST, "/api/v1/namespaces/d/configmaps", headers: [("Content-Type", "application/json")], body: body)
            #expect(r.status == 201)
            #expect(r.bodyString == "{\"got\":\(body.count)}")
            #expect(h.fake.requests.last?.body == body)
            await c.close()
        }
    }

    @Test func gzipPassesThroughUnchanged() async throws {
        let gz: [UInt8] = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03]
        try await ProxyHarness.with(fake: { _ in
            .respond(status: 200, headers: [("Content-Encoding", "gzip"), ("Content-Type", "application/json")],
                     chunks: [.init(bytes: gz)], contentLength: false)
        }) { h in
            let c = try await h.client()
            let r = try await c.request(.GET, "/api/v1/pods", headers: [("Accept-Encoding", "gzip")])
            #expect(r.header("content-encoding") == "gzip")
            #expect(r.body == gz)
            #expect(h.fake.requests.last?.header("accept-encoding") == "gzip")
            await c.close()
        }
    }

    @Test func upstream5xxPassesThrough() async throws {
        let status = #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"etcd down","reason":"InternalError","code":500}"#
        try await ProxyHarness.with(fake: { _ in .json(status, status: 500) }) { h in
            let c = try await h.client()
            let r = try await c.request(.GET, "/api/v1/pods")
            #expect(r.status == 500)
            #expect(r.bodyString == status)
            await c.close()
        }
    }

    @Test func unreachableUpstreamIs503Status() async throws {
        // a port nobody listens on
        try await ProxyHarness.with(upstreamPort: 1, fake: { _ in .json("{}") }) { h in
            let c = try await h.client()
            let r = try await c.request(.GET, "/api/v1/pods")
            #expect(r.status == 503)
            #expect(r.header("content-type") == "application/json")
            #expect(r.bodyString.contains(#""kind":"Status""#))
            #expect(r.bodyString.contains(#""reason":"ServiceUnavailable""#))
            #expect(r.bodyString.contains(#""code":503"#))
            #expect(!h.health.snapshot.everReached)
            await c.close()
        }
    }

    @Test func hangBeforeHeadersIs504Status() async throws {
        try await ProxyHarness.with(settings: ProxySettings(responseHeadTimeout: .milliseconds(300)),
                                    fake: { _ in .hangBeforeHeaders }) { h in
            let c = try await h.client()
            let r = try await c.request(.GET, "/api/v1/pods")
            #expect(r.status == 504)
            #expect(r.bodyString.contains(#""reason":"Timeout""#))
            await c.close()
        }
    }

    @Test func closeBeforeResponseIs502Status() async throws {
        try await ProxyHarness.with(fake: { _ in .closeImmediately }) { h in
            let c = try await h.client()
            let r = try await c.request(.GET, "/api/v1/pods")
            #expect(r.status == 502)
            #expect(r.bodyString.contains(#""kind":"Status""#))
            await c.close()
        }
    }

    @Test func dropMidStreamIsNotPresentedAsComplete() async throws {
        try await ProxyHarness.with(fake: { _ in
            .dropAfter(status: 200, headers: [("Content-Type", "application/json")], chunks: [.init(#"{"kind":"PodList","items":[{"#)])
        }) { h in
            let c = try await h.client()
            let r = try await c.request(.GET, "/api/v1/pods")
            #expect(r.status == 200)
            #expect(!r.complete, "a truncated body must end in a closed connection, not a clean end")
            await c.close()
        }
    }

    @Test func hangAfterHeadersIsNotTimedOut() async throws {
        try await ProxyHarness.with(settings: ProxySettings(responseHeadTimeout: .milliseconds(200)),
                                    fake: { _ in .hangAfterHeaders(status: 200, headers: []) }) { h in
            let c = try await h.client()
            let parts = try await c.send(.GET, "/api/v1/pods?watch=1")
            var it = parts.makeAsyncIterator()
            guard case .head(200, _) = await it.next() else { Issue.record("head"); return }
            try await Task.sleep(for: .milliseconds(500))
            #expect(c.underlying.isActive, "a quiet watch stays open past the head timeout")
            await c.close()
        }
    }

    @Test func clientDisconnectCancelsUpstream() async throws {
        let feed = StreamFeed()
        try await ProxyHarness.with(fake: { _ in .stream(status: 200, headers: [], feed: feed) }) { h in
            let c = try await h.client()
            let parts = try await c.send(.GET, "/api/v1/pods?watch=true")
            var it = parts.makeAsyncIterator()
            _ = await it.next()
            #expect(h.fake.connectionCount == 1)
            await c.close()
            #expect(await waitUntil { h.fake.connectionCount == 0 }, "the upstream watch must be closed when its client leaves")
        }
    }

    @Test func staleIdleUpstreamConnectionIsRetried() async throws {
        try await ProxyHarness.with(fake: { _ in .json("{}") }) { h in
            let c = try await h.client()
            #expect(try await c.request(.GET, "/api/v1/pods").status == 200)
            h.fake.killConnections()  // the pooled connection dies while idle
            try await Task.sleep(for: .milliseconds(50))
            #expect(try await c.request(.GET, "/api/v1/pods").status == 200)
            await c.close()
        }
    }

    @Test func upgradeIsTunnelledBothWays() async throws {
        try await ProxyHarness.with(fake: { _ in .upgradeEcho(greeting: Array("hello-from-kubelet\n".utf8)) }) { h in
            let raw = try await RawConnection.connect(port: h.proxyPort, group: h.group)
            try await raw.send("POST /api/v1/namespaces/d/pods/p/exec?command=sh&stdin=true HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nContent-Length: 0\r\n\r\n")
            #expect(await raw.waitFor("101 Switching Protocols"))
            #expect(await raw.waitFor("hello-from-kubelet"))
            try await raw.send("ping-1")
            #expect(await raw.waitFor("ping-1"))
            try await raw.send(String(repeating: "z", count: 200_000) + "END")
            #expect(await raw.waitFor("END", timeout: .seconds(10)))
            #expect(h.fake.requests.last?.header("upgrade") == "SPDY/3.1")
            await raw.close()
        }
    }

    @Test func garbageRequestGets400AndNoCrash() async throws {
        try await ProxyHarness.with(fake: { _ in .json("{}") }) { h in
            let raw = try await RawConnection.connect(port: h.proxyPort, group: h.group)
            try await raw.send("\u{01}\u{02}NOT HTTP AT ALL\r\n\r\n")
            #expect(await raw.waitFor("400"))
            let huge = try await RawConnection.connect(port: h.proxyPort, group: h.group)
            try await huge.send("GET /api HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 200_000) + "\r\n\r\n")
            #expect(await huge.waitFor("HTTP/1.1 4"), "an oversized header is a 4xx")
            // and the proxy still serves
            let c = try await h.client()
            #expect(try await c.request(.GET, "/api").status == 200)
            await c.close()
        }
    }

    @Test func gracefulShutdownEndsWatches() async throws {
        let feed = StreamFeed()
        let ended = Flag()
        try await ProxyHarness.with(fake: { _ in .stream(status: 200, headers: [], feed: feed) }) { h in
            let c = try await h.client()
            let parts = try await c.send(.GET, "/api/v1/pods?watch=true")
            Task {
                for await p in parts { if case .end = p { ended.set() } }
            }
            try await Task.sleep(for: .milliseconds(100))
            await h.serviceGroup.triggerGracefulShutdown()
            #expect(await waitUntil { ended.isSet }, "a watch ends with a clean chunked end on shutdown")
        }
    }
}

@Suite("Admin endpoints", .timeLimit(.minutes(1)))
struct AdminTests {
    @Test func healthReadinessAndMetrics() async throws {
        try await ProxyHarness.with(fake: { _ in .json("{}") }) { h in
            let admin = try await TestClient.connect(port: h.adminPort, group: h.group)
            #expect(try await admin.request(.GET, "/healthz").bodyString == "ok")
            let before = try await admin.request(.GET, "/readyz")
            #expect(before.status == 503)
            #expect(before.bodyString.contains("not been reached"))
            let c = try await h.client()
            _ = try await c.request(.GET, "/api/v1/namespaces/default/pods")
            let after = try await admin.request(.GET, "/readyz")
            #expect(after.status == 200)
            let m = try await admin.request(.GET, "/metrics").bodyString
            #expect(m.contains("outpost_requests_total{"))
            #expect(m.contains("code=\"200\"} 1"))
            #expect(try await admin.request(.GET, "/nope").status == 404)
            await c.close()
            await admin.close()
        }
    }
}
