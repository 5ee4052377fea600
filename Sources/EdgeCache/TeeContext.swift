import CacheStore
import Filters
import KubeJSON
import Logging
import NIOCore
import NIOHTTP1
import OutpostProxy

/// What every tee of one request shares: where to write, how to index, what to filter.
struct TeeContext {
    var collection: Collection
    var namespace: String
    var indexer: ObjectIndexer
    var filter: ResourceFilter?
    /// False when the tee only filters (the resource is not cached, or this list page cannot
    /// complete a scope).
    var caching: Bool
    /// Told (after the write is queued) when a selector watch reported an object leaving its
    /// selection: the store then forgets the object and stops trusting the other scopes that may
    /// hold it, and the watch cache has their reflectors check and relist.
    var selectionDeparted: (@Sendable (_ gvr: String, _ namespace: String) -> Void)? = nil
    var writer: CacheWriter
    var kinds: KindRegistry
    var metrics: CacheMetrics
    var recent: RecentWrites
    var trust: ScopeTrust
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

/// The pass-through decisions a streaming tee (list, watch) makes about its response.
struct StreamTeeMode {
    /// The body is plain JSON or Kubernetes protobuf, which the tee can split.
    var active = false
    var format: BodyFormat = .json
    /// A filter applies: the body is re-emitted piece by piece (a JSON body without
    /// Content-Length; a protobuf list keeps its length: dropped items are masked).
    var rewriting = false
    /// Splitting failed: the rest goes through untouched and nothing more is cached.
    var broken = false

    mutating func head(_ head: HTTPResponseHead, filtered: Bool, to sink: ResponseSink) {
        let shape = ResponseShape.format(head)
        active = shape != nil
        format = shape ?? .json
        rewriting = active && filtered
        sink.sendHead(rewriting && format == .json ? ResponseShape.withoutContentLength(head) : head)
    }

    /// Sends `buffer` on unless the tee rewrites it; returns whether the tee should split it.
    func passThrough(_ buffer: ByteBuffer, to sink: ResponseSink) -> Bool {
        guard active, !broken else {
            sink.sendBody(buffer)
            return false
        }
        if !rewriting { sink.sendBody(buffer) }
        return true
    }
}

/// Response facts the tees check before touching a body.
enum ResponseShape {
    /// The body's format when the tee can read it: 2xx, not compressed, `application/json` or
    /// `application/vnd.kubernetes.protobuf` (`;stream=watch` for watches), and no `as=` (a Table
    /// or PartialObjectMetadata response must never reach the cache).
    static func format(_ head: HTTPResponseHead) -> BodyFormat? {
        guard head.status.code >= 200 && head.status.code < 300 else { return nil }
        if let enc = head.headers.first(name: "content-encoding"), !enc.isEmpty, enc.lowercased() != "identity" {
            return nil
        }
        guard let ct = head.headers.first(name: "content-type") else { return nil }
        let parts = ct.lowercased().split(separator: ";").map { $0.trimmingSpaces() }
        guard !parts.dropFirst().contains(where: { $0.hasPrefix("as=") }) else { return nil }
        switch parts.first {
        case "application/json": return .json
        case "application/vnd.kubernetes.protobuf": return .protobuf
        default: return nil
        }
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
