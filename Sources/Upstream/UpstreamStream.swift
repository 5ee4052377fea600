import NIOCore
import NIOHTTP1

/// Receives one streamed internal response (a reflector's list or watch). All calls on the
/// stream's event loop; after `finished` nothing more is called.
public protocol UpstreamStreamDelegate: AnyObject {
    func streamHead(_ head: HTTPResponseHead)
    func streamBody(_ buffer: ByteBuffer)
    /// The response ended cleanly (`nil`), or failed before its end (connect error, reset,
    /// cancelled): what came so far is all there is.
    func streamFinished(_ error: (any Error)?)
    /// False pauses reading from the apiserver until `UpstreamStreamHandle.resume()`.
    var streamReadyForMore: Bool { get }
}

extension UpstreamStreamDelegate {
    public var streamReadyForMore: Bool { true }
}

/// Why an internal stream ended early.
public enum UpstreamStreamError: Error, CustomStringConvertible, Sendable {
    case cancelled
    case connectionClosed
    case noResponse

    public var description: String {
        switch self {
        case .cancelled: return "cancelled"
        case .connectionClosed: return "connection closed before the response completed"
        case .noResponse: return "no response head before the deadline"
        }
    }
}

/// A running internal stream: cancel it, or resume reading after the delegate paused it. Use on
/// the stream's event loop.
public final class UpstreamStreamHandle {
    fileprivate var handler: UpstreamStreamHandler?
    fileprivate var cancelledEarly = false

    /// Ends the exchange (its connection is closed, never reused); the delegate hears
    /// `streamFinished(.cancelled)`.
    public func cancel() {
        if let handler { handler.cancel() } else { cancelledEarly = true }
    }

    /// Reading resumes after the delegate said `streamReadyForMore == false`.
    public func resume() { handler?.resume() }
}

extension UpstreamPool {
    /// Sends `head` (a GET relative to the server's base path, with Outpost's own credentials)
    /// and streams the response into `delegate`, for Outpost's own long-running reads of the
    /// apiserver (reflectors). Client traffic never goes through here. A response head must
    /// come within `headTimeout`; the body may then last as long as it likes (a watch).
    public func stream(path: String, headers extra: [(String, String)], on loop: EventLoop, headTimeout: TimeAmount,
                       delegate: UpstreamStreamDelegate) -> UpstreamStreamHandle {
        loop.preconditionInEventLoop()
        let handle = UpstreamStreamHandle()
        let config = connector.configuration
        let box = NIOLoopBound(delegate, eventLoop: loop)
        acquire(on: loop, fresh: false).hop(to: loop).assumeIsolated().whenComplete { result in
            let delegate = box.value
            switch result {
            case .failure(let error):
                delegate.streamFinished(error)
            case .success(let lease):
                let channel = lease.channel
                if handle.cancelledEarly {
                    self.release(channel)
                    delegate.streamFinished(UpstreamStreamError.cancelled)
                    return
                }
                var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: config.basePath + path)
                head.headers.add(name: "Host", value: config.hostHeader)
                head.headers.add(name: "User-Agent", value: "outpost")
                for (n, v) in extra { head.headers.add(name: n, value: v) }
                if let auth = config.credentials.authorizationHeader() {
                    head.headers.add(name: "Authorization", value: auth)
                }
                let handler = UpstreamStreamHandler(delegate: delegate, pool: self, channel: channel)
                handle.handler = handler
                do {
                    try channel.pipeline.syncOperations.addHandler(handler)
                } catch {
                    channel.close(promise: nil)
                    delegate.streamFinished(error)
                    return
                }
                handler.armHeadTimeout(headTimeout)
                channel.write(HTTPClientRequestPart.head(head), promise: nil)
                channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            }
        }
        return handle
    }
}

/// The pipeline end of one internal stream on a pooled connection. A cleanly ended response
/// gives the connection back to the pool; anything else closes it.
final class UpstreamStreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// Held until the stream finished (then released: no cycle outlives it).
    private var delegate: UpstreamStreamDelegate?
    private let pool: UpstreamPool
    private let channel: Channel
    private var context: ChannelHandlerContext?
    private var done = false
    private var sawHead = false
    private var keepAlive = true
    private var pendingRead = false
    private var headTimer: Scheduled<Void>?

    init(delegate: UpstreamStreamDelegate, pool: UpstreamPool, channel: Channel) {
        self.delegate = delegate
        self.pool = pool
        self.channel = channel
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func armHeadTimeout(_ timeout: TimeAmount) {
        headTimer = channel.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            guard !sawHead else { return }
            finish(UpstreamStreamError.noResponse, reusable: false)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        switch unwrapInboundIn(data) {
        case .head(let h):
            if h.status.code >= 100 && h.status.code < 200 { return }
            sawHead = true
            headTimer?.cancel()
            keepAlive = h.isKeepAlive
            delegate?.streamHead(h)
        case .body(let b):
            delegate?.streamBody(b)
        case .end:
            finish(nil, reusable: keepAlive)
        }
    }

    func read(context: ChannelHandlerContext) {
        if done || (delegate?.streamReadyForMore ?? true) {
            context.read()
        } else {
            pendingRead = true
        }
    }

    func resume() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(UpstreamStreamError.connectionClosed, reusable: false)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        finish(error, reusable: false)
    }

    func cancel() { finish(UpstreamStreamError.cancelled, reusable: false) }

    private func finish(_ error: (any Error)?, reusable: Bool) {
        guard !done else { return }
        done = true
        headTimer?.cancel()
        let delegate = self.delegate
        self.delegate = nil
        if let context {
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        if reusable && error == nil {
            pool.release(channel)
        } else {
            channel.close(promise: nil)
        }
        if pendingRead { pendingRead = false; channel.read() }
        delegate?.streamFinished(error)
    }
}
