import NIOCore
import NIOPosix
import OutpostTesting
import Synchronization
import Testing

@testable import OutpostProxy

#if canImport(Glibc)
import Glibc
#endif

/// The local listeners under abuse: stalled heads, idle keep-alives, the connection limit, and
/// the other ways in (a Unix socket), against the fake apiserver.
@Suite("Front door", .serialized, .timeLimit(.minutes(1)))
struct FrontDoorTests {
    static let quick = ConnectionTimeouts(requestHead: .milliseconds(300), idle: .milliseconds(600))

    @Test func aClientThatSendsNothingIsClosedAfterTheHeadTimeout() async throws {
        try await ProxyHarness.with(timeouts: Self.quick, fake: { _ in .json("{}") }) { h in
            let started = ContinuousClock.now  // before the connect: the server's clock starts after it
            let raw = try await RawConnection.connect(port: h.proxyPort, group: h.group)
            #expect(await raw.waitClosed(timeout: .seconds(3)))
            #expect(ContinuousClock.now - started >= .milliseconds(250))
            #expect(raw.text.isEmpty, "nothing was asked, so nothing is answered")
        }
    }

    @Test func aSlowHeadGetsA408StatusAndIsClosed() async throws {
        try await ProxyHarness.with(timeouts: ConnectionTimeouts(requestHead: .seconds(1)), fake: { _ in .json("{}") }) { h in
            let raw = try await RawConnection.connect(port: h.proxyPort, group: h.group)
            try await raw.send("GET /api/v1/pods HTTP/1.1\r\nHost: x\r\n")
            try await Task.sleep(for: .milliseconds(150))
            try await raw.send("X-Slow: 1\r\n")  // dribbling does not extend the deadline
            #expect(await raw.waitClosed(timeout: .seconds(3)))
            #expect(raw.text.hasPrefix("HTTP/1.1 408 "))
            #expect(raw.text.contains(#""reason":"Timeout""#) && raw.text.contains(#""code":408"#))
            #expect(h.fake.requests.isEmpty)
        }
    }

    @Test func anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout() async throws {
        let timeouts = ConnectionTimeouts(requestHead: .milliseconds(300), idle: .seconds(2))
        try await ProxyHarness.with(timeouts: timeouts, fake: { _ in .json("{}") }) { h in
            let raw = try await RawConnection.connect(port: h.proxyPort, group: h.group)
            // Requests spaced over the head timeout but under the idle timeout keep it open.
            for _ in 0..<3 {
                try await raw.send("GET /api HTTP/1.1\r\nHost: x\r\n\r\n")
                try await Task.sleep(for: .milliseconds(500))
                #expect(!raw.isClosed)
            }
            #expect(raw.text.ranges(of: "HTTP/1.1 200 OK").count == 3)
            #expect(await raw.waitClosed(timeout: .seconds(5)), "then idle for longer than the idle timeout")
        }
    }

    @Test func watchesAndSlowResponsesOutliveEveryTimeout() async throws {
        let feed = StreamFeed()
        try await ProxyHarness.with(timeouts: Self.quick, fake: { r in
            r.uri.contains("watch") ? .stream(status: 200, headers: [("Content-Type", "application/json")], feed: feed) : .json("{}")
        }) { h in
            let c = try await h.client()
            let parts = try await c.send(.GET, "/api/v1/pods?watch=true")
            var it = parts.makeAsyncIterator()
            guard case .head(200, _) = await it.next() else { Issue.record("head"); return }
            try await Task.sleep(for: .milliseconds(1500))  // over both timeouts, nothing sent
            feed.send(#"{"type":"ADDED","object":{}}"# + "\n")
            guard case .body = await it.next() else { Issue.record("the watch was cut"); return }
            feed.finish()
            guard case .end = await it.next() else { Issue.record("end"); return }
            await c.close()
        }
    }

    @Test func atTheLimitTheOldestIdleConnectionMakesRoom() async throws {
        try await ProxyHarness.with(timeouts: ConnectionTimeouts(requestHead: .seconds(30)), maxConnections: 4,
                                    fake: { _ in .json(#"{"kind":"Status"}"#) }) { h in
            var stalled: [RawConnection] = []
            for _ in 0..<4 {
                stalled.append(try await RawConnection.connect(port: h.proxyPort, group: h.group))
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(await waitUntil { h.proxy.connectionCount == 4 })
            let c = try await h.client()
            let r = try await c.request(.GET, "/api")
            #expect(r.status == 200, "a client that sends a request still gets in")
            #expect(await stalled[0].waitClosed(timeout: .seconds(2)), "the oldest stalled connection was closed")
            #expect(!stalled[3].isClosed)
            #expect(h.metrics.render().contains(#"outpost_client_connections_closed_total{reason="evicted"} 1"#))
            await c.close()
            for s in stalled { await s.close() }
        }
    }

    @Test func whenEveryConnectionIsBusyANewOneGetsA429() async throws {
        try await ProxyHarness.with(maxConnections: 2, fake: { r in
            r.uri.hasPrefix("/hang") ? .hangAfterHeaders(status: 200, headers: []) : .json("{}")
        }) { h in
            var busy: [AsyncStream<TestClient.Part>] = []
            var clients: [TestClient] = []
            for _ in 0..<2 {
                let c = try await h.client()
                clients.append(c)
                let parts = try await c.send(.GET, "/hang")
                busy.append(parts)
            }
            #expect(await waitUntil { h.fake.requests.count == 2 })
            let c = try await h.client()
            let r = try await c.request(.GET, "/api")
            #expect(r.status == 429)
            #expect(r.header("retry-after") == "1")
            #expect(r.bodyString.contains(#""reason":"TooManyRequests""#))
            #expect(r.bodyString.contains("Too many requests, please try again later."))
            // The admin port has its own limit and keeps answering.
            let admin = try await TestClient.connect(port: h.adminPort, group: h.group)
            #expect(try await admin.request(.GET, "/healthz").status == 200)
            await admin.close()
            for c in clients + [c] { await c.close() }
            _ = busy
        }
    }

    @Test func theUnixSocketServesTheSameRequestsWithTheModeAsked() async throws {
        let path = "/tmp/outpost-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        defer { unlink(path) }
        // A stale socket file (its process died) is replaced.
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(stale)

        try await ProxyHarness.with(extraListeners: [ListenerSpec(.unix(path: path, mode: 0o600), flag: "--unix-socket")],
                                    fake: { _ in .json(#"{"kind":"APIVersions"}"#) }) { h in
            var st = stat()
            #expect(lstat(path, &st) == 0)
            #expect(st.st_mode & 0o777 == 0o600)
            #expect(st.st_mode & S_IFMT == S_IFSOCK)
            let raw = try await RawConnection.connect(unixSocket: path, group: h.group)
            try await raw.send("GET /api HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(await raw.waitFor(#"{"kind":"APIVersions"}"#))
            #expect(raw.text.hasPrefix("HTTP/1.1 200 OK"))
            #expect(h.fake.requests.last?.header("authorization") == "Bearer outpost-secret-token")
            await raw.close()
        }
        #expect(access(path, F_OK) != 0, "the socket file is removed at exit")
    }

    @Test func aListenerThatCannotBindIsAnErrorNamingTheAddress() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let holder = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = holder.localAddress!.port!
        let spec = ListenerSpec(.tcp(host: "127.0.0.1", port: port), flag: "--listen")
        do {
            _ = try await spec.bind(ServerBootstrap(group: group))
            Issue.record("bound a port another socket listens on")
        } catch let e as ListenError {
            #expect(e.description == "cannot listen on 127.0.0.1:\(port) (--listen): Address already in use")
        }
        let file = "/tmp/outpost-test-notasocket-\(getpid())"
        let fd = open(file, O_CREAT | O_WRONLY, 0o600)
        close(fd)
        defer { unlink(file) }
        do {
            _ = try await ListenerSpec(.unix(path: file, mode: 0o660), flag: "--unix-socket").bind(ServerBootstrap(group: group))
            Issue.record("replaced a regular file")
        } catch let e as ListenError {
            #expect(e.description == "cannot listen on unix:\(file) (--unix-socket): \(file) exists and is not a socket")
        }
        #expect(access(file, F_OK) == 0, "the file is left alone")
        try await holder.close()
        try await group.shutdownGracefully()
    }
}
