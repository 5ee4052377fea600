import Logging
import NIOCore
import Upstream

/// Tunables of the forwarding path.
public struct ProxySettings: Sendable {
    /// How long to wait for the apiserver's response head before answering 504.
    public var responseHeadTimeout: TimeAmount
    /// A request that has a local answer and no response head after this long triggers a
    /// side check of the apiserver's /readyz (see `confirmTimeout`).
    public var fallbackDelay: TimeAmount
    /// How long that side check may take before the request is answered from the cache.
    public var confirmTimeout: TimeAmount
    /// Before the apiserver was ever reached in this run (a node rebooting into an outage), a
    /// read with a local answer waits only this long for the apiserver before the cache answers,
    /// without a side check (the start-up probe is already asking). nil: no such shortcut (set
    /// it only when the cache holds data: an empty cache would answer 503).
    public var startupFallbackDelay: TimeAmount?

    public init(responseHeadTimeout: TimeAmount = .seconds(60), fallbackDelay: TimeAmount = .milliseconds(300),
                confirmTimeout: TimeAmount = .milliseconds(600), startupFallbackDelay: TimeAmount? = nil) {
        self.responseHeadTimeout = responseHeadTimeout
        self.fallbackDelay = fallbackDelay
        self.confirmTimeout = confirmTimeout
        self.startupFallbackDelay = startupFallbackDelay
    }
}

/// What every connection handler shares (all thread-safe).
final class ProxyEnvironment: Sendable {
    let pool: UpstreamPool
    let health: UpstreamHealth
    let metrics: ProxyMetrics
    let logger: Logger
    let settings: ProxySettings
    let router: (any RequestRouter)?

    init(pool: UpstreamPool, health: UpstreamHealth, metrics: ProxyMetrics, logger: Logger,
         settings: ProxySettings, router: (any RequestRouter)?) {
        self.pool = pool
        self.health = health
        self.metrics = metrics
        self.logger = logger
        self.settings = settings
        self.router = router
    }
}
