import Logging
import NIOCore

/// Asks the apiserver's `/readyz` every `interval` (with a short deadline) and feeds the answer
/// into `UpstreamHealth`. Any HTTP answer counts as reachable — a 401/403/500 means the link works.
/// While the apiserver is online the probe relaxes to `onlineInterval`, and it is skipped when the
/// apiserver was heard from within the last `interval` (a reflector's stream delivering data, an
/// answer to a client): a fleet of idle nodes must not cost the apiserver more than their clients
/// do. Reads judge a silent cut on their own (a side check after the fallback delay).
public struct HealthProbe: Sendable {
    public var interval: Duration
    public var onlineInterval: Duration
    public var timeout: Duration
    public var path: String

    private let pool: UpstreamPool
    private let health: UpstreamHealth
    private let loop: EventLoop
    private let logger: Logger

    public init(pool: UpstreamPool, health: UpstreamHealth, loop: EventLoop, logger: Logger,
                interval: Duration = .seconds(1), onlineInterval: Duration = .seconds(3),
                timeout: Duration = .milliseconds(800), path: String = "/readyz") {
        self.pool = pool
        self.health = health
        self.loop = loop
        self.logger = logger
        self.interval = interval
        self.onlineInterval = onlineInterval
        self.timeout = timeout
        self.path = path
    }

    /// Probes until the task is cancelled.
    public func run() async {
        let recent = TimeAmount.nanoseconds(Int64(interval.components.seconds) * 1_000_000_000
                                            + interval.components.attoseconds / 1_000_000_000)
        while !Task.isCancelled {
            let online = health.snapshot.state == .online
            if !(online && NIODeadline.now() - health.lastSuccess < recent) {
                await probeOnce()
            }
            try? await Task.sleep(for: health.snapshot.state == .online ? onlineInterval : interval)
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
