import NIOCore
import NIOHTTP1

/// The seam where the cache and the filters plug into the forwarding path: an interceptor sees
/// every forwarded response part on its way to the client and may rewrite the body (a filter
/// dropping objects) or only observe it (the cache's tee). It runs on the connection's event
/// loop, so it must not block: heavy work (disk) is handed off.
public protocol ResponseInterceptor: AnyObject {
    /// The head about to be sent; return it (possibly changed, e.g. without Content-Length when
    /// the body will be rewritten).
    func head(_ head: HTTPResponseHead) -> HTTPResponseHead
    /// A body chunk from the apiserver; call `emit` with what the client should get.
    func body(_ buffer: ByteBuffer, emit: (ByteBuffer) -> Void)
    /// The response completed; `emit` may add final bytes.
    func end(emit: (ByteBuffer) -> Void)
    /// The response did not complete (upstream or client failure): nothing may be committed.
    func abort()
}

/// Decides per request whether (and which) interceptor applies.
public protocol ResponseInterceptorFactory: Sendable {
    func interceptor(for request: HTTPRequestHead) -> ResponseInterceptor?
}
