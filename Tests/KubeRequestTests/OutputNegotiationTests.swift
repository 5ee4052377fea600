import Testing
@testable import KubeRequest

/// The apiserver's output negotiation for reads (1.20 `NegotiateOutputMediaType` with its
/// endpoint restrictions), on the Accept headers real clients send.
@Suite struct OutputNegotiationTests {
    @Test func realClients() {
        let table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        #expect(OutputTarget.candidates(accept: table).map(\.conversion) == [.table, .table, nil])
        #expect(OutputTarget.candidates(accept: table).first?.version == "v1")
        #expect(OutputTarget.candidates(accept: nil) == [OutputTarget(serializer: .json)])
        #expect(OutputTarget.candidates(accept: "*/*").map(\.serializer) == [.json, .yaml, .protobuf])
        #expect(OutputTarget.candidates(accept: "application/vnd.kubernetes.protobuf, */*").first == OutputTarget(serializer: .protobuf))
        let informer = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"
            + "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
        #expect(OutputTarget.candidates(accept: informer) == [
            OutputTarget(serializer: .protobuf, conversion: .partialObjectMetadataList),
            OutputTarget(serializer: .json, conversion: .partialObjectMetadataList),
            OutputTarget(serializer: .json),
        ])
    }

    @Test func refusals() {
        // Tables exist only as JSON and YAML; only meta.k8s.io v1/v1beta1 conversions.
        #expect(OutputTarget.candidates(accept: "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io").isEmpty)
        #expect(OutputTarget.candidates(accept: "application/json;as=Table;v=v2;g=meta.k8s.io").isEmpty)
        #expect(OutputTarget.candidates(accept: "application/json;as=Foo;v=v1;g=meta.k8s.io").isEmpty)
        #expect(OutputTarget.candidates(accept: "application/json;stream=foo").isEmpty)
        #expect(OutputTarget.candidates(accept: "text/html").isEmpty)
        #expect(OutputTarget.candidates(accept: "application/yaml;as=Table;v=v1;g=meta.k8s.io").first?.serializer == .yaml)
    }

    /// The two bodies 1.20 writes for a 406 (captured from the lab apiserver).
    @Test func notAcceptableWording() {
        let listed = "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf"
        #expect(OutputTarget.notAcceptable(accept: "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io") == (listed, false))
        #expect(OutputTarget.notAcceptable(accept: "application/json;as=Foo;g=meta.k8s.io;v=v1") == (listed, false))
        #expect(OutputTarget.notAcceptable(accept: "text/html") == ("406: Not Acceptable", true))
        #expect(OutputTarget.notAcceptable(accept: "application/*;as=Table;g=meta.k8s.io;v=v3") == ("406: Not Acceptable", true))
    }
}
