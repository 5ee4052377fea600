import EdgeCache
import Filters
import NIOCore
import OutpostCLI
import Synchronization
import Upstream

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The admin listener's `/status` JSON, read by `outpost status`. Names, counts and times only:
/// no credentials, no object bodies, no key material.
///
/// `now`, `since`, `lastContact`, `lastSync`: Unix seconds. `apiserver.state`: online, offline,
/// suspect (failures, not yet offline) or unknown (never reached). `cache.mode`: cache or
/// pass-through. `scopes[].objects` is null for a selector scope; `format`: json, protobuf,
/// mixed or "-" (empty).
final class StatusDocument: Sendable {
    private let health: UpstreamHealth
    private let cache: CacheService
    private let config: @Sendable () -> OutpostConfig
    private let cacheDir: String
    /// Unix seconds of the last online/offline transition (0: none yet).
    private let since = Atomic<Int64>(0)

    init(health: UpstreamHealth, cache: CacheService, config: @escaping @Sendable () -> OutpostConfig, cacheDir: String) {
        self.health = health
        self.cache = cache
        self.config = config
        self.cacheDir = cacheDir
        health.onTransition { [weak self] t in
            switch t {
            case .becameOnline, .becameOffline: self?.since.store(Int64(time(nil)), ordering: .relaxed)
            case .recovered: break
            }
        }
    }

    func render() -> String {
        let now = Int(time(nil))
        let h = health.snapshot
        let state: String = switch h.state {
        case .online: "online"
        case .offline: "offline"
        case .suspect: "suspect"
        case .unknown: "unknown"
        }
        let lastNanos = health.lastSuccess.uptimeNanoseconds
        var lastContact: Int? = nil
        if lastNanos > 0 {
            let ago = Int((NIODeadline.now().uptimeNanoseconds &- lastNanos) / 1_000_000_000)
            lastContact = now - ago
        }
        let s = since.load(ordering: .relaxed)
        let apiserver: JSONValue = .object([
            ("state", .string(state)),
            ("since", s > 0 ? .number(Double(s)) : .null),
            ("lastContact", .int(lastContact)),
            ("everReached", .bool(h.everReached)),
            ("lastError", .str(h.lastError)),
        ])
        var cacheDoc: [(String, JSONValue)] = [("dir", .string(cacheDir))]
        var scopes: [JSONValue] = []
        switch cache {
        case .passThrough(let reason):
            cacheDoc += [("mode", .string("pass-through")), ("reason", .string(reason))]
        case .cache(let c):
            let w = c.writer.health
            let stats = try? c.store.stats()
            cacheDoc += [
                ("mode", .string("cache")), ("healthy", .bool(w.healthy)),
                ("objects", .int(stats?.objects)), ("bodyBytes", .int(stats?.bodyBytes)),
                ("fileBytes", .int(c.store.fileSize())),
                ("writeFailures", .int(w.failedWrites)), ("droppedWrites", .int(w.droppedJobs)),
                ("lastError", .str(w.healthy ? nil : w.lastError)),
            ]
            for sc in (try? c.store.scopeSummaries()) ?? [] {
                let format: String
                switch (sc.objects, sc.protobufObjects) {
                case (let n?, _) where n == 0: format = "-"
                case (let n?, let p?) where p == n: format = "protobuf"
                case (_, let p?) where p == 0: format = "json"
                case (_?, _?): format = "mixed"
                default: format = "-"
                }
                scopes.append(.object([
                    ("resource", .string(sc.scope.gvr)), ("namespace", .string(sc.scope.namespace)),
                    ("selector", .string(sc.scope.selector)), ("complete", .bool(sc.scope.complete)),
                    ("resourceVersion", .string(sc.scope.resourceVersion)),
                    ("objects", .int(sc.objects)), ("format", .string(format)),
                    ("lastSync", .number(Double(sc.scope.updatedAt))),
                ]))
            }
        }
        let filters: [JSONValue] = config().filters.rules.map { r in
            var parts = ["resources " + r.resources.map(\.description).joined(separator: ",")]
            if !r.namespaces.isEmpty { parts.append("namespaces " + r.namespaces.joined(separator: ",")) }
            if !r.namePrefixes.isEmpty { parts.append("namePrefix " + r.namePrefixes.joined(separator: ",")) }
            if let l = r.labelSelector { parts.append("labels \(l)") }
            if let f = r.fieldSelector { parts.append("fields \(f)") }
            return .object([("name", .string(r.name)), ("rule", .string(parts.joined(separator: "; ")))])
        }
        let doc: JSONValue = .object([
            ("now", .number(Double(now))), ("version", .string(OutpostCommandLine.version)),
            ("apiserver", apiserver), ("cache", .object(cacheDoc)), ("scopes", .array(scopes)),
            ("filters", .array(filters)),
        ])
        return doc.serialized() + "\n"
    }
}

