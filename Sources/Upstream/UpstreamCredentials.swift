#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// How Outpost authenticates to the apiserver when the local client did not send its own
/// `Authorization`. Token files are re-read periodically because projected service-account
/// tokens rotate. `description` never contains a secret.
public enum UpstreamCredentials: Sendable, CustomStringConvertible {
    case none
    case bearerToken(String)
    case bearerTokenFile(TokenFile)
    /// HTTP basic auth; `header` is the complete `Basic <base64>` value (encoded by the caller).
    case basic(username: String, header: String)

    /// The `Authorization` header value, or nil.
    public func authorizationHeader() -> String? {
        switch self {
        case .none: return nil
        case .bearerToken(let t): return "Bearer \(t)"
        case .bearerTokenFile(let f): return f.current().map { "Bearer \($0)" }
        case .basic(_, let header): return header
        }
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .bearerToken: return "bearer-token(redacted)"
        case .bearerTokenFile(let f): return "bearer-token-file(\(f.path))"
        case .basic(let u, _): return "basic(\(u), password redacted)"
        }
    }
}

/// A token file with a cached value, refreshed at most once per `refreshInterval`.
public final class TokenFile: Sendable {
    public let path: String
    private let refreshInterval: Duration
    private let state = Mutex<(value: String?, readAt: ContinuousClock.Instant?)>((nil, nil))

    public init(path: String, refreshInterval: Duration = .seconds(60)) {
        self.path = path
        self.refreshInterval = refreshInterval
    }

    public func current() -> String? {
        let now = ContinuousClock.now
        return state.withLock { s in
            if let readAt = s.readAt, now - readAt < refreshInterval { return s.value }
            if let text = readSmallFile(path) {
                s.value = String(decoding: text, as: UTF8.self).trimmingWhitespace()
            }
            s.readAt = now
            return s.value
        }
    }
}

func readSmallFile(_ path: String, limit: Int = 1 << 20) -> [UInt8]? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while out.count < limit {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
        if n <= 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

extension String {
    func trimmingWhitespace() -> String {
        let isWS: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        guard let start = firstIndex(where: { !isWS($0) }), let end = lastIndex(where: { !isWS($0) }) else { return "" }
        return String(self[start...end])
    }
}
