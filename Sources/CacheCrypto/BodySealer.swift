import CSodium

/// Seals object bodies for the cache with XChaCha20-Poly1305 (libsodium's AEAD; random 192-bit
/// nonces are safe at any volume). A sealed body is
///
///     00 'O' 'S' '1' | key id (1) | nonce (24) | ciphertext + tag (16)
///
/// The leading zero byte never starts a stored body (JSON starts with `{`, a protobuf message
/// with a field tag, and tag 0 is invalid), so sealed and plain rows tell themselves apart.
/// The row's identity (`context`: resource, namespace, name) is the associated data: a sealed
/// body copied onto another row does not open.
public struct BodySealer: Sendable {
    public let keys: CacheKeys

    static let magic: [UInt8] = [0x00, 0x4F, 0x53, 0x31]
    static let headerLength = magic.count + 1 + Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    static let tagLength = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)

    public init(keys: CacheKeys) {
        precondition(Sodium.ready, "libsodium could not initialise")
        self.keys = keys
    }

    public static func isSealed(_ body: [UInt8]) -> Bool {
        body.count >= headerLength + tagLength && body.starts(with: magic)
    }

    /// The id of the key that sealed `body` (nil: not sealed).
    public static func keyID(of body: [UInt8]) -> UInt8? {
        isSealed(body) ? body[magic.count] : nil
    }

    public func seal(_ plain: [UInt8], context: [UInt8]) -> [UInt8] {
        let key = keys.primary
        var out = Self.magic
        out.append(key.id)
        out += Sodium.random(Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES))
        let header = out.count
        out += [UInt8](repeating: 0, count: plain.count + Self.tagLength)
        var written: UInt64 = 0
        out.withUnsafeMutableBufferPointer { o in
            let nonce = UnsafePointer(o.baseAddress! + Self.magic.count + 1)
            _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                o.baseAddress! + header, &written, plain, UInt64(plain.count),
                context, UInt64(context.count), nil, nonce, key.bytes)
        }
        return out
    }

    public func open(_ sealed: [UInt8], context: [UInt8]) throws(SealError) -> [UInt8] {
        guard Self.isSealed(sealed) else { throw .notSealed }
        let id = sealed[Self.magic.count]
        guard let key = keys.key(id: id) else { throw .unknownKey(id) }
        let cipherLength = sealed.count - Self.headerLength
        var out = [UInt8](repeating: 0, count: cipherLength - Self.tagLength)
        var produced: UInt64 = 0
        let rc = sealed.withUnsafeBufferPointer { s in
            crypto_aead_xchacha20poly1305_ietf_decrypt(
                &out, &produced, nil, s.baseAddress! + Self.headerLength, UInt64(cipherLength),
                context, UInt64(context.count), s.baseAddress! + Self.magic.count + 1, key.bytes)
        }
        guard rc == 0 else { throw .forged }
        return out
    }
}

public enum SealError: Error, Equatable, CustomStringConvertible {
    case notSealed
    case unknownKey(UInt8)
    case forged

    public var description: String {
        switch self {
        case .notSealed: return "body is not sealed"
        case .unknownKey(let id): return "body was sealed with key \(id), which the key file does not hold"
        case .forged: return "sealed body does not open with its key (damaged or moved)"
        }
    }
}
