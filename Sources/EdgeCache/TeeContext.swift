import Filters
import KubeJSON
import Logging
import NIOCore
import NIOHTTP1

/// What every tee of one request shares: where to write, how to index, what to filter.
struct TeeContext {
    var collection: Collection
    var namespace: String
    var indexer: ObjectIndexer
    var filter: ResourceFilter?
    /// False when the tee only filters (the resource is not cached, or this list page cannot
    /// complete a scope).
    var caching: Bool
    var writer: CacheWriter
    var kinds: KindRegistry
    var metrics: CacheMetrics
    var logger: Logger

    /// Whether the filter drops this object (and counts it).
    func drops(_ meta: ObjectMeta) -> Bool {
        guard let filter else { return false }
        let fields = filter.usesFields ? indexer.fields(meta) : [:]
        guard filter.droppingRule(name: meta.name, namespace: meta.namespace, labels: meta.labels, fields: fields) != nil else {
            return false
        }
        metrics.filtered()
        return true
    }
}

/// Response facts the tees check before touching a body.
enum ResponseShape {
    /// A plain JSON object/list/watch stream: 2xx, `application/json` without `as=` (a Table or
    /// PartialObjectMetadata response must never reach the cache), not compressed.
    static func isPlainJSON(_ head: HTTPResponseHead) -> Bool {
        guard head.status.code >= 200 && head.status.code < 300 else { return false }
        if let enc = head.headers.first(name: "content-encoding"), !enc.isEmpty, enc.lowercased() != "identity" {
            return false
        }
        guard let ct = head.headers.first(name: "content-type") else { return false }
        let parts = ct.lowercased().split(separator: ";").map { $0.trimmingSpaces() }
        guard parts.first == "application/json" else { return false }
        return !parts.dropFirst().contains { $0.hasPrefix("as=") }
    }

    static func withoutContentLength(_ head: HTTPResponseHead) -> HTTPResponseHead {
        var h = head
        h.headers.remove(name: "content-length")
        return h
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self[...]
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return String(s)
    }
}

extension ByteBuffer {
    func withReadableBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeReadableBytes(body)
    }
}
