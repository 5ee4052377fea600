import CSodium

/// Turns a caller's credentials into a stable 32-byte identity (keyed BLAKE2b): the cache
/// remembers what the apiserver allowed an identity, never the credential. The key comes from
/// the key file, so a copied cache file does not let anyone test guesses against the hashes.
public struct IdentityHasher: Sendable {
    private let key: [UInt8]

    public init(keys: CacheKeys) {
        precondition(Sodium.ready, "libsodium could not initialise")
        key = keys.identity
    }

    public func hash(_ material: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        _ = crypto_generichash(&out, 32, material, UInt64(material.count), key, key.count)
        return out
    }
}
