import Filters
import KubeJSON
import KubeRequest
import Selectors

/// One cached collection: a resource at one group version ("group/version/resource" is the
/// store key, so `events.k8s.io/v1` and `v1` events never mix bodies of different schemas).
struct Collection: Hashable, Sendable {
    var group: String
    var version: String
    var resource: String

    init(group: String, version: String, resource: String) {
        self.group = group
        self.version = version
        self.resource = resource
    }

    init?(_ info: RequestInfo) {
        guard info.isResourceRequest, !info.resource.isEmpty, !info.apiVersion.isEmpty else { return nil }
        self.init(group: info.apiGroup, version: info.apiVersion, resource: info.resource)
    }

    var gvr: String { "\(group)/\(version)/\(resource)" }
    var groupResource: GroupResource { GroupResource(group: group, resource: resource) }
    /// The apiVersion objects of this collection carry ("v1", "apps/v1").
    var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
}

/// A list or watch's selection: the parsed selectors and the canonical string that keys its
/// cache scope (so `a=1,b=2` and `b=2,a=1` share one scope).
struct Selection: Sendable {
    var labels: LabelSelector
    var fields: FieldSelector
    var key: String

    static let everything = Selection(labels: .everything, fields: .everything, key: "")

    /// Parses like the apiserver (same 400 messages); field labels are checked against what the
    /// resource supports.
    init(labelSelector: String, fieldSelector: String, support: ResourceFieldLabels) throws(SelectorError) {
        labels = try LabelSelector.parse(labelSelector, style: .legacy)
        fields = try support.validate(try FieldSelector.parse(fieldSelector))
        var k = ""
        if !labels.isEmpty { k += "l:" + labels.description }
        if !fields.isEmpty { k += (k.isEmpty ? "" : ";") + "f:" + fields.description }
        key = k
    }

    private init(labels: LabelSelector, fields: FieldSelector, key: String) {
        self.labels = labels
        self.fields = fields
        self.key = key
    }

    var isEverything: Bool { key.isEmpty }

    func matches(labels objectLabels: [(String, String)], fields objectFields: [String: String]) -> Bool {
        (labels.isEmpty || labels.matches(pairs: objectLabels)) && (fields.isEmpty || fields.matches(objectFields))
    }
}
