/// Everything Outpost needs to reach the cloud apiserver, independent of where it came from
/// (kubeconfig today). Secret material never appears in `description`.
public struct UpstreamConfiguration: Sendable, CustomStringConvertible {
    public struct TLS: Sendable {
        public var caPEM: [UInt8]?
        public var clientCertificatePEM: [UInt8]?
        public var clientKeyPEM: [UInt8]?
        public var insecureSkipVerify: Bool
        /// SNI and certificate name to verify; nil means "the host", or the peer IP for IP literals.
        public var serverName: String?

        public init(
            caPEM: [UInt8]? = nil,
            clientCertificatePEM: [UInt8]? = nil,
            clientKeyPEM: [UInt8]? = nil,
            insecureSkipVerify: Bool = false,
            serverName: String? = nil
        ) {
            self.caPEM = caPEM
            self.clientCertificatePEM = clientCertificatePEM
            self.clientKeyPEM = clientKeyPEM
            self.insecureSkipVerify = insecureSkipVerify
            self.serverName = serverName
        }
    }

    public var host: String
    public var port: Int
    /// Path prefix of the server URL (e.g. `/k8s/clusters/c1`), without a trailing slash; "" for none.
    public var basePath: String
    /// nil: plain HTTP.
    public var tls: TLS?
    public var credentials: UpstreamCredentials
    /// How long to wait for a TCP+TLS connection before the upstream counts as unreachable.
    public var connectTimeout: Duration
    /// Idle upstream connections kept per event loop for reuse.
    public var maxIdleConnectionsPerLoop: Int

    public init(
        host: String,
        port: Int,
        basePath: String = "",
        tls: TLS? = nil,
        credentials: UpstreamCredentials = .none,
        connectTimeout: Duration = .seconds(5),
        maxIdleConnectionsPerLoop: Int = 16
    ) {
        self.host = host
        self.port = port
        self.basePath = basePath.hasSuffix("/") ? String(basePath.dropLast()) : basePath
        self.tls = tls
        self.credentials = credentials
        self.connectTimeout = connectTimeout
        self.maxIdleConnectionsPerLoop = maxIdleConnectionsPerLoop
    }

    /// The value for the upstream `Host` header.
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        let defaultPort = tls == nil ? 80 : 443
        return port == defaultPort ? h : "\(h):\(port)"
    }

    public var description: String {
        let scheme = tls == nil ? "http" : "https"
        var s = "\(scheme)://\(hostHeader)\(basePath) credentials=\(credentials)"
        if let tls {
            s += " ca=\(tls.caPEM == nil ? "system" : "custom")"
            s += " clientCert=\(tls.clientCertificatePEM == nil ? "no" : "yes")"
            if tls.insecureSkipVerify { s += " insecure-skip-tls-verify" }
        }
        return s
    }
}
