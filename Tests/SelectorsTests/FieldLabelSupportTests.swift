import Testing
@testable import Selectors

struct UnsupportedCase: Sendable, CustomStringConvertible {
    let group: String, resource: String, selector: String, message: String
    var description: String { "\(group)/\(resource): \(selector)" }
}

let unsupportedCases: [UnsupportedCase] = [
    .init(group: "", resource: "pods", selector: "spec.foo=x", message: "field label not supported: spec.foo"),
    .init(group: "", resource: "pods", selector: "spec.nodeName=a,metadata.labels=b", message: "field label not supported: metadata.labels"),
    .init(group: "", resource: "nodes", selector: "metadata.namespace=x", message: "field label not supported: metadata.namespace"),
    .init(group: "", resource: "namespaces", selector: "metadata.namespace=x", message: "field label not supported: metadata.namespace"),
    .init(group: "", resource: "events", selector: "message=x", message: "field label not supported: message"),
    .init(group: "", resource: "secrets", selector: "data=x", message: "field label not supported: data"),
    .init(group: "", resource: "replicationcontrollers", selector: "spec.replicas=1", message: "field label not supported: spec.replicas"),
    .init(group: "", resource: "configmaps", selector: "data.x=1", message: "\"data.x\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""),
    .init(group: "apps", resource: "deployments", selector: "spec.replicas=1", message: "\"spec.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""),
    .init(group: "batch", resource: "jobs", selector: "status.active=1", message: "field label \"status.active\" not supported for batchv1.Job"),
    .init(group: "certificates.k8s.io", resource: "certificatesigningrequests", selector: "metadata.namespace=x", message: "field label not supported: metadata.namespace"),
    // terms are validated in sorted order: "a" before "spec.nodeName"
    .init(group: "", resource: "pods", selector: "spec.nodeName=n,a=b,zz=c", message: "field label not supported: a"),
    .init(group: "", resource: "pods", selector: " spec.nodeName=n", message: "field label not supported:  spec.nodeName"),
]

@Test("unsupported field labels", arguments: unsupportedCases)
func unsupported(_ c: UnsupportedCase) throws {
    let sel = try FieldSelector.parse(c.selector)
    let rules = FieldLabelSupport.forResource(group: c.group, resource: c.resource)
    #expect(throws: SelectorError(kind: .unsupportedFieldLabel, message: c.message)) {
        try rules.validate(sel)
    }
}

let supportedTable: [(String, String, [String])] = [
    ("", "pods", ["metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                  "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs",
                  "status.nominatedNodeName", "spec.host"]),
    ("", "nodes", ["metadata.name", "spec.unschedulable"]),
    ("", "replicationcontrollers", ["metadata.name", "metadata.namespace", "status.replicas"]),
    ("", "events", ["metadata.name", "metadata.namespace", "involvedObject.kind", "involvedObject.namespace",
                    "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion",
                    "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent",
                    "source", "type"]),
    ("", "namespaces", ["metadata.name", "status.phase"]),
    ("", "secrets", ["metadata.name", "metadata.namespace", "type"]),
    ("", "services", ["metadata.name", "metadata.namespace", "spec.clusterIP", "spec.type"]),
    ("batch", "jobs", ["metadata.name", "metadata.namespace", "status.successful"]),
    ("certificates.k8s.io", "certificatesigningrequests", ["metadata.name", "spec.signerName"]),
    ("", "configmaps", ["metadata.name", "metadata.namespace"]),
    ("apps", "deployments", ["metadata.name", "metadata.namespace"]),
]

@Test("supported field labels", arguments: supportedTable)
func supported(_ c: (String, String, [String])) throws {
    let rules = FieldLabelSupport.forResource(group: c.0, resource: c.1)
    #expect(rules.supportedLabels == c.2)
    for label in c.2 {
        let s = try FieldSelector.parse(label + "=v")
        #expect(try rules.validate(s).terms.count == 1)
    }
}

@Test func podAliasIsConverted() throws {
    let rules = FieldLabelSupport.forResource(group: "", resource: "pods")
    let s = try rules.validate(FieldSelector.parse("spec.host=n1"))
    #expect(s.description == "spec.nodeName=n1")
    #expect(s.matches(["spec.nodeName": "n1"]))
}

@Test func customResources() throws {
    let ns = FieldLabelSupport.forCustomResource(group: "example.com", resource: "widgets", clusterScoped: false)
    let cl = FieldLabelSupport.forCustomResource(group: "example.com", resource: "gadgets", clusterScoped: true)
    #expect(try ns.validate(FieldSelector.parse("metadata.namespace=a")).terms.count == 1)
    #expect(throws: SelectorError(kind: .unsupportedFieldLabel, message: "field label not supported: metadata.namespace")) {
        try cl.validate(FieldSelector.parse("metadata.namespace=a"))
    }
    #expect(throws: SelectorError(kind: .unsupportedFieldLabel, message: "field label not supported: spec.size")) {
        try ns.validate(FieldSelector.parse("spec.size=1"))
    }
}

/// A tiny JSON-ish object model for extraction tests.
indirect enum J: Sendable { case o([String: J]), a([J]), s(String), n(String), b(Bool), null }

func lookup(_ root: J) -> ([JSONPathComponent]) -> JSONScalar? {
    return { path in
        var cur = root
        for c in path {
            switch (c, cur) {
            case (.key(let k), .o(let d)): guard let n = d[k] else { return nil }; cur = n
            case (.index(let i), .a(let xs)): guard i < xs.count else { return nil }; cur = xs[i]
            default: return nil
            }
        }
        switch cur {
        case .s(let s): return .string(s)
        case .n(let n): return .number(n)
        case .b(let b): return .bool(b)
        case .null: return .null
        default: return nil
        }
    }
}

@Test func podFieldsSet() throws {
    let rules = FieldLabelSupport.forResource(group: "", resource: "pods")
    let pod = J.o([
        "metadata": .o(["name": .s("web-0"), "namespace": .s("prod")]),
        "spec": .o(["nodeName": .s("n1"), "restartPolicy": .s("Always"), "schedulerName": .s("default-scheduler"),
                    "serviceAccountName": .s("default")]),
        "status": .o(["phase": .s("Running"), "podIPs": .a([.o(["ip": .s("10.0.0.7")]), .o(["ip": .s("fd00::7")])])]),
    ])
    let f = rules.fieldsSet(lookup(pod))
    #expect(f == [
        "metadata.name": "web-0", "metadata.namespace": "prod", "spec.nodeName": "n1",
        "spec.restartPolicy": "Always", "spec.schedulerName": "default-scheduler",
        "spec.serviceAccountName": "default", "spec.hostNetwork": "false", "status.phase": "Running",
        "status.podIP": "10.0.0.7", "status.podIPs": "", "status.nominatedNodeName": "",
    ])
    // status.podIPs is accepted but never populated: only "" matches.
    let byIPs = try rules.validate(FieldSelector.parse("status.podIPs=10.0.0.7"))
    #expect(!byIPs.matches(f))
    #expect(try rules.validate(FieldSelector.parse("status.podIPs=")).matches(f))
    #expect(try rules.validate(FieldSelector.parse("status.podIP=10.0.0.7,spec.host=n1")).matches(f))

    // v1 status.podIP wins over podIPs[0] (the v1 -> internal conversion).
    let pod2 = J.o(["status": .o(["podIP": .s("1.1.1.1"), "podIPs": .a([.o(["ip": .s("2.2.2.2")])])]),
                    "spec": .o(["hostNetwork": .b(true)])])
    let f2 = rules.fieldsSet(lookup(pod2))
    #expect(f2["status.podIP"] == "1.1.1.1")
    #expect(f2["spec.hostNetwork"] == "true")
    #expect(f2["metadata.name"] == "")
}

@Test func otherFieldsSets() {
    let ev = J.o(["reportingComponent": .s("ctrl"), "source": .o([:]), "involvedObject": .o(["kind": .s("Pod")])])
    let evf = FieldLabelSupport.forResource(group: "", resource: "events").fieldsSet(lookup(ev))
    #expect(evf["source"] == "ctrl")
    #expect(evf["reportingComponent"] == "ctrl")
    #expect(evf["involvedObject.kind"] == "Pod")
    let ev2 = J.o(["reportingComponent": .s("ctrl"), "source": .o(["component": .s("kubelet")])])
    #expect(FieldLabelSupport.forResource(group: "", resource: "events").fieldsSet(lookup(ev2))["source"] == "kubelet")

    let node = J.o(["metadata": .o(["name": .s("n1")]), "spec": .o([:])])
    #expect(FieldLabelSupport.forResource(group: "", resource: "nodes").fieldsSet(lookup(node))
            == ["metadata.name": "n1", "spec.unschedulable": "false"])
    let job = J.o(["status": .o(["succeeded": .n("3")])])
    #expect(FieldLabelSupport.forResource(group: "batch", resource: "jobs").fieldsSet(lookup(job))["status.successful"] == "3")
    let rc = J.o(["status": .o([:])])
    #expect(FieldLabelSupport.forResource(group: "", resource: "replicationcontrollers").fieldsSet(lookup(rc))["status.replicas"] == "0")
    let paths = FieldLabelSupport.forResource(group: "", resource: "pods").fields.flatMap(\.source.paths)
    #expect(paths.contains([.key("status"), .key("podIPs"), .index(0), .key("ip")]))
}
