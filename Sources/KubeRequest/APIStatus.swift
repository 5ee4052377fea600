/// A `metav1.Status` the apiserver would answer, as plain data: what a client reads (code,
/// reason, message, details). The JSON is written by the module that answers.
public struct APIStatus: Error, Sendable, Hashable, CustomStringConvertible {
    /// One `details.causes` entry.
    public struct Cause: Sendable, Hashable {
        public var reason: String
        public var message: String
        public var field: String

        public init(reason: String, message: String, field: String = "") {
            self.reason = reason
            self.message = message
            self.field = field
        }
    }

    public var code: Int
    /// Empty for `StatusReasonUnknown` (the apiserver then omits `reason`).
    public var reason: String
    public var message: String
    /// `details.group` / `details.kind`.
    public var group: String
    public var kind: String
    public var causes: [Cause]
    public var retryAfterSeconds: Int
    /// `metadata.continue` (a 410 for an expired continue token offers one that goes on
    /// inconsistently).
    public var continueToken: String

    public init(code: Int, reason: String, message: String, group: String = "", kind: String = "",
                causes: [Cause] = [], retryAfterSeconds: Int = 0, continueToken: String = "") {
        self.code = code
        self.reason = reason
        self.message = message
        self.group = group
        self.kind = kind
        self.causes = causes
        self.retryAfterSeconds = retryAfterSeconds
        self.continueToken = continueToken
    }

    /// Whether the Status has a `details` object.
    public var hasDetails: Bool {
        !group.isEmpty || !kind.isEmpty || !causes.isEmpty || retryAfterSeconds != 0
    }

    public var description: String { "\(code) \(reason): \(message)" }

    // MARK: - the storage layer's answers (k8s.io/apiserver/pkg/storage, 1.20)

    /// `storage.NewTooLargeResourceVersionError`: the read wants a newer state than the
    /// store has (504 Timeout; the watch cache says retry in 1 s, etcd's paths say nothing).
    public static func tooLargeResourceVersion(_ wanted: UInt64, current: UInt64, retryAfterSeconds: Int) -> APIStatus {
        APIStatus(code: 504, reason: "Timeout",
                  message: "Timeout: Too large resource version: \(wanted), current: \(current)",
                  causes: [Cause(reason: "ResourceVersionTooLarge", message: "Too large resource version")],
                  retryAfterSeconds: retryAfterSeconds)
    }

    /// etcd3's answer to a list at a compacted revision.
    public static let resourceVersionTooOld = APIStatus(
        code: 410, reason: "Expired", message: "The resourceVersion for the provided list is too old.")

    /// etcd3's answer to a continue token whose revision was compacted, when it cannot offer
    /// a token that goes on.
    public static let continueExpired = APIStatus(
        code: 410, reason: "Expired",
        message: "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")

    /// etcd3's answer to a continue token whose revision was compacted: `token` goes on from
    /// where the old one stopped, at the newest state.
    public static func inconsistentContinue(token: String) -> APIStatus {
        APIStatus(code: 410, reason: "Expired",
                  message: "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                  continueToken: token)
    }
}
