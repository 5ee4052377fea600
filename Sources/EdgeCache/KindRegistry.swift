import CacheStore
import Synchronization

/// The kind and apiVersion of each collection's objects and lists (`Pod`/`PodList`, `v1`),
/// learned from traffic and kept in the store, so offline lists, bookmarks and Status details
/// name the right types.
final class KindRegistry: Sendable {
    struct Kinds: Sendable, Equatable {
        var kind: String
        var apiVersion: String
        var listKind: String { kind + "List" }
    }

    private let known = Mutex<[String: Kinds]>([:])
    private let store: CacheStore

    init(store: CacheStore) { self.store = store }

    private static func key(_ gvr: String) -> String { "kind:" + gvr }

    /// Records the kind if it is new (the write goes through the writer thread).
    func learn(_ collection: Collection, kind: String, apiVersion: String, writer: CacheWriter) {
        guard !kind.isEmpty else { return }
        let k = Kinds(kind: kind, apiVersion: apiVersion)
        let isNew = known.withLock { m -> Bool in
            if m[collection.gvr] == k { return false }
            m[collection.gvr] = k
            return true
        }
        guard isNew else { return }
        let value = Array("\(kind) \(apiVersion)".utf8)
        let key = Self.key(collection.gvr)
        writer.submit(cost: value.count, "kind of \(collection.gvr)") { try $0.putMeta(key: key, value: value) }
    }

    /// The cache file was replaced: what was learned must be written again.
    func forget() {
        known.withLock { $0 = [:] }
    }

    /// The kinds for a collection (blocking store read on a miss: call off the event loop).
    func lookup(_ collection: Collection) -> Kinds {
        if let k = known.withLock({ $0[collection.gvr] }) { return k }
        if let bytes = try? store.meta(key: Self.key(collection.gvr)) {
            let parts = String(decoding: bytes, as: UTF8.self).split(separator: " ", maxSplits: 1)
            if parts.count == 2 {
                let k = Kinds(kind: String(parts[0]), apiVersion: String(parts[1]))
                known.withLock { $0[collection.gvr] = k }
                return k
            }
        }
        return Kinds(kind: Self.guessKind(collection.resource), apiVersion: collection.apiVersion)
    }

    /// Last resort when nothing was learned: "configmaps" -> "Configmap" is wrong, so only the
    /// built-in cached resources are spelled out.
    static func guessKind(_ resource: String) -> String {
        let table = ["pods": "Pod", "configmaps": "ConfigMap", "secrets": "Secret", "services": "Service",
                     "endpoints": "Endpoints", "endpointslices": "EndpointSlice", "nodes": "Node", "leases": "Lease",
                     "namespaces": "Namespace", "events": "Event"]
        if let k = table[resource] { return k }
        var s = resource
        if s.hasSuffix("s") { s.removeLast() }
        return s.prefix(1).uppercased() + s.dropFirst()
    }
}
