import NIOCore
import NIOHTTP1
import Testing

@testable import OutpostProxy

/// The transitions that hand a request to the local cache instead of the apiserver.
@Suite("ForwardingStateMachine local fallback")
struct LocalFallbackStateTests {
    func head(_ method: HTTPMethod = .GET, keepAlive: Bool = true) -> HTTPRequestHead {
        var h = HTTPRequestHead(version: .http1_1, method: method, uri: "/api/v1/pods")
        if !keepAlive { h.headers.add(name: "Connection", value: "close") }
        return h
    }

    @Test func offlineRouteServesLocallyAndKeepsTheConnection() {
        var m = ForwardingStateMachine()
        guard case .serveLocally = m.requestHead(head(), route: .local) else { Issue.record("expected local"); return }
        #expect(m.requestEnd().isNone)
        guard case .finishLocalResponse(let close) = m.localResponseFinished() else { Issue.record("finish"); return }
        #expect(!close)
        guard case .idle = m.state else { Issue.record("not idle: \(m.state)"); return }
    }

    @Test func localResponseBeforeRequestEndDrainsTheRest() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head(), route: .local)
        guard case .finishLocalResponse(false) = m.localResponseFinished() else { Issue.record("finish"); return }
        guard case .drainingRequest = m.state else { Issue.record("expected draining: \(m.state)"); return }
        #expect(m.requestEnd().isNone)
        guard case .idle = m.state else { Issue.record("not idle"); return }
    }

    @Test func connectionCloseRequestClosesAfterLocalResponse() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head(keepAlive: false), route: .local)
        _ = m.requestEnd()
        guard case .finishLocalResponse(true) = m.localResponseFinished() else { Issue.record("finish"); return }
        guard case .closed = m.state else { Issue.record("not closed"); return }
    }

    @Test func connectFailureWithFallbackServesLocally() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head(), route: .forward(fallback: true))
        _ = m.requestEnd()
        guard case .serveLocally = m.upstreamConnectFailed("refused") else { Issue.record("expected local"); return }
        guard case .servingLocally(true, true) = m.state else { Issue.record("state \(m.state)"); return }
    }

    @Test func connectFailureWithoutFallbackStillAnswers503() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head(), route: .forward(fallback: false))
        guard case .respondWithError(.connectFailed, _) = m.upstreamConnectFailed("refused") else { Issue.record("expected 503"); return }
    }

    @Test func silentUpstreamIsJudgedUnreachableBeforeTheHead() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head(), route: .forward(fallback: true))
        _ = m.requestEnd()
        _ = m.upstreamConnected()
        #expect(m.awaitingResponseHead)
        guard case .serveLocally = m.upstreamJudgedUnreachable() else { Issue.record("expected local"); return }
        #expect(!m.awaitingResponseHead)
        // A late response from the apiserver is ignored.
        #expect(m.responseHead(HTTPResponseHead(version: .http1_1, status: .ok)).isNone)
    }

    @Test func judgedUnreachableAfterTheHeadChangesNothing() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head(), route: .forward(fallback: true))
        _ = m.requestEnd()
        _ = m.upstreamConnected()
        _ = m.responseHead(HTTPResponseHead(version: .http1_1, status: .ok))
        #expect(!m.awaitingResponseHead)
        #expect(m.upstreamJudgedUnreachable().isNone)
    }

    @Test func upstreamDropBeforeHeadFallsBackButAfterHeadAborts() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head(), route: .forward(fallback: true))
        _ = m.requestEnd()
        _ = m.upstreamConnected()
        guard case .serveLocally = m.upstreamFailed("reset") else { Issue.record("expected local"); return }

        var n = ForwardingStateMachine()
        _ = n.requestHead(head(), route: .forward(fallback: true))
        _ = n.requestEnd()
        _ = n.upstreamConnected()
        _ = n.responseHead(HTTPResponseHead(version: .http1_1, status: .ok))
        guard case .abortClient = n.upstreamFailed("reset") else { Issue.record("expected abort"); return }
    }

    @Test func responseTimeoutWithFallbackServesLocally() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head(), route: .forward(fallback: true))
        _ = m.requestEnd()
        _ = m.upstreamConnected()
        guard case .serveLocally = m.responseTimedOut() else { Issue.record("expected local"); return }
    }

    @Test func clientLeavingCancelsTheLocalResponse() {
        var m = ForwardingStateMachine()
        _ = m.requestHead(head(), route: .local)
        guard case .cancelLocalResponse = m.clientClosed() else { Issue.record("expected cancel"); return }
        #expect(m.localResponseFinished().isNone)
    }
}
