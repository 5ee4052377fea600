import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization
import Upstream

/// The local listeners (default plain HTTP on 127.0.0.1:10261; optionally TLS with client
/// certificates and a Unix socket) that kubelet, kube-proxy and kubectl talk to. Every listener
/// feeds the same handlers.
///
/// Floods: a connection must send its request head within `timeouts.requestHead` and may idle
/// between requests for `timeouts.idle` (requests in flight, watches and tunnels never time
/// out); at `maxConnections` the oldest connection with no request in flight is closed to make
/// room, and when every connection is busy a new one gets a 429 Status (see `ConnectionRegistry`).
///
/// Graceful shutdown: stop accepting, end watches cleanly, let short requests finish within
/// `shutdownGracePeriod`, then close whatever is left.
public final class ProxyServer: Service, Sendable {
    public struct Configuration: Sendable {
        public var listeners: [ListenerSpec]
        public var settings: ProxySettings
        public var shutdownGracePeriod: Duration
        public var timeouts: ConnectionTimeouts
        /// Client connections open at once, over all listeners.
        public var maxConnections: Int

        public init(host: String = "127.0.0.1", port: Int = 10261, settings: ProxySettings = ProxySettings(),
                    shutdownGracePeriod: Duration = .seconds(10), timeouts: ConnectionTimeouts = ConnectionTimeouts(),
                    maxConnections: Int = 2048, extraListeners: [ListenerSpec] = []) {
            self.listeners = [ListenerSpec(.tcp(host: host, port: port), flag: "--listen")] + extraListeners
            self.settings = settings
            self.shutdownGracePeriod = shutdownGracePeriod
            self.timeouts = timeouts
            self.maxConnections = maxConnections
        }
    }

    private let configuration: Configuration
    private let group: EventLoopGroup
    private let env: ProxyEnvironment
    private let connections: ConnectionRegistry
    private let bound: Mutex<[SocketAddress]> = Mutex([])
    private let onBound: (@Sendable (SocketAddress) -> Void)?

    public init(configuration: Configuration, group: EventLoopGroup, pool: UpstreamPool, health: UpstreamHealth,
                metrics: ProxyMetrics, logger: Logger, router: (any RequestRouter)? = nil,
                onBound: (@Sendable (SocketAddress) -> Void)? = nil) {
        self.configuration = configuration
        self.group = group
        self.env = ProxyEnvironment(pool: pool, health: health, metrics: metrics, logger: logger,
                                    settings: configuration.settings, router: router)
        let connections = ConnectionRegistry(limit: configuration.maxConnections, metrics: metrics)
        self.connections = connections
        health.onTransition { t in
            switch t {
            case .becameOnline, .recovered: connections.reachabilityChanged(online: true)
            case .becameOffline: connections.reachabilityChanged(online: false)
            }
        }
        self.onBound = onBound
    }

    /// The first listener's address (the plain one).
    public var localAddress: SocketAddress? { bound.withLock { $0.first } }

    /// Client connections open now.
    public var connectionCount: Int { connections.count }

    public func run() async throws {
        let env = self.env
        let connections = self.connections
        let timeouts = configuration.timeouts
        var servers: [Channel] = []
        var unixFiles: [(path: String, id: (dev: UInt64, ino: UInt64)?)] = []
        do {
            for spec in configuration.listeners {
                let tls = spec.tls
                var bootstrap = ServerBootstrap(group: group)
                    .serverChannelOption(.backlog, value: 4096)  // absorbs a burst of connects (a full backlog costs a client a 1 s SYN retry)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelOption(.maxMessagesPerRead, value: 16)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try Self.initialize(channel, tls: tls, env: env, connections: connections, timeouts: timeouts)
                        }
                    }
                if case .tcp = spec.address {
                    bootstrap = bootstrap.childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                }
                let server = try await spec.bind(bootstrap)
                servers.append(server)
                if case .unix(let path, _) = spec.address { unixFiles.append((path, UnixSocketFile.identity(path))) }
                let address = server.localAddress
                if let address { bound.withLock { $0.append(address) } }
                env.logger.info("listening", metadata: ["address": "\(spec.address)", "tls": "\(tls != nil)"])
                if let address, servers.count == 1 { onBound?(address) }
            }
        } catch {
            for s in servers { try? await s.close() }
            for f in unixFiles { UnixSocketFile.remove(f.path, ifIdentity: f.id) }
            throw error
        }
        let listening = servers
        try await withTaskCancellationOrGracefulShutdownHandler {
            for s in listening { try await s.closeFuture.get() }
        } onCancelOrGracefulShutdown: {
            for s in listening { s.close(promise: nil) }
        }
        for f in unixFiles { UnixSocketFile.remove(f.path, ifIdentity: f.id) }
        await drain()
        env.pool.closeIdle()
    }

    /// A new connection: admitted (closing the oldest idle one at the limit), or refused.
    private static func initialize(_ channel: Channel, tls: NIOSSLContext?, env: ProxyEnvironment,
                                   connections: ConnectionRegistry, timeouts: ConnectionTimeouts) throws {
        let ops = channel.pipeline.syncOperations
        switch connections.admit() {
        case .admit(let victim):
            if let victim {
                victim.close(promise: nil)
                env.logger.debug("connection limit reached: closed the oldest idle connection")
            }
            let handler = ClientConnectionHandler(env: env)
            let activity = ConnectionActivity()
            let metrics = env.metrics
            do {
                if let tls { try ops.addHandler(NIOSSLServerHandler(context: tls)) }
                try ServerCodec.install(on: channel, proxy: handler,
                                        deadlines: ConnectionDeadlineHandler(timeouts: timeouts, activity: activity,
                                                                             onTimeout: { metrics.connectionClosed("timeout") }))
            } catch {
                connections.release()
                throw error
            }
            connections.add(channel, handler, activity)
        case .refuse:
            if let tls { try ops.addHandler(NIOSSLServerHandler(context: tls)) }
            try ops.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
            try ops.addHandler(HTTPResponseEncoder())
            try ops.addHandler(RefusalHandler())
            connections.refusalStarted(channel)
        case .close:
            channel.close(promise: nil)
        }
    }

    /// Ends watches, waits for short requests, then closes what is left.
    private func drain() async {
        connections.shutdownAll()
        let deadline = ContinuousClock.now + configuration.shutdownGracePeriod
        while connections.count > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if connections.count > 0 {
            env.logger.info("closing connections after grace period", metadata: ["open": "\(connections.count)"])
            connections.closeAll()
        }
    }
}

/// Open client connections, so shutdown can reach each one on its own event loop, and the
/// connection limit.
///
/// At the limit, the oldest connection with no request in flight (a stalled head, an idle
/// keep-alive) is closed to admit the new one: a flood of connections that never send a
/// request cannot lock out clients that do, and an idle client only pays a reconnect. When
/// every connection is busy (real load), the new one is answered with the apiserver's 429
/// `TooManyRequests` Status and `Retry-After: 1`: client-go retries that by itself after the
/// delay, while a connection closed before any response is a hard error to it (not retried on
/// a fresh connection) that its reflectors back off from for far longer. The request head is
/// read before answering (at most `RefusalHandler.headTimeout`), so the client reads the 429 as
/// the answer to its request instead of a reset; past `maxRefusing` such connections at once,
/// new ones are closed at once.
final class ConnectionRegistry: Sendable {
    private struct Entry: @unchecked Sendable {  // the handler is only touched on its channel's loop
        var channel: Channel
        var handler: ClientConnectionHandler
        var activity: ConnectionActivity
        var sequence: Int
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var next = 0
        /// Admitted, not yet added (the channel initializer runs between the two).
        var reserved = 0
        var refusing = 0
    }

    enum Admission {
        /// Admit; close `victim` first (the limit was reached).
        case admit(victim: Channel?)
        case refuse
        case close
    }

    static let maxRefusing = 64

    let limit: Int
    private let metrics: ProxyMetrics
    private let state = Mutex(State())

    init(limit: Int, metrics: ProxyMetrics) {
        self.limit = limit
        self.metrics = metrics
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// Decides about a new connection (and reserves its place when admitted).
    func admit() -> Admission {
        let decision = state.withLock { s -> Admission in
            if s.entries.count + s.reserved < limit {
                s.reserved += 1
                return .admit(victim: nil)
            }
            if let oldest = s.entries.filter({ $0.value.activity.isIdle }).min(by: { $0.value.sequence < $1.value.sequence }) {
                s.entries.removeValue(forKey: oldest.key)
                s.reserved += 1
                return .admit(victim: oldest.value.channel)
            }
            if s.refusing < Self.maxRefusing {
                s.refusing += 1
                return .refuse
            }
            return .close
        }
        switch decision {
        case .admit(let victim): if victim != nil { metrics.connectionClosed("evicted") }
        case .refuse: metrics.connectionClosed("refused")
        case .close: metrics.connectionClosed("refused_at_once")
        }
        return decision
    }

    func add(_ channel: Channel, _ handler: ClientConnectionHandler, _ activity: ConnectionActivity) {
        let key = ObjectIdentifier(channel)
        state.withLock {
            $0.reserved -= 1
            $0.entries[key] = Entry(channel: channel, handler: handler, activity: activity, sequence: $0.next)
            $0.next += 1
        }
        metrics.connectionOpened()
        channel.closeFuture.whenComplete { _ in
            self.state.withLock { _ = $0.entries.removeValue(forKey: key) }
            self.metrics.connectionEnded()
        }
    }

    /// An admitted connection that could not be set up after all.
    func release() {
        state.withLock { $0.reserved -= 1 }
    }

    func refusalStarted(_ channel: Channel) {
        channel.closeFuture.whenComplete { _ in self.state.withLock { $0.refusing -= 1 } }
    }

    private var all: [Entry] { state.withLock { Array($0.entries.values) } }

    func shutdownAll() {
        for e in all {
            e.channel.eventLoop.execute { e.handler.beginShutdown() }
        }
    }

    func reachabilityChanged(online: Bool) {
        for e in all {
            e.channel.eventLoop.execute { e.handler.upstreamReachabilityChanged(online: online) }
        }
    }

    func closeAll() {
        for e in all { e.channel.close(promise: nil) }
    }
}

/// A connection over the limit: read its request head, answer the apiserver's 429, close.
/// A client that sends no head within `headTimeout` is closed without an answer.
final class RefusalHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let headTimeout = TimeAmount.seconds(2)
    private var timer: Scheduled<Void>?
    private var answered = false

    func handlerAdded(context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.headTimeout) {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) { timer?.cancel() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head = unwrapInboundIn(data), !answered else { return }
        answered = true
        timer?.cancel()
        let status = StatusResponse(code: 429, reason: .tooManyRequests, message: "Too many requests, please try again later.")
        var (head, body) = status.head(version: .http1_1, close: true)
        head.headers.add(name: "Retry-After", value: "1")
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
