import CacheCrypto
import Filters
import KubeRequest
import Logging
import NIOHTTP1
import OutpostProxy

/// The cache as the process runs it: an `EdgeCache`, or none when the cache directory cannot
/// hold one (a file where the directory should be, a read-only mount, no permission). Without a
/// cache Outpost still forwards everything — no tees, no local answers — and `/readyz` says 503
/// with the reason: a broken disk costs the node its offline answers, never the apiserver.
///
/// Opening is not retried: what makes a directory unusable (a mount, an ownership) does not heal
/// by itself, the fix is an operator's, and a restart after it is cheap; a full disk is not
/// "unusable" (the store opens and serves what it has, see `CacheStore.open`).
public enum CacheService: Sendable {
    case cache(EdgeCache)
    case passThrough(reason: String)

    /// Opens the cache in `directory` with the keys of `keyFile` (created 0600 if missing), or logs
    /// one line saying why there is none and forwards only. `accessLifetime`: see `EdgeCache.init`.
    public static func open(directory: String, keyFile: String, accessLifetime: Int64?, config: OutpostConfig,
                            logger: Logger) -> CacheService {
        do {
            let keys = try KeyFile.loadOrCreate(keyFile)
            if keys.created { logger.notice("created the cache key file", metadata: ["path": "\(keyFile)"]) }
            if keys.tightened { logger.warning("the cache key file was readable by others; now 0600", metadata: ["path": "\(keyFile)"]) }
            return .cache(try EdgeCache(directory: directory, config: config, logger: logger, keys: keys.keys,
                                        accessLifetime: accessLifetime))
        } catch {
            let reason = "cache directory \(directory) is unusable (\(error)); forwarding everything without a cache"
            logger.error("no cache: \(reason)")
            return .passThrough(reason: reason)
        }
    }

    public var edgeCache: EdgeCache? {
        if case .cache(let c) = self { return c }
        return nil
    }

    /// The proxy's request router: the cache's, or one that forwards every request untouched.
    public var router: any RequestRouter { edgeCache?.router ?? PassThroughRouter() }

    /// Objects the cache can serve (0 without one).
    public var cachedObjects: Int { (try? edgeCache?.store.stats().objects) ?? 0 }

    public func learnVersion(_ body: [UInt8], contentType: String) {
        edgeCache?.learnVersion(body, contentType: contentType)
    }

    /// Readiness of the cache: false while writes fail, and always false without a cache.
    public var readiness: (ready: Bool, reason: String) {
        switch self {
        case .cache(let c): return c.readiness
        case .passThrough(let reason): return (false, reason)
        }
    }

    public func samples() -> [(name: String, type: String, help: String, value: Double)] {
        switch self {
        case .cache(let c): return c.samples()
        case .passThrough:
            return [("outpost_cache_healthy", "gauge", "1 when the last cache write succeeded.", 0)]
        }
    }

    public func close() { edgeCache?.close() }
}

/// Forwards every request as it came: the router of a proxy without a cache.
struct PassThroughRouter: RequestRouter {
    func plan(_ head: HTTPRequestHead, info: RequestInfo?) -> RequestPlan { RequestPlan(head: head) }
}
