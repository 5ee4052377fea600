import Testing
import Filters

@Suite("GroupResource")
struct GroupResourceTests {
    @Test(arguments: [
        ("pods", "", "pods"),
        ("configmaps", "", "configmaps"),
        ("leases.coordination.k8s.io", "coordination.k8s.io", "leases"),
        ("deployments.apps", "apps", "deployments"),
        ("endpointslices.discovery.k8s.io", "discovery.k8s.io", "endpointslices"),
        ("events.events.k8s.io", "events.k8s.io", "events"),
        ("csistoragecapacities.storage.k8s.io", "storage.k8s.io", "csistoragecapacities"),
        ("my-widgets.example-1.com", "example-1.com", "my-widgets"),
    ])
    func parsesAndRoundTrips(text: String, group: String, resource: String) throws {
        let parsed = try #require(GroupResource(parsing: text))
        #expect(parsed == GroupResource(group: group, resource: resource))
        #expect(parsed.group == group)
        #expect(parsed.resource == resource)
        #expect(parsed.description == text)
        #expect(GroupResource(parsing: parsed.description) == parsed)
    }

    @Test(arguments: [
        "", "Pods", "pod s", "pods/status", ".pods", "pods.", "pods..apps", "pods.apps.",
        "5", "-pods", "pods-", "deployments.-apps", "deployments.Apps", "deployments.apps_v1",
        "pods ", " pods", String(repeating: "a", count: 64),
    ])
    func rejectsWhatNamesNoResource(text: String) {
        #expect(GroupResource(parsing: text) == nil)
    }

    @Test func acceptsTheLongestLabel() {
        let longest = String(repeating: "a", count: 63)
        #expect(GroupResource(parsing: longest)?.resource == longest)
    }

    @Test func coreDescriptionHasNoGroup() {
        #expect(GroupResource(group: "", resource: "nodes").description == "nodes")
        #expect(GroupResource(group: "apps", resource: "deployments").description == "deployments.apps")
    }
}
