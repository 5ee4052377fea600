import CacheCrypto
import CacheStore
import Filters
import KubeProtoJSON

/// The cache file as the operator commands see it (`outpost cache`, `outpost verify`): opened
/// read-only (`CacheStore(readingFile:)`), usable while Outpost runs or is stopped, never written.
/// Sealed bodies open only with the key file, and only when the user can read it.
public final class CacheInspection: Sendable {
    public let store: CacheStore
    /// Why sealed bodies cannot be shown (no key file, unreadable key file); nil when they can.
    public let keyProblem: String?

    /// Opens `<directory>/cache.db`; reads `keyFile` if it exists and is readable (never creates it).
    public init(directory: String, keyFile: String) throws {
        let path = directory.hasSuffix("/") ? directory + "cache.db" : directory + "/cache.db"
        var cipher: (any BodyCipher)? = nil
        var problem: String? = nil
        do {
            if let keys = try KeyFile.load(keyFile) {
                // Opening needs only the keys; the sealed set matters for writing, which never happens here.
                cipher = ResourceSealing(sealer: BodySealer(keys: keys), resources: [])
            } else {
                problem = "no key file at \(keyFile)"
            }
        } catch {
            problem = "\(error)"
        }
        store = try CacheStore(readingFile: path, cipher: cipher)
        keyProblem = problem
    }

    /// The stored resources ("group/version/resource") a command-line name denotes: `pods`,
    /// `leases.coordination.k8s.io`, `deployments.apps`, or a full `group/version/resource`.
    public func resolve(_ name: String) throws -> [String] {
        let known = try store.resourceSummaries().map(\.gvr)
        if name.contains("/") { return known.filter { $0 == name || $0 == "/" + name } }
        let resource: Substring, group: Substring
        if let dot = name.firstIndex(of: ".") {
            resource = name[..<dot]
            group = name[name.index(after: dot)...]
        } else {
            resource = Substring(name)
            group = ""
        }
        return known.filter { gvr in
            let parts = gvr.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 3 && parts[2] == resource && parts[0] == group
        }
    }

    public enum Lookup: Sendable {
        case notFound
        /// The object as the apiserver's JSON (converted from protobuf when stored so).
        case object(StoredObject, json: [UInt8])
        /// Stored sealed and not openable here: why.
        case sealed(String)
    }

    public func object(gvr: String, namespace: String, name: String) throws -> Lookup {
        let found: StoredObject?
        do {
            found = try store.get(gvr: gvr, namespace: namespace, name: name)
        } catch let error as CacheStoreError where error.context.hasPrefix("open sealed body") {
            return .sealed("the sealed body does not open with the keys in the key file (\(error.message))")
        }
        guard let o = found else { return .notFound }
        if BodySealer.isSealed(o.body) {
            return .sealed("the body is sealed on disk and " + (keyProblem ?? "cannot be opened"))
        }
        guard o.format == .protobuf else { return .object(o, json: o.body) }
        let parts = gvr.split(separator: "/", omittingEmptySubsequences: false)
        let apiVersion = parts.count == 3 ? (parts[0].isEmpty ? String(parts[1]) : "\(parts[0])/\(parts[1])") : "v1"
        var kind = KindRegistry.guessKind(parts.last.map(String.init) ?? "")
        if let bytes = try store.meta(key: "kind:" + gvr) {
            let p = String(decoding: bytes, as: UTF8.self).split(separator: " ", maxSplits: 1)
            if p.count == 2 { kind = String(p[0]) }
        }
        return .object(o, json: try ProtoJSON.convert(message: o.body, kind: kind, apiVersion: apiVersion))
    }

    public func close() { store.close() }
}
