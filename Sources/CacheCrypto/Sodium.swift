import CSodium

/// libsodium, initialised once. Every type of this module touches it through here.
enum Sodium {
    /// `sodium_init` is idempotent and thread-safe; it fails only without a usable entropy source.
    static let ready: Bool = sodium_init() >= 0

    static func random(_ count: Int) -> [UInt8] {
        precondition(ready, "libsodium could not initialise (no entropy source)")
        var out = [UInt8](repeating: 0, count: count)
        if count > 0 { out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) } }
        return out
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let variant = Int32(sodium_base64_VARIANT_ORIGINAL)
        let size = sodium_base64_encoded_len(bytes.count, variant)
        var out = [CChar](repeating: 0, count: size)
        bytes.withUnsafeBufferPointer { b in
            _ = sodium_bin2base64(&out, size, b.baseAddress, b.count, variant)
        }
        return String(cString: out)
    }

    static func fromBase64(_ text: Substring, expected: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: expected)
        var length = 0
        let ok = Array(text.utf8).withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                src.withMemoryRebound(to: CChar.self) { chars in
                    sodium_base642bin(dst.baseAddress!, expected, chars.baseAddress, chars.count, nil, &length, nil,
                                      Int32(sodium_base64_VARIANT_ORIGINAL))
                }
            }
        }
        return ok == 0 && length == expected ? out : nil
    }

    /// Overwrites `bytes` in place (keys leave memory when their holder goes).
    static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { sodium_memzero($0.baseAddress, $0.count) }
    }
}
