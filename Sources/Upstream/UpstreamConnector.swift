import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Opens connections to the apiserver: TCP, TLS (kubeconfig CA / client certificate), and an
/// HTTP/1.1 client codec. Handlers get well-known names so an exchange can later strip the codec
/// to turn the connection into a raw tunnel (exec/attach/port-forward upgrades).
///
/// Why our own pipeline instead of AsyncHTTPClient: upgrades must hand the raw socket to the
/// proxy after a 101, responses must stream with per-chunk backpressure into another channel on
/// the same event loop (no thread hops), and AsyncHTTPClient would bring Foundation (~9 MB RSS).
public final class UpstreamConnector: Sendable {
    public enum HandlerName {
        public static let tls = "upstream-tls"
        public static let encoder = "upstream-http-encoder"
        public static let decoder = "upstream-http-decoder"
    }

    public let configuration: UpstreamConfiguration
    private let sslContext: NIOSSLContext?
    private let sniHostname: String?

    public init(configuration: UpstreamConfiguration) throws {
        self.configuration = configuration
        if let tls = configuration.tls {
            var c = TLSConfiguration.makeClientConfiguration()
            c.applicationProtocols = ["http/1.1"]
            if let ca = tls.caPEM {
                c.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            }
            if tls.insecureSkipVerify {
                c.certificateVerification = .none
            }
            if let cert = tls.clientCertificatePEM, let key = tls.clientKeyPEM {
                c.certificateChain = try NIOSSLCertificate.fromPEMBytes(cert).map { .certificate($0) }
                c.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            }
            self.sslContext = try NIOSSLContext(configuration: c)
            let name = tls.serverName ?? configuration.host
            self.sniHostname = Self.isIPAddress(name) ? nil : name
        } else {
            self.sslContext = nil
            self.sniHostname = nil
        }
    }

    /// A new connection on `eventLoop` (the caller's loop, so proxying never hops threads).
    public func connect(on eventLoop: EventLoop) -> EventLoopFuture<Channel> {
        let sslContext = self.sslContext
        let sni = self.sniHostname
        return ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.autoRead, value: true)
            .connectTimeout(.nanoseconds(Int64(configuration.connectTimeout.components.seconds) * 1_000_000_000
                + configuration.connectTimeout.components.attoseconds / 1_000_000_000))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let ops = channel.pipeline.syncOperations
                    if let sslContext {
                        let handler = try NIOSSLClientHandler(context: sslContext, serverHostname: sni)
                        try ops.addHandler(handler, name: HandlerName.tls)
                    }
                    try ops.addHandler(HTTPRequestEncoder(), name: HandlerName.encoder)
                    try ops.addHandler(
                        ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .forwardBytes, informationalResponseStrategy: .forward)),
                        name: HandlerName.decoder
                    )
                }
            }
            .connect(host: configuration.host, port: configuration.port)
    }

    static func isIPAddress(_ s: String) -> Bool {
        (try? SocketAddress(ipAddress: s, port: 0)) != nil
    }
}
