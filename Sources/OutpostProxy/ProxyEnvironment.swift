import Logging
import NIOCore
import Upstream

/// Tunables of the forwarding path.
public struct ProxySettings: Sendable {
    /// How long to wait for the apiserver's response head before answering 504.
    public var responseHeadTimeout: TimeAmount

    public init(responseHeadTimeout: TimeAmount = .seconds(60)) {
        self.responseHeadTimeout = responseHeadTimeout
    }
}

/// What every connection handler shares (all thread-safe).
final class ProxyEnvironment: Sendable {
    let pool: UpstreamPool
    let health: UpstreamHealth
    let metrics: ProxyMetrics
    let logger: Logger
    let settings: ProxySettings
    let interceptors: (any ResponseInterceptorFactory)?

    init(pool: UpstreamPool, health: UpstreamHealth, metrics: ProxyMetrics, logger: Logger,
         settings: ProxySettings, interceptors: (any ResponseInterceptorFactory)?) {
        self.pool = pool
        self.health = health
        self.metrics = metrics
        self.logger = logger
        self.settings = settings
        self.interceptors = interceptors
    }
}
