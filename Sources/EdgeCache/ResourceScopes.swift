import CacheStore
import Filters
import KubeJSON
import Synchronization

/// Whether a resource is namespaced or cluster-scoped, which the cache must know before it
/// caches answers under a namespace path: the apiserver answers a cluster-scoped resource asked
/// under `/namespaces/NS/` with 404 (no route), and a cache that took such a path for a scope
/// would answer an empty list instead. The apiserver's discovery documents (`/api/v1`,
/// `/apis/G/V`, kept by the cache as `doc:` documents) are the truth and are read first; built-in
/// resources are known without them; anything else (a custom resource whose discovery was never
/// seen) is `unknown`, and the router caches nothing of it under a namespace path.
final class ResourceScopes: Sendable {
    enum Scope: Equatable, Sendable { case namespaced, cluster, unknown }

    /// Learned from discovery; bounded by the apiserver's resource types (only 200 answers of the
    /// apiserver teach it).
    private let learned = Mutex<[GroupResource: Bool]>([:])

    init() {}

    /// Reads what the store kept of discovery (call before serving: blocking).
    init(store: CacheStore) {
        for (key, doc) in (try? store.documents(keyPrefix: "doc:/api")) ?? [] where Self.isResourceListKey(key) {
            learn(resourceList: doc.body)
        }
    }

    func scope(of resource: GroupResource) -> Scope {
        if let namespaced = learned.withLock({ $0[resource] }) { return namespaced ? .namespaced : .cluster }
        if Self.clusterScoped.contains(resource) { return .cluster }
        if Self.namespaced.contains(resource) { return .namespaced }
        return .unknown
    }

    /// Learns every resource of a discovery document (an APIResourceList; anything else is
    /// ignored).
    func learn(resourceList body: [UInt8]) {
        guard let list = try? APIResourceList.parse(body) else { return }
        let group = list.group
        learned.withLock { m in
            for r in list.resources where !r.isSubresource && !r.name.isEmpty {
                m[GroupResource(group: group, resource: r.name)] = r.namespaced
            }
        }
    }

    /// `doc:/api/v1`, `doc:/apis/G/V`: the documents that are APIResourceLists.
    static func isResourceListKey(_ key: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        // ["doc:", "api", "v1"] or ["doc:", "apis", G, V]
        return (parts.count == 3 && parts[1] == "api") || (parts.count == 4 && parts[1] == "apis")
    }

    /// Built-in cluster-scoped resources (the 1.20 apiserver's, and later ones).
    static let clusterScoped: Set<GroupResource> = [
        .init(group: "", resource: "nodes"), .init(group: "", resource: "persistentvolumes"),
        .init(group: "", resource: "componentstatuses"), .init(group: "", resource: "namespaces"),
        .init(group: "storage.k8s.io", resource: "storageclasses"), .init(group: "storage.k8s.io", resource: "csidrivers"),
        .init(group: "storage.k8s.io", resource: "csinodes"), .init(group: "storage.k8s.io", resource: "volumeattachments"),
        .init(group: "storage.k8s.io", resource: "volumeattributesclasses"),
        .init(group: "node.k8s.io", resource: "runtimeclasses"),
        .init(group: "rbac.authorization.k8s.io", resource: "clusterroles"),
        .init(group: "rbac.authorization.k8s.io", resource: "clusterrolebindings"),
        .init(group: "scheduling.k8s.io", resource: "priorityclasses"),
        .init(group: "apiextensions.k8s.io", resource: "customresourcedefinitions"),
        .init(group: "apiregistration.k8s.io", resource: "apiservices"),
        .init(group: "certificates.k8s.io", resource: "certificatesigningrequests"),
        .init(group: "certificates.k8s.io", resource: "clustertrustbundles"),
        .init(group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations"),
        .init(group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations"),
        .init(group: "admissionregistration.k8s.io", resource: "validatingadmissionpolicies"),
        .init(group: "admissionregistration.k8s.io", resource: "validatingadmissionpolicybindings"),
        .init(group: "networking.k8s.io", resource: "ingressclasses"),
        .init(group: "networking.k8s.io", resource: "ipaddresses"), .init(group: "networking.k8s.io", resource: "servicecidrs"),
        .init(group: "flowcontrol.apiserver.k8s.io", resource: "flowschemas"),
        .init(group: "flowcontrol.apiserver.k8s.io", resource: "prioritylevelconfigurations"),
        .init(group: "authentication.k8s.io", resource: "tokenreviews"),
        .init(group: "authentication.k8s.io", resource: "selfsubjectreviews"),
        .init(group: "authorization.k8s.io", resource: "subjectaccessreviews"),
        .init(group: "authorization.k8s.io", resource: "selfsubjectaccessreviews"),
        .init(group: "authorization.k8s.io", resource: "selfsubjectrulesreviews"),
    ]

    /// Built-in namespaced resources.
    static let namespaced: Set<GroupResource> = {
        let byGroup: [String: [String]] = [
            "": ["pods", "configmaps", "secrets", "services", "endpoints", "events", "serviceaccounts",
                 "persistentvolumeclaims", "replicationcontrollers", "resourcequotas", "limitranges", "podtemplates",
                 "bindings"],
            "apps": ["deployments", "replicasets", "statefulsets", "daemonsets", "controllerrevisions"],
            "extensions": ["deployments", "replicasets", "daemonsets", "ingresses", "networkpolicies"],
            "batch": ["jobs", "cronjobs"],
            "autoscaling": ["horizontalpodautoscalers"],
            "policy": ["poddisruptionbudgets"],
            "networking.k8s.io": ["networkpolicies", "ingresses"],
            "discovery.k8s.io": ["endpointslices"],
            "events.k8s.io": ["events"],
            "coordination.k8s.io": ["leases"],
            "storage.k8s.io": ["csistoragecapacities"],
            "rbac.authorization.k8s.io": ["roles", "rolebindings"],
            "authorization.k8s.io": ["localsubjectaccessreviews"],
        ]
        var out: Set<GroupResource> = []
        for (group, resources) in byGroup { for r in resources { out.insert(GroupResource(group: group, resource: r)) } }
        return out
    }()
}
