/// What the edge cache keeps.
///
/// By default every resource a local client lists, gets or watches is cached, whatever its
/// group (built-in or custom): a node agent that restarts during an outage needs every informer
/// it runs to sync (kubelet's CSIDriver and RuntimeClass informers stayed unsynced for a whole
/// outage when only a fixed set was cached). The cache is on disk, so this costs disk, not
/// memory. `excluded` (`cache.exclude`) keeps chosen resources out (high-churn events, for
/// example); `resources` (`cache.resources`) is the older allow-list form.
public struct CacheSettings: Sendable, Equatable {
    /// The allow-list form: exactly these resources (`[]` caches none); nil, the default,
    /// caches every resource.
    public var resources: Set<GroupResource>?
    /// Never cached, whichever form chose the rest. Default: none.
    public var excluded: Set<GroupResource>
    /// Whether discovery documents (`/api`, `/apis`, `/apis/G/V`, `/version`) are cached, so
    /// clients can still build their REST mappings while the apiserver is unreachable.
    public var discovery: Bool
    /// Resources whose cached bodies are encrypted at rest (their metadata, which selectors
    /// read, stays plain). Secrets by default.
    public var encrypted: Set<GroupResource>

    public init(resources: Set<GroupResource>? = nil, excluded: Set<GroupResource> = [], discovery: Bool = true,
                encrypted: Set<GroupResource> = [GroupResource(group: "", resource: "secrets")]) {
        self.resources = resources
        self.excluded = excluded
        self.discovery = discovery
        self.encrypted = encrypted
    }

    /// Whether lists, gets and watches of `resource` are cached.
    public func caches(_ resource: GroupResource) -> Bool {
        !excluded.contains(resource) && (resources?.contains(resource) ?? true)
    }

    /// A one-line description for logs: `all`, `all except [events]`, `only [pods, ...]`.
    public var summary: String {
        let except = excluded.map(\.description).sorted()
        let base = resources.map { "only \($0.map(\.description).sorted())" } ?? "all"
        return except.isEmpty ? base : "\(base) except \(except)"
    }

    public static let `default` = CacheSettings()
}
