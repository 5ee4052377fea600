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
                fetch: { request in
                    // A ranged ask may be answered whole (a server that ignores Range): it may be big.
                    let large = request.range != nil || request.large
                    let range = request.range.map { [("Range", "bytes=\($0.lowerBound)-\($0.upperBound - 1)")] } ?? []
                    let r = try await pool.get(request.path, on: loop, timeout: .seconds(large ? 60 : 10),
                                               maxBody: large ? Self.maxOpenAPIDocument : Self.maxDocument,
                                               accept: request.accept, headers: range).get()
                    return DiscoveryRefresher.Fetched(status: Int(r.status.code), contentType: r.headers.first(name: "content-type"),
                                                      body: Array(r.body.readableBytesView), etag: r.headers.first(name: "etag"),
                                                      contentRange: r.headers.first(name: "content-range"))
                },
                isOnline: { health.snapshot.isOnline })
        }
    }
}
