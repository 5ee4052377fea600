import CacheStore
import Filters
import KubeJSON
import KubeRequest
import Selectors
import Synchronization

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

/// Which wording the apiserver uses for selector errors, learned from its `/version` (the
/// messages changed in 1.22), and which list-option rules it validates with (streaming lists
/// came in 1.27); offline answers copy both.
final class ApiserverDialect: Sendable {
    private let legacy = Atomic<Bool>(false)
    /// The apiserver's minor version; 0 until learned.
    private let minor = Atomic<Int>(0)

    var selectorStyle: SelectorErrorStyle { legacy.load(ordering: .relaxed) ? .legacy : .fieldPath }

    var validationRules: ListOptions.ValidationRules {
        let m = minor.load(ordering: .relaxed)
        return .forMinorVersion(m == 0 ? nil : m)
    }

    /// Reads `"major":"1","minor":"20"` (minor may carry a `+`) from a /version body.
    func learn(versionDocument body: [UInt8]) {
        guard let major = Self.stringField("major", in: body), let minorText = Self.stringField("minor", in: body),
              let minor = Int(minorText.prefix { $0.isNumber }), major == "1" else { return }
        legacy.store(minor < 22, ordering: .relaxed)
        self.minor.store(minor, ordering: .relaxed)
    }

    private static func stringField(_ key: String, in body: [UInt8]) -> String? {
        // The apiserver pretty-prints /version (`"major": "1"`).
        let text = String(decoding: body, as: UTF8.self)
        guard let r = text.firstRange(of: "\"\(key)\"") else { return nil }
        var rest = text[r.upperBound...].drop { $0 == " " || $0 == "\t" || $0 == "\n" }
        guard rest.first == ":" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" || $0 == "\n" }
        guard rest.first == "\"" else { return nil }
        return String(rest.dropFirst().prefix { $0 != "\"" })
    }
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
    init(labelSelector: String, fieldSelector: String, support: ResourceFieldLabels,
         style: SelectorErrorStyle) throws(SelectorError) {
        try self.init(Parsed(labelSelector: labelSelector, fieldSelector: fieldSelector, style: style), support: support)
    }

    /// The selectors parsed, before their field labels are checked: the apiserver parses both
    /// while decoding the query (400s), validates the options (422s), and only then converts
    /// field labels (400s again), so the two steps are apart.
    struct Parsed: Sendable {
        var labels: LabelSelector
        var fields: FieldSelector

        init(labelSelector: String, fieldSelector: String, style: SelectorErrorStyle) throws(SelectorError) {
            labels = try LabelSelector.parse(labelSelector, style: style)
            fields = try FieldSelector.parse(fieldSelector)
        }
    }

    /// The selection of parsed selectors whose field labels the resource supports.
    init(_ parsed: Parsed, support: ResourceFieldLabels) throws(SelectorError) {
        labels = parsed.labels
        fields = try support.validate(parsed.fields)
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

    /// The label and field equalities every match must have, for the store to narrow its walk
    /// in SQL (offline, kubelet's `spec.nodeName=X` over 10 000 cached pods reads only its own).
    var prefilter: RowPrefilter {
        var p = RowPrefilter()
        for r in labels.requirements {
            switch r.operator {
            case .equals, .doubleEquals, .in where r.values.count == 1: p.labels.append((r.key, r.values[0]))
            default: break
            }
        }
        for t in fields.terms where t.operator == .equals { p.fields.append((t.field, t.value)) }
        return p
    }

    func matches(labels objectLabels: [(String, String)], fields objectFields: [String: String]) -> Bool {
        (labels.isEmpty || labels.matches(pairs: objectLabels)) && (fields.isEmpty || fields.matches(objectFields))
    }
}
