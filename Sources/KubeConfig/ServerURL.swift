/// A parsed apiserver URL: `scheme://host[:port][/base/path]`.
public struct ServerURL: Sendable, Equatable, CustomStringConvertible {
    public var scheme: UpstreamEndpoint.Scheme
    /// Host name or IP address; IPv6 addresses without brackets.
    public var host: String
    public var port: Int
    /// Path prefix without a trailing slash; "" when there is none.
    public var basePath: String

    public init(scheme: UpstreamEndpoint.Scheme, host: String, port: Int? = nil, basePath: String = "") {
        self.scheme = scheme
        self.host = host
        self.port = port ?? scheme.defaultPort
        self.basePath = basePath
    }

    /// Parses a server URL as kubectl accepts it. A URL without a scheme (`host:port`) gets
    /// `defaultScheme` (kubectl: https when TLS settings are present, else http).
    /// Rejects other schemes, user info, queries, fragments, bad ports and malformed hosts.
    public init(parsing input: String, defaultScheme: UpstreamEndpoint.Scheme = .https) throws(KubeConfigError) {
        let text = String(input.drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
        func fail(_ reason: String) -> KubeConfigError {
            .invalidServerURL(ServerURL.redactUserInfo(text), reason: reason)
        }
        guard !text.isEmpty else { throw fail("empty URL") }
        if text.contains(where: { $0.isWhitespace || ($0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } ?? false) }) {
            throw fail("contains whitespace or control characters")
        }
        var rest = Substring(text)
        if let range = rest.firstRange(of: "://") {
            let schemeText = rest[..<range.lowerBound].lowercased()
            guard let scheme = UpstreamEndpoint.Scheme(rawValue: schemeText) else {
                throw fail("unsupported scheme \"\(schemeText)\" (expected https or http)")
            }
            self.scheme = scheme
            rest = rest[range.upperBound...]
        } else {
            self.scheme = defaultScheme
        }
        if rest.contains("?") || rest.contains("#") {
            throw fail("query strings and fragments are not allowed")
        }
        let authority: Substring
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            var path = rest[slash...]
            while path.hasSuffix("/") { path = path.dropLast() }
            self.basePath = String(path)
        } else {
            authority = rest
            self.basePath = ""
        }
        if authority.contains("@") {
            throw fail("user info in the server URL is not supported")
        }
        guard !authority.isEmpty else { throw fail("missing host") }

        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw fail("unterminated IPv6 address (missing ']')")
            }
            let address = authority[authority.index(after: authority.startIndex)..<close]
            guard address.contains(":"),
                  address.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw fail("invalid IPv6 address")
            }
            self.host = String(address)
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("unexpected characters after IPv6 address") }
                portText = after.dropFirst()
            }
        } else {
            let colons = authority.filter { $0 == ":" }.count
            if colons > 1 {
                throw fail("IPv6 addresses must be enclosed in brackets, e.g. https://[::1]:6443")
            }
            if let colon = authority.firstIndex(of: ":") {
                self.host = String(authority[..<colon])
                portText = authority[authority.index(after: colon)...]
            } else {
                self.host = String(authority)
            }
            guard !host.isEmpty else { throw fail("missing host") }
            let valid = host.unicodeScalars.allSatisfy { scalar in
                (scalar.value < 0x80 && (Character(scalar).isLetter || Character(scalar).isNumber))
                    || scalar == "-" || scalar == "." || scalar == "_"
            }
            guard valid, !host.hasPrefix("."), !host.hasPrefix("-") else {
                throw fail("invalid host name")
            }
        }
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let port = Int(portText), (1...65535).contains(port) else {
                throw fail("invalid port (expected 1-65535)")
            }
            self.port = port
        } else {
            self.port = scheme.defaultPort
        }
    }

    /// `host:port` with IPv6 hosts in brackets.
    public var authority: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return "\(bracketed):\(port)"
    }

    public var description: String {
        "\(scheme.rawValue)://\(authority)\(basePath)"
    }

    static func redactUserInfo(_ url: String) -> String {
        guard let at = url.firstIndex(of: "@") else { return url }
        let start = url.firstRange(of: "://")?.upperBound ?? url.startIndex
        guard start <= at else { return url }
        return String(url[..<start]) + "<redacted>" + String(url[at...])
    }
}
