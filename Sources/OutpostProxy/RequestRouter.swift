import KubeRequest
import NIOCore
import NIOHTTP1

/// What to do with one request, decided before it is forwarded.
public struct RequestPlan {
    /// The head to send upstream (e.g. without Accept-Encoding when the response is teed).
    public var head: HTTPRequestHead
    /// Sees the forwarded response (cache tee, filters).
    public var interceptor: ResponseInterceptor?
    /// Builds a local answer (from the cache) for when the apiserver cannot answer; nil when the
    /// request has no local answer (writes, resources that are not cached).
    public var localResponder: (() -> LocalResponder)?
    /// The local answer is given only when the apiserver is judged offline: as the request
    /// arrives, or, when the apiserver was not believed healthy then (never reached since start,
    /// failing), once it is judged offline while the request waits for its answer. Never on a
    /// timer as for reads: a write's answer must not race an apiserver that may act on it. It
    /// sees the whole request body (`LocalResponder.requestBody`; a copy of at most 64 KiB is
    /// kept while the request is forwarded).
    public var localAnswerOnlyOffline: Bool
    /// Answer with `localResponder` at once, online too: nothing goes upstream (the watch cache
    /// serves the request from its reflector).
    public var answerLocally: Bool

    public init(head: HTTPRequestHead, interceptor: ResponseInterceptor? = nil,
                localResponder: (() -> LocalResponder)? = nil, localAnswerOnlyOffline: Bool = false,
                answerLocally: Bool = false) {
        self.head = head
        self.interceptor = interceptor
        self.localResponder = localResponder
        self.localAnswerOnlyOffline = localAnswerOnlyOffline
        self.answerLocally = answerLocally && localResponder != nil
    }
}

/// Plans requests: the cache layer implements it; the proxy only executes plans.
/// Called on the connection's event loop; must not block.
public protocol RequestRouter: Sendable {
    func plan(_ head: HTTPRequestHead, info: RequestInfo?) -> RequestPlan
}

/// A response produced locally (from the cache). Lives on the connection's event loop.
public protocol LocalResponder: AnyObject {
    /// Begin answering through `writer`; finish with `writer.end()`.
    func start(_ writer: LocalResponseWriter)
    /// The client went away: release resources, write nothing more.
    func cancel()
    /// The apiserver's reachability changed (an offline watch ends when it comes back).
    func upstreamReachabilityChanged(online: Bool)
    /// Graceful shutdown: end the response cleanly soon (a watch ends now).
    func shutdown()
    /// A chunk of the request body. Only a plan with `localAnswerOnlyOffline` sees its body from
    /// the first byte (none at all past 64 KiB when it took over from the apiserver); others get
    /// what is left after their answer started (or nothing).
    func requestBody(_ buffer: ByteBuffer)
    /// The request body ended (after `start`).
    func requestEnded()
}

/// The connection as a local responder sees it. All calls on the connection's event loop.
public final class LocalResponseWriter {
    public let eventLoop: EventLoop
    private weak var connection: ClientConnectionHandler?
    private var ended = false

    init(eventLoop: EventLoop, connection: ClientConnectionHandler) {
        self.eventLoop = eventLoop
        self.connection = connection
    }

    /// Whether the client is still there and the response has not ended.
    public var isActive: Bool { !ended && connection != nil }

    public func head(_ head: HTTPResponseHead) {
        guard isActive else { return }
        connection?.localHead(head)
    }

    public func body(_ buffer: ByteBuffer) {
        guard isActive else { return }
        connection?.localBody(buffer)
    }

    /// Pushes written bytes to the socket (for prompt watch events).
    public func flush() {
        guard isActive else { return }
        connection?.localFlush()
    }

    /// Whether the client can take more bytes now; if not, `whenWritable` calls back later.
    public var isWritable: Bool { connection?.localIsWritable ?? false }

    /// Calls `callback` once the client can take more bytes (at once if it can now). Flushes first.
    public func whenWritable(_ callback: @escaping () -> Void) {
        guard isActive, let connection else { return }
        connection.localWhenWritable(callback)
    }

    /// The response cannot be completed (its head is out): close the connection, so the client
    /// sees a broken response rather than a truncated one that looks whole.
    public func abort() {
        guard isActive else { return }
        ended = true
        connection?.localAbort()
    }

    public func end() {
        guard isActive else { return }
        ended = true
        connection?.localEnd()
    }
}

extension LocalResponder {
    public func upstreamReachabilityChanged(online: Bool) {}
    public func shutdown() {}
    public func requestBody(_ buffer: ByteBuffer) {}
    public func requestEnded() {}
}
