import Testing
import KubeJSON

/// The 1.20 apiserver's `/apis/storage.k8s.io/v1` (abridged: fewer verbs and fields).
private let storageV1 = #"""
{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"storage.k8s.io/v1","resources":[
 {"name":"csidrivers","singularName":"","namespaced":false,"kind":"CSIDriver","verbs":["create","delete","get","list","watch"]},
 {"name":"csinodes","singularName":"","namespaced":false,"kind":"CSINode","verbs":["get","list"],"storageVersionHash":"Pe62DkZtjuo="},
 {"name":"volumeattachments/status","singularName":"","namespaced":false,"kind":"VolumeAttachment","verbs":["get","patch","update"]}]}
"""#

@Suite("APIResourceList (discovery scopes)")
struct APIResourceListTests {
    @Test func readsScopesKindsAndVerbs() throws {
        let list = try APIResourceList.parse(Array(storageV1.utf8))
        #expect(list.groupVersion == "storage.k8s.io/v1")
        #expect(list.group == "storage.k8s.io")
        #expect(list.resources.map(\.name) == ["csidrivers", "csinodes", "volumeattachments/status"])
        #expect(list.resources.allSatisfy { !$0.namespaced })
        #expect(list.resources[0].kind == "CSIDriver")
        #expect(list.resources[1].verbs == ["get", "list"])
        #expect(list.resources.map(\.isSubresource) == [false, false, true])
    }

    @Test func coreGroupAndCustomResources() throws {
        let core = try APIResourceList.parse(Array(#"""
            {"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"pods","namespaced":true,"kind":"Pod","verbs":[]},{"name":"nodes","namespaced":false,"kind":"Node"}]}
            """#.utf8))
        #expect(core.group == "")
        #expect(core.resources.map(\.namespaced) == [true, false])
        let crd = try APIResourceList.parse(Array(#"{"groupVersion":"example.com/v1","kind":"APIResourceList","resources":[{"name":"widgets","namespaced":true,"kind":"Widget","shortNames":["wd"],"categories":null}]}"#.utf8))
        #expect(crd.group == "example.com")
        #expect(crd.resources == [.init(name: "widgets", namespaced: true, kind: "Widget", verbs: [])])
        let empty = try APIResourceList.parse(Array(#"{"kind":"APIResourceList","groupVersion":"x.io/v1","resources":[]}"#.utf8))
        #expect(empty.resources.isEmpty)
    }

    /// Anything else (a Status, `/apis`' APIGroupList, truncated or trailing bytes) is refused,
    /// so a wrong document never teaches a scope.
    @Test(arguments: [
        #"{"kind":"Status","apiVersion":"v1","status":"Failure","code":404}"#,
        #"{"kind":"APIGroupList","groups":[]}"#,
        #"{"kind":"APIResourceList","resources":[]}"#,
        #"{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"pods""#,
        #"{"kind":"APIResourceList","groupVersion":"v1","resources":[]} x"#,
        "{}", "",
    ])
    func refusesOtherDocuments(text: String) {
        #expect(throws: JSONError.self) { try APIResourceList.parse(Array(text.utf8)) }
    }
}
