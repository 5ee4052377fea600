import Testing
@testable import KubeRequest

@Suite("GroupVersionResource and ResourceScope")
struct GroupVersionResourceTests {
    let pods = GroupVersionResource(group: "", version: "v1", resource: "pods")
    let deployments = GroupVersionResource(group: "apps", version: "v1", resource: "deployments")

    @Test func coreGroupSpelling() {
        #expect(pods.groupVersion == "v1")
        #expect(pods.pathPrefix == "/api/v1")
        #expect(pods.description == "/v1, Resource=pods")
    }

    @Test func namedGroupSpelling() {
        #expect(deployments.groupVersion == "apps/v1")
        #expect(deployments.pathPrefix == "/apis/apps/v1")
        #expect(deployments.description == "apps/v1, Resource=deployments")
    }

    @Test func hashableAsCacheKey() {
        var cache: [ResourceScope: Int] = [:]
        cache[ResourceScope(pods, namespace: "a")] = 1
        cache[ResourceScope(pods, namespace: "b")] = 2
        cache[ResourceScope(pods)] = 3
        cache[ResourceScope(GroupVersionResource(group: "", version: "v1", resource: "pods"), namespace: "a")] = 4
        #expect(cache.count == 3)
        #expect(cache[ResourceScope(pods, namespace: "a")] == 4)
        #expect(cache[ResourceScope(pods, namespace: "")] == 3)
    }

    @Test func versionsAreDistinct() {
        let v1beta1 = GroupVersionResource(group: "apps", version: "v1beta1", resource: "deployments")
        #expect(v1beta1 != deployments)
        #expect(Set([v1beta1, deployments, deployments]).count == 2)
    }

    @Test func ordering() {
        #expect(pods < deployments)
        #expect([ResourceScope(deployments, namespace: "b"), ResourceScope(deployments, namespace: "a"), ResourceScope(pods)].sorted()
            == [ResourceScope(pods), ResourceScope(deployments, namespace: "a"), ResourceScope(deployments, namespace: "b")])
    }

    @Test func scopeDescriptions() {
        #expect(ResourceScope(pods).description == "/v1, Resource=pods (cluster-wide)")
        #expect(ResourceScope(deployments, namespace: "prod").description == "apps/v1, Resource=deployments in prod")
        #expect(!ResourceScope(deployments, namespace: "prod").isClusterWide)
    }

    @Test func verbConstants() {
        #expect(Verb.deleteCollection.rawValue == "deletecollection")
        #expect(Verb.list.isReadOnly && Verb.watch.isReadOnly && Verb.get.isReadOnly)
        #expect(!Verb.patch.isReadOnly && !Verb.deleteCollection.isReadOnly)
        #expect(Verb(rawValue: "get") == .get)
        #expect(Verb.none.rawValue == "")
    }
}

@Suite("Field selector terms")
struct FieldSelectorTermsTests {
    @Test(arguments: [
        ("metadata.name=a", "a"),
        ("metadata.name==a", "a"),
        ("metadata.name=", ""),
        ("spec.nodeName=n,metadata.name=x", "x"),
        ("metadata.name=b,metadata.name=a", "a"),
        ("metadata.name=a\\,b", "a,b"),
        ("metadata.name=a\\\\", "a\\"),
        (",metadata.name=a,", "a"),
    ])
    func pinsName(_ selector: String, _ name: String) throws {
        #expect(try FieldSelectorTerms(parsing: selector).requiredValue(for: "metadata.name") == name)
    }

    @Test(arguments: ["", "metadata.name!=a", "metadata.namespace=a", "spec.nodeName=n"])
    func doesNotPinName(_ selector: String) throws {
        #expect(try FieldSelectorTerms(parsing: selector).requiredValue(for: "metadata.name") == nil)
    }

    @Test func splitsAtFirstOperator() throws {
        let terms = try FieldSelectorTerms(parsing: "a!=b").terms
        #expect(terms == [.init(field: "a", op: .notEquals, value: "b")])
        #expect(try FieldSelectorTerms(parsing: "x==y").terms == [.init(field: "x", op: .equals, value: "y")])
    }

    @Test func errors() {
        #expect(throws: FieldSelectorTerms.ParseError.noOperator(term: "abc")) { try FieldSelectorTerms(parsing: "abc") }
        #expect(throws: FieldSelectorTerms.ParseError.invalidEscape(sequence: "\\")) { try FieldSelectorTerms(parsing: "a=b\\") }
        #expect(throws: FieldSelectorTerms.ParseError.unescapedRune("=")) { try FieldSelectorTerms(parsing: "a==b=c") }
    }
}
