import NIOCore
import NIOHTTP1
import Testing

@testable import OutpostProxy

@Suite("ForwardingStateMachine")
struct ForwardingStateMachineTests {
    func head(_ method: HTTPMethod = .GET, _ uri: String = "/api/v1/pods", headers: [(String, String)] = [], keepAlive: Bool = true) -> HTTPRequestHead {
        var h = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers))
        if !keepAlive { h.headers.add(name: "Connection", value: "close") }
        return h
    }

    @Test func simpleGetForwardsAndCompletes() {
        var m = ForwardingStateMachine()
        guard case .acquireUpstream = m.requestHead(head()) else { Issue.record("expected acquire"); return }
        #expect(m.requestEnd().isNone)
        guard case .sendRequest(_, let buffered, let end) = m.upstreamConnected() else { Issue.record("expected send"); return }
        #expect(buffered.isEmpty)
        #expect(end)
        guard case .forwardResponseHead = m.responseHead(HTTPResponseHead(version: .http1_1, status: .ok)) else { Issue.record("head"); return }
        guard case .forwardResponseBody(let b) = m.responseBody(ByteBuffer(string: "x")) else { Issue.record("body"); return }
        #expect(b.readableBytes == 1)
        guard case .completeResponse(_, let reuse, let close) = m.responseEnd(nil, upstreamKeepAlive: true) else { Issue.record("end"); return }
        #expect(reuse)
        #expect(!close)
        guard case .idle = m.state else { Issue.record("not idle"); return }
    }

    @Test func bodyPartsAreBufferedWhileConnectingAndReadsPause() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head(.POST))
        #expect(m.mayReadClient)
        _ = m.requestBody(.byteBuffer(ByteBuffer(string: "abc")))
        #expect(!m.mayReadClient, "one chunk is buffered; reading pauses until the upstream is ready")
        guard case .sendRequest(_, let buffered, let end) = m.upstreamConnected() else { Issue.record("send"); return }
        #expect(buffered.count == 1)
        #expect(!end)
        #expect(m.mayReadClient)
        guard case .forwardRequestBody = m.requestBody(.byteBuffer(ByteBuffer(string: "d"))) else { Issue.record("fwd"); return }
        guard case .forwardRequestEnd = m.requestEnd() else { Issue.record("end"); return }
    }

    @Test func connectFailureAnswers503() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head())
        guard case .respondWithError(.connectFailed(let why), let closeUp) = m.upstreamConnectFailed("refused") else {
            Issue.record("expected error"); return
        }
        #expect(why == "refused")
        #expect(!closeUp)
    }

    @Test func upstreamDeathBeforeHeadIs502AfterHeadAbortsClient() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head()); _ = m.requestEnd(); _ = m.upstreamConnected()
        guard case .respondWithError(.upstreamClosedBeforeResponse, true) = m.upstreamFailed("eof") else { Issue.record("502"); return }

        var n = ForwardingStateMachine()
        _ = n.requestHead(head()); _ = n.requestEnd(); _ = n.upstreamConnected()
        _ = n.responseHead(HTTPResponseHead(version: .http1_1, status: .ok))
        guard case .abortClient = n.upstreamFailed("eof") else { Issue.record("abort"); return }
    }

    @Test func staleReusedConnectionRetriesIdempotentRequestOnce() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head()); _ = m.requestEnd(); _ = m.upstreamConnected()
        guard case .acquireUpstream(let h) = m.upstreamFailed("reset", retryable: true) else { Issue.record("retry"); return }
        #expect(h.uri == "/api/v1/pods")
        guard case .sendRequest(_, _, true) = m.upstreamConnected() else { Issue.record("resend"); return }
        // a POST is never retried
        var p = ForwardingStateMachine()
        _ = p.requestHead(head(.POST)); _ = p.requestEnd(); _ = p.upstreamConnected()
        guard case .respondWithError = p.upstreamFailed("reset", retryable: true) else { Issue.record("no retry for POST"); return }
    }

    @Test func responseTimeoutOnlyBeforeHead() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head()); _ = m.requestEnd(); _ = m.upstreamConnected()
        guard case .respondWithError(.responseTimeout, true) = m.responseTimedOut() else { Issue.record("504"); return }
        var n = ForwardingStateMachine()
        _ = n.requestHead(head()); _ = n.requestEnd(); _ = n.upstreamConnected()
        _ = n.responseHead(HTTPResponseHead(version: .http1_1, status: .ok))
        #expect(n.responseTimedOut().isNone, "a watch that is streaming never times out")
    }

    @Test func clientCloseCancelsUpstream() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head()); _ = m.requestEnd(); _ = m.upstreamConnected()
        _ = m.responseHead(HTTPResponseHead(version: .http1_1, status: .ok))
        guard case .closeUpstream = m.clientClosed() else { Issue.record("cancel"); return }
        // and a connection that arrives after the client left is closed
        var n = ForwardingStateMachine()
        _ = n.requestHead(head())
        _ = n.clientClosed()
        guard case .closeUpstream = n.upstreamConnected() else { Issue.record("late connect"); return }
    }

    @Test func earlyResponseDrainsRequestAndDoesNotReuseUpstream() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head(.POST)); _ = m.upstreamConnected()
        _ = m.responseHead(HTTPResponseHead(version: .http1_1, status: .payloadTooLarge))
        guard case .completeResponse(_, false, false) = m.responseEnd(nil, upstreamKeepAlive: true) else { Issue.record("no reuse"); return }
        guard case .drainingRequest = m.state else { Issue.record("draining"); return }
        #expect(m.requestBody(.byteBuffer(ByteBuffer(string: "late"))).isNone)
        _ = m.requestEnd()
        guard case .idle = m.state else { Issue.record("idle"); return }
    }

    @Test func upgradeOnlyWhenAsked() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head(.POST, "/api/v1/namespaces/d/pods/p/exec", headers: [("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1")]))
        _ = m.requestEnd(); _ = m.upstreamConnected()
        #expect(m.responseHead(HTTPResponseHead(version: .http1_1, status: .switchingProtocols)).isNone,
                "the tunnel waits for the 101's end so the decoder's .end never enters it")
        guard case .startTunnel = m.responseEnd(nil, upstreamKeepAlive: true) else { Issue.record("tunnel"); return }

        var n = ForwardingStateMachine()
        _ = n.requestHead(head()); _ = n.requestEnd(); _ = n.upstreamConnected()
        guard case .respondWithError = n.responseHead(HTTPResponseHead(version: .http1_1, status: .switchingProtocols)) else {
            Issue.record("unsolicited 101 must not open a tunnel"); return
        }
    }

    @Test func connectionCloseRequestClosesClientAfterResponse() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head(keepAlive: false)); _ = m.requestEnd(); _ = m.upstreamConnected()
        _ = m.responseHead(HTTPResponseHead(version: .http1_1, status: .ok))
        guard case .completeResponse(_, true, true) = m.responseEnd(nil, upstreamKeepAlive: true) else { Issue.record("close"); return }
    }

    @Test func shutdownEndsStreamingResponseCleanly() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head(.GET, "/api/v1/pods?watch=true")); _ = m.requestEnd(); _ = m.upstreamConnected()
        #expect(m.endStreamForShutdown().isNone, "nothing to end before the response started")
        _ = m.responseHead(HTTPResponseHead(version: .http1_1, status: .ok))
        guard case .completeResponse(nil, false, true) = m.endStreamForShutdown() else { Issue.record("end watch"); return }
    }
}

extension ForwardingStateMachine.Action {
    var isNone: Bool {
        if case .none = self { return true }
        return false
    }
}

@Suite("HeaderPolicy")
struct HeaderPolicyTests {
    @Test func requestHeadersAreRewritten() {
        let client = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/api/v1/pods?labelSelector=a%3Db", headers: HTTPHeaders([
            ("Host", "127.0.0.1:10261"), ("Connection", "keep-alive, X-Private"), ("Keep-Alive", "timeout=5"),
            ("X-Private", "1"), ("Accept", "application/json"), ("Proxy-Authorization", "Basic zzz"), ("TE", "trailers"),
        ]))
        let up = HeaderPolicy.upstreamRequestHead(client, basePath: "/base", hostHeader: "api.example:6443", authorization: "Bearer T")
        #expect(up.uri == "/base/api/v1/pods?labelSelector=a%3Db")
        #expect(up.headers["host"] == ["api.example:6443"])
        #expect(up.headers["authorization"] == ["Bearer T"])
        #expect(up.headers["accept"] == ["application/json"])
        for gone in ["connection", "keep-alive", "x-private", "proxy-authorization", "te"] {
            #expect(!up.headers.contains(name: gone), "\(gone) must not cross the proxy")
        }
    }

    @Test func clientAuthorizationWins() {
        let client = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/api", headers: HTTPHeaders([("Authorization", "Bearer mine")]))
        let up = HeaderPolicy.upstreamRequestHead(client, basePath: "", hostHeader: "h", authorization: "Bearer outpost")
        #expect(up.headers["authorization"] == ["Bearer mine"])
    }

    @Test func upgradeHeadersSurvive() {
        let client = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/x", headers: HTTPHeaders([("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1")]))
        #expect(HeaderPolicy.isUpgradeRequest(client.headers))
        let up = HeaderPolicy.upstreamRequestHead(client, basePath: "", hostHeader: "h", authorization: nil)
        #expect(up.headers["connection"] == ["Upgrade"])
        #expect(up.headers["upgrade"] == ["SPDY/3.1"])
    }

    @Test func responseDropsFramingAndHopByHop() {
        let upstream = HTTPResponseHead(version: .http1_1, status: .ok, headers: HTTPHeaders([
            ("Content-Type", "application/json"), ("Transfer-Encoding", "chunked"), ("Connection", "keep-alive"),
            ("Content-Encoding", "gzip"), ("Audit-Id", "abc"),
        ]))
        let h = HeaderPolicy.clientResponseHead(upstream, requestVersion: .http1_1)
        #expect(!h.headers.contains(name: "transfer-encoding"))
        #expect(!h.headers.contains(name: "connection"))
        #expect(h.headers["content-encoding"] == ["gzip"])
        #expect(h.headers["audit-id"] == ["abc"])
    }
}
