import Testing
@testable import EdgeCache

/// The shape of offline answers for the Accept headers real clients send (see OutputTarget).
@Suite struct AnswerShapeTests {
    @Test func realClients() {
        let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        #expect(AnswerShape(accept: kubectl) == .table(apiVersion: "meta.k8s.io/v1"))
        #expect(AnswerShape(accept: "application/json;as=Table;v=v1beta1;g=meta.k8s.io") == .table(apiVersion: "meta.k8s.io/v1beta1"))
        // No printer here: the plain list the client also takes (kubectl prints NAME and AGE).
        #expect(AnswerShape(accept: kubectl, printable: false) == .objects)
        #expect(AnswerShape(accept: "application/json;as=Table;v=v1;g=meta.k8s.io", printable: false).converts == false)
        #expect(AnswerShape(accept: nil) == .objects)
        #expect(AnswerShape(accept: "*/*") == .objects)
        #expect(AnswerShape(accept: "application/vnd.kubernetes.protobuf, */*") == .objects)
        let informer = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"
            + "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
        #expect(AnswerShape(accept: informer) == .metadata(apiVersion: "meta.k8s.io/v1", list: true, protobuf: true, json: true))
        #expect(AnswerShape(accept: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1") == .metadata(apiVersion: "meta.k8s.io/v1", list: false))
        #expect(AnswerShape(accept: "text/html") == .notAcceptable("406: Not Acceptable", emptyDetails: true))
        #expect(AnswerShape(accept: "application/yaml;as=Table;v=v1;g=meta.k8s.io").converts == false)
    }

    @Test func metadataEncoding() {
        let informer = AnswerShape.metadata(apiVersion: "meta.k8s.io/v1", list: true, protobuf: true, json: true)
        #expect(informer.conversionEncoding(hasJSONObjects: false) == .protobuf)
        #expect(informer.conversionEncoding(hasJSONObjects: true) == .json)
        let protobufOnly = AnswerShape.metadata(apiVersion: "meta.k8s.io/v1", list: true, protobuf: true, json: false)
        #expect(protobufOnly.conversionEncoding(hasJSONObjects: true) == nil)
    }

    @Test func refusalsNameTheGoType() {
        let list = AnswerShape.metadata(apiVersion: "meta.k8s.io/v1", list: false)
        let pods = Collection(group: "", version: "v1", resource: "pods")
        let leases = Collection(group: "coordination.k8s.io", version: "v1", resource: "leases")
        #expect(list.refusal(list: true, collection: pods, kind: "Pod", includeObject: nil) != nil)
        #expect(list.refusal(list: false, collection: pods, kind: "Pod", includeObject: nil) == nil)
        #expect(AnswerShape.internalPackage(leases.group) == "coordination")
        #expect(AnswerShape.internalPackage("events.k8s.io") == "core")
        #expect(AnswerShape.table(apiVersion: "meta.k8s.io/v1").refusal(list: true, collection: pods, kind: "Pod", includeObject: "Foo") != nil)
        #expect(AnswerShape.table(apiVersion: "meta.k8s.io/v1").refusal(list: true, collection: pods, kind: "Pod", includeObject: "None") == nil)
    }

    @Test func includeObjectIsReplacedInTheQuery() {
        #expect(TablePlan.uri("/api/v1/pods", settingIncludeObject: "Object") == "/api/v1/pods?includeObject=Object")
        #expect(TablePlan.uri("/api/v1/pods?limit=500&includeObject=None&x=1", settingIncludeObject: "Object")
            == "/api/v1/pods?limit=500&x=1&includeObject=Object")
        #expect(TablePlan.uri("/api/v1/pods?include%4Fbject=None", settingIncludeObject: "Object") == "/api/v1/pods?includeObject=Object")
    }
}
