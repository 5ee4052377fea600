import NIOCore
import NIOHTTP1

/// Sits on an upstream connection for the length of one exchange and hands everything to the
/// client connection's handler (both live on the same event loop: plain calls, no hops).
/// It pauses reading from the apiserver while the local client cannot take more bytes.
final class UpstreamExchangeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private(set) weak var client: ClientConnectionHandler?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    /// Whether any response byte arrived (for the retry decision on reused connections).
    private(set) var sawResponse = false

    init(client: ClientConnectionHandler) { self.client = client }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        client = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        sawResponse = true
        client?.upstreamRead(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        client?.upstreamReadComplete()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        client?.upstreamFailed("connection closed by the apiserver", sawResponse: sawResponse)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        client?.upstreamFailed("\(error)", sawResponse: sawResponse)
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        client?.upstreamWritabilityChanged(writable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if client?.canAcceptResponseBytes ?? true {
            context.read()
        } else {
            pendingRead = true
        }
    }

    /// The client drained: read from the apiserver again.
    func resumeReading() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }
}
