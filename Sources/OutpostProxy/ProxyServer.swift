import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import Upstream

/// The local listener (default 127.0.0.1:10261) that kubelet, kube-proxy and kubectl talk to.
///
/// Graceful shutdown: stop accepting, end watches cleanly, let short requests finish within
/// `shutdownGracePeriod`, then close whatever is left.
public final class ProxyServer: Service, Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var settings: ProxySettings
        public var shutdownGracePeriod: Duration

        public init(host: String = "127.0.0.1", port: Int = 10261, settings: ProxySettings = ProxySettings(),
                    shutdownGracePeriod: Duration = .seconds(10)) {
            self.host = host
            self.port = port
            self.settings = settings
            self.shutdownGracePeriod = shutdownGracePeriod
        }
    }

    private let configuration: Configuration
    private let group: EventLoopGroup
    private let env: ProxyEnvironment
    private let connections = ConnectionRegistry()
    private let bound: Mutex<SocketAddress?> = Mutex(nil)
    private let onBound: (@Sendable (SocketAddress) -> Void)?

    public init(configuration: Configuration, group: EventLoopGroup, pool: UpstreamPool, health: UpstreamHealth,
                metrics: ProxyMetrics, logger: Logger, router: (any RequestRouter)? = nil,
                onBound: (@Sendable (SocketAddress) -> Void)? = nil) {
        self.configuration = configuration
        self.group = group
        self.env = ProxyEnvironment(pool: pool, health: health, metrics: metrics, logger: logger,
                                    settings: configuration.settings, router: router)
        let connections = self.connections
        health.onTransition { t in
            switch t {
            case .becameOnline, .recovered: connections.reachabilityChanged(online: true)
            case .becameOffline: connections.reachabilityChanged(online: false)
            }
        }
        self.onBound = onBound
    }

    public var localAddress: SocketAddress? { bound.withLock { $0 } }

    public func run() async throws {
        let env = self.env
        let connections = self.connections
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = ClientConnectionHandler(env: env)
                    try ServerCodec.install(on: channel, proxy: handler)
                    connections.add(channel, handler)
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        if let address = server.localAddress {
            bound.withLock { $0 = address }
            env.logger.info("listening", metadata: ["address": "\(address)"])
            onBound?(address)
        }
        try await withGracefulShutdownHandler {
            try await server.closeFuture.get()
        } onGracefulShutdown: {
            server.close(promise: nil)
        }
        await drain()
        env.pool.closeIdle()
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

/// Open client connections, so shutdown can reach each one on its own event loop.
final class ConnectionRegistry: Sendable {
    private struct Entry: @unchecked Sendable {  // the handler is only touched on its channel's loop
        var channel: Channel
        var handler: ClientConnectionHandler
    }

    private let entries = Mutex<[ObjectIdentifier: Entry]>([:])

    var count: Int { entries.withLock { $0.count } }

    func add(_ channel: Channel, _ handler: ClientConnectionHandler) {
        let key = ObjectIdentifier(channel)
        entries.withLock { $0[key] = Entry(channel: channel, handler: handler) }
        channel.closeFuture.whenComplete { _ in
            self.entries.withLock { _ = $0.removeValue(forKey: key) }
        }
    }

    func shutdownAll() {
        for e in entries.withLock({ Array($0.values) }) {
            e.channel.eventLoop.execute { e.handler.beginShutdown() }
        }
    }

    func reachabilityChanged(online: Bool) {
        for e in entries.withLock({ Array($0.values) }) {
            e.channel.eventLoop.execute { e.handler.upstreamReachabilityChanged(online: online) }
        }
    }

    func closeAll() {
        for e in entries.withLock({ Array($0.values) }) { e.channel.close(promise: nil) }
    }
}
