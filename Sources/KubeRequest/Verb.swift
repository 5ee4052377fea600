/// A Kubernetes API verb (`get`, `list`, `watch`, ...), or the lowercased
/// HTTP method of a non-resource request.
///
/// Exists as an open string wrapper rather than an enum because the
/// apiserver's verb space is open: unknown methods on resource paths yield
/// the empty verb, non-resource requests carry any lowercased method, and
/// RBAC rules name verbs as strings.
public struct Verb: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public init(stringLiteral value: String) {
        self.rawValue = value
    }

    public var description: String { rawValue }

    public static let get: Verb = "get"
    public static let list: Verb = "list"
    public static let watch: Verb = "watch"
    public static let create: Verb = "create"
    public static let update: Verb = "update"
    public static let patch: Verb = "patch"
    public static let delete: Verb = "delete"
    public static let deleteCollection: Verb = "deletecollection"
    /// The deprecated `/api/v1/proxy/...` path verb.
    public static let proxy: Verb = "proxy"
    /// What a resource request with a method the apiserver does not map gets.
    public static let none: Verb = ""

    /// Whether a request with this verb reads without changing anything.
    public var isReadOnly: Bool {
        self == .get || self == .list || self == .watch
    }
}
