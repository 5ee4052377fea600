/// Where the JSON paths Outpost indexes (Selectors' `FieldLabelSupport`) live in each
/// resource's protobuf message, so the cache layer can build `ProtoFieldPaths` that fill the
/// same slots the JSON `FieldPaths` fill.
///
/// Numbers are from the Kubernetes 1.20 `generated.proto` files (api/core/v1, api/batch/v1,
/// api/certificates/v1 and v1beta1 agree on `signerName`). Field numbers never change within
/// an API version, and every served version of these resources shares them. Every top-level
/// object message has `metadata = 1`, `spec = 2`, `status = 3` except where noted.
///
/// A list index in a JSON path is spelled as its decimal string: `status.podIPs[0].ip` is
/// `["status", "podIPs", "0", "ip"]` (the `JSONPathComponent.index(0)` of `FieldLabelSupport`).
public enum ProtoSelectableFields {
    public struct Field: Sendable, Hashable {
        public var path: [ProtoPathStep]
        public var kind: ProtoFieldPaths.ValueKind
        public init(_ path: [ProtoPathStep], _ kind: ProtoFieldPaths.ValueKind) {
            self.path = path
            self.kind = kind
        }
    }

    public struct Entry: Sendable, Hashable {
        public var group: String
        public var resource: String
        public var jsonPath: [String]
        public var field: Field
    }

    private static func e(_ group: String, _ resource: String, _ json: [String], _ path: [ProtoPathStep],
                          _ kind: ProtoFieldPaths.ValueKind = .string) -> Entry {
        Entry(group: group, resource: resource, jsonPath: json, field: Field(path, kind))
    }

    /// Every resource-specific entry. `metadata.name` / `metadata.namespace` hold for every
    /// resource and are answered by `lookup` without a row here.
    public static let table: [Entry] = [
        // core/v1 Pod {1 metadata, 2 spec PodSpec, 3 status PodStatus}
        e("", "pods", ["spec", "nodeName"], [2, 10]),            // PodSpec.nodeName = 10
        e("", "pods", ["spec", "restartPolicy"], [2, 3]),        // PodSpec.restartPolicy = 3
        e("", "pods", ["spec", "schedulerName"], [2, 19]),       // PodSpec.schedulerName = 19
        e("", "pods", ["spec", "serviceAccountName"], [2, 8]),   // PodSpec.serviceAccountName = 8
        e("", "pods", ["spec", "hostNetwork"], [2, 11], .bool),  // PodSpec.hostNetwork = 11
        e("", "pods", ["status", "phase"], [3, 1]),              // PodStatus.phase = 1
        e("", "pods", ["status", "podIP"], [3, 6]),              // PodStatus.podIP = 6
        e("", "pods", ["status", "podIPs", "0", "ip"], [3, .first(12), 1]), // PodStatus.podIPs = 12, PodIP.ip = 1
        e("", "pods", ["status", "nominatedNodeName"], [3, 11]), // PodStatus.nominatedNodeName = 11
        // core/v1 Node {2 spec NodeSpec}
        e("", "nodes", ["spec", "unschedulable"], [2, 4], .bool), // NodeSpec.unschedulable = 4
        // core/v1 ReplicationController {3 status}
        e("", "replicationcontrollers", ["status", "replicas"], [3, 1], .int), // RCStatus.replicas = 1 (int32)
        // core/v1 Event: no spec/status; 2 involvedObject ObjectReference, 3 reason, 5 source
        // EventSource {1 component}, 9 type, 14 reportingComponent.
        e("", "events", ["involvedObject", "kind"], [2, 1]),
        e("", "events", ["involvedObject", "namespace"], [2, 2]),
        e("", "events", ["involvedObject", "name"], [2, 3]),
        e("", "events", ["involvedObject", "uid"], [2, 4]),
        e("", "events", ["involvedObject", "apiVersion"], [2, 5]),
        e("", "events", ["involvedObject", "resourceVersion"], [2, 6]),
        e("", "events", ["involvedObject", "fieldPath"], [2, 7]),
        e("", "events", ["reason"], [3]),
        e("", "events", ["source", "component"], [5, 1]),
        e("", "events", ["type"], [9]),
        e("", "events", ["reportingComponent"], [14]),
        // core/v1 Namespace {3 status NamespaceStatus {1 phase}}
        e("", "namespaces", ["status", "phase"], [3, 1]),
        // core/v1 Secret: 3 type (2 is the data map)
        e("", "secrets", ["type"], [3]),
        // core/v1 Service {2 spec ServiceSpec {3 clusterIP, 4 type}}
        e("", "services", ["spec", "clusterIP"], [2, 3]),
        e("", "services", ["spec", "type"], [2, 4]),
        // batch/v1 Job {3 status JobStatus {5 succeeded (int32)}}
        e("batch", "jobs", ["status", "succeeded"], [3, 5], .int),
        // certificates.k8s.io CSR {2 spec CertificateSigningRequestSpec {7 signerName}}
        e("certificates.k8s.io", "certificatesigningrequests", ["spec", "signerName"], [2, 7]),
    ]

    private static let index: [String: Field] = {
        var d: [String: Field] = [:]
        for r in table { d[key(r.group, r.resource, r.jsonPath)] = r.field }
        return d
    }()

    private static func key(_ g: String, _ r: String, _ p: [String]) -> String {
        g + "/" + r + "/" + p.joined(separator: "\u{0}")
    }

    /// The numeric path and value kind of `jsonPath` in the resource's message, or nil when
    /// Outpost has no mapping for it.
    public static func lookup(group: String, resource: String, path: [String]) -> Field? {
        if path == ["metadata", "name"] { return Field([1, 1], .string) }        // ObjectMeta.name = 1
        if path == ["metadata", "namespace"] { return Field([1, 3], .string) }   // ObjectMeta.namespace = 3
        return index[key(group, resource, path)]
    }
}
