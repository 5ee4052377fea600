import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An in-process stand-in for kube-apiserver that misbehaves on demand: hang before or after
/// the response head, drop mid-stream, answer 5xx, dribble slow chunks, stream a watch the test
/// feeds by hand, or switch protocols and echo raw bytes. Every request is recorded.
///
/// Integration tests put Outpost in front of it to check behaviour the real apiserver cannot
/// be made to show deterministically.
public final class FakeAPIServer: Sendable {
    public struct Request: Sendable {
        public var method: String
        public var uri: String
        public var headers: [(String, String)]
        public var body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    public struct Chunk: Sendable {
        public var bytes: [UInt8]
        public var delay: Duration
        public init(_ string: String, after delay: Duration = .zero) {
            self.bytes = Array(string.utf8)
            self.delay = delay
        }
        public init(bytes: [UInt8], after delay: Duration = .zero) {
            self.bytes = bytes
            self.delay = delay
        }
    }

    public enum Behavior: Sendable {
        /// A normal response. With `contentLength` false the body is chunked.
        case respond(status: Int, headers: [(String, String)], chunks: [Chunk], contentLength: Bool)
        /// Never answer; keep the connection open.
        case hangBeforeHeaders
        /// Send the head (chunked), then nothing.
        case hangAfterHeaders(status: Int, headers: [(String, String)])
        /// Send the head and these chunks, then close the socket without finishing the body.
        case dropAfter(status: Int, headers: [(String, String)], chunks: [Chunk])
        /// Close the connection as soon as the request arrived.
        case closeImmediately
        /// Stream whatever the test sends through the feed, chunked, until it finishes or drops.
        case stream(status: Int, headers: [(String, String)], feed: StreamFeed)
        /// Answer 101 Switching Protocols and echo every byte back, prefixed by `greeting`.
        case upgradeEcho(greeting: [UInt8])

        public static func json(_ body: String, status: Int = 200, chunked: Bool = false) -> Behavior {
            .respond(status: status, headers: [("Content-Type", "application/json")], chunks: [Chunk(body)], contentLength: !chunked)
        }
    }

    private let handler: @Sendable (Request) -> Behavior
    private let group: EventLoopGroup
    private let recorded = Mutex<[Request]>([])
    private let channel = Mutex<Channel?>(nil)
    private let openConnections = Mutex<[ObjectIdentifier: Channel]>([:])

    public init(group: EventLoopGroup, handler: @escaping @Sendable (Request) -> Behavior) {
        self.group = group
        self.handler = handler
    }

    public var requests: [Request] { recorded.withLock { $0 } }

    public var connectionCount: Int { openConnections.withLock { $0.count } }

    /// Binds to 127.0.0.1 on a free port and returns it.
    public func start() async throws -> Int {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] ch in
                ch.eventLoop.makeCompletedFuture {
                    let key = ObjectIdentifier(ch)
                    openConnections.withLock { $0[key] = ch }
                    ch.closeFuture.whenComplete { _ in self.openConnections.withLock { _ = $0.removeValue(forKey: key) } }
                    try ch.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)), name: "dec")
                    try ch.pipeline.syncOperations.addHandler(HTTPResponseEncoder(), name: "enc")
                    try ch.pipeline.syncOperations.addHandler(
                        FakeRequestHandler(server: self), name: "fake")
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        channel.withLock { $0 = server }
        return server.localAddress!.port!
    }

    /// Stops listening and closes every open connection (a hard cut of the "cloud").
    public func stop() async {
        let ch = channel.withLock { c -> Channel? in
            defer { c = nil }
            return c
        }
        try? await ch?.close()
        killConnections()
    }

    /// Closes every open connection without stopping the listener.
    public func killConnections() {
        for c in openConnections.withLock({ Array($0.values) }) { c.close(promise: nil) }
    }

    fileprivate func record(_ r: Request) -> Behavior {
        recorded.withLock { $0.append(r) }
        return handler(r)
    }
}

/// Lets a test push bytes into an open streaming response (a watch) and end or break it.
public final class StreamFeed: Sendable {
    private enum Event: Sendable {
        case bytes([UInt8])
        case finish
        case drop
    }

    private struct State {
        var sink: (@Sendable (Event) -> Void)?
        var backlog: [Event] = []
    }

    private let state = Mutex(State())

    public init() {}

    public func send(_ string: String) { deliver(.bytes(Array(string.utf8))) }
    public func send(bytes: [UInt8]) { deliver(.bytes(bytes)) }
    /// End the response cleanly.
    public func finish() { deliver(.finish) }
    /// Close the socket mid-response.
    public func drop() { deliver(.drop) }

    public var isAttached: Bool { state.withLock { $0.sink != nil } }

    private func deliver(_ e: Event) {
        let sink: (@Sendable (Event) -> Void)? = state.withLock { s in
            if s.sink == nil { s.backlog.append(e) }
            return s.sink
        }
        sink?(e)
    }

    fileprivate func attach(write: @escaping @Sendable ([UInt8]) -> Void, finish: @escaping @Sendable () -> Void,
                            drop: @escaping @Sendable () -> Void) {
        let sink: @Sendable (Event) -> Void = { e in
            switch e {
            case .bytes(let b): write(b)
            case .finish: finish()
            case .drop: drop()
            }
        }
        let backlog = state.withLock { s -> [Event] in
            s.sink = sink
            defer { s.backlog = [] }
            return s.backlog
        }
        for e in backlog { sink(e) }
    }
}

final class FakeRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: FakeAPIServer
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(server: FakeAPIServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
        case .body(let b):
            body.append(contentsOf: b.readableBytesView)
        case .end:
            guard let h = head else { return }
            head = nil
            let request = FakeAPIServer.Request(method: h.method.rawValue, uri: h.uri,
                                                headers: h.headers.map { ($0.name, $0.value) }, body: body)
            act(server.record(request), head: h, context: context)
        }
    }

    private func responseHead(_ status: Int, _ headers: [(String, String)], contentLength: Int?) -> HTTPResponseHead {
        var hh = HTTPHeaders(headers)
        if let contentLength { hh.replaceOrAdd(name: "Content-Length", value: String(contentLength)) }
        return HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: hh)
    }

    private func act(_ behavior: FakeAPIServer.Behavior, head: HTTPRequestHead, context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let ctx = NIOLoopBound(context, eventLoop: loop)
        switch behavior {
        case .respond(let status, let headers, let chunks, let withLength):
            let total = chunks.reduce(0) { $0 + $1.bytes.count }
            context.writeAndFlush(wrapOutboundOut(.head(responseHead(status, headers, contentLength: withLength ? total : nil))), promise: nil)
            sendChunks(chunks[...], context: ctx) { ctx in
                ctx.value.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            }
        case .hangBeforeHeaders:
            break
        case .hangAfterHeaders(let status, let headers):
            context.writeAndFlush(wrapOutboundOut(.head(responseHead(status, headers, contentLength: nil))), promise: nil)
        case .dropAfter(let status, let headers, let chunks):
            let total = chunks.reduce(0) { $0 + $1.bytes.count } + 1000
            context.writeAndFlush(wrapOutboundOut(.head(responseHead(status, headers, contentLength: total))), promise: nil)
            sendChunks(chunks[...], context: ctx) { ctx in
                ctx.value.close(promise: nil)
            }
        case .closeImmediately:
            context.close(promise: nil)
        case .stream(let status, let headers, let feed):
            context.writeAndFlush(wrapOutboundOut(.head(responseHead(status, headers, contentLength: nil))), promise: nil)
            feed.attach(
                write: { bytes in
                    loop.execute {
                        ctx.value.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: bytes)))), promise: nil)
                    }
                },
                finish: { loop.execute { ctx.value.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil) } },
                drop: { loop.execute { ctx.value.close(promise: nil) } })
        case .upgradeEcho(let greeting):
            var hh = HTTPHeaders()
            hh.add(name: "Connection", value: "Upgrade")
            hh.add(name: "Upgrade", value: head.headers["upgrade"].first ?? "SPDY/3.1")
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: hh))), promise: nil)
            let ops = context.pipeline.syncOperations
            ops.removeHandler(name: "enc", promise: nil)
            try? ops.addHandler(EchoHandler(greeting: greeting))
            ops.removeHandler(context: context, promise: nil)
            ops.removeHandler(name: "dec", promise: nil)
        }
    }

    private func sendChunks(_ chunks: ArraySlice<FakeAPIServer.Chunk>, context: NIOLoopBound<ChannelHandlerContext>,
                            then: @escaping (NIOLoopBound<ChannelHandlerContext>) -> Void) {
        guard let first = chunks.first else {
            then(context)
            return
        }
        let rest = chunks.dropFirst()
        let write = {
            context.value.writeAndFlush(self.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: first.bytes)))), promise: nil)
            self.sendChunks(rest, context: context, then: then)
        }
        if first.delay == .zero {
            write()
        } else {
            let ns = first.delay.components.seconds * 1_000_000_000 + first.delay.components.attoseconds / 1_000_000_000
            context.value.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(ns)) { write() }
        }
    }
}

/// After an upgrade: greet, then echo every byte.
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let greeting: [UInt8]

    init(greeting: [UInt8]) { self.greeting = greeting }

    func handlerAdded(context: ChannelHandlerContext) {
        if !greeting.isEmpty {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: greeting)), promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.writeAndFlush(data, promise: nil)
    }
}
