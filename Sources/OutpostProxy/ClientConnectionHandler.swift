import Logging
import NIOCore
import NIOHTTP1
import Upstream

/// One local client connection. It executes what `ForwardingStateMachine` decides: acquire an
/// upstream connection on the same event loop, stream the request up and the response down
/// with backpressure both ways, turn upstream failures into `Status` errors, and hand the
/// socket pair to a raw tunnel after a 101.
final class ClientConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let env: ProxyEnvironment
    private var machine = ForwardingStateMachine()
    private var context: ChannelHandlerContext?
    /// The connection's loop (kept after removal, for late callbacks that must hop to it).
    private var loop: EventLoop?
    private var upstream: Channel?
    private var upstreamReused = false
    private var retryOnFreshConnection = false
    private var exchange: UpstreamExchangeHandler?
    private var interceptor: ResponseInterceptor?
    private var pendingRead = false
    private var needsFlush = false
    private var responseTimer: Scheduled<Void>?
    private var fallbackTimer: Scheduled<Void>?
    private var record: RequestRecord?
    /// The local answer for the request in progress, if it has one (see `RequestPlan`).
    private var localFactory: (() -> LocalResponder)?
    /// The local answer is for offline only (see `RequestPlan.localAnswerOnlyOffline`).
    private var localOnlyOffline = false
    /// Such a request's body so far: if the apiserver is judged unreachable while the request
    /// waits for it, the local answer takes over and reads it from here. Bounded: past
    /// `maxBodyCopy` the local answer gets no body at all (it answers 503).
    private var bodyCopy: [ByteBuffer] = []
    private var bodyCopyBytes = 0
    private var bodyCopyOverflowed = false
    private var requestEnded = false
    static let maxBodyCopy = 64 << 10
    private var localResponder: LocalResponder?
    private var localWriter: LocalResponseWriter?
    private var writableCallbacks: [() -> Void] = []

    /// What is logged and counted for the request in progress.
    private struct RequestRecord {
        var labels: RequestLabels
        var method: HTTPMethod
        /// As the client sent it: log it only through `LogRedaction.target`.
        var uri: String
        var started: NIODeadline
        var code = 0
        var bytesOut = 0
        var bytesIn = 0
    }

    init(env: ProxyEnvironment) { self.env = env }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        loop = context.eventLoop
    }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    // MARK: client side

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let labels = RequestLabels(head)
            record = RequestRecord(labels: labels, method: head.method, uri: head.uri, started: .now())
            env.metrics.requestStarted(verb: labels.verb)
            let plan = env.router?.plan(head, info: labels.info) ?? RequestPlan(head: head)
            interceptor = plan.interceptor
            localFactory = plan.localResponder
            localOnlyOffline = plan.localAnswerOnlyOffline
            bodyCopy = []
            bodyCopyBytes = 0
            bodyCopyOverflowed = false
            requestEnded = false
            perform(machine.requestHead(plan.head, route: plan.answerLocally ? .local : route()))
        case .body(let body):
            record?.bytesIn += body.readableBytes
            perform(machine.requestBody(.byteBuffer(body)))
            if let localResponder {
                if !bodyCopyOverflowed { localResponder.requestBody(body) }
            } else if localOnlyOffline && !bodyCopyOverflowed {
                bodyCopyBytes += body.readableBytes
                if bodyCopyBytes > Self.maxBodyCopy {
                    bodyCopyOverflowed = true
                    bodyCopy = []
                } else {
                    bodyCopy.append(body)
                }
            }
        case .end:
            requestEnded = true
            perform(machine.requestEnd())
            localResponder?.requestEnded()
        }
    }

    /// Offline (by the health probe and failed requests): answer locally at once, or refuse
    /// without waiting for a connect timeout. Otherwise forward, keeping the local answer as a
    /// fallback armed by a deadline (see `armFallback`).
    /// A refusal is answered like a local answer (the connection stays open and the request body
    /// is read and dropped), so a client still uploading sees the Status, not a reset.
    private func route() -> ForwardingStateMachine.Route {
        let health = env.health.snapshot
        if case .offline = health.state {
            if localFactory == nil {
                let status = StatusResponse.forFailure(.offline(health.lastError ?? "no answer from the apiserver"))
                localFactory = { StatusAnswer(status) }
            }
            return .local
        }
        // An offline-only answer never races an apiserver believed healthy; otherwise it may take
        // over once the apiserver is judged unreachable (not on a timer, see `armFallback`).
        if localOnlyOffline, case .online = health.state { return .forward(fallback: false) }
        return .forward(fallback: localFactory != nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        responseTimer?.cancel()
        fallbackTimer?.cancel()
        perform(machine.clientClosed())
        finishRecord(code: record?.code == 0 ? 499 : nil)  // 499: client went away
        interceptor?.abort()
        interceptor = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        env.logger.debug("client connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if machine.mayReadClient && (upstream?.isWritable ?? true) {
            context.read()
        } else {
            pendingRead = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            exchange?.resumeReading()
            runWritableCallbacks()
        }
        context.fireChannelWritabilityChanged()
    }

    private func runWritableCallbacks() {
        let callbacks = writableCallbacks
        writableCallbacks = []
        for c in callbacks { c() }
    }

    private func resumeClientReadsIfPossible() {
        guard pendingRead, let context, machine.mayReadClient, upstream?.isWritable ?? true else { return }
        pendingRead = false
        context.read()
    }

    /// Shutdown: end a watch cleanly now; let anything else finish, then close (the pipelining
    /// handler closes an idle connection, or this one after its response completed).
    func beginShutdown() {
        guard let context else { return }
        if let localResponder {
            localResponder.shutdown()
        } else if record?.labels.verb == "watch" {
            perform(machine.endStreamForShutdown())
        }
        context.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
    }

    /// The apiserver became reachable or unreachable. A forwarded watch is ended when it goes
    /// away (its stream would just go silent), so the client re-watches and gets the cache; a
    /// local watch is ended when it comes back, so the client re-watches the cloud.
    func upstreamReachabilityChanged(online: Bool) {
        if let localResponder {
            localResponder.upstreamReachabilityChanged(online: online)
        } else if !online {
            if machine.awaitingResponseHead {
                perform(machine.upstreamJudgedUnreachable())
            } else if record?.labels.verb == "watch" {
                perform(machine.endStreamForShutdown())
            }
        }
    }

    // MARK: upstream side (called by UpstreamExchangeHandler on the same event loop)

    var canAcceptResponseBytes: Bool { (context?.channel.isWritable ?? false) && (interceptor?.readyForMore ?? true) }

    func upstreamRead(_ part: HTTPClientResponsePart) {
        switch part {
        case .head(let head):
            responseTimer?.cancel()
            fallbackTimer?.cancel()
            env.health.recordSuccess()
            perform(machine.responseHead(head))
        case .body(let body):
            perform(machine.responseBody(body))
        case .end(let trailers):
            // The response head said whether the apiserver keeps the connection.
            perform(machine.responseEnd(trailers, upstreamKeepAlive: upstreamKeepAlive))
        }
    }

    private var upstreamKeepAlive = true

    func upstreamReadComplete() {
        if needsFlush {
            needsFlush = false
            context?.flush()
        }
    }

    func upstreamFailed(_ reason: String, sawResponse: Bool) {
        guard upstream != nil else { return }
        responseTimer?.cancel()
        let retryable = upstreamReused && !sawResponse
        retryOnFreshConnection = retryable
        if !retryable {
            if !sawResponse { env.health.recordFailure(reason) }
            env.metrics.upstreamError(sawResponse ? "response_interrupted" : "no_response")
            env.logger.warning("upstream failed", metadata: ["reason": "\(reason)", "uri": "\(LogRedaction.target(record?.uri ?? ""))"])
        }
        perform(machine.upstreamFailed(reason, retryable: retryable))
    }

    func upstreamWritabilityChanged(writable: Bool) {
        if writable { resumeClientReadsIfPossible() }
    }

    // MARK: actions

    private func perform(_ action: ForwardingStateMachine.Action) {
        guard let context else { return }
        switch action {
        case .none:
            break

        case .acquireUpstream:
            // A retry after a stale pooled connection always gets a fresh one.
            let fresh = retryOnFreshConnection
            retryOnFreshConnection = false
            detachUpstream(close: true)
            armFallback(context: context)
            env.pool.acquire(on: context.eventLoop, fresh: fresh).assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success(let lease):
                    self.attach(lease)
                case .failure(let error):
                    let reason = describeConnectError(error)
                    env.health.recordFailure(reason)
                    env.metrics.upstreamError("connect")
                    env.logger.warning("cannot reach the apiserver", metadata: ["reason": "\(reason)"])
                    perform(machine.upstreamConnectFailed(reason))
                }
            }

        case .sendRequest(let clientHead, let buffered, let end):
            guard let upstream else { return }
            let config = env.pool.connector.configuration
            let head = HeaderPolicy.upstreamRequestHead(
                clientHead, basePath: config.basePath, hostHeader: config.hostHeader,
                authorization: config.credentials.authorizationHeader())
            upstream.write(HTTPClientRequestPart.head(head), promise: nil)
            for part in buffered { upstream.write(HTTPClientRequestPart.body(part), promise: nil) }
            if end { upstream.write(HTTPClientRequestPart.end(nil), promise: nil) }
            upstream.flush()
            responseTimer = context.eventLoop.assumeIsolated().scheduleTask(in: env.settings.responseHeadTimeout) { [self] in
                perform(machine.responseTimedOut())
            }
            resumeClientReadsIfPossible()

        case .forwardRequestBody(let data):
            upstream?.writeAndFlush(HTTPClientRequestPart.body(data), promise: nil)

        case .forwardRequestEnd:
            upstream?.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)

        case .forwardInformationalHead(let head):
            context.writeAndFlush(wrapOutboundOut(.head(HeaderPolicy.clientResponseHead(head, requestVersion: .http1_1))), promise: nil)

        case .forwardResponseHead(let upstreamHead):
            upstreamKeepAlive = upstreamHead.isKeepAlive
            let head = HeaderPolicy.clientResponseHead(upstreamHead, requestVersion: .http1_1)
            if let interceptor {
                interceptor.head(head, to: self)
            } else {
                sendHead(head)
            }

        case .forwardResponseBody(let body):
            if let interceptor {
                interceptor.body(body, to: self)
            } else {
                writeBody(body, context: context)
            }

        case .completeResponse(let trailers, let reuse, let closeClient):
            interceptor?.end(to: self)
            interceptor = nil
            if let upstream, let exchange {
                self.exchange = nil
                self.upstream = nil
                upstream.pipeline.syncOperations.removeHandler(exchange, promise: nil)
                if reuse { env.pool.release(upstream) } else { upstream.close(promise: nil) }
            }
            endResponse(trailers, closeClient: closeClient, context: context)

        case .respondWithError(let failure, let closeUpstream):
            interceptor?.abort()
            interceptor = nil
            if closeUpstream { detachUpstream(close: true) }
            let status = StatusResponse.forFailure(failure)
            record?.code = status.code
            let (head, body) = status.head(version: .http1_1, close: true)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            let done = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
            machine.localResponseWritten()
            finishRecord()
            done.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }

        case .abortClient:
            interceptor?.abort()
            interceptor = nil
            detachUpstream(close: true)
            finishRecord(aborted: true)
            context.close(promise: nil)

        case .closeUpstream:
            detachUpstream(close: true)

        case .startTunnel(let head):
            startTunnel(head, context: context)

        case .serveLocally:
            responseTimer?.cancel()
            fallbackTimer?.cancel()
            interceptor?.abort()
            interceptor = nil
            detachUpstream(close: true)
            guard let factory = localFactory else { return }
            env.metrics.servedLocally()
            let responder = factory()
            let writer = LocalResponseWriter(eventLoop: context.eventLoop, connection: self)
            localResponder = responder
            localWriter = writer
            responder.start(writer)
            if localOnlyOffline {
                // Taking over from the apiserver: the body it was sent, so far.
                let copied = bodyCopy
                bodyCopy = []
                for part in copied { responder.requestBody(part) }
                if requestEnded { responder.requestEnded() }
            }

        case .finishLocalResponse(let closeClient):
            localResponder = nil
            localWriter = nil
            writableCallbacks = []
            endResponse(nil, closeClient: closeClient, context: context)

        case .cancelLocalResponse:
            localResponder?.cancel()
            localResponder = nil
            localWriter = nil
            writableCallbacks = []
        }
    }

    /// Ends the client's response; then closes the connection or reads the next request.
    private func endResponse(_ trailers: HTTPHeaders?, closeClient: Bool, context: ChannelHandlerContext) {
        finishRecord()
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: done)
        needsFlush = false
        if closeClient {
            done.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            resumeClientReadsIfPossible()
        }
    }

    /// For a request with a local answer: if no response head came within the fallback delay,
    /// ask the apiserver's /readyz on the side. No answer there either means the link is gone
    /// (a silent cut drops packets without a reset): answer from the cache. A healthy but slow
    /// apiserver (a big list straight from etcd) keeps its request.
    private func armFallback(context: ChannelHandlerContext) {
        // An offline-only answer (a write's) waits for the verdict, not for a deadline.
        guard localFactory != nil, fallbackTimer == nil, !localOnlyOffline else { return }
        let loop = context.eventLoop
        let armed = NIODeadline.now()
        if let quick = env.settings.startupFallbackDelay, !env.health.snapshot.everReached {
            // Never reached since start: a rebooted node in an outage should not wait a second
            // for each first read. The probe decides health; the cache answers meanwhile (and a
            // watch answered so ends as soon as the apiserver is reached).
            fallbackTimer = loop.assumeIsolated().scheduleTask(in: quick) { [self] in
                guard machine.awaitingResponseHead, !env.health.snapshot.everReached else {
                    fallbackTimer = nil
                    armFallback(context: context)
                    return
                }
                perform(machine.upstreamJudgedUnreachable())
            }
            return
        }
        fallbackTimer = loop.assumeIsolated().scheduleTask(in: env.settings.fallbackDelay) { [self] in
            guard machine.awaitingResponseHead else { return }
            // The apiserver answered something since: the link works, this request is just slow.
            // (If the link dies now, the health probe's transition hands it to the cache.)
            if env.health.lastSuccess > armed { return }
            if case .suspect = env.health.snapshot.state {
                perform(machine.upstreamJudgedUnreachable())
                return
            }
            env.pool.get("/readyz", on: loop, timeout: env.settings.confirmTimeout).assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success:
                    env.health.recordSuccess()
                case .failure(let error):
                    env.health.recordFailure("readyz check after \(env.settings.fallbackDelay): \(error)")
                    perform(machine.upstreamJudgedUnreachable())
                }
            }
        }
    }

    // MARK: local responses (called by LocalResponseWriter on the event loop)

    func localHead(_ head: HTTPResponseHead) { sendHead(head) }

    func localBody(_ buffer: ByteBuffer) {
        guard let context else { return }
        writeBody(buffer, context: context)
    }

    func localFlush() {
        guard needsFlush, let context else { return }
        needsFlush = false
        context.flush()
    }

    var localIsWritable: Bool { context?.channel.isWritable ?? false }

    func localWhenWritable(_ callback: @escaping () -> Void) {
        localFlush()
        if localIsWritable {
            callback()
        } else {
            writableCallbacks.append(callback)
        }
    }

    func localAbort() {
        localResponder = nil
        localWriter = nil
        writableCallbacks = []
        perform(.abortClient)
    }

    func localEnd() {
        perform(machine.localResponseFinished())
    }

    private func writeBody(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        guard buffer.readableBytes > 0 else { return }
        record?.bytesOut += buffer.readableBytes
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        needsFlush = true
    }

    private func attach(_ lease: UpstreamPool.Lease) {
        let channel = lease.channel
        guard context != nil else {
            channel.close(promise: nil)
            return
        }
        let handler = UpstreamExchangeHandler(client: self)
        do {
            try channel.pipeline.syncOperations.addHandler(handler)
        } catch {
            channel.close(promise: nil)
            perform(machine.upstreamConnectFailed("\(error)"))
            return
        }
        upstream = channel
        upstreamReused = lease.reused
        exchange = handler
        perform(machine.upstreamConnected())
    }

    private func detachUpstream(close: Bool) {
        responseTimer?.cancel()
        fallbackTimer?.cancel()
        fallbackTimer = nil
        guard let upstream else { return }
        if let exchange {
            // Detach first so the close does not call back into this handler.
            upstream.pipeline.syncOperations.removeHandler(exchange, promise: nil)
        }
        exchange = nil
        self.upstream = nil
        if close { upstream.close(promise: nil) }
    }

    /// `aborted`: the response broke after its head (connection closed mid-body): logged as an
    /// error, never as the head's status.
    private func finishRecord(code: Int? = nil, aborted: Bool = false) {
        fallbackTimer?.cancel()
        fallbackTimer = nil
        localFactory = nil
        guard let r = record else { return }
        record = nil
        let finalCode = code ?? r.code
        env.metrics.requestFinished(verb: r.labels.verb, resource: r.labels.resource, code: finalCode,
                                    bytesOut: r.bytesOut, bytesIn: r.bytesIn)
        if aborted {
            env.logger.error("request aborted mid-response (connection closed)", metadata: [
                "method": "\(r.method.rawValue)", "uri": "\(r.uri)", "code": "aborted", "bytes": "\(r.bytesOut)",
            ])
        } else if env.logger.logLevel <= .debug {
            let ms = (NIODeadline.now() - r.started).nanoseconds / 1_000_000
            env.logger.debug("request", metadata: [
                "method": "\(r.method.rawValue)", "uri": "\(LogRedaction.target(r.uri))", "code": "\(finalCode)",
                "ms": "\(ms)", "bytes": "\(r.bytesOut)",
            ])
        }
    }

    // MARK: upgrade

    /// After the apiserver's 101: send it to the client, strip both HTTP codecs and glue the
    /// sockets together. Both sides are made raw before either decoder is removed, because
    /// removing a decoder forwards the bytes it already buffered to the tunnel.
    private func startTunnel(_ upstreamHead: HTTPResponseHead, context: ChannelHandlerContext) {
        guard let upstream, let exchange else { return }
        responseTimer?.cancel()
        record?.code = 101
        env.metrics.tunnelOpened()
        finishRecord()
        let head = HeaderPolicy.clientResponseHead(upstreamHead, requestVersion: .http1_1)
        context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)

        let (clientSide, upstreamSide) = TunnelHandler.pair()
        self.exchange = nil
        self.upstream = nil
        do {
            let up = upstream.pipeline.syncOperations
            up.removeHandler(exchange, promise: nil)
            up.removeHandler(name: UpstreamConnector.HandlerName.encoder, promise: nil)
            try up.addHandler(upstreamSide)

            let cl = context.pipeline.syncOperations
            cl.removeHandler(name: ServerCodec.encoder, promise: nil)
            if (try? cl.context(name: ServerCodec.deadlines)) != nil {
                cl.removeHandler(name: ServerCodec.deadlines, promise: nil)
            }
            cl.removeHandler(name: ServerCodec.pipelining, promise: nil)
            cl.removeHandler(name: ServerCodec.errors, promise: nil)
            try cl.addHandler(clientSide)
            let pipeline = context.pipeline
            pipeline.syncOperations.removeHandler(context: context, promise: nil)

            pipeline.syncOperations.removeHandler(name: ServerCodec.decoder, promise: nil)
            up.removeHandler(name: UpstreamConnector.HandlerName.decoder, promise: nil)
            // The decoders hand their buffered bytes to the tunnel in a task queued by the
            // removals above; flush after it (leftovers come without a read-complete), and
            // read again: reads may have been paused while the codecs were in place.
            let clientChannel = context.channel
            context.eventLoop.execute {
                clientChannel.flush()
                upstream.flush()
                upstream.read()
                clientChannel.read()
            }
        } catch {
            env.logger.warning("cannot set up tunnel", metadata: ["error": "\(error)"])
            upstream.close(promise: nil)
            context.close(promise: nil)
        }
    }
}

extension ClientConnectionHandler: ResponseSink {
    func sendHead(_ head: HTTPResponseHead) {
        guard let context else { return }
        record?.code = Int(head.status.code)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        needsFlush = true
    }

    func sendBody(_ buffer: ByteBuffer) {
        guard let context else { return }
        writeBody(buffer, context: context)
    }

    func abortResponse() {
        env.metrics.upstreamError("response_unprocessable")
        perform(machine.interceptorFailed())
    }

    func endStream() {
        perform(machine.endStreamForShutdown())
    }

    var eventLoop: EventLoop { loop! }

    func resumeResponseReads() {
        guard context?.channel.isWritable ?? false else { return }  // writability resumes it then
        exchange?.resumeReading()
    }
}

private func describeConnectError(_ error: Error) -> String {
    if let e = error as? ChannelError, case .connectTimeout = e { return "connect timeout" }
    return "\(error)"
}
