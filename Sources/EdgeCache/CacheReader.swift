import CacheStore
import Filters
import KubeProto
import NIOCore
import NIOPosix

/// Reads the store off the event loops (SQLite calls block) and hands results back on the
/// caller's loop. Objects are read in bounded batches, so a 10 000-pod answer streams with
/// backpressure instead of being built in memory.
final class CacheReader: Sendable {
    let store: CacheStore
    let kinds: KindRegistry
    private let thread: NIOThreadPool

    init(store: CacheStore, kinds: KindRegistry) {
        self.store = store
        self.kinds = kinds
        thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
    }

    func run<T: Sendable>(on loop: EventLoop, _ body: @escaping @Sendable (CacheStore) throws -> T) -> EventLoopFuture<T> {
        let store = self.store
        return thread.runIfActive(eventLoop: loop) { try body(store) }
    }

    func close() {
        try? thread.syncShutdownGracefully()
    }

    /// Where a batch stopped: the next read starts strictly after this object.
    struct Cursor: Sendable, Equatable {
        var namespace: String
        var name: String
    }

    struct Batch: Sendable {
        var bodies: [[UInt8]]
        /// nil when the collection is exhausted.
        var next: Cursor?
        /// The key of each body's object (a page's continue token resumes after the last).
        var keys: [Cursor] = []
    }

    /// Up to `count` bodies of objects matching `selection` (and not dropped by `filter`),
    /// scanning at most `scanLimit` rows, after `cursor`, in `encoding` (protobuf objects are
    /// converted for a JSON answer; see `AnswerEncoding.body`).
    static func batch(_ store: CacheStore, _ collection: Collection, namespace: String, after cursor: Cursor?,
                      selection: Selection, filter: ResourceFilter?, count: Int, scanLimit: Int = 2000,
                      encoding: AnswerEncoding, kinds: KindRegistry.Kinds, metadataOnly: Bool = false) throws -> Batch {
        var rows: [StoredObject] = []
        var last: Cursor? = nil
        var scanned = 0
        var exhausted = true
        try store.forEach(gvr: collection.gvr, namespace: namespace,
                          after: cursor.map { ($0.namespace, $0.name) }, prefilter: selection.prefilter) { obj in
            scanned += 1
            last = Cursor(namespace: obj.namespace, name: obj.name)
            if matches(obj, selection, filter) { rows.append(obj) }
            if rows.count >= count || scanned >= scanLimit {
                exhausted = false
                return false
            }
            return true
        }
        // Encoded outside the store's lock (forEach's body runs under it).
        var bodies = try rows.map { try encoding.body(of: $0, kinds: kinds) }
        if metadataOnly && encoding == .protobuf {
            // A protobuf PartialObjectMetadataList: each item is its object's metadata.
            bodies = try bodies.map { try ProtoPartialObjectMetadata.message(ofObject: $0) }
        }
        return Batch(bodies: bodies, next: exhausted ? nil : last, keys: rows.map { Cursor(namespace: $0.namespace, name: $0.name) })
    }

    /// Total framed size of the matching objects' messages in a protobuf list (its envelope's
    /// length goes before the items, so an unpaged protobuf list is read twice: sizes, then bytes).
    static func protobufItemsLength(_ store: CacheStore, _ collection: Collection, namespace: String,
                                    selection: Selection, filter: ResourceFilter?, metadataOnly: Bool = false) throws -> Int {
        var length = 0
        var failure: Error?
        try store.forEach(gvr: collection.gvr, namespace: namespace, after: nil, prefilter: selection.prefilter) { obj in
            guard matches(obj, selection, filter) else { return true }
            var size = obj.body.count
            if metadataOnly {
                do { size = try ProtoPartialObjectMetadata.message(ofObject: obj.body).count } catch {
                    failure = error
                    return false
                }
            }
            length += ProtoListWriter.itemFrameSize(messageLength: size)
            return true
        }
        if let failure { throw failure }
        return length
    }

    private static func matches(_ obj: StoredObject, _ selection: Selection, _ filter: ResourceFilter?) -> Bool {
        let fields = obj.fieldMap
        return selection.matches(labels: obj.labels, fields: fields)
            && filter?.droppingRule(name: obj.name, namespace: obj.namespace, labels: obj.labels, fields: fields) == nil
    }
}

/// Continue tokens of cache-served pages: `outpost1.<hex namespace>.<hex name>` (URL-safe; an
/// apiserver token is recognisably different and gets the apiserver's 410 for expired ones).
enum ContinueToken {
    static let prefix = "outpost1."

    static func encode(_ c: CacheReader.Cursor) -> String {
        prefix + hex(c.namespace) + "." + hex(c.name)
    }

    static func decode(_ token: String) -> CacheReader.Cursor? {
        guard token.hasPrefix(prefix) else { return nil }
        let parts = token.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let ns = unhex(parts[0]), let name = unhex(parts[1]), !name.isEmpty else { return nil }
        return CacheReader.Cursor(namespace: ns, name: name)
    }

    private static let digits = Array("0123456789abcdef".utf8)

    private static func hex(_ s: String) -> String {
        var out: [UInt8] = []
        for b in s.utf8 {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func unhex(_ s: Substring) -> String? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < u.count {
            guard let hi = value(u[i]), let lo = value(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
