import NIOHTTP1

/// Which headers cross the proxy (RFC 9110 §7.6.1): hop-by-hop headers and any header named in
/// `Connection` stay on their own hop; upgrades keep `Connection: Upgrade` + `Upgrade`; the
/// client's own `Authorization` wins over Outpost's credentials.
enum HeaderPolicy {
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade",
    ]

    static func isUpgradeRequest(_ headers: HTTPHeaders) -> Bool {
        headers.contains(name: "upgrade") && connectionTokens(headers).contains("upgrade")
    }

    static func connectionTokens(_ headers: HTTPHeaders) -> Set<String> {
        var tokens = Set<String>()
        for value in headers["connection"] {
            for t in value.split(separator: ",") {
                tokens.insert(t.trimmingSpaces().lowercased())
            }
        }
        return tokens
    }

    /// The head sent upstream for a client's request.
    static func upstreamRequestHead(
        _ client: HTTPRequestHead,
        basePath: String,
        hostHeader: String,
        authorization: String?
    ) -> HTTPRequestHead {
        let upgrade = isUpgradeRequest(client.headers)
        let extra = connectionTokens(client.headers)
        var headers = HTTPHeaders()
        headers.reserveCapacity(client.headers.count + 2)
        headers.add(name: "Host", value: hostHeader)
        var sawAuthorization = false
        for (name, value) in client.headers {
            let lower = name.lowercased()
            if lower == "host" || hopByHop.contains(lower) || extra.contains(lower) { continue }
            if lower == "authorization" { sawAuthorization = true }
            headers.add(name: name, value: value)
        }
        if !sawAuthorization, let authorization {
            headers.add(name: "Authorization", value: authorization)
        }
        if upgrade {
            headers.add(name: "Connection", value: "Upgrade")
            for v in client.headers["upgrade"] { headers.add(name: "Upgrade", value: v) }
        }
        var head = HTTPRequestHead(version: .http1_1, method: client.method, uri: basePath + client.uri, headers: headers)
        head.version = .http1_1
        return head
    }

    /// The head sent to the client for the apiserver's response. The encoder re-frames the body
    /// (chunked when there is no Content-Length), so `Transfer-Encoding` is not copied.
    static func clientResponseHead(_ upstream: HTTPResponseHead, requestVersion: HTTPVersion) -> HTTPResponseHead {
        let keepUpgrade = upstream.status == .switchingProtocols
        let extra = connectionTokens(upstream.headers)
        var headers = HTTPHeaders()
        headers.reserveCapacity(upstream.headers.count)
        for (name, value) in upstream.headers {
            let lower = name.lowercased()
            if keepUpgrade && (lower == "connection" || lower == "upgrade") {
                headers.add(name: name, value: value)
                continue
            }
            if hopByHop.contains(lower) || extra.contains(lower) { continue }
            headers.add(name: name, value: value)
        }
        return HTTPResponseHead(version: requestVersion, status: upstream.status, headers: headers)
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
