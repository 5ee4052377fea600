import NIOCore
import NIOHTTP1

/// A small buffered request to the apiserver (health probes, internal look-ups), never used for
/// client traffic, which is streamed by the proxy instead.
public struct OneShotResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer
}

public enum OneShotError: Error, CustomStringConvertible {
    case timedOut
    case connectionClosed
    case bodyTooLarge

    public var description: String {
        switch self {
        case .timedOut: return "no response before the deadline"
        case .connectionClosed: return "connection closed before the response completed"
        case .bodyTooLarge: return "response body too large"
        }
    }
}

extension UpstreamPool {
    /// GET `path` (relative to the server's base path) and collect the response, failing after
    /// `timeout`. The connection goes back to the pool only when the exchange ended cleanly.
    /// `accept`: the Accept header sent (an OpenAPI document is negotiated by it).
    public func get(_ path: String, on loop: EventLoop, timeout: TimeAmount, maxBody: Int = 1 << 20,
                    accept: String = "application/json, */*", headers extra: [(String, String)] = []) -> EventLoopFuture<OneShotResponse> {
        let promise = loop.makePromise(of: OneShotResponse.self)
        let config = connector.configuration
        loop.execute {
            let deadline = loop.scheduleTask(in: timeout) { promise.fail(OneShotError.timedOut) }
            self.acquire(on: loop).whenComplete { result in
                switch result {
                case .failure(let error):
                    deadline.cancel()
                    promise.fail(error)
                case .success(let lease):
                    let channel = lease.channel
                    var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: config.basePath + path)
                    head.headers.add(name: "Host", value: config.hostHeader)
                    head.headers.add(name: "Accept", value: accept)
                    head.headers.add(name: "User-Agent", value: "outpost")
                    for (name, value) in extra { head.headers.add(name: name, value: value) }
                    if let auth = config.credentials.authorizationHeader() {
                        head.headers.add(name: "Authorization", value: auth)
                    }
                    let handler = OneShotHandler(maxBody: maxBody) { result in
                        deadline.cancel()
                        switch result {
                        case .success(let (response, reusable)):
                            if reusable { self.release(channel) } else { channel.close(promise: nil) }
                            promise.succeed(response)
                        case .failure(let error):
                            channel.close(promise: nil)
                            promise.fail(error)
                        }
                    }
                    promise.futureResult.whenFailure { _ in channel.close(promise: nil) }
                    do {
                        try channel.pipeline.syncOperations.addHandler(handler)
                    } catch {
                        deadline.cancel()
                        channel.close(promise: nil)
                        promise.fail(error)
                        return
                    }
                    channel.write(HTTPClientRequestPart.head(head), promise: nil)
                    channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                }
            }
        }
        return promise.futureResult
    }
}

final class OneShotHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    private var done = false
    private let maxBody: Int
    private let completion: (Result<(OneShotResponse, Bool), Error>) -> Void

    init(maxBody: Int, completion: @escaping (Result<(OneShotResponse, Bool), Error>) -> Void) {
        self.maxBody = maxBody
        self.completion = completion
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        switch unwrapInboundIn(data) {
        case .head(let h):
            if h.status.code >= 100 && h.status.code < 200 { return }
            head = h
            // A large body announced by its length (an OpenAPI document) is gathered in one
            // allocation instead of doubling its way there.
            if let n = h.headers.first(name: "content-length").flatMap(Int.init), n > 65536, n <= maxBody {
                body = context.channel.allocator.buffer(capacity: n)
            }
        case .body(var b):
            if (body?.readableBytes ?? 0) + b.readableBytes > maxBody {
                finish(context: context, .failure(OneShotError.bodyTooLarge))
                return
            }
            if body == nil { body = b } else { body!.writeBuffer(&b) }
        case .end:
            guard let head else { return }
            let response = OneShotResponse(status: head.status, headers: head.headers, body: body ?? ByteBuffer())
            finish(context: context, .success((response, head.isKeepAlive)))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context: context, .failure(OneShotError.connectionClosed))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        finish(context: context, .failure(error))
    }

    private func finish(context: ChannelHandlerContext, _ result: Result<(OneShotResponse, Bool), Error>) {
        guard !done else { return }
        done = true
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        completion(result)
    }
}
