/// What of a request may reach a log line. Request lines carry credentials more often than one
/// would hope: an absolute-form target with userinfo (`GET http://user:secret@host/api`), or a
/// token in the query (`?access_token=...`, presigned `signature=...`). Header values are never
/// logged at all; request targets go through `target(_:)` first.
public enum LogRedaction {
    public static let placeholder = "REDACTED"

    /// `uri` with any userinfo and the values of credential-like query parameters replaced by
    /// `REDACTED`; everything else (path, other parameters, fragment) kept as it was.
    public static func target(_ uri: String) -> String {
        var bytes = Array(uri.utf8)
        var changed = false

        // Userinfo: `scheme://userinfo@host` or `//userinfo@host`. The authority is taken to
        // run to the next `/` (not `?` or `#`, which a careless client may leave unescaped in
        // a password): over-redacting a log line is fine, a leaked password is not.
        if let authority = authorityStart(bytes[...]) {
            var end = authority
            while end < bytes.count, bytes[end] != UInt8(ascii: "/") { end += 1 }
            if let at = bytes[authority..<end].lastIndex(of: UInt8(ascii: "@")) {
                bytes.replaceSubrange(authority..<at, with: Array(placeholder.utf8))
                changed = true
            }
        }

        // Query parameters and fragment, split on `&`, `;` (which Go's parser once accepted) and
        // `#` (clients should not send a fragment; one that does may carry a token in it).
        if let q = bytes.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) {
            var out: [UInt8] = []
            var start = q + 1
            var i = start
            func param(_ range: Range<Int>) {
                let p = bytes[range]
                if let eq = p.firstIndex(of: UInt8(ascii: "=")), isSensitive(name: p[..<eq]) {
                    out += p[...eq]
                    out += Array(placeholder.utf8)
                    changed = true
                } else {
                    out += p
                }
            }
            while i <= bytes.count {
                if i == bytes.count || bytes[i] == UInt8(ascii: "&") || bytes[i] == UInt8(ascii: ";") || bytes[i] == UInt8(ascii: "#") {
                    param(start..<i)
                    if i < bytes.count { out.append(bytes[i]) }
                    start = i + 1
                }
                i += 1
            }
            bytes.replaceSubrange((q + 1)..<bytes.count, with: out)
        }
        return changed ? String(decoding: bytes, as: UTF8.self) : uri
    }

    /// Where the authority begins (after `//`), if the target has one.
    private static func authorityStart(_ bytes: ArraySlice<UInt8>) -> Int? {
        let slash = UInt8(ascii: "/")
        var i = bytes.startIndex
        // A scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
        while i < bytes.endIndex, isSchemeByte(bytes[i]) { i += 1 }
        if i > bytes.startIndex, i < bytes.endIndex, bytes[i] == UInt8(ascii: ":") {
            i += 1
        } else {
            i = bytes.startIndex
        }
        guard i + 1 < bytes.endIndex, bytes[i] == slash, bytes[i + 1] == slash else { return nil }
        return i + 2
    }

    private static func isSchemeByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
            || b == UInt8(ascii: ".")
    }

    static let sensitiveWords = ["token", "passw", "secret", "auth", "cookie", "credential", "signature", "session"]
    static let sensitiveNames: Set<String> = ["key", "apikey", "api_key", "api-key", "sig", "pwd", "jwt", "bearer"]

    /// Whether a query parameter's (percent-encoded) name names a credential.
    static func isSensitive<S: Collection<UInt8>>(name: S) -> Bool {
        let lower = String(decoding: percentDecoded(name), as: UTF8.self).lowercased()
        return sensitiveNames.contains(lower) || sensitiveWords.contains { lower.contains($0) }
    }

    private static func percentDecoded<S: Collection<UInt8>>(_ bytes: S) -> [UInt8] {
        var out: [UInt8] = []
        var it = Array(bytes)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%"), it.count >= 2, let h = hex(it[it.startIndex]), let l = hex(it[it.startIndex + 1]) {
                out.append(h << 4 | l)
                it = it.dropFirst(2)
            } else if b == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else {
                out.append(b)
            }
        }
        return out
    }

    private static func hex(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): b - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
