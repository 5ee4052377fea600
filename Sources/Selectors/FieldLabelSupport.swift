// Which field labels kube-apiserver accepts per resource (the field label conversion
// functions registered in the scheme) and how it computes each field's value
// (the registry's ToSelectableFields / GetAttrs), exported as data for the cache.

/// One step of a JSON path into the versioned (wire) object.
public enum JSONPathComponent: Sendable, Hashable {
    case key(String)
    case index(Int)
}

/// A scalar read out of an object's JSON by the cache.
public enum JSONScalar: Sendable, Hashable {
    case string(String)
    /// The number's literal text as it appears in the JSON.
    case number(String)
    case bool(Bool)
    case null
}

/// How the apiserver derives a selectable field's value from the object.
public enum FieldValueSource: Sendable, Hashable {
    /// A string at this path; missing / null / non-string reads as "".
    case string([JSONPathComponent])
    /// A bool at this path rendered "true"/"false"; missing reads as "false".
    case bool([JSONPathComponent])
    /// An integer at this path rendered in decimal; missing reads as "0".
    case integer([JSONPathComponent])
    /// The first of these string paths with a non-empty value, else "".
    case firstNonEmptyString([[JSONPathComponent]])
    /// Accepted by the apiserver's field label conversion but never present in its
    /// field set, so it always reads as "" (e.g. pods `status.podIPs`).
    case alwaysEmpty

    /// Every path the cache needs to read for this source.
    public var paths: [[JSONPathComponent]] {
        switch self {
        case .string(let p), .bool(let p), .integer(let p): return [p]
        case .firstNonEmptyString(let ps): return ps
        case .alwaysEmpty: return []
        }
    }

    /// Computes the field value given a JSON lookup (nil when the path is absent).
    public func value(_ lookup: ([JSONPathComponent]) -> JSONScalar?) -> String {
        switch self {
        case .string(let p):
            if case .string(let s)? = lookup(p) { return s }
            return ""
        case .bool(let p):
            if case .bool(let b)? = lookup(p) { return b ? "true" : "false" }
            return "false"
        case .integer(let p):
            if case .number(let n)? = lookup(p) { return n }
            return "0"
        case .firstNonEmptyString(let ps):
            for p in ps {
                if case .string(let s)? = lookup(p), !s.isEmpty { return s }
            }
            return ""
        case .alwaysEmpty:
            return ""
        }
    }
}

/// A field label the apiserver accepts, with where its value comes from.
public struct SelectableField: Sendable, Hashable {
    public let label: String
    public let source: FieldValueSource
    public init(label: String, source: FieldValueSource) {
        self.label = label
        self.source = source
    }
}

/// The field label rules of one resource.
public struct ResourceFieldLabels: Sendable, Hashable {
    /// How the apiserver words its rejection of an unsupported label.
    public enum Rejection: Sendable, Hashable {
        /// `field label not supported: <label>` (core, certificates, custom resources).
        case notSupported
        /// `"<label>" is not a known field selector: only "metadata.name", "metadata.namespace"`
        /// (runtime.DefaultMetaV1FieldSelectorConversion: every resource without its own function).
        case defaultMeta
        /// `field label "<label>" not supported for batchv1.Job`.
        case batchJob
    }

    public let group: String
    public let resource: String
    /// Accepted labels and their value sources (the fields set the cache must extract).
    public let fields: [SelectableField]
    /// Accepted legacy spellings mapped to their canonical label (pods: `spec.host` → `spec.nodeName`).
    public let aliases: [String: String]
    public let rejection: Rejection

    public init(group: String, resource: String, fields: [SelectableField],
                aliases: [String: String] = [:], rejection: Rejection) {
        self.group = group
        self.resource = resource
        self.fields = fields
        self.aliases = aliases
        self.rejection = rejection
    }

    /// Labels accepted in a field selector (canonical labels plus aliases).
    public var supportedLabels: [String] { fields.map(\.label) + aliases.keys.sorted() }

    /// The field label conversion function: canonical label, or the apiserver's error.
    public func convert(label: String) throws(SelectorError) -> String {
        for f in fields where bytesEqual(f.label, label) { return f.label }
        for (alias, target) in aliases where bytesEqual(alias, label) { return target }
        let message: String
        switch rejection {
        case .notSupported:
            message = "field label not supported: " + label
        case .defaultMeta:
            message = goQuote(label) + " is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        case .batchJob:
            message = "field label " + goQuote(label) + " not supported for batchv1.Job"
        }
        throw SelectorError(kind: .unsupportedFieldLabel, message: message)
    }

    /// What the apiserver does after parsing: `Transform` with the conversion function.
    /// Returns the selector with canonical labels (aliases resolved), or the 400 message.
    public func validate(_ selector: FieldSelector) throws(SelectorError) -> FieldSelector {
        try selector.transformed { (f, v) throws(SelectorError) in (try convert(label: f), v) }
    }

    /// Builds the object's fields set from a JSON lookup.
    public func fieldsSet(_ lookup: ([JSONPathComponent]) -> JSONScalar?) -> [String: String] {
        var out: [String: String] = [:]
        out.reserveCapacity(fields.count)
        for f in fields { out[f.label] = f.source.value(lookup) }
        return out
    }
}

/// Per-resource field selector support, as in kube-apiserver 1.20 plus later additive labels
/// (pods `spec.hostNetwork`, services `spec.clusterIP` / `spec.type`).
public enum FieldLabelSupport {
    private static func p(_ s: String...) -> [JSONPathComponent] { s.map { .key($0) } }
    private static let name = SelectableField(label: "metadata.name", source: .string(p("metadata", "name")))
    private static let namespace = SelectableField(label: "metadata.namespace", source: .string(p("metadata", "namespace")))

    /// Built-in resources with their own field label conversion function.
    public static let builtIn: [ResourceFieldLabels] = [
        ResourceFieldLabels(group: "", resource: "pods", fields: [
            name, namespace,
            SelectableField(label: "spec.nodeName", source: .string(p("spec", "nodeName"))),
            SelectableField(label: "spec.restartPolicy", source: .string(p("spec", "restartPolicy"))),
            SelectableField(label: "spec.schedulerName", source: .string(p("spec", "schedulerName"))),
            SelectableField(label: "spec.serviceAccountName", source: .string(p("spec", "serviceAccountName"))),
            SelectableField(label: "spec.hostNetwork", source: .bool(p("spec", "hostNetwork"))),
            SelectableField(label: "status.phase", source: .string(p("status", "phase"))),
            // Internal PodIPs[0]: v1 status.podIP wins, else status.podIPs[0].ip.
            SelectableField(label: "status.podIP", source: .firstNonEmptyString([
                p("status", "podIP"), [.key("status"), .key("podIPs"), .index(0), .key("ip")],
            ])),
            // Accepted by the conversion function but absent from the pod fields set.
            SelectableField(label: "status.podIPs", source: .alwaysEmpty),
            SelectableField(label: "status.nominatedNodeName", source: .string(p("status", "nominatedNodeName"))),
        ], aliases: ["spec.host": "spec.nodeName"], rejection: .notSupported),
        ResourceFieldLabels(group: "", resource: "nodes", fields: [
            name,
            SelectableField(label: "spec.unschedulable", source: .bool(p("spec", "unschedulable"))),
        ], rejection: .notSupported),
        ResourceFieldLabels(group: "", resource: "replicationcontrollers", fields: [
            name, namespace,
            SelectableField(label: "status.replicas", source: .integer(p("status", "replicas"))),
        ], rejection: .notSupported),
        ResourceFieldLabels(group: "", resource: "events", fields: [
            name, namespace,
            SelectableField(label: "involvedObject.kind", source: .string(p("involvedObject", "kind"))),
            SelectableField(label: "involvedObject.namespace", source: .string(p("involvedObject", "namespace"))),
            SelectableField(label: "involvedObject.name", source: .string(p("involvedObject", "name"))),
            SelectableField(label: "involvedObject.uid", source: .string(p("involvedObject", "uid"))),
            SelectableField(label: "involvedObject.apiVersion", source: .string(p("involvedObject", "apiVersion"))),
            SelectableField(label: "involvedObject.resourceVersion", source: .string(p("involvedObject", "resourceVersion"))),
            SelectableField(label: "involvedObject.fieldPath", source: .string(p("involvedObject", "fieldPath"))),
            SelectableField(label: "reason", source: .string(p("reason"))),
            SelectableField(label: "reportingComponent", source: .string(p("reportingComponent"))),
            // Source.Component, falling back to ReportingController.
            SelectableField(label: "source", source: .firstNonEmptyString([p("source", "component"), p("reportingComponent")])),
            SelectableField(label: "type", source: .string(p("type"))),
        ], rejection: .notSupported),
        ResourceFieldLabels(group: "", resource: "namespaces", fields: [
            name,
            SelectableField(label: "status.phase", source: .string(p("status", "phase"))),
        ], rejection: .notSupported),
        ResourceFieldLabels(group: "", resource: "secrets", fields: [
            name, namespace,
            SelectableField(label: "type", source: .string(p("type"))),
        ], rejection: .notSupported),
        ResourceFieldLabels(group: "", resource: "services", fields: [
            name, namespace,
            SelectableField(label: "spec.clusterIP", source: .string(p("spec", "clusterIP"))),
            SelectableField(label: "spec.type", source: .string(p("spec", "type"))),
        ], rejection: .notSupported),
        ResourceFieldLabels(group: "batch", resource: "jobs", fields: [
            name, namespace,
            SelectableField(label: "status.successful", source: .integer(p("status", "succeeded"))),
        ], rejection: .batchJob),
        ResourceFieldLabels(group: "certificates.k8s.io", resource: "certificatesigningrequests", fields: [
            name,
            SelectableField(label: "spec.signerName", source: .string(p("spec", "signerName"))),
        ], rejection: .notSupported),
    ]

    private static let index: [String: ResourceFieldLabels] = {
        var d: [String: ResourceFieldLabels] = [:]
        for r in builtIn { d[r.group + "/" + r.resource] = r }
        return d
    }()

    /// Rules for a built-in (or aggregated) resource. Resources without their own conversion
    /// function get `metadata.name` / `metadata.namespace` and the default rejection text.
    public static func forResource(group: String, resource: String) -> ResourceFieldLabels {
        if let r = index[group + "/" + resource] { return r }
        return ResourceFieldLabels(group: group, resource: resource, fields: [name, namespace], rejection: .defaultMeta)
    }

    /// Rules for a CustomResourceDefinition-served resource (apiextensions-apiserver):
    /// `metadata.name`, plus `metadata.namespace` when namespaced; `field label not supported: X` otherwise.
    public static func forCustomResource(group: String, resource: String, clusterScoped: Bool) -> ResourceFieldLabels {
        ResourceFieldLabels(group: group, resource: resource,
                            fields: clusterScoped ? [name] : [name, namespace], rejection: .notSupported)
    }
}
