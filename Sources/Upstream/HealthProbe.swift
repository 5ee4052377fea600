import Logging
import NIOCore

/// Asks the apiserver's `/readyz` every `interval` (with a short deadline) and feeds the answer
/// into `UpstreamHealth`. Any HTTP answer counts as reachable — a 401/403/500 means the link works.
public struct HealthProbe: Sendable {
    public var interval: Duration
    public var timeout: Duration
    public var path: String

    private let pool: UpstreamPool
    private let health: UpstreamHealth
    private let loop: EventLoop
    private let logger: Logger

    public init(pool: UpstreamPool, health: UpstreamHealth, loop: EventLoop, logger: Logger,
                interval: Duration = .seconds(1), timeout: Duration = .milliseconds(800), path: String = "/readyz") {
        self.pool = pool
        self.health = health
        self.loop = loop
        self.logger = logger
        self.interval = interval
        self.timeout = timeout
        self.path = path
    }

    /// Probes until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            await probeOnce()
            try? await Task.sleep(for: interval)
        }
    }

    public func probeOnce() async {
        do {
            let ms = Int64(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
            _ = try await pool.get(path, on: loop, timeout: .milliseconds(ms)).get()
            health.recordSuccess()
        } catch {
            health.recordFailure("probe \(path): \(error)")
        }
    }
}
