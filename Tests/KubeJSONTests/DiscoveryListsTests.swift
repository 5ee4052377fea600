import Testing
import KubeJSON

@Suite struct DiscoveryListsTests {
    @Test func legacyVersionsOfAnAPIVersionsBody() throws {
        let body = Array(#"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"10.0.0.1:6443"}]}"#.utf8)
        #expect(try DiscoveryLists.legacyVersions(body) == ["v1"])
        #expect(try DiscoveryLists.legacyVersions(Array(#"{"kind":"APIVersions"}"#.utf8)) == [])
    }

    @Test func groupVersionsOfAnAPIGroupListBody() throws {
        let body = Array("""
            {
              "kind": "APIGroupList", "apiVersion": "v1",
              "groups": [
                {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                 "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}},
                {"name": "batch", "versions": [{"groupVersion": "batch/v1", "version": "v1"}, {"version": "v1beta1", "groupVersion": "batch\\/v1beta1"}]},
                {"name": "empty", "versions": []}
              ]
            }
            """.utf8)
        #expect(try DiscoveryLists.groupVersions(body) == ["apps/v1", "batch/v1", "batch/v1beta1"])
    }

    @Test func truncatedBodiesThrow() {
        #expect(throws: JSONError.self) { try DiscoveryLists.groupVersions(Array(#"{"groups":[{"name":"apps","versions":[{"groupVersion":"ap"#.utf8)) }
        #expect(throws: JSONError.self) { try DiscoveryLists.legacyVersions(Array(#"{"versions":["v1""#.utf8)) }
    }
}
