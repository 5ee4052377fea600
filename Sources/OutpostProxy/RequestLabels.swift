import KubeRequest
import NIOHTTP1

/// Low-cardinality labels for metrics and logs: the apiserver-style verb and the resource
/// (`pods`, `pods/status`, `discovery`, `nonresource`).
struct RequestLabels {
    var verb: String
    var resource: String
    var info: RequestInfo?

    init(_ head: HTTPRequestHead) {
        guard let info = try? RequestInfo(method: head.method.rawValue, target: head.uri) else {
            verb = head.method.rawValue.lowercased()
            resource = "invalid"
            return
        }
        self.info = info
        verb = info.verb.description
        switch info.kind {
        case .resource:
            resource = info.subresource.isEmpty ? info.resource : "\(info.resource)/\(info.subresource)"
        case .discovery:
            resource = "discovery"
        case .nonResource:
            resource = "nonresource"
        }
    }
}
