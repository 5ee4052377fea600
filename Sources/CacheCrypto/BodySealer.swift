import CSodium

/// Seals object bodies for the cache with XChaCha20-Poly1305 (libsodium's AEAD; random 192-bit
/// nonces are safe at any volume). A sealed body is
///
///     00 'O' 'S' '1' | key fingerprint (4) | nonce (24) | ciphertext + tag (16)
///
/// The fingerprint (the first bytes of the key's BLAKE2b hash) picks the key that opens it: the
/// ids in the key file are only labels, and two key files never share a fingerprint by accident
/// in practice.
/// The leading zero byte never starts a stored body (JSON starts with `{`, a protobuf message
/// with a field tag, and tag 0 is invalid), so sealed and plain rows tell themselves apart.
/// The row's identity (`context`: resource, namespace, name) is the associated data: a sealed
/// body copied onto another row does not open.
public struct BodySealer: Sendable {
    public let keys: CacheKeys

    static let magic: [UInt8] = [0x00, 0x4F, 0x53, 0x31]
    static let fingerprintLength = 4
    static let nonceOffset = magic.count + fingerprintLength
    static let headerLength = nonceOffset + Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    static let tagLength = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)
    /// Fingerprint -> key, the primary first in `keys`.
    private let byFingerprint: [UInt32: [UInt8]]
    /// The fingerprint every body sealed now carries.
    public let primaryFingerprint: UInt32

    public init(keys: CacheKeys) {
        precondition(Sodium.ready, "libsodium could not initialise")
        self.keys = keys
        var map: [UInt32: [UInt8]] = [:]
        for k in keys.keys.reversed() { map[Self.fingerprint(k.bytes)] = k.bytes }
        byFingerprint = map
        primaryFingerprint = Self.fingerprint(keys.primary.bytes)
    }

    static func fingerprint(_ key: [UInt8]) -> UInt32 {
        var out = [UInt8](repeating: 0, count: 16)
        let label = Array("outpost key fingerprint".utf8)
        _ = crypto_generichash(&out, 16, label, UInt64(label.count), key, key.count)
        return UInt32(out[0]) << 24 | UInt32(out[1]) << 16 | UInt32(out[2]) << 8 | UInt32(out[3])
    }

    public static func isSealed(_ body: [UInt8]) -> Bool {
        body.count >= headerLength + tagLength && body.starts(with: magic)
    }

    /// The fingerprint of the key that sealed `body` (nil: not sealed).
    public static func keyFingerprint(of body: [UInt8]) -> UInt32? {
        guard isSealed(body) else { return nil }
        let i = magic.count
        return UInt32(body[i]) << 24 | UInt32(body[i + 1]) << 16 | UInt32(body[i + 2]) << 8 | UInt32(body[i + 3])
    }

    /// Whether `body` is sealed with the primary key.
    public func isSealedWithPrimary(_ body: [UInt8]) -> Bool { Self.keyFingerprint(of: body) == primaryFingerprint }

    public func seal(_ plain: [UInt8], context: [UInt8]) -> [UInt8] {
        let key = keys.primary
        var out = Self.magic
        let f = primaryFingerprint
        out += [UInt8(f >> 24), UInt8(f >> 16 & 0xFF), UInt8(f >> 8 & 0xFF), UInt8(f & 0xFF)]
        out += Sodium.random(Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES))
        let header = out.count
        out += [UInt8](repeating: 0, count: plain.count + Self.tagLength)
        var written: UInt64 = 0
        out.withUnsafeMutableBufferPointer { o in
            let nonce = UnsafePointer(o.baseAddress! + Self.nonceOffset)
            _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                o.baseAddress! + header, &written, plain, UInt64(plain.count),
                context, UInt64(context.count), nil, nonce, key.bytes)
        }
        return out
    }

    public func open(_ sealed: [UInt8], context: [UInt8]) throws(SealError) -> [UInt8] {
        guard let fingerprint = Self.keyFingerprint(of: sealed) else { throw .notSealed }
        guard let key = byFingerprint[fingerprint] else { throw .unknownKey(fingerprint) }
        let cipherLength = sealed.count - Self.headerLength
        var out = [UInt8](repeating: 0, count: cipherLength - Self.tagLength)
        var produced: UInt64 = 0
        let rc = sealed.withUnsafeBufferPointer { s in
            crypto_aead_xchacha20poly1305_ietf_decrypt(
                &out, &produced, nil, s.baseAddress! + Self.headerLength, UInt64(cipherLength),
                context, UInt64(context.count), s.baseAddress! + Self.nonceOffset, key)
        }
        guard rc == 0 else { throw .forged }
        return out
    }
}

public enum SealError: Error, Equatable, CustomStringConvertible {
    case notSealed
    case unknownKey(UInt32)
    case forged

    public var description: String {
        switch self {
        case .notSealed: return "body is not sealed"
        case .unknownKey(let f): return "body was sealed with a key the key file does not hold (fingerprint \(f))"
        case .forged: return "sealed body does not open with its key (damaged or moved)"
        }
    }
}
