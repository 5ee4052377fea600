import KubeJSON
import NIOCore
import NIOHTTP1

/// A Kubernetes `metav1.Status` error response: what every client-go based client expects
/// instead of a bare socket close or an HTML page.
struct StatusResponse {
    var body: StatusBody

    var code: Int { body.code }

    init(code: Int, reason: StatusReason, message: String) {
        body = StatusBody(message: message, reason: reason, code: code)
    }

    init(body: StatusBody) {
        self.body = body
    }

    static func forFailure(_ failure: ForwardingStateMachine.Failure) -> StatusResponse {
        switch failure {
        case .connectFailed(let why):
            return StatusResponse(code: 503, reason: .serviceUnavailable,
                                  message: "outpost: the apiserver is unreachable: \(why)")
        case .upstreamClosedBeforeResponse(let why):
            // No StatusReason means "bad gateway"; client-go treats InternalError as retryable.
            return StatusResponse(code: 502, reason: .internalError,
                                  message: "outpost: the apiserver closed the connection before responding: \(why)")
        case .offline(let why):
            return StatusResponse(code: 503, reason: .serviceUnavailable,
                                  message: "outpost: the apiserver is unreachable (offline: \(why)); only cached reads are served until it is back")
        case .responseTimeout:
            return StatusResponse(code: 504, reason: .timeout,
                                  message: "outpost: the apiserver did not respond in time")
        }
    }

    func head(version: HTTPVersion, close: Bool) -> (HTTPResponseHead, ByteBuffer) {
        let buffer = ByteBuffer(bytes: body.serialized())
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(buffer.readableBytes))
        headers.add(name: "Cache-Control", value: "no-cache, private")
        if close { headers.add(name: "Connection", value: "close") }
        return (HTTPResponseHead(version: version, status: .init(statusCode: code), headers: headers), buffer)
    }
}

/// A `Status` answered through the local-response path (keep-alive, request body drained).
public final class StatusAnswer: LocalResponder {
    private let status: StatusResponse

    init(_ status: StatusResponse) { self.status = status }

    public convenience init(_ body: StatusBody) { self.init(StatusResponse(body: body)) }

    public func start(_ writer: LocalResponseWriter) {
        let (head, body) = status.head(version: .http1_1, close: false)
        writer.head(head)
        writer.body(body)
        writer.end()
    }

    public func cancel() {}
}
