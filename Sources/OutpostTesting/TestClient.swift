import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A small HTTP/1.1 client for integration tests: one connection, requests in sequence,
/// response parts observable as they arrive (to check streaming promptness).
public final class TestClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        /// False when the connection closed before the response's end.
        public var complete: Bool

        public var bodyString: String { String(decoding: body, as: UTF8.self) }
        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    public enum Part: Sendable {
        case head(status: Int, headers: [(String, String)])
        case body([UInt8])
        case end
        case closed
    }

    private let channel: Channel
    private let collector: PartCollector

    private init(channel: Channel, collector: PartCollector) {
        self.channel = channel
        self.collector = collector
    }

    public static func connect(port: Int, group: EventLoopGroup) async throws -> TestClient {
        let collector = PartCollector()
        let ch = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(PartHandler(collector: collector))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return TestClient(channel: ch, collector: collector)
    }

    public var underlying: Channel { channel }

    public func close() async {
        try? await channel.close()
    }

    /// Sends a request; returns the stream of its response parts (ends after `.end` or `.closed`).
    public func send(_ method: HTTPMethod = .GET, _ uri: String, headers: [(String, String)] = [],
                     body: [UInt8]? = nil, chunkSize: Int = 64 * 1024) async throws -> AsyncStream<Part> {
        var h = HTTPHeaders(headers)
        if !h.contains(name: "host") { h.add(name: "Host", value: "localhost") }
        if let body, !h.contains(name: "content-length"), !h.contains(name: "transfer-encoding") {
            h.add(name: "Content-Length", value: String(body.count))
        }
        let stream = collector.nextStream()
        channel.write(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: h)), promise: nil)
        if let body {
            var offset = 0
            while offset < body.count {
                let end = min(body.count, offset + chunkSize)
                try await channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body[offset..<end]))))
                offset = end
            }
        }
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil))
        return stream
    }

    /// Sends a request and collects the whole response.
    public func request(_ method: HTTPMethod = .GET, _ uri: String, headers: [(String, String)] = [],
                        body: [UInt8]? = nil) async throws -> Response {
        let parts = try await send(method, uri, headers: headers, body: body)
        return await Self.collect(parts)
    }

    public static func collect(_ parts: AsyncStream<Part>) async -> Response {
        var r = Response(status: 0, headers: [], body: [], complete: false)
        for await p in parts {
            switch p {
            case .head(let s, let h):
                r.status = s
                r.headers = h
            case .body(let b): r.body += b
            case .end: r.complete = true
            case .closed: break
            }
        }
        return r
    }
}

/// Routes response parts into one AsyncStream per request.
final class PartCollector: Sendable {
    private let current = Mutex<AsyncStream<TestClient.Part>.Continuation?>(nil)

    func nextStream() -> AsyncStream<TestClient.Part> {
        let (stream, cont) = AsyncStream<TestClient.Part>.makeStream()
        current.withLock { $0 = cont }
        return stream
    }

    func deliver(_ p: TestClient.Part) {
        let terminal: Bool
        switch p {
        case .end, .closed: terminal = true
        default: terminal = false
        }
        // Detach before finishing: once the stream ends the test may already ask for the next
        // one, and clearing afterwards would throw that new stream away.
        let c = current.withLock { cur -> AsyncStream<TestClient.Part>.Continuation? in
            let c = cur
            if terminal { cur = nil }
            return c
        }
        c?.yield(p)
        if terminal { c?.finish() }
    }
}

final class PartHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    private let collector: PartCollector

    init(collector: PartCollector) { self.collector = collector }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            collector.deliver(.head(status: Int(h.status.code), headers: h.headers.map { ($0.name, $0.value) }))
        case .body(let b):
            collector.deliver(.body(Array(b.readableBytesView)))
        case .end:
            collector.deliver(.end)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        collector.deliver(.closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// A raw TCP connection for protocol-level tests (upgrades, malformed requests).
public final class RawConnection: Sendable {
    private let channel: Channel
    private let received = Mutex<[UInt8]>([])
    private let closed = Mutex(false)

    private init(channel: Channel) { self.channel = channel }

    public static func connect(port: Int, group: EventLoopGroup) async throws -> RawConnection {
        try await connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: port), group: group)
    }

    public static func connect(unixSocket path: String, group: EventLoopGroup) async throws -> RawConnection {
        try await connect(to: try SocketAddress(unixDomainSocketPath: path), group: group)
    }

    public static func connect(to address: SocketAddress, group: EventLoopGroup) async throws -> RawConnection {
        let box = Mutex<RawConnection?>(nil)
        let ch = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(RawCollector { bytes in
                        box.withLock { $0 }?.received.withLock { $0 += bytes }
                    } onClose: {
                        box.withLock { $0 }?.closed.withLock { $0 = true }
                    })
                }
            }
            .connect(to: address).get()
        let conn = RawConnection(channel: ch)
        box.withLock { $0 = conn }
        return conn
    }

    public func send(_ s: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: s))
    }

    public var text: String { String(decoding: received.withLock { $0 }, as: UTF8.self) }
    public var isClosed: Bool { closed.withLock { $0 } }

    /// Waits until the received text contains `needle` (or the deadline passes).
    public func waitFor(_ needle: String, timeout: Duration = .seconds(5)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if text.contains(needle) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return text.contains(needle)
    }

    public func waitClosed(timeout: Duration = .seconds(5)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if isClosed { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return isClosed
    }

    public func close() async { try? await channel.close() }
}

final class RawCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let onBytes: ([UInt8]) -> Void
    private let onClose: () -> Void

    init(_ onBytes: @escaping ([UInt8]) -> Void, onClose: @escaping () -> Void) {
        self.onBytes = onBytes
        self.onClose = onClose
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onBytes(Array(unwrapInboundIn(data).readableBytesView))
    }

    func channelInactive(context: ChannelHandlerContext) {
        onClose()
        context.fireChannelInactive()
    }
}
