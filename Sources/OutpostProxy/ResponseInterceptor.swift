import NIOCore
import NIOHTTP1

/// Where an interceptor sends what the client should get.
public protocol ResponseSink: AnyObject {
    func sendHead(_ head: HTTPResponseHead)
    func sendBody(_ buffer: ByteBuffer)
    /// Ends the client's response as broken (the connection closes without a clean end), for an
    /// interceptor that can no longer produce a correct body. Nothing may be sent after it.
    func abortResponse()
    /// Ends a streaming response cleanly now, as the apiserver ends a watch at its timeout (the
    /// client re-watches from the last resourceVersion it saw). Nothing may be sent after it.
    func endStream()
    /// The loop the interceptor runs on.
    var eventLoop: EventLoop { get }
    /// Call (on `eventLoop`) when an interceptor that said `readyForMore == false` is ready again:
    /// reading from the apiserver resumes.
    func resumeResponseReads()
}

/// The seam where the cache and the filters plug into the forwarding path: an interceptor sees
/// every forwarded response part on its way to the client and decides what the client gets.
/// It may pass bytes through (the cache's tee only observes), rewrite the body (a filter dropping
/// list items or watch events; it then removes Content-Length) or hold the head back until the
/// body is known (a filtered get becomes a 404). It runs on the connection's event loop, so it
/// must not block: disk work is handed off.
public protocol ResponseInterceptor: AnyObject {
    /// The response head from the apiserver. Send it (possibly changed) now or at `end`.
    func head(_ head: HTTPResponseHead, to sink: ResponseSink)
    /// A body chunk from the apiserver.
    func body(_ buffer: ByteBuffer, to sink: ResponseSink)
    /// The response completed; the head must have been sent by the time this returns.
    func end(to sink: ResponseSink)
    /// The response did not complete (upstream or client failure): nothing may be committed.
    func abort()
    /// False pauses reading from the apiserver (backpressure from the interceptor's own work,
    /// e.g. the cache writer falling behind a huge list); it then calls `resumeResponseReads`.
    var readyForMore: Bool { get }
}

extension ResponseInterceptor {
    public var readyForMore: Bool { true }
}
