import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import Upstream

/// The admin listener (default 127.0.0.1:10267): `/healthz` (the process serves), `/readyz`
/// (the apiserver was reached at least once; 503 with the reason otherwise), `/metrics` and
/// `/status` (a JSON summary for `outpost status`).
/// Kept off the proxy port so a probe can never be mistaken for, or routed to, the apiserver,
/// and so it keeps answering when the proxy port is at its connection limit: it has its own
/// small limit (`maxConnections`; over it a connection is closed at once) and the same
/// request-head and idle timeouts.
public final class AdminServer: Service, Sendable {
    public struct Readiness: Sendable {
        public var ready: Bool
        public var reason: String
        public init(ready: Bool, reason: String) {
            self.ready = ready
            self.reason = reason
        }
    }

    private let host: String
    private let port: Int
    private let group: EventLoopGroup
    private let logger: Logger
    private let readiness: @Sendable () -> Readiness
    private let metrics: @Sendable () -> String
    private let status: @Sendable () -> String
    private let bound: Mutex<SocketAddress?> = Mutex(nil)
    private let onBound: (@Sendable (SocketAddress) -> Void)?
    private let timeouts: ConnectionTimeouts
    private let maxConnections: Int
    private let open = Atomic<Int>(0)

    /// Connections the admin listener keeps open at once by default (probes and a scraper).
    public static let defaultMaxConnections = 32

    public init(host: String, port: Int, group: EventLoopGroup, logger: Logger,
                readiness: @escaping @Sendable () -> Readiness, metrics: @escaping @Sendable () -> String,
                status: @escaping @Sendable () -> String = { "{}" },
                timeouts: ConnectionTimeouts = ConnectionTimeouts(), maxConnections: Int = AdminServer.defaultMaxConnections,
                onBound: (@Sendable (SocketAddress) -> Void)? = nil) {
        self.host = host
        self.port = port
        self.timeouts = timeouts
        self.maxConnections = maxConnections
        self.group = group
        self.logger = logger
        self.readiness = readiness
        self.metrics = metrics
        self.status = status
        self.onBound = onBound
    }

    /// Readiness from upstream health: ready once the apiserver answered at least once.
    public static func upstreamReadiness(_ health: UpstreamHealth) -> @Sendable () -> Readiness {
        {
            let s = health.snapshot
            if s.everReached { return Readiness(ready: true, reason: "ok") }
            return Readiness(ready: false, reason: "the apiserver has not been reached yet" + (s.lastError.map { ": \($0)" } ?? ""))
        }
    }

    public var localAddress: SocketAddress? { bound.withLock { $0 } }

    public func run() async throws {
        let readiness = self.readiness
        let metrics = self.metrics
        let status = self.status
        let timeouts = self.timeouts
        let maxConnections = self.maxConnections
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    guard open.add(1, ordering: .relaxed).newValue <= maxConnections else {
                        open.subtract(1, ordering: .relaxed)
                        channel.close(promise: nil)
                        return
                    }
                    channel.closeFuture.whenComplete { _ in self.open.subtract(1, ordering: .relaxed) }
                    try ServerCodec.install(on: channel, proxy: AdminHandler(readiness: readiness, metrics: metrics, status: status),
                                            deadlines: ConnectionDeadlineHandler(timeouts: timeouts))
                }
            }
        let server = try await ListenerSpec(.tcp(host: host, port: port), flag: "--admin-listen").bind(bootstrap)
        if let address = server.localAddress {
            bound.withLock { $0 = address }
            logger.info("admin listening", metadata: ["address": "\(address)"])
            onBound?(address)
        }
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await server.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            server.close(promise: nil)
        }
    }
}

final class AdminHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let readiness: @Sendable () -> AdminServer.Readiness
    private let metrics: @Sendable () -> String
    private let status: @Sendable () -> String
    private var head: HTTPRequestHead?

    init(readiness: @escaping @Sendable () -> AdminServer.Readiness, metrics: @escaping @Sendable () -> String,
         status: @escaping @Sendable () -> String) {
        self.readiness = readiness
        self.metrics = metrics
        self.status = status
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            let (status, type, body): (HTTPResponseStatus, String, String)
            switch (head.method, path) {
            case (.GET, "/healthz"), (.HEAD, "/healthz"), (.GET, "/livez"):
                (status, type, body) = (.ok, "text/plain; charset=utf-8", "ok")
            case (.GET, "/readyz"), (.HEAD, "/readyz"):
                let r = readiness()
                (status, type, body) = (r.ready ? .ok : .serviceUnavailable, "text/plain; charset=utf-8", r.ready ? "ok" : r.reason)
            case (.GET, "/metrics"):
                (status, type, body) = (.ok, "text/plain; version=0.0.4; charset=utf-8", metrics())
            case (.GET, "/status"):
                (status, type, body) = (.ok, "application/json", self.status())
            case (_, "/healthz"), (_, "/readyz"), (_, "/metrics"), (_, "/status"):
                (status, type, body) = (.methodNotAllowed, "text/plain; charset=utf-8", "method not allowed")
            default:
                (status, type, body) = (.notFound, "text/plain; charset=utf-8", "not found")
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: type)
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            let keepAlive = head.isKeepAlive
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            if head.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            }
            let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if !keepAlive {
                done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            }
        }
    }
}
