import Logging
import NIOCore
import NIOPosix
import OutpostProxy
import ServiceLifecycle
import Synchronization
import Upstream

/// Outpost (proxy + admin) running in-process in front of a `FakeAPIServer`.
public struct ProxyHarness {
    public let group: EventLoopGroup
    public let fake: FakeAPIServer
    public let fakePort: Int
    public let proxy: ProxyServer
    public let admin: AdminServer
    public let health: UpstreamHealth
    public let pool: UpstreamPool
    public let metrics: ProxyMetrics
    public let serviceGroup: ServiceGroup

    public var proxyPort: Int { proxy.localAddress!.port! }
    public var adminPort: Int { admin.localAddress!.port! }

    public func client() async throws -> TestClient {
        try await TestClient.connect(port: proxyPort, group: group)
    }

    /// Runs `body` with a fresh fake apiserver and Outpost in front of it, then shuts down.
    public static func with(
        upstreamPort: Int? = nil,
        settings: ProxySettings = ProxySettings(responseHeadTimeout: .seconds(10)),
        router: (any RequestRouter)? = nil,
        timeouts: ConnectionTimeouts = ConnectionTimeouts(),
        maxConnections: Int = 2048,
        extraListeners: [ListenerSpec] = [],
        fake handler: @escaping @Sendable (FakeAPIServer.Request) -> FakeAPIServer.Behavior,
        _ body: (ProxyHarness) async throws -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let fake = FakeAPIServer(group: group, handler: handler)
        let fakePort = try await fake.start()
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let config = UpstreamConfiguration(host: "127.0.0.1", port: upstreamPort ?? fakePort,
                                           credentials: .bearerToken("outpost-secret-token"),
                                           connectTimeout: .seconds(2))
        let pool = UpstreamPool(connector: try UpstreamConnector(configuration: config))
        let health = UpstreamHealth()
        let metrics = ProxyMetrics()
        let proxy = ProxyServer(configuration: .init(host: "127.0.0.1", port: 0, settings: settings, shutdownGracePeriod: .seconds(3),
                                                     timeouts: timeouts, maxConnections: maxConnections,
                                                     extraListeners: extraListeners),
                                group: group, pool: pool, health: health, metrics: metrics, logger: logger,
                                router: router)
        let admin = AdminServer(host: "127.0.0.1", port: 0, group: group, logger: logger,
                                readiness: AdminServer.upstreamReadiness(health),
                                metrics: { metrics.render() }, timeouts: timeouts)
        let sg = ServiceGroup(services: [admin, proxy], logger: logger)
        let h = ProxyHarness(group: group, fake: fake, fakePort: fakePort, proxy: proxy, admin: admin,
                             health: health, pool: pool, metrics: metrics, serviceGroup: sg)
        try await withThrowingTaskGroup(of: Void.self) { tg in
            tg.addTask { try await sg.run() }
            while proxy.localAddress == nil || admin.localAddress == nil {
                try await Task.sleep(for: .milliseconds(5))
            }
            do {
                try await body(h)
            } catch {
                await sg.triggerGracefulShutdown()
                try? await tg.waitForAll()
                await fake.stop()
                try? await group.shutdownGracefully()
                throw error
            }
            await sg.triggerGracefulShutdown()
            try await tg.waitForAll()
        }
        await fake.stop()
        try await group.shutdownGracefully()
    }
}

public func waitUntil(timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

public final class Flag: Sendable {
    private let value = Mutex(false)
    public init() {}
    public func set() { value.withLock { $0 = true } }
    public var isSet: Bool { value.withLock { $0 } }
}
