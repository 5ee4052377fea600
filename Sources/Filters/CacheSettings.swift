/// What the edge cache keeps.
public struct CacheSettings: Sendable, Equatable {
    /// Resources whose lists, gets and watches are cached.
    public var resources: Set<GroupResource>
    /// Whether discovery documents (`/api`, `/apis`, `/apis/G/V`, `/version`) are cached, so
    /// clients can still build their REST mappings while the apiserver is unreachable.
    public var discovery: Bool
    /// Resources whose cached bodies are encrypted at rest (their metadata, which selectors
    /// read, stays plain). Secrets by default.
    public var encrypted: Set<GroupResource>

    public init(resources: Set<GroupResource> = defaultResources, discovery: Bool = true,
                encrypted: Set<GroupResource> = [GroupResource(group: "", resource: "secrets")]) {
        self.resources = resources
        self.discovery = discovery
        self.encrypted = encrypted
    }

    /// What node agents (kubelet, kube-proxy, CNI and CSI plugins) read to keep running.
    public static let defaultResources: Set<GroupResource> = [
        GroupResource(group: "", resource: "pods"),
        GroupResource(group: "", resource: "configmaps"),
        GroupResource(group: "", resource: "secrets"),
        GroupResource(group: "", resource: "services"),
        GroupResource(group: "", resource: "endpoints"),
        GroupResource(group: "discovery.k8s.io", resource: "endpointslices"),
        GroupResource(group: "", resource: "nodes"),
        GroupResource(group: "coordination.k8s.io", resource: "leases"),
        GroupResource(group: "", resource: "namespaces"),
        GroupResource(group: "", resource: "events"),
        GroupResource(group: "events.k8s.io", resource: "events"),
    ]

    public static let `default` = CacheSettings()
}
