/// The keys that protect the cache at rest, as kept in the key file:
///
///     # comments
///     key 2 <base64 of 32 bytes>      the first key encrypts new bodies
///     key 1 <base64 of 32 bytes>      later keys only decrypt (rows they sealed are re-sealed at start)
///     identity <base64 of 32 bytes>   keys the hashes of callers' credentials (kept across rotations)
///
/// Pure value: parsing, rendering and rotation do no I/O (see `KeyFile`).
public struct CacheKeys: Sendable, Equatable {
    public struct Key: Sendable, Equatable {
        /// 1...255; written into every sealed body so the right key opens it.
        public var id: UInt8
        public var bytes: [UInt8]
    }

    public static let keyLength = 32

    /// Newest first: `keys[0]` seals.
    public private(set) var keys: [Key]
    public private(set) var identity: [UInt8]

    public var primary: Key { keys[0] }

    public init(keys: [Key], identity: [UInt8]) throws(CacheKeyError) {
        guard !keys.isEmpty else { throw .invalid("no `key` line") }
        guard identity.count == Self.keyLength else { throw .invalid("no `identity` line") }
        var seen = Set<UInt8>()
        for k in keys {
            guard k.id != 0 else { throw .invalid("key id 0 is reserved") }
            guard k.bytes.count == Self.keyLength else { throw .invalid("key \(k.id) is not \(Self.keyLength) bytes") }
            guard seen.insert(k.id).inserted else { throw .invalid("key id \(k.id) appears twice") }
        }
        self.keys = keys
        self.identity = identity
    }

    /// Fresh random keys (first start).
    public static func generate() -> CacheKeys {
        // Safe: one well-formed key and a 32-byte identity key.
        try! CacheKeys(keys: [Key(id: 1, bytes: Sodium.random(keyLength))], identity: Sodium.random(keyLength))
    }

    /// A new primary key; the old ones stay for decryption until the operator removes them.
    /// Ids count up and wrap past 255 to the lowest id not in use.
    public func rotated() throws(CacheKeyError) -> CacheKeys {
        let used = Set(keys.map(\.id))
        guard used.count < 255 else { throw .invalid("255 keys in the file: remove old ones first") }
        var id = primary.id
        repeat { id = id == 255 ? 1 : id + 1 } while used.contains(id)
        return try CacheKeys(keys: [Key(id: id, bytes: Sodium.random(Self.keyLength))] + keys, identity: identity)
    }

    public func key(id: UInt8) -> Key? { keys.first { $0.id == id } }

    public static func parse(_ text: String) throws(CacheKeyError) -> CacheKeys {
        var keys: [Key] = []
        var identity: [UInt8]?
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            switch words.first {
            case "key":
                guard words.count == 3, let id = UInt8(words[1]),
                      let bytes = Sodium.fromBase64(words[2], expected: keyLength) else {
                    throw .invalid("line \(n + 1): expected `key <1-255> <base64 of \(keyLength) bytes>`")
                }
                keys.append(Key(id: id, bytes: bytes))
            case "identity":
                guard words.count == 2, identity == nil,
                      let bytes = Sodium.fromBase64(words[1], expected: keyLength) else {
                    throw .invalid("line \(n + 1): expected one `identity <base64 of \(keyLength) bytes>`")
                }
                identity = bytes
            default:
                throw .invalid("line \(n + 1): unknown entry (expected `key` or `identity`)")
            }
        }
        return try CacheKeys(keys: keys, identity: identity ?? [])
    }

    public func render() -> String {
        var out = """
            # Outpost cache keys: keep this file 0600, and for a stolen-disk guarantee off the cache's disk.
            # The first key encrypts; later keys only decrypt. `outpost rotate-key` adds a new first key.

            """
        for k in keys { out += "key \(k.id) \(Sodium.base64(k.bytes))\n" }
        out += "identity \(Sodium.base64(identity))\n"
        return out
    }
}

public enum CacheKeyError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    case file(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalid(let why): return "key file: \(why)"
        case .file(let path, let reason): return "key file \(path): \(reason)"
        }
    }
}
