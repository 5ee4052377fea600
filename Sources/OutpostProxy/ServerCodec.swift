import NIOCore
import NIOHTTP1

/// The local server's HTTP/1.1 pipeline, with named handlers so an upgraded connection can
/// strip exactly these before it becomes a raw tunnel.
enum ServerCodec {
    static let decoder = "http-decoder"
    static let encoder = "http-encoder"
    static let pipelining = "http-pipelining"
    static let errors = "http-errors"
    static let proxy = "outpost-client"

    /// Request heads larger than this are refused (llhttp's own limit is 80 KiB; the apiserver's
    /// Go server allows 1 MiB of headers, but local clients never need more than a few KiB).
    static func install(on channel: Channel, proxy: ChannelHandler) throws {
        let ops = channel.pipeline.syncOperations
        try ops.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)), name: decoder)
        try ops.addHandler(HTTPResponseEncoder(), name: encoder)
        try ops.addHandler(HTTPServerPipelineHandler(), name: pipelining)
        try ops.addHandler(HTTPServerProtocolErrorHandler(), name: errors)
        try ops.addHandler(proxy, name: ServerCodec.proxy)
    }
}
