import Testing
@testable import KubeRequest

/// One expected classification; unspecified fields must be empty.
struct ResourceCase: Sendable, CustomTestStringConvertible {
    var method: String
    var target: String
    var verb: Verb
    var prefix = "api"
    var group = ""
    var version = "v1"
    var namespace = ""
    var resource: String
    var name = ""
    var subresource = ""
    var parts: [String]

    var testDescription: String { "\(method) \(target)" }
}

@Suite("RequestInfo: resource requests")
struct RequestInfoResourceTests {
    static let cases: [ResourceCase] = [
        // Core group, namespaced.
        .init(method: "GET", target: "/api/v1/namespaces/default/pods", verb: .list,
              namespace: "default", resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/namespaces/default/pods/web-0", verb: .get,
              namespace: "default", resource: "pods", name: "web-0", parts: ["pods", "web-0"]),
        .init(method: "HEAD", target: "/api/v1/namespaces/default/pods/web-0", verb: .get,
              namespace: "default", resource: "pods", name: "web-0", parts: ["pods", "web-0"]),
        .init(method: "POST", target: "/api/v1/namespaces/default/pods", verb: .create,
              namespace: "default", resource: "pods", parts: ["pods"]),
        .init(method: "PUT", target: "/api/v1/namespaces/default/pods/web-0", verb: .update,
              namespace: "default", resource: "pods", name: "web-0", parts: ["pods", "web-0"]),
        .init(method: "PATCH", target: "/api/v1/namespaces/default/pods/web-0", verb: .patch,
              namespace: "default", resource: "pods", name: "web-0", parts: ["pods", "web-0"]),
        .init(method: "DELETE", target: "/api/v1/namespaces/default/pods/web-0", verb: .delete,
              namespace: "default", resource: "pods", name: "web-0", parts: ["pods", "web-0"]),
        .init(method: "DELETE", target: "/api/v1/namespaces/default/pods", verb: .deleteCollection,
              namespace: "default", resource: "pods", parts: ["pods"]),
        // Subresources.
        .init(method: "PUT", target: "/api/v1/namespaces/default/pods/web-0/status", verb: .update,
              namespace: "default", resource: "pods", name: "web-0", subresource: "status",
              parts: ["pods", "web-0", "status"]),
        .init(method: "GET", target: "/api/v1/namespaces/default/pods/web-0/log?container=app&follow=true", verb: .get,
              namespace: "default", resource: "pods", name: "web-0", subresource: "log",
              parts: ["pods", "web-0", "log"]),
        .init(method: "POST", target: "/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true&tty=true", verb: .create,
              namespace: "default", resource: "pods", name: "web-0", subresource: "exec",
              parts: ["pods", "web-0", "exec"]),
        .init(method: "GET", target: "/api/v1/namespaces/default/pods/web-0/exec?command=ls", verb: .get,
              namespace: "default", resource: "pods", name: "web-0", subresource: "exec",
              parts: ["pods", "web-0", "exec"]),
        .init(method: "GET", target: "/api/v1/namespaces/default/pods/web-0/proxy/metrics/extra", verb: .get,
              namespace: "default", resource: "pods", name: "web-0", subresource: "proxy",
              parts: ["pods", "web-0", "proxy", "metrics", "extra"]),
        .init(method: "POST", target: "/api/v1/namespaces/default/pods/web-0/eviction", verb: .create,
              namespace: "default", resource: "pods", name: "web-0", subresource: "eviction",
              parts: ["pods", "web-0", "eviction"]),
        .init(method: "PATCH", target: "/apis/apps/v1/namespaces/prod/deployments/api/scale", verb: .patch,
              prefix: "apis", group: "apps", namespace: "prod", resource: "deployments", name: "api",
              subresource: "scale", parts: ["deployments", "api", "scale"]),
        // Namespaces: the collection, the object, and its subresources.
        .init(method: "GET", target: "/api/v1/namespaces", verb: .list,
              resource: "namespaces", parts: ["namespaces"]),
        .init(method: "POST", target: "/api/v1/namespaces", verb: .create,
              resource: "namespaces", parts: ["namespaces"]),
        .init(method: "GET", target: "/api/v1/namespaces/kube-system", verb: .get,
              namespace: "kube-system", resource: "namespaces", name: "kube-system",
              parts: ["namespaces", "kube-system"]),
        .init(method: "DELETE", target: "/api/v1/namespaces/team-a", verb: .delete,
              namespace: "team-a", resource: "namespaces", name: "team-a",
              parts: ["namespaces", "team-a"]),
        .init(method: "PUT", target: "/api/v1/namespaces/team-a/status", verb: .update,
              namespace: "team-a", resource: "namespaces", name: "team-a", subresource: "status",
              parts: ["namespaces", "team-a", "status"]),
        .init(method: "PUT", target: "/api/v1/namespaces/team-a/finalize", verb: .update,
              namespace: "team-a", resource: "namespaces", name: "team-a", subresource: "finalize",
              parts: ["namespaces", "team-a", "finalize"]),
        // A resource named like a namespace subresource is only special right after NS.
        .init(method: "GET", target: "/api/v1/namespaces/team-a/configmaps/status", verb: .get,
              namespace: "team-a", resource: "configmaps", name: "status", parts: ["configmaps", "status"]),
        // Cluster-scoped.
        .init(method: "GET", target: "/api/v1/nodes", verb: .list, resource: "nodes", parts: ["nodes"]),
        .init(method: "GET", target: "/api/v1/nodes/n1", verb: .get, resource: "nodes", name: "n1",
              parts: ["nodes", "n1"]),
        .init(method: "PATCH", target: "/api/v1/nodes/n1/status", verb: .patch, resource: "nodes", name: "n1",
              subresource: "status", parts: ["nodes", "n1", "status"]),
        .init(method: "GET", target: "/apis/rbac.authorization.k8s.io/v1/clusterroles", verb: .list,
              prefix: "apis", group: "rbac.authorization.k8s.io", resource: "clusterroles", parts: ["clusterroles"]),
        .init(method: "GET", target: "/apis/rbac.authorization.k8s.io/v1/clusterroles/admin", verb: .get,
              prefix: "apis", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "admin",
              parts: ["clusterroles", "admin"]),
        .init(method: "DELETE", target: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", verb: .deleteCollection,
              prefix: "apis", group: "apiextensions.k8s.io", resource: "customresourcedefinitions",
              parts: ["customresourcedefinitions"]),
        // All-namespaces lists of namespaced resources.
        .init(method: "GET", target: "/api/v1/pods?limit=500", verb: .list, resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/apis/apps/v1/deployments", verb: .list,
              prefix: "apis", group: "apps", resource: "deployments", parts: ["deployments"]),
        .init(method: "GET", target: "/apis/apps/v1/namespaces", verb: .list,
              prefix: "apis", group: "apps", resource: "namespaces", parts: ["namespaces"]),
        // Watch by parameter.
        .init(method: "GET", target: "/api/v1/namespaces/default/pods?watch=true&resourceVersion=100", verb: .watch,
              namespace: "default", resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/pods?watch=1", verb: .watch, resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/pods?watch=TRUE", verb: .watch, resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/pods?watch=", verb: .watch, resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/pods?watch=false", verb: .list, resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/pods?watch=False", verb: .list, resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/pods?watch=0", verb: .list, resource: "pods", parts: ["pods"]),
        .init(method: "HEAD", target: "/api/v1/pods?watch=true", verb: .watch, resource: "pods", parts: ["pods"]),
        // Watch with a bad limit: options fail to decode, the raw watch value still counts.
        .init(method: "GET", target: "/api/v1/pods?watch=true&limit=x", verb: .watch, resource: "pods", parts: ["pods"]),
        // A watch parameter on a named get changes nothing.
        .init(method: "GET", target: "/api/v1/namespaces/default/pods/web-0?watch=true", verb: .get,
              namespace: "default", resource: "pods", name: "web-0", parts: ["pods", "web-0"]),
        // Legacy /watch/ path verb.
        .init(method: "GET", target: "/api/v1/watch/pods", verb: .watch, resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/watch/namespaces/default/pods", verb: .watch,
              namespace: "default", resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/watch/namespaces/default/pods/web-0", verb: .watch,
              namespace: "default", resource: "pods", name: "web-0", parts: ["pods", "web-0"]),
        .init(method: "GET", target: "/api/v1/watch/namespaces", verb: .watch,
              resource: "namespaces", parts: ["namespaces"]),
        .init(method: "GET", target: "/api/v1/watch/namespaces/team-a", verb: .watch,
              namespace: "team-a", resource: "namespaces", name: "team-a", parts: ["namespaces", "team-a"]),
        .init(method: "GET", target: "/apis/apps/v1/watch/namespaces/prod/deployments?fieldSelector=metadata.name%3Dapi", verb: .watch,
              prefix: "apis", group: "apps", namespace: "prod", resource: "deployments", parts: ["deployments"]),
        // Legacy /proxy/ path verb: no subresource.
        .init(method: "GET", target: "/api/v1/proxy/namespaces/default/pods/web-0/metrics", verb: .proxy,
              namespace: "default", resource: "pods", name: "web-0", parts: ["pods", "web-0", "metrics"]),
        .init(method: "POST", target: "/api/v1/proxy/nodes/n1", verb: .proxy, resource: "nodes", name: "n1",
              parts: ["nodes", "n1"]),
        // fieldSelector metadata.name gives list and watch a name.
        .init(method: "GET", target: "/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dweb-0", verb: .list,
              namespace: "default", resource: "pods", name: "web-0", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/namespaces/default/configmaps?fieldSelector=metadata.name%3Dkube-root-ca.crt&watch=true&resourceVersion=5",
              verb: .watch, namespace: "default", resource: "configmaps", name: "kube-root-ca.crt", parts: ["configmaps"]),
        .init(method: "GET", target: "/api/v1/nodes?fieldSelector=metadata.name%3D%3Dn1", verb: .list,
              resource: "nodes", name: "n1", parts: ["nodes"]),
        .init(method: "GET", target: "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1%2Cmetadata.name%3Dp", verb: .list,
              resource: "pods", name: "p", parts: ["pods"]),
        // Sorted terms: the first pinned value in byte order wins, as in the apiserver.
        .init(method: "GET", target: "/api/v1/pods?fieldSelector=metadata.name%3Db%2Cmetadata.name%3Da", verb: .list,
              resource: "pods", name: "a", parts: ["pods"]),
        // Escaped value.
        .init(method: "GET", target: "/api/v1/pods?fieldSelector=metadata.name%3Da%5C%3Db", verb: .list,
              resource: "pods", name: "a=b", parts: ["pods"]),
        // Not pinned: a label selector the apiserver cannot decode drops the whole decode.
        .init(method: "GET", target: "/api/v1/namespaces/a/secrets?fieldSelector=metadata.name%3Ds-ok&labelSelector=%3D%3D",
              verb: .list, namespace: "a", resource: "secrets", name: "", parts: ["secrets"]),
        // Not pinned: inequality, another field, invalid path segment names, undecodable options.
        .init(method: "GET", target: "/api/v1/pods?fieldSelector=metadata.name!%3Dweb-0", verb: .list,
              resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1", verb: .list,
              resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/pods?fieldSelector=metadata.name%3D..", verb: .list,
              resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/pods?fieldSelector=metadata.name%3Da%2Fb", verb: .list,
              resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/pods?fieldSelector=metadata.name%3Da%25b", verb: .list,
              resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/pods?fieldSelector=metadata.name%3Dweb-0&limit=abc", verb: .list,
              resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/pods?fieldSelector=metadata.name", verb: .list,
              resource: "pods", parts: ["pods"]),
        // deletecollection does not take a name from the selector.
        .init(method: "DELETE", target: "/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dweb-0", verb: .deleteCollection,
              namespace: "default", resource: "pods", parts: ["pods"]),
        // Custom resources and aggregated APIs.
        .init(method: "GET", target: "/apis/example.com/v1alpha1/namespaces/ns1/widgets/w1", verb: .get,
              prefix: "apis", group: "example.com", version: "v1alpha1", namespace: "ns1", resource: "widgets",
              name: "w1", parts: ["widgets", "w1"]),
        .init(method: "GET", target: "/apis/metrics.k8s.io/v1beta1/nodes", verb: .list,
              prefix: "apis", group: "metrics.k8s.io", version: "v1beta1", resource: "nodes", parts: ["nodes"]),
        // Unmapped methods give the empty verb, and keep it.
        .init(method: "OPTIONS", target: "/api/v1/pods", verb: .none, resource: "pods", parts: ["pods"]),
        .init(method: "get", target: "/api/v1/pods", verb: .none, resource: "pods", parts: ["pods"]),
        // Trailing slash is trimmed, percent-escapes are decoded.
        .init(method: "GET", target: "/api/v1/namespaces/default/pods/", verb: .list,
              namespace: "default", resource: "pods", parts: ["pods"]),
        .init(method: "GET", target: "/api/v1/namespaces/default/configmaps/a%3Ab", verb: .get,
              namespace: "default", resource: "configmaps", name: "a:b", parts: ["configmaps", "a:b"]),
        // Deep extra parts are kept but not interpreted.
        .init(method: "GET", target: "/api/v1/namespaces/default/services/https:web:443/proxy/a/b", verb: .get,
              namespace: "default", resource: "services", name: "https:web:443", subresource: "proxy",
              parts: ["services", "https:web:443", "proxy", "a", "b"]),
    ]

    @Test(arguments: cases)
    func classifies(_ expected: ResourceCase) throws {
        let info = try RequestInfo(method: expected.method, target: expected.target)
        #expect(info.kind == .resource)
        #expect(info.isResourceRequest)
        #expect(!info.isDiscovery)
        #expect(info.verb == expected.verb)
        #expect(info.apiPrefix == expected.prefix)
        #expect(info.apiGroup == expected.group)
        #expect(info.apiVersion == expected.version)
        #expect(info.namespace == expected.namespace)
        #expect(info.resource == expected.resource)
        #expect(info.name == expected.name)
        #expect(info.subresource == expected.subresource)
        #expect(info.parts == expected.parts)
        #expect(info.groupVersionResource == GroupVersionResource(
            group: expected.group, version: expected.version, resource: expected.resource))
    }

    @Test func keepsDecodedPathAndQuery() throws {
        let info = try RequestInfo(method: "GET", target: "/api/v1/namespaces/a%20b/pods?labelSelector=app%3Dweb&limit=5")
        #expect(info.path == "/api/v1/namespaces/a b/pods")
        #expect(info.namespace == "a b")
        #expect(info.query["labelSelector"] == "app=web")
        #expect(info.query["limit"] == "5")
    }

    @Test func scopeForNamespacedCollection() throws {
        let info = try RequestInfo(method: "GET", target: "/apis/apps/v1/namespaces/prod/deployments?watch=1")
        #expect(info.scope == ResourceScope(
            GroupVersionResource(group: "apps", version: "v1", resource: "deployments"), namespace: "prod"))
    }

    @Test func scopeForAllNamespaces() throws {
        let info = try RequestInfo(method: "GET", target: "/api/v1/pods")
        #expect(info.scope == ResourceScope(GroupVersionResource(group: "", version: "v1", resource: "pods")))
        #expect(info.scope?.isClusterWide == true)
    }

    @Test func namespaceObjectsAreClusterScopedForCaching() throws {
        let info = try RequestInfo(method: "GET", target: "/api/v1/namespaces/team-a")
        #expect(info.namespace == "team-a")
        #expect(info.scope == ResourceScope(GroupVersionResource(group: "", version: "v1", resource: "namespaces")))
    }

    @Test(arguments: ["/api/v1/watch", "/api/v1/proxy", "/apis/apps/v1/watch", "/api/v1/watch/"])
    func pathVerbWithoutResourceThrows(_ target: String) {
        #expect(throws: RequestInfoError.self) {
            try RequestInfo(method: "GET", target: target)
        }
    }

    @Test func pathVerbWithoutResourceMessage() {
        do {
            _ = try RequestInfo(method: "GET", target: "/api/v1/watch")
            Issue.record("expected an error")
        } catch {
            #expect(error == .missingResource(path: "/api/v1/watch"))
            #expect(error.message == "unable to determine kind and namespace from url /api/v1/watch")
        }
    }
}

@Suite("RequestInfo: non-resource and discovery requests")
struct RequestInfoNonResourceTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var method: String
        var target: String
        var kind: RequestInfo.Kind
        var verb: Verb
        var prefix = ""
        var testDescription: String { "\(method) \(target)" }
    }

    static let cases: [Case] = [
        .init(method: "GET", target: "/version", kind: .nonResource, verb: "get"),
        .init(method: "GET", target: "/version?timeout=32s", kind: .nonResource, verb: "get"),
        .init(method: "GET", target: "/healthz", kind: .nonResource, verb: "get"),
        .init(method: "GET", target: "/healthz/etcd", kind: .nonResource, verb: "get"),
        .init(method: "GET", target: "/readyz?verbose", kind: .nonResource, verb: "get"),
        .init(method: "GET", target: "/livez", kind: .nonResource, verb: "get"),
        .init(method: "GET", target: "/metrics", kind: .nonResource, verb: "get"),
        .init(method: "GET", target: "/openapi/v2", kind: .nonResource, verb: "get"),
        .init(method: "GET", target: "/openapi/v3", kind: .nonResource, verb: "get"),
        .init(method: "GET", target: "/openapi/v3/apis/apps/v1?hash=ABC", kind: .nonResource, verb: "get"),
        .init(method: "GET", target: "/", kind: .nonResource, verb: "get"),
        .init(method: "POST", target: "/logs/x", kind: .nonResource, verb: "post"),
        .init(method: "HEAD", target: "/healthz", kind: .nonResource, verb: "head"),
        .init(method: "OPTIONS", target: "/version", kind: .nonResource, verb: "options"),
        // Not an API prefix, even with many segments.
        .init(method: "GET", target: "/apix/v1/namespaces/default/pods", kind: .nonResource, verb: "get"),
        .init(method: "GET", target: "/API/v1/pods", kind: .nonResource, verb: "get"),
        // Discovery.
        .init(method: "GET", target: "/api", kind: .discovery(.legacyVersions), verb: "get"),
        .init(method: "GET", target: "/api/", kind: .discovery(.legacyVersions), verb: "get"),
        .init(method: "GET", target: "/api/v1", kind: .discovery(.legacyResources(version: "v1")), verb: "get"),
        .init(method: "GET", target: "/apis", kind: .discovery(.groups), verb: "get"),
        .init(method: "GET", target: "/apis/apps", kind: .discovery(.group("apps")), verb: "get"),
        .init(method: "GET", target: "/apis/apps/v1", kind: .discovery(.groupResources(group: "apps", version: "v1")),
              verb: "get", prefix: "apis"),
        .init(method: "GET", target: "/apis/rbac.authorization.k8s.io/v1/",
              kind: .discovery(.groupResources(group: "rbac.authorization.k8s.io", version: "v1")),
              verb: "get", prefix: "apis"),
    ]

    @Test(arguments: cases)
    func classifies(_ expected: Case) throws {
        let info = try RequestInfo(method: expected.method, target: expected.target)
        #expect(info.kind == expected.kind)
        #expect(!info.isResourceRequest)
        #expect(info.verb == expected.verb)
        #expect(info.apiPrefix == expected.prefix)
        #expect(info.apiGroup == "")
        #expect(info.apiVersion == "")
        #expect(info.namespace == "")
        #expect(info.resource == "")
        #expect(info.name == "")
        #expect(info.subresource == "")
        #expect(info.parts == [])
        #expect(info.groupVersionResource == nil)
        #expect(info.scope == nil)
        if case .discovery = expected.kind {
            #expect(info.isDiscovery)
        } else {
            #expect(!info.isDiscovery)
        }
    }
}
