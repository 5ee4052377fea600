@testable import Filters

let pods = GroupResource(group: "", resource: "pods")
let configMaps = GroupResource(group: "", resource: "configmaps")
let secrets = GroupResource(group: "", resource: "secrets")
let events = GroupResource(group: "", resource: "events")
let nodes = GroupResource(group: "", resource: "nodes")
let leases = GroupResource(group: "coordination.k8s.io", resource: "leases")

extension ResourceFilter {
    /// `droppingRule` for an object whose labels and fields do not matter to the test.
    func droppingRule(name: String, namespace: String = "default") -> String? {
        droppingRule(name: name, namespace: namespace, labels: [], fields: [:])
    }
}

/// The error `OutpostConfig.parse` throws for `yaml`, or nil when it parses.
func configError(_ yaml: String) -> ConfigError? {
    do {
        _ = try OutpostConfig.parse(yaml: yaml)
        return nil
    } catch {
        return error
    }
}
