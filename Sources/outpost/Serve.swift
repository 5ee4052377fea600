import ArgumentParser
import Logging
import NIOCore
import NIOPosix
import OutpostProxy
import ServiceLifecycle
import Upstream

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the proxy in front of the apiserver named by a kubeconfig."
    )

    @Option(help: "Kubeconfig with the apiserver, its CA and credentials (default: $KUBECONFIG, then ~/.kube/config).")
    var kubeconfig: String?

    @Option(help: "Kubeconfig context to use (default: its current-context).")
    var context: String?

    @Option(name: .customLong("server-addr"), help: "Apiserver URL overriding the kubeconfig's server, e.g. https://10.0.0.1:6443.")
    var serverAddr: String?

    @Option(help: "Where local clients connect (plain HTTP).")
    var listen: HostPort = HostPort(host: "127.0.0.1", port: 10261)

    @Option(name: .customLong("admin-listen"), help: "Where /healthz, /readyz and /metrics are served.")
    var adminListen: HostPort = HostPort(host: "127.0.0.1", port: 10267)

    @Option(name: .customLong("cache-dir"), help: "Directory of the local cache.")
    var cacheDir: String = "/var/lib/outpost"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .customLong("threads"), help: "Event loop threads (default: 1; edge nodes have 1-2 cores).")
    var threads: Int = 1

    @Option(name: .customLong("response-timeout"), help: "Seconds to wait for the apiserver's response headers before answering 504.")
    var responseTimeout: Int = 60

    func validate() throws {
        guard threads >= 1 && threads <= 64 else { throw ValidationError("--threads must be between 1 and 64") }
        guard responseTimeout >= 1 else { throw ValidationError("--response-timeout must be at least 1 second") }
    }

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "outpost")

        let upstreamConfig: UpstreamConfiguration
        do {
            upstreamConfig = try UpstreamSetup.load(kubeconfig: kubeconfig, context: context, serverOverride: serverAddr)
        } catch {
            throw ValidationError("\(error)")
        }
        logger.info("upstream", metadata: ["apiserver": "\(upstreamConfig)"])

        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let connector = try UpstreamConnector(configuration: upstreamConfig)
        let pool = UpstreamPool(connector: connector)
        let health = UpstreamHealth()
        let metrics = ProxyMetrics()
        health.onTransition { t in
            switch t {
            case .becameOnline:
                logger.info("apiserver reachable")
                metrics.healthTransition("online")
            case .becameOffline(let reason):
                logger.warning("apiserver unreachable", metadata: ["reason": "\(reason)"])
                metrics.healthTransition("offline")
            }
        }

        let proxy = ProxyServer(
            configuration: .init(host: listen.host, port: listen.port,
                                 settings: ProxySettings(responseHeadTimeout: .seconds(Int64(responseTimeout)))),
            group: group, pool: pool, health: health, metrics: metrics, logger: logger)
        let admin = AdminServer(
            host: adminListen.host, port: adminListen.port, group: group, logger: logger,
            readiness: AdminServer.upstreamReadiness(health),
            metrics: { metrics.render(extra: ProcessStats.current()) })
        let probe = ProbeService(probe: HealthProbe(pool: pool, health: health, loop: group.next(), logger: logger))

        let services = ServiceGroup(
            configuration: .init(
                services: [.init(service: probe), .init(service: admin), .init(service: proxy)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await services.run()
        try await group.shutdownGracefully()
        logger.info("stopped")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Runs the health probe until graceful shutdown.
struct ProbeService: Service {
    let probe: HealthProbe

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await probe.run()
        }
    }
}
