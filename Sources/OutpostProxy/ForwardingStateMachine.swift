import NIOCore
import NIOHTTP1

/// The life of one client connection's current exchange, as a pure state machine.
///
/// The client handler feeds it events (request parts from the local client, connection and
/// response events from the upstream) and executes the `Action` each event returns. Nothing
/// here touches a socket, so every transition — including the awkward ones (upstream dies
/// before or after the response head, client leaves mid-watch, server answers before the
/// request body ended, 101 upgrade) — is unit-tested directly.
struct ForwardingStateMachine {
    enum State {
        /// Between requests.
        case idle
        /// Waiting for an upstream connection; request parts are buffered meanwhile.
        /// `fallback`: the request can be answered locally (from the cache) if the apiserver fails.
        case connecting(head: HTTPRequestHead, buffered: [IOData], requestEnded: Bool, fallback: Bool)
        /// Request sent (or being sent) upstream; response streaming back.
        case forwarding(Exchange)
        /// Answering locally (an error Status); the rest of the request body is discarded.
        case respondingLocally(requestEnded: Bool)
        /// A local responder (the cache) is answering; the connection stays usable afterwards.
        case servingLocally(requestEnded: Bool, keepAlive: Bool)
        /// Response finished before the request body did; discard what is left of it.
        case drainingRequest
        /// The apiserver said 101; the tunnel starts once its decoder delivered the head's `.end`
        /// (starting earlier would feed that `.end` into the raw tunnel).
        case upgrading(HTTPResponseHead)
        /// Raw bytes both ways after a 101.
        case tunnelling
        case closed
    }

    struct Exchange {
        var head: HTTPRequestHead
        var requestKeepAlive: Bool
        var isUpgradeRequest: Bool
        var requestEnded: Bool
        var fallback: Bool
        var responseHeadSent = false
    }

    enum Failure: Equatable {
        case connectFailed(String)
        case upstreamClosedBeforeResponse(String)
        case responseTimeout
        /// Health says the apiserver is down and nothing local can answer this request.
        case offline(String)
    }

    enum Action {
        case none
        case acquireUpstream(HTTPRequestHead)
        /// Connection ready: write the head and whatever was buffered; `end` if the request ended.
        case sendRequest(HTTPRequestHead, buffered: [IOData], end: Bool)
        case forwardRequestBody(IOData)
        case forwardRequestEnd
        case forwardResponseHead(HTTPResponseHead)
        case forwardInformationalHead(HTTPResponseHead)
        case forwardResponseBody(ByteBuffer)
        /// Response done. Put the upstream back into the pool if `reuseUpstream`, else close it;
        /// close the client connection if `closeClient`.
        case completeResponse(HTTPHeaders?, reuseUpstream: Bool, closeClient: Bool)
        /// Answer with a Status error; close the upstream (if any); then close the client.
        case respondWithError(Failure, closeUpstream: Bool)
        /// The response already started: the only honest signal left is closing the client.
        case abortClient
        case closeUpstream
        case startTunnel(HTTPResponseHead)
        /// Answer from the local responder; close the upstream connection if one is attached.
        case serveLocally(HTTPRequestHead)
        /// The local responder finished (or was stopped): end the client's response.
        case finishLocalResponse(closeClient: Bool)
        /// The client left while a local responder was answering.
        case cancelLocalResponse
    }

    private(set) var state: State = .idle

    /// Whether the client may be read now. While connecting we buffer at most one chunk, so a
    /// large upload never piles up in memory before the upstream is ready.
    var mayReadClient: Bool {
        switch state {
        case .connecting(_, let buffered, let ended, _): return buffered.isEmpty && !ended
        case .closed: return false
        default: return true
        }
    }

    // MARK: client events

    /// `route`: forward (with or without a local fallback) or answer locally at once.
    enum Route: Equatable {
        case forward(fallback: Bool)
        case local
    }

    mutating func requestHead(_ head: HTTPRequestHead, route: Route = .forward(fallback: false)) -> Action {
        guard case .idle = state else {
            // HTTPServerPipelineHandler never lets a second request in before the first ended.
            return .none
        }
        switch route {
        case .forward(let fallback):
            state = .connecting(head: head, buffered: [], requestEnded: false, fallback: fallback)
            return .acquireUpstream(head)
        case .local:
            state = .servingLocally(requestEnded: false, keepAlive: head.isKeepAlive)
            return .serveLocally(head)
        }
    }

    mutating func requestBody(_ body: IOData) -> Action {
        switch state {
        case .connecting(let head, var buffered, let ended, let fallback):
            buffered.append(body)
            state = .connecting(head: head, buffered: buffered, requestEnded: ended, fallback: fallback)
            return .none
        case .forwarding(let ex) where !ex.requestEnded:
            return .forwardRequestBody(body)
        default:
            return .none
        }
    }

    mutating func requestEnd() -> Action {
        switch state {
        case .connecting(let head, let buffered, _, let fallback):
            state = .connecting(head: head, buffered: buffered, requestEnded: true, fallback: fallback)
            return .none
        case .forwarding(var ex):
            ex.requestEnded = true
            state = .forwarding(ex)
            return .forwardRequestEnd
        case .respondingLocally:
            state = .respondingLocally(requestEnded: true)
            return .none
        case .servingLocally(_, let keepAlive):
            state = .servingLocally(requestEnded: true, keepAlive: keepAlive)
            return .none
        case .drainingRequest:
            state = .idle
            return .none
        default:
            return .none
        }
    }

    mutating func clientClosed() -> Action {
        switch state {
        case .connecting, .forwarding, .upgrading, .tunnelling:
            state = .closed
            return .closeUpstream
        case .servingLocally:
            state = .closed
            return .cancelLocalResponse
        default:
            state = .closed
            return .none
        }
    }

    // MARK: upstream events

    mutating func upstreamConnected() -> Action {
        guard case .connecting(let head, let buffered, let ended, let fallback) = state else {
            // Client left while we were connecting (or the local fallback took over).
            return .closeUpstream
        }
        state = .forwarding(Exchange(
            head: head,
            requestKeepAlive: head.isKeepAlive,
            isUpgradeRequest: HeaderPolicy.isUpgradeRequest(head.headers),
            requestEnded: ended,
            fallback: fallback
        ))
        return .sendRequest(head, buffered: buffered, end: ended)
    }

    mutating func upstreamConnectFailed(_ reason: String) -> Action {
        guard case .connecting(let head, _, let ended, let fallback) = state else { return .none }
        if fallback { return serveLocally(head, requestEnded: ended) }
        state = .respondingLocally(requestEnded: ended)
        return .respondWithError(.connectFailed(reason), closeUpstream: false)
    }

    mutating func responseHead(_ head: HTTPResponseHead) -> Action {
        guard case .forwarding(var ex) = state else { return .none }
        if head.status == .switchingProtocols {
            guard ex.isUpgradeRequest else {
                state = .respondingLocally(requestEnded: ex.requestEnded)
                return .respondWithError(.upstreamClosedBeforeResponse("unexpected 101 Switching Protocols"), closeUpstream: true)
            }
            state = .upgrading(head)
            return .none
        }
        if head.status.code < 200 {
            return .forwardInformationalHead(head)
        }
        ex.responseHeadSent = true
        state = .forwarding(ex)
        return .forwardResponseHead(head)
    }

    mutating func responseBody(_ body: ByteBuffer) -> Action {
        guard case .forwarding(let ex) = state, ex.responseHeadSent else { return .none }
        return .forwardResponseBody(body)
    }

    mutating func responseEnd(_ trailers: HTTPHeaders?, upstreamKeepAlive: Bool) -> Action {
        if case .upgrading(let head) = state {
            state = .tunnelling
            return .startTunnel(head)
        }
        guard case .forwarding(let ex) = state, ex.responseHeadSent else { return .none }
        // A connection that answered an upgrade request without upgrading stopped parsing
        // requests (llhttp treats the rest as the upgraded protocol): never reuse either side.
        let clean = ex.requestEnded && !ex.isUpgradeRequest
        let closeClient = !ex.requestKeepAlive || ex.isUpgradeRequest
        if ex.requestEnded || closeClient {
            state = closeClient ? .closed : .idle
        } else {
            state = .drainingRequest
        }
        return .completeResponse(trailers, reuseUpstream: clean && upstreamKeepAlive, closeClient: closeClient)
    }

    /// The upstream connection failed or closed. `retryable`: the connection came from the
    /// pool (it may have been closed by the server while idle) — a bodiless idempotent request
    /// that got no response at all is then retried once on a fresh connection, as Go's
    /// transport does.
    mutating func upstreamFailed(_ reason: String, retryable: Bool = false) -> Action {
        switch state {
        case .forwarding(let ex):
            if !ex.responseHeadSent && retryable && ex.requestEnded && Self.isRetryable(ex.head) {
                state = .connecting(head: ex.head, buffered: [], requestEnded: true, fallback: ex.fallback)
                return .acquireUpstream(ex.head)
            }
            if ex.responseHeadSent {
                state = .closed
                return .abortClient
            }
            if ex.fallback { return serveLocally(ex.head, requestEnded: ex.requestEnded) }
            state = .respondingLocally(requestEnded: ex.requestEnded)
            return .respondWithError(.upstreamClosedBeforeResponse(reason), closeUpstream: true)
        case .upgrading, .tunnelling:
            state = .closed
            return .abortClient
        default:
            return .none
        }
    }

    mutating func responseTimedOut() -> Action {
        guard case .forwarding(let ex) = state, !ex.responseHeadSent else { return .none }
        if ex.fallback { return serveLocally(ex.head, requestEnded: ex.requestEnded) }
        state = .respondingLocally(requestEnded: ex.requestEnded)
        return .respondWithError(.responseTimeout, closeUpstream: true)
    }

    /// Whether the exchange still waits for the apiserver's response head.
    var awaitingResponseHead: Bool {
        switch state {
        case .connecting: return true
        case .forwarding(let ex): return !ex.responseHeadSent
        default: return false
        }
    }

    /// The apiserver is judged unreachable while this request still waits for it: answer from
    /// the local fallback if the request has one.
    mutating func upstreamJudgedUnreachable() -> Action {
        switch state {
        case .connecting(let head, _, let ended, true):
            return serveLocally(head, requestEnded: ended)
        case .forwarding(let ex) where ex.fallback && !ex.responseHeadSent:
            return serveLocally(ex.head, requestEnded: ex.requestEnded)
        default:
            return .none
        }
    }

    private mutating func serveLocally(_ head: HTTPRequestHead, requestEnded: Bool) -> Action {
        state = .servingLocally(requestEnded: requestEnded, keepAlive: head.isKeepAlive)
        return .serveLocally(head)
    }

    /// The local responder wrote its last byte (or was stopped).
    mutating func localResponseFinished() -> Action {
        guard case .servingLocally(let ended, let keepAlive) = state else { return .none }
        if !keepAlive {
            state = .closed
        } else {
            state = ended ? .idle : .drainingRequest
        }
        return .finishLocalResponse(closeClient: !keepAlive)
    }

    static func isRetryable(_ head: HTTPRequestHead) -> Bool {
        switch head.method {
        case .GET, .HEAD, .OPTIONS:
            return !head.headers.contains(name: "content-length") || head.headers["content-length"].first == "0"
        default:
            return false
        }
    }

    /// Graceful shutdown: a streaming response (a watch) is ended cleanly so the client re-watches
    /// elsewhere; anything else is left to finish.
    mutating func endStreamForShutdown() -> Action {
        guard case .forwarding(let ex) = state, ex.responseHeadSent else { return .none }
        state = .closed
        return .completeResponse(nil, reuseUpstream: false, closeClient: true)
    }

    /// An interceptor cannot go on producing a correct body (a filtered list it can no longer
    /// parse): once the head is out, the only honest signal left is an incomplete response.
    mutating func interceptorFailed() -> Action {
        guard case .forwarding(let ex) = state else { return .none }
        state = .closed
        return ex.responseHeadSent ? .abortClient : .respondWithError(.upstreamClosedBeforeResponse("response not processable"), closeUpstream: true)
    }

    /// The locally generated error response was written; the connection is closed after it.
    mutating func localResponseWritten() {
        state = .closed
    }
}
