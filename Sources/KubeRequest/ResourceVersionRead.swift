/// How kube-apiserver's storage reads a list, get or watch, decided from its parameters the
/// way 1.20's registry, watch cache (`Cacher`) and etcd3 store decide it; and the errors those
/// layers raise before they read anything (an unparsable `resourceVersion` is a 500 when the
/// watch cache parses it and a 400 when etcd3 does; a broken continue token is a 400).
///
/// Exists so an answer given in the apiserver's place (the offline cache) can compare the
/// read with the state it holds and answer what the apiserver would, or say truthfully that
/// it cannot.
public enum ResourceVersionRead: Sendable, Hashable {
    /// The newest state: a quorum read (`resourceVersion` unset) or "any" (`"0"`).
    case latest
    /// A state at least as new as this resourceVersion. `retryAfterSeconds` is what the
    /// apiserver's "too large" answer carries on that path (1 from the watch cache, 0 from etcd).
    case notOlderThan(UInt64, retryAfterSeconds: Int)
    /// Exactly the state at this resourceVersion (`Exact`, or a legacy paged list from one).
    case exact(UInt64)
    /// The next page after a continue token.
    case continuing(APIContinueToken)
}

/// A list's read and its page size.
public struct ListReadPlan: Sendable, Hashable {
    public var read: ResourceVersionRead
    /// Items per page; 0 reads everything (the watch cache ignores `limit`).
    public var limit: Int64

    public init(read: ResourceVersionRead, limit: Int64) {
        self.read = read
        self.limit = limit
    }
}

extension ListOptions {
    /// The storage read of a list (after decoding and validation succeeded).
    ///
    /// - `resourceVersion` set, no `continue`, no `limit` (or `resourceVersion=0`) and not
    ///   `Exact`: the watch cache serves it, ignoring `limit`; it parses the version itself, so
    ///   a bad one is a 500 with no reason.
    /// - Otherwise etcd3 does: a bad version is a 400 "invalid resource version", then the
    ///   continue token is decoded (400 "invalid continue token"), and a continue token with a
    ///   version other than `""`/`"0"` is a 400.
    ///
    /// `ownToken` recognises continue tokens minted by the caller; they are not decoded.
    public func listRead(ownToken: (String) -> Bool = { _ in false }) throws(APIStatus) -> ListReadPlan {
        let viaEtcd = resourceVersion.isEmpty || !continueToken.isEmpty
            || (limit > 0 && resourceVersion != "0") || resourceVersionMatch == .exact
        if !viaEtcd {
            let rv = try parsedResourceVersion(etcd: false)
            return ListReadPlan(read: rv == 0 ? .latest : .notOlderThan(rv, retryAfterSeconds: 1), limit: 0)
        }
        let from: UInt64? = resourceVersion.isEmpty ? nil : try parsedResourceVersion(etcd: true)
        if !continueToken.isEmpty {
            let token: APIContinueToken
            if ownToken(continueToken) {
                token = .own(continueToken)
            } else {
                do {
                    token = try APIContinueToken(decoding: continueToken)
                } catch {
                    throw APIStatus(code: 400, reason: "BadRequest", message: "invalid continue token: \(error.message)")
                }
            }
            if !resourceVersion.isEmpty && resourceVersion != "0" {
                throw APIStatus(code: 400, reason: "BadRequest", message: "specifying resource version is not allowed when using continue")
            }
            return ListReadPlan(read: .continuing(token), limit: max(0, limit))
        }
        let pageSize = max(0, limit)
        guard let from else { return ListReadPlan(read: .latest, limit: pageSize) }
        switch resourceVersionMatch {
        case .notOlderThan?:
            return ListReadPlan(read: from == 0 ? .latest : .notOlderThan(from, retryAfterSeconds: 0), limit: pageSize)
        case .exact?:
            return ListReadPlan(read: .exact(from), limit: pageSize)
        default:
            // Legacy: a paged list from a non-zero version reads exactly that revision.
            return ListReadPlan(read: pageSize > 0 && from > 0 ? .exact(from) : .latest, limit: pageSize)
        }
    }

    /// The version a watch starts from (the watch cache parses it even when empty: 0).
    public func watchResourceVersion() throws(APIStatus) -> UInt64 {
        try parsedResourceVersion(etcd: false)
    }

    /// How long a watch lasts: nil for the apiserver's default (`timeoutSeconds` absent or 0:
    /// its min-request-timeout, randomised), 0 for a watch that ends at once (negative).
    public var watchTimeoutSeconds: Int64? {
        guard let t = timeoutSeconds, t != 0 else { return nil }
        return max(0, t)
    }

    private func parsedResourceVersion(etcd: Bool) throws(APIStatus) -> UInt64 {
        do {
            return try Self.parseResourceVersion(resourceVersion, quoted: resourceVersionQuoted)
        } catch {
            throw etcd ? APIStatus(code: 400, reason: "BadRequest", message: "invalid resource version: " + error.message) : error
        }
    }

    /// `APIObjectVersioner.ParseResourceVersion`: `""` and `"0"` are 0, anything else must be
    /// a base-10 uint64; its error is a storage "invalid" error the apiserver answers as a
    /// 500 without a reason.
    public static func parseResourceVersion(_ text: String, quoted: String? = nil) throws(APIStatus) -> UInt64 {
        if text.isEmpty || text == "0" { return 0 }
        switch goParseUint64(text) {
        case .success(let value): return value
        case .failure(let reason):
            let q = quoted ?? goQuote(text)
            throw APIStatus(code: 500, reason: "",
                            message: "resourceVersion: Invalid value: \(q): strconv.ParseUint: parsing \(q): \(reason.rawValue)")
        }
    }
}
