import EdgeCache
import NIOCore
import ServiceLifecycle
import Upstream

/// Runs the discovery refresher (see `DiscoveryRefresher`) until graceful shutdown, fetching
/// through the upstream pool with Outpost's own credentials.
struct DiscoveryService: Service {
    let refresher: DiscoveryRefresher
    let pool: UpstreamPool
    let loop: EventLoop
    let health: UpstreamHealth

    /// Discovery lists are small; OpenAPI documents are megabytes (v2 of a cluster with many
    /// CRDs reaches tens).
    static let maxDocument = 1 << 20
    static let maxOpenAPIDocument = 64 << 20

    func run() async throws {
        let pool = self.pool, loop = self.loop, health = self.health
        await cancelWhenGracefulShutdown {
            await refresher.run(
                fetch: { path, accept, large in
                    let r = try await pool.get(path, on: loop, timeout: .seconds(large ? 60 : 10),
                                               maxBody: large ? Self.maxOpenAPIDocument : Self.maxDocument, accept: accept).get()
                    return DiscoveryRefresher.Fetched(status: Int(r.status.code), contentType: r.headers.first(name: "content-type"),
                                                      body: Array(r.body.readableBytesView))
                },
                isOnline: { health.snapshot.isOnline })
        }
    }
}
