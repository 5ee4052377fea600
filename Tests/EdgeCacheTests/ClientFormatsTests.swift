import Testing
@testable import EdgeCache

/// Offline answers pick the format the apiserver would: a client that takes JSON and protobuf
/// alike (`*/*`, curl's default) gets JSON; one that names protobuf first (kubelet) gets protobuf.
@Suite struct ClientFormatsTests {
    @Test(arguments: [
        (nil as String?, false, true),
        ("*/*", false, true),
        ("application/json", false, true),
        ("application/json, */*", false, true),
        ("application/vnd.kubernetes.protobuf, */*", true, true),
        ("application/vnd.kubernetes.protobuf", true, false),
        ("application/json;q=0.5, application/vnd.kubernetes.protobuf", true, true),
        ("application/json, application/vnd.kubernetes.protobuf", false, true),
    ])
    func negotiation(accept: String?, protobuf: Bool, json: Bool) {
        let f = ClientFormats(accept: accept)
        #expect(f.prefersProtobuf == protobuf, "\(accept ?? "no Accept")")
        #expect(f.acceptsJSON == json, "\(accept ?? "no Accept")")
    }
}
