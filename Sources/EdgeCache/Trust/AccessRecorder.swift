import NIOCore
import NIOHTTP1
import OfflineAccess
import OutpostProxy

/// Sees the apiserver's answer to a request that has a local answer and records, for the caller
/// and the access, whether the apiserver allowed it; then hands everything on to the tee it wraps
/// (or straight to the client). A 403's JSON body (small) is kept so an offline refusal repeats
/// the apiserver's own words.
final class AccessRecorder: ResponseInterceptor {
    private let inner: ResponseInterceptor?
    private let gate: AccessGate
    private let identity: Identity
    private let access: Access
    private var code = 0
    private var refusal: [UInt8]?
    static let maxRecordedBody = 4096

    init(inner: ResponseInterceptor?, gate: AccessGate, identity: Identity, access: Access) {
        self.inner = inner
        self.gate = gate
        self.identity = identity
        self.access = access
    }

    func head(_ head: HTTPResponseHead, to sink: ResponseSink) {
        code = Int(head.status.code)
        if code == 403, head.headers.first(name: "content-type")?.lowercased().hasPrefix("application/json") == true {
            refusal = []
        } else {
            gate.record(identity, access, statusCode: code)
        }
        if let inner { inner.head(head, to: sink) } else { sink.sendHead(head) }
    }

    func body(_ buffer: ByteBuffer, to sink: ResponseSink) {
        if refusal != nil {
            if refusal!.count + buffer.readableBytes <= Self.maxRecordedBody {
                refusal! += buffer.readableBytesView
            } else {
                refusal = nil
                gate.record(identity, access, statusCode: code)
            }
        }
        if let inner { inner.body(buffer, to: sink) } else { sink.sendBody(buffer) }
    }

    func end(to sink: ResponseSink) {
        if let body = refusal {
            refusal = nil
            gate.record(identity, access, statusCode: code, status: body)
        }
        inner?.end(to: sink)
    }

    func abort() {
        if refusal != nil {
            refusal = nil
            gate.record(identity, access, statusCode: code)
        }
        inner?.abort()
    }

    var readyForMore: Bool { inner?.readyForMore ?? true }
}

/// A Status body recorded from the apiserver, replayed as it was.
final class RecordedStatusAnswer: LocalResponder {
    private let code: Int
    private let body: [UInt8]

    init(code: Int, body: [UInt8]) {
        self.code = code
        self.body = body
    }

    func start(_ writer: LocalResponseWriter) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Cache-Control", value: "no-cache, private")
        headers.add(name: "Content-Length", value: String(body.count))
        writer.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: code), headers: headers))
        writer.body(ByteBuffer(bytes: body))
        writer.end()
    }

    func cancel() {}
}
