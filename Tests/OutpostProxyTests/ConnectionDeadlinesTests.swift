import NIOCore
import Testing

@testable import OutpostProxy

@Suite("Connection deadlines")
struct ConnectionDeadlinesTests {
    let t = ConnectionTimeouts(requestHead: .seconds(10), idle: .seconds(120))

    @Test func aConnectionThatSendsNothingIsClosedWithoutAWord() {
        var m = ConnectionDeadlines(timeouts: t)
        #expect(m.connected() == .arm(.seconds(10)))
        #expect(m.isIdle)
        #expect(m.timerFired() == .close)
    }

    @Test func aPartialHeadGetsA408AndDribblingDoesNotExtendTheDeadline() {
        var m = ConnectionDeadlines(timeouts: t)
        _ = m.connected()
        #expect(m.bytesReceived() == .none, "the deadline runs from the connection's start")
        #expect(m.bytesReceived() == .none)
        #expect(m.timerFired() == .answerTimeoutAndClose)
    }

    @Test func nothingTimesOutWhileARequestIsInFlight() {
        var m = ConnectionDeadlines(timeouts: t)
        _ = m.connected()
        #expect(m.requestHeadReceived() == .cancelTimer)
        #expect(!m.isIdle)
        #expect(m.bytesReceived() == .none, "a request body arriving")
        #expect(m.requestEndReceived() == .none)
        #expect(m.timerFired() == .none, "a watch or tunnel lasts as long as it lasts")
        #expect(m.responseEnded() == .arm(.seconds(120)), "then the idle timeout")
        #expect(m.isIdle)
    }

    @Test func anUploadAnsweredEarlyStaysInFlightUntilItsBodyEnds() {
        var m = ConnectionDeadlines(timeouts: t)
        _ = m.connected()
        _ = m.requestHeadReceived()
        #expect(m.responseEnded() == .none, "a 503 while the client still uploads")
        #expect(!m.isIdle)
        #expect(m.bytesReceived() == .none, "more of the body: no head deadline")
        #expect(m.timerFired() == .none)
        #expect(m.requestEndReceived() == .arm(.seconds(120)))
    }

    @Test func keepAliveIdleThenTheNextHeadHasItsOwnDeadline() {
        var m = ConnectionDeadlines(timeouts: t)
        _ = m.connected()
        _ = m.requestHeadReceived()
        _ = m.requestEndReceived()
        _ = m.responseEnded()
        #expect(m.phase == .idle)
        #expect(m.bytesReceived() == .arm(.seconds(10)), "the first byte of the next request starts the head deadline")
        #expect(m.phase == .readingHead(partial: true))
        #expect(m.timerFired() == .answerTimeoutAndClose)
    }

    @Test func anIdleConnectionIsClosedSilently() {
        var m = ConnectionDeadlines(timeouts: t)
        _ = m.connected()
        _ = m.requestHeadReceived()
        _ = m.requestEndReceived()
        _ = m.responseEnded()
        #expect(m.timerFired() == .close)
    }

    @Test func pipelinedRequestsKeepTheConnectionBusyUntilTheLastResponse() {
        var m = ConnectionDeadlines(timeouts: t)
        _ = m.connected()
        #expect(m.requestHeadReceived() == .cancelTimer)
        #expect(m.requestEndReceived() == .none)
        #expect(m.requestHeadReceived() == .none)
        #expect(m.requestEndReceived() == .none)
        #expect(m.responseEnded() == .none)
        #expect(!m.isIdle)
        #expect(m.responseEnded() == .arm(.seconds(120)))
    }

    @Test func aResponseWithoutARequestChangesNothing() {
        // The protocol error handler answers 400 to a head that never parsed.
        var m = ConnectionDeadlines(timeouts: t)
        _ = m.connected()
        _ = m.bytesReceived()
        #expect(m.responseEnded() == .none)
        #expect(m.phase == .readingHead(partial: true))
    }
}

@Suite("Log redaction")
struct LogRedactionTests {
    @Test(arguments: [
        ("http://user:secret@host/api/v1/pods", "http://REDACTED@host/api/v1/pods"),
        ("https://admin@10.0.0.1:6443/api", "https://REDACTED@10.0.0.1:6443/api"),
        ("//user:pw@host/x", "//REDACTED@host/x"),
        ("http://user:p@ss@host/x", "http://REDACTED@host/x"),
        ("http://user:pa?ss@host/api", "http://REDACTED@host/api"),
        ("http://host/api?access_token=abc&limit=5", "http://host/api?access_token=REDACTED&limit=5"),
        ("/api/v1/pods?token=t0k&watch=1", "/api/v1/pods?token=REDACTED&watch=1"),
        ("/x?Authorization=Bearer%20x&a=b#frag", "/x?Authorization=REDACTED&a=b#frag"),
        ("/x?a=1&PASSWORD=hunter2", "/x?a=1&PASSWORD=REDACTED"),
        ("/x?id%5Ftoken=abc", "/x?id%5Ftoken=REDACTED"),
        ("/x?X-Amz-Signature=abc&key=k&cookie=c", "/x?X-Amz-Signature=REDACTED&key=REDACTED&cookie=REDACTED"),
        ("/api?x=1;token=PWQUERY4", "/api?x=1;token=REDACTED"),
        ("/api#token=PWQUERY18", "/api#token=REDACTED"),
        ("/api?a=b#access_token=t", "/api?a=b#access_token=REDACTED"),
    ])
    func credentialsAreRedacted(uri: String, want: String) {
        #expect(LogRedaction.target(uri) == want)
        #expect(!LogRedaction.target(uri).contains("secret") && !LogRedaction.target(uri).contains("hunter2"))
    }

    @Test(arguments: [
        "/api/v1/namespaces/d/pods?labelSelector=app%3Dweb&fieldSelector=spec.nodeName%3Dn1&limit=5",
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1",
        "http://host:8080/api?watch=true&resourceVersion=10",
        "/api/v1/pods?continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ",
        "/",
        "*",
    ])
    func ordinaryTargetsAreKept(uri: String) {
        #expect(LogRedaction.target(uri) == uri)
    }
}
