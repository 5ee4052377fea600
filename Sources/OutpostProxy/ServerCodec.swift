import NIOCore
import NIOHTTP1

/// The local server's HTTP/1.1 pipeline, with named handlers so an upgraded connection can
/// strip exactly these before it becomes a raw tunnel.
enum ServerCodec {
    static let decoder = "http-decoder"
    static let encoder = "http-encoder"
    static let pipelining = "http-pipelining"
    static let deadlines = "outpost-deadlines"
    static let errors = "http-errors"
    static let proxy = "outpost-client"

    /// Request heads larger than this are refused (llhttp's own limit is 80 KiB; the apiserver's
    /// Go server allows 1 MiB of headers, but local clients never need more than a few KiB).
    /// `deadlines` (the request-head and idle timeouts) sits between the codec and the
    /// pipelining handler, so it sees heads as they complete and responses as they end.
    static func install(on channel: Channel, proxy: ChannelHandler, deadlines: ChannelHandler? = nil) throws {
        let ops = channel.pipeline.syncOperations
        try ops.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)), name: decoder)
        try ops.addHandler(HTTPResponseEncoder(), name: encoder)
        if let deadlines { try ops.addHandler(deadlines, name: ServerCodec.deadlines) }
        try ops.addHandler(HTTPServerPipelineHandler(), name: pipelining)
        try ops.addHandler(HTTPServerProtocolErrorHandler(), name: errors)
        try ops.addHandler(proxy, name: ServerCodec.proxy)
    }
}
