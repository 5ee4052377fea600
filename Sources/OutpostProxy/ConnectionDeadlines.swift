import NIOCore
import NIOHTTP1
import Synchronization

/// How long a client connection may take to send a request head, and stay idle between requests.
public struct ConnectionTimeouts: Sendable, Equatable {
    /// From the connection's start, or from the first byte of a later request, until its head is
    /// complete. Guards against slowloris (a head sent a byte at a time, or never).
    public var requestHead: TimeAmount
    /// After a response, until the first byte of the next request (keep-alive). Longer than
    /// client-go's and Go's 90 s idle-connection timeout, so clients normally close idle
    /// connections first (a server closing one just as the client reuses it fails a POST).
    public var idle: TimeAmount

    public init(requestHead: TimeAmount = .seconds(10), idle: TimeAmount = .seconds(120)) {
        self.requestHead = requestHead
        self.idle = idle
    }
}

/// The deadlines of one client connection, as a pure state machine: events in, actions out.
///
/// While a request is in flight (from its head until both its body and its response ended)
/// nothing times out: a watch, a long list, an upload or an exec tunnel lasts as long as it
/// lasts. Between requests the connection is `idle` until a byte arrives, then `readingHead`
/// until the head is complete. A pipelined request counts as in flight from its head, like
/// the first; a request answered before its body ended (a refusal while uploading) stays in
/// flight until the body's end.
struct ConnectionDeadlines {
    enum Phase: Equatable {
        /// Connected, or a byte of the next request arrived: the head must complete in time.
        /// `partial`: some bytes of a head arrived (a timeout is then answered with a 408).
        case readingHead(partial: Bool)
        /// Between requests, nothing received yet.
        case idle
        /// Requests in flight.
        case busy
    }

    enum Action: Equatable {
        case none
        /// (Re)start the one timer of the connection.
        case arm(TimeAmount)
        case cancelTimer
        /// Close without a word (nothing of a request arrived, so there is nothing to answer).
        case close
        /// Answer 408 with a Status, then close (the client is in the middle of a request head).
        case answerTimeoutAndClose
    }

    let timeouts: ConnectionTimeouts
    private(set) var phase: Phase = .readingHead(partial: false)
    /// Requests whose body has not ended, and requests whose response has not ended.
    private var unfinishedBodies = 0
    private var unfinishedResponses = 0

    init(timeouts: ConnectionTimeouts) { self.timeouts = timeouts }

    /// Whether the connection has no request in flight (a candidate for eviction at the limit).
    var isIdle: Bool { phase != .busy }

    mutating func connected() -> Action {
        phase = .readingHead(partial: false)
        return .arm(timeouts.requestHead)
    }

    /// Bytes arrived (a read completed) without completing a head.
    mutating func bytesReceived() -> Action {
        switch phase {
        case .idle:
            phase = .readingHead(partial: true)
            return .arm(timeouts.requestHead)
        case .readingHead:
            // The deadline runs from the first byte: dribbling does not extend it.
            phase = .readingHead(partial: true)
            return .none
        case .busy:
            return .none  // a request body, or a pipelined request behind the one in flight
        }
    }

    mutating func requestHeadReceived() -> Action {
        unfinishedBodies += 1
        unfinishedResponses += 1
        if phase == .busy { return .none }
        phase = .busy
        return .cancelTimer
    }

    mutating func requestEndReceived() -> Action {
        guard unfinishedBodies > 0 else { return .none }
        unfinishedBodies -= 1
        return settle()
    }

    mutating func responseEnded() -> Action {
        guard unfinishedResponses > 0 else { return .none }  // a 400 for a head that never parsed
        unfinishedResponses -= 1
        return settle()
    }

    private mutating func settle() -> Action {
        guard phase == .busy, unfinishedBodies == 0, unfinishedResponses == 0 else { return .none }
        phase = .idle
        return .arm(timeouts.idle)
    }

    mutating func timerFired() -> Action {
        switch phase {
        case .readingHead(let partial):
            return partial ? .answerTimeoutAndClose : .close
        case .idle:
            return .close
        case .busy:
            return .none  // a timer that lost the race with a request head
        }
    }
}

/// Whether a connection is between requests, readable from any thread (the connection limit
/// evicts idle connections first; see `ConnectionRegistry`).
final class ConnectionActivity: Sendable {
    private let idle = Atomic<Bool>(true)
    var isIdle: Bool { idle.load(ordering: .relaxed) }
    func set(idle value: Bool) { idle.store(value, ordering: .relaxed) }
}

/// Executes `ConnectionDeadlines` for one connection. It sits between the HTTP codec and the
/// pipelining handler, so it sees each request head as the decoder completes it, every read
/// (a read that completes no head is part of one), and each response's end. An upgraded
/// connection (a tunnel) removes it with the codec.
///
/// Why: without it a client that connects and sends nothing, or a head a byte a minute, holds
/// a socket and a file descriptor forever (slowloris), and a flood of them starves everyone.
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var machine: ConnectionDeadlines
    private let activity: ConnectionActivity?
    private var timer: Scheduled<Void>?
    private var sawHeadThisRead = false
    private var started = false
    private let onTimeout: (@Sendable () -> Void)?

    init(timeouts: ConnectionTimeouts, activity: ConnectionActivity? = nil, onTimeout: (@Sendable () -> Void)? = nil) {
        machine = ConnectionDeadlines(timeouts: timeouts)
        self.activity = activity
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        perform(machine.connected(), context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            sawHeadThisRead = true
            perform(machine.requestHeadReceived(), context: context)
        case .body:
            break
        case .end:
            perform(machine.requestEndReceived(), context: context)
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if sawHeadThisRead {
            sawHeadThisRead = false
        } else {
            perform(machine.bytesReceived(), context: context)
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            perform(machine.responseEnded(), context: context)
        }
        context.write(data, promise: promise)
    }

    private func perform(_ action: ConnectionDeadlines.Action, context: ChannelHandlerContext) {
        activity?.set(idle: machine.isIdle)
        switch action {
        case .none:
            break
        case .arm(let amount):
            timer?.cancel()
            timer = context.eventLoop.assumeIsolated().scheduleTask(in: amount) { [self] in
                timer = nil
                perform(machine.timerFired(), context: context)
            }
        case .cancelTimer:
            timer?.cancel()
            timer = nil
        case .close:
            onTimeout?()
            context.close(promise: nil)
        case .answerTimeoutAndClose:
            onTimeout?()
            let seconds = machine.timeouts.requestHead.nanoseconds / 1_000_000_000
            let status = StatusResponse(code: 408, reason: .timeout,
                                        message: "the request head was not received within \(seconds)s")
            let (head, body) = status.head(version: .http1_1, close: true)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}
