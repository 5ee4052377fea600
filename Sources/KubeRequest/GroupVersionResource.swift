/// Identifies a REST resource collection (`apps/v1` `deployments`).
///
/// Exists as the stable, hashable name the proxy's caches, metrics and
/// policies use for "which collection is this request about".
/// `group` is `""` for the core (legacy `/api`) group.
public struct GroupVersionResource: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var group: String
    public var version: String
    public var resource: String

    public init(group: String, version: String, resource: String) {
        self.group = group
        self.version = version
        self.resource = resource
    }

    /// `v1` for the core group, `apps/v1` otherwise (the `apiVersion` form).
    public var groupVersion: String {
        group.isEmpty ? version : group + "/" + version
    }

    /// `/api/v1` for the core group, `/apis/GROUP/VERSION` otherwise.
    public var pathPrefix: String {
        group.isEmpty ? "/api/" + version : "/apis/" + group + "/" + version
    }

    /// The Go spelling, `apps/v1, Resource=deployments`, so logs read like the apiserver's.
    public var description: String {
        group + "/" + version + ", Resource=" + resource
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.group, lhs.version, lhs.resource) < (rhs.group, rhs.version, rhs.resource)
    }
}

/// A collection as seen from one namespace, or from the whole cluster.
///
/// Exists as the key of per-scope caches and watches: the same resource
/// watched in namespace `a`, in namespace `b` and across all namespaces are
/// three different streams. `namespace` is `""` both for cluster-scoped
/// resources and for all-namespaces requests on namespaced ones.
public struct ResourceScope: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var resource: GroupVersionResource
    public var namespace: String

    public init(_ resource: GroupVersionResource, namespace: String = "") {
        self.resource = resource
        self.namespace = namespace
    }

    /// True when the scope spans the cluster (all namespaces, or cluster-scoped).
    public var isClusterWide: Bool { namespace.isEmpty }

    /// `apps/v1, Resource=deployments in kube-system`, or `... (cluster-wide)`.
    public var description: String {
        namespace.isEmpty
            ? resource.description + " (cluster-wide)"
            : resource.description + " in " + namespace
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.resource, lhs.namespace) < (rhs.resource, rhs.namespace)
    }
}
