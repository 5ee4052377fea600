import CacheCrypto
import CacheStore
import Filters

/// The store's `BodyCipher`: seals the bodies of the resources the config names (Secrets by
/// default) with the key file's primary key, bound to the row (`gvr`, namespace, name).
struct ResourceSealing: BodyCipher {
    let sealer: BodySealer
    let resources: Set<GroupResource>

    private func seals(_ gvr: String) -> Bool {
        // gvr is "group/version/resource".
        guard let first = gvr.firstIndex(of: "/"), let last = gvr.lastIndex(of: "/"), first < last else { return false }
        return resources.contains(GroupResource(group: String(gvr[..<first]), resource: String(gvr[gvr.index(after: last)...])))
    }

    private static func context(_ gvr: String, _ namespace: String, _ name: String) -> [UInt8] {
        Array(gvr.utf8) + [0] + Array(namespace.utf8) + [0] + Array(name.utf8)
    }

    func sealIfNeeded(_ body: [UInt8], gvr: String, namespace: String, name: String) -> [UInt8] {
        guard !body.isEmpty, seals(gvr) else { return body }
        return sealer.seal(body, context: Self.context(gvr, namespace, name))
    }

    func openIfSealed(_ stored: [UInt8], gvr: String, namespace: String, name: String) throws -> [UInt8] {
        guard BodySealer.isSealed(stored) else { return stored }
        return try sealer.open(stored, context: Self.context(gvr, namespace, name))
    }

    var stamp: [UInt8] {
        let f = sealer.primaryFingerprint
        var out: [UInt8] = [UInt8(f >> 24), UInt8(f >> 16 & 0xFF), UInt8(f >> 8 & 0xFF), UInt8(f & 0xFF)]
        for r in resources.map({ "\($0.group)/\($0.resource)" }).sorted() { out += Array(r.utf8) + [0] }
        return out
    }

    func needsReseal(_ stored: [UInt8], gvr: String) -> Bool {
        if BodySealer.isSealed(stored) { return !sealer.isSealedWithPrimary(stored) }
        return seals(gvr)
    }
}
