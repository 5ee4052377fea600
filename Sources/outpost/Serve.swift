import EdgeCache
import Filters
import KubeConfig
import Logging
import NIOCore
import NIOPosix
import OutpostCLI
import OutpostProxy
import ServiceLifecycle
import Upstream
import UnixSignals

struct Serve {
    let options: ServeOptions

    func run() async throws {
        let level = Logger.Level(rawValue: options.logLevel) ?? .info
        let kubeconfig = options.kubeconfig, context = options.context, serverAddr = options.serverAddr
        let cacheDir = options.cacheDir, config = options.config, threads = options.threads
        let listen = options.listen, adminListen = options.adminListen, responseTimeout = options.responseTimeout
        let json = options.logFormat == "json"
        LoggingSystem.bootstrap { label in
            if json {
                var h = JSONLogHandler(label: label)
                h.logLevel = level
                return h
            }
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "outpost")

        let upstreamConfig: UpstreamConfiguration
        do {
            upstreamConfig = try UpstreamSetup.load(kubeconfig: kubeconfig, context: context, serverOverride: serverAddr)
        } catch {
            throw StartupError("\(error)")
        }
        logger.info("upstream", metadata: ["apiserver": "\(upstreamConfig)"])

        let outpostConfig: OutpostConfig
        if let config {
            do {
                outpostConfig = try Self.readConfig(config)
            } catch {
                throw StartupError("--config \(config): \(error)")
            }
        } else {
            outpostConfig = .default
        }
        // An unusable cache directory (or key file) degrades to forwarding without a cache (it logs why).
        let cache = CacheService.open(directory: cacheDir, keyFile: options.keyFilePath,
                                      accessLifetime: options.offlineAuthLifetime.map(Int64.init),
                                      config: outpostConfig, logger: logger)
        defer { cache.close() }
        let cached = cache.cachedObjects
        logger.info("cache", metadata: ["dir": "\(cacheDir)", "objects": "\(cached)",
                                         "filters": "\(outpostConfig.filters.rules.map(\.name))"])

        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let connector = try UpstreamConnector(configuration: upstreamConfig)
        let pool = UpstreamPool(connector: connector)
        let health = UpstreamHealth()
        let metrics = ProxyMetrics()
        health.onTransition { t in
            switch t {
            case .becameOnline:
                logger.info("apiserver reachable")
                pool.get("/version", on: group.next(), timeout: .seconds(5)).whenSuccess { r in
                    guard r.status == .ok else { return }
                    cache.learnVersion(Array(r.body.readableBytesView),
                                       contentType: r.headers.first(name: "content-type") ?? "application/json")
                }
                metrics.healthTransition("online")
            case .becameOffline(let reason):
                logger.warning("apiserver unreachable", metadata: ["reason": "\(reason)"])
                metrics.healthTransition("offline")
            case .recovered:
                logger.info("apiserver answering again after failed requests")
            }
        }

        if options.watchCache, let edge = cache.edgeCache {
            var sync = SyncSettings()
            sync.linger = .seconds(options.watchCacheLinger)
            sync.historyEvents = options.watchHistory
            let engine = SyncEngine(cache: edge, pool: pool, health: health, group: group, settings: sync)
            edge.attach(engine)
            health.onTransition { t in
                switch t {
                case .becameOnline, .recovered: engine.reachabilityChanged(online: true)
                case .becameOffline: engine.reachabilityChanged(online: false)
                }
            }
        }

        let door = try FrontDoor(options, upstream: upstreamConfig, logger: logger)
        let proxy = ProxyServer(
            configuration: .init(host: listen.host, port: listen.port,
                                 settings: ProxySettings(responseHeadTimeout: .seconds(Int64(responseTimeout)),
                                                         startupFallbackDelay: cached > 0 ? .milliseconds(20) : nil),
                                 timeouts: door.timeouts, maxConnections: door.maxConnections, extraListeners: door.extraListeners),
            group: group, pool: pool, health: health, metrics: metrics, logger: logger, router: cache.router)
        let status = StatusDocument(health: health, cache: cache, config: { cache.edgeCache?.config ?? outpostConfig },
                                    cacheDir: cacheDir)
        let admin = AdminServer(
            host: adminListen.host, port: adminListen.port, group: group, logger: logger,
            readiness: Self.readiness(health: health, cache: cache),
            metrics: { metrics.render(extra: cache.samples() + ProcessStats.current()) },
            status: { status.render() }, timeouts: door.timeouts)
        let probe = ProbeService(probe: HealthProbe(pool: pool, health: health, loop: group.next(), logger: logger))

        let services = ServiceGroup(
            configuration: .init(
                services: [.init(service: probe), .init(service: admin), .init(service: proxy)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        // Once start-up and the first exchanges have run (3 s), again after a minute and then
        // every 5 minutes, hand back code pages not in use; every 30 s, return freed heap (a big
        // list streamed through leaves free pages).
        let trim = Task {
            try await Task.sleep(for: .seconds(3))
            var seconds = 0
            while true {
                if seconds == 0 || seconds == 60 || seconds % 300 == 0 {
                    let bytes = CodePageTrim.run()
                    logger.debug("trimmed code pages", metadata: ["advisedBytes": "\(bytes)"])
                }
                if seconds % 30 == 0 { CodePageTrim.releaseFreeHeap() }
                try await Task.sleep(for: .seconds(5))
                seconds += 5
            }
        }
        defer { trim.cancel() }
        let reload = Task {
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                Self.reload(config, cache: cache, logger: logger)
            }
        }
        defer { reload.cancel() }
        try await services.run()
        try await group.shutdownGracefully()
        logger.info("stopped")
    }
}

extension Serve {
    static func readConfig(_ path: String) throws -> OutpostConfig {
        try OutpostConfig.parse(yaml: String(decoding: try FileIO.readFile(path), as: UTF8.self))
    }

    /// SIGHUP: re-reads `--config` and puts it in force without dropping a connection; a file
    /// that does not read, parse or apply is refused with one error line and the old config stays.
    static func reload(_ path: String?, cache: CacheService, logger: Logger) {
        guard let path else {
            logger.warning("SIGHUP: no --config file to re-read; the built-in config stays")
            return
        }
        guard let edge = cache.edgeCache else {
            logger.warning("SIGHUP: no cache (pass-through); nothing to reload")
            return
        }
        let new: OutpostConfig
        do {
            new = try readConfig(path)
        } catch {
            logger.error("config reload refused, keeping the previous config", metadata: ["config": "\(path)", "error": "\(error)"])
            return
        }
        do {
            let resynced = try edge.reload(new)
            logger.notice("config reloaded", metadata: [
                "config": "\(path)", "filters": "\(new.filters.rules.map(\.name))",
                "resources": "\(new.cache.summary)",
                "resynced": "\(resynced.map(\.description))",
            ])
        } catch {
            logger.error("config reload refused, keeping the previous config", metadata: ["config": "\(path)", "error": "\(error)"])
        }
    }

    /// Ready when Outpost can answer: the apiserver was reached, or the cache holds data to
    /// serve offline. Not ready while the cache cannot be written (full or failing disk).
    static func readiness(health: UpstreamHealth, cache: CacheService) -> @Sendable () -> AdminServer.Readiness {
        let upstream = AdminServer.upstreamReadiness(health)
        return {
            let c = cache.readiness
            guard c.ready else { return .init(ready: false, reason: c.reason) }
            let u = upstream()
            if u.ready { return u }
            let n = cache.cachedObjects
            if n > 0 {
                return .init(ready: true, reason: "offline; serving \(n) cached objects (\(u.reason))")
            }
            return u
        }
    }
}

/// Runs the health probe until graceful shutdown.
struct ProbeService: Service {
    let probe: HealthProbe

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await probe.run()
        }
    }
}
