/// How Outpost authenticates to the apiserver (besides an optional client certificate).
/// Descriptions and mirrors redact tokens and passwords.
public enum Credentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    case none
    case bearerToken(String)
    /// A token file that must be re-read on use (projected service-account tokens rotate).
    case bearerTokenFile(path: String)
    case basic(username: String, password: String)

    /// The `Authorization` header value to send now, or nil for `.none`. Re-reads a token file
    /// on every call (trimming surrounding whitespace, as client-go does).
    public func authorizationHeaderValue() throws(KubeConfigError) -> String? {
        switch self {
        case .none:
            return nil
        case .bearerToken(let token):
            return "Bearer " + token
        case .bearerTokenFile(let path):
            return "Bearer " + (try Credentials.readToken(path: path))
        case let .basic(username, password):
            return "Basic " + KubeBase64.encode(Array("\(username):\(password)".utf8))
        }
    }

    static func readToken(path: String) throws(KubeConfigError) -> String {
        let bytes = try FileIO.readFile(path)
        let text = String(decoding: bytes, as: UTF8.self)
        let token = String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        guard !token.isEmpty else {
            throw .fileError(path: path, reason: "token file is empty")
        }
        return token
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .bearerToken: return "bearerToken(<redacted>)"
        case .bearerTokenFile(let path): return "bearerTokenFile(\(path))"
        case .basic(let username, _): return "basic(username: \(username), password: <redacted>)"
        }
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["credentials": description], displayStyle: .enum)
    }
}

/// Everything Outpost needs to reach the apiserver selected by a kubeconfig.
/// Descriptions and mirrors redact credentials and the client key.
public struct UpstreamEndpoint: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public enum Scheme: String, Sendable, Equatable {
        case https
        case http

        public var defaultPort: Int { self == .https ? 443 : 80 }
    }

    public var scheme: Scheme
    /// Host name or IP address (IPv6 without brackets).
    public var host: String
    public var port: Int
    /// Path prefix of the server URL without a trailing slash ("" when none); prepend to request paths.
    public var basePath: String
    /// SNI / verification name override (`tls-server-name`); nil means use `host`.
    public var tlsServerName: String?
    public var insecureSkipTLSVerify: Bool
    /// Trusted CA bundle (PEM); nil means the system trust store.
    public var caPEM: [UInt8]?
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?
    public var credentials: Credentials
    /// The kubeconfig context this endpoint was resolved from.
    public var contextName: String

    public init(scheme: Scheme, host: String, port: Int? = nil, basePath: String = "",
                tlsServerName: String? = nil, insecureSkipTLSVerify: Bool = false,
                caPEM: [UInt8]? = nil, clientCertificatePEM: [UInt8]? = nil, clientKeyPEM: [UInt8]? = nil,
                credentials: Credentials = .none, contextName: String = "") {
        self.scheme = scheme
        self.host = host
        self.port = port ?? scheme.defaultPort
        self.basePath = basePath
        self.tlsServerName = tlsServerName
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.caPEM = caPEM
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.credentials = credentials
        self.contextName = contextName
    }

    public var usesTLS: Bool { scheme == .https }

    /// `host:port` (IPv6 in brackets), for connecting and for the Host header.
    public var authority: String {
        ServerURL(scheme: scheme, host: host, port: port).authority
    }

    /// The server URL without credentials, e.g. `https://[::1]:6443/prefix`.
    public var serverURL: String {
        ServerURL(scheme: scheme, host: host, port: port, basePath: basePath).description
    }

    private var redactedFields: [(String, String)] {
        [
            ("context", contextName),
            ("server", serverURL),
            ("tlsServerName", tlsServerName ?? "nil"),
            ("insecureSkipTLSVerify", "\(insecureSkipTLSVerify)"),
            ("ca", caPEM.map { "\($0.count) bytes" } ?? "system"),
            ("clientCertificate", clientCertificatePEM.map { "\($0.count) bytes" } ?? "nil"),
            ("clientKey", clientKeyPEM == nil ? "nil" : "<redacted>"),
            ("credentials", credentials.description),
        ]
    }

    public var description: String {
        "UpstreamEndpoint(" + redactedFields.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + ")"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: redactedFields.map { (label: Optional($0.0), value: $0.1 as Any) }, displayStyle: .struct)
    }
}

// MARK: - Resolution

extension UpstreamEndpoint {
    /// Loads a kubeconfig (default location when `kubeconfigPath` is nil) and resolves it.
    public static func resolve(kubeconfigPath: String? = nil, context: String? = nil,
                               serverOverride: String? = nil) throws(KubeConfigError) -> UpstreamEndpoint {
        let path: String
        if let kubeconfigPath {
            path = kubeconfigPath
        } else {
            path = try KubeconfigFile.defaultPath()
        }
        return try KubeconfigFile(contentsOf: path).resolve(context: context, serverOverride: serverOverride)
    }
}

extension KubeconfigFile {
    /// Resolves the endpoint for `context` (default: `current-context`) the way kubectl does.
    ///
    /// - `serverOverride` replaces the cluster's server URL (like `kubectl --server`) and, as in
    ///   kubectl, drops the cluster's `tls-server-name`.
    /// - `*-data` fields win over their file counterparts; relative files resolve against
    ///   `directory`. Files are read now; a `tokenFile` is also re-read on every use.
    /// - `tokenFile` wins over `token` when both are set (client-go prefers the file and only
    ///   falls back to the static token when the file cannot be read).
    public func resolve(context override: String? = nil, serverOverride requestedServer: String? = nil) throws(KubeConfigError) -> UpstreamEndpoint {
        let serverOverride = requestedServer.flatMap { $0.isEmpty ? nil : $0 }
        let contextName: String
        if let override, !override.isEmpty {
            contextName = override
        } else if let currentContext {
            contextName = currentContext
        } else {
            throw .noCurrentContext
        }
        guard let context = context(named: contextName) else {
            throw .contextNotFound(contextName, available: contexts.map(\.name))
        }
        guard let clusterName = context.cluster else {
            throw .contextHasNoCluster(context: contextName)
        }
        guard let cluster = cluster(named: clusterName) else {
            throw .clusterNotFound(clusterName, context: contextName)
        }
        var user: AuthInfo?
        if let userName = context.user {
            guard let found = self.user(named: userName) else {
                throw .userNotFound(userName, context: contextName)
            }
            user = found
        }

        // Things Outpost cannot do must fail loudly rather than connect differently.
        if let user {
            if let command = user.execCommand {
                let detail = command.isEmpty ? "" : " (command \"\(command)\")"
                throw .unsupportedAuth(user: user.name, reason: "exec credential plugins\(detail)")
            }
            if let provider = user.authProviderName {
                let detail = provider.isEmpty ? "" : " (\"\(provider)\")"
                throw .unsupportedAuth(user: user.name, reason: "auth-provider\(detail)")
            }
            if user.impersonates {
                throw .unsupportedAuth(user: user.name, reason: "impersonation (as, as-groups, as-uid, as-user-extra)")
            }
        }
        if cluster.proxyURL != nil {
            throw .unsupported("cluster \"\(cluster.name)\": proxy-url")
        }

        // Server URL.
        guard let server = serverOverride ?? cluster.server else {
            throw .missingServer(cluster: cluster.name)
        }
        let hasCA = cluster.certificateAuthority != nil || cluster.certificateAuthorityData != nil
        let hasClientCertificate = user.map { $0.clientCertificate != nil || $0.clientCertificateData != nil } ?? false
        let url = try ServerURL(
            parsing: server,
            defaultScheme: hasCA || hasClientCertificate || cluster.insecureSkipTLSVerify ? .https : .http
        )

        // Cluster TLS.
        if cluster.insecureSkipTLSVerify && hasCA {
            throw .invalidConfiguration(
                "cluster \"\(cluster.name)\": certificate-authority cannot be combined with insecure-skip-tls-verify")
        }
        var caPEM = cluster.certificateAuthorityData
        if caPEM == nil, let file = cluster.certificateAuthority {
            caPEM = try readNonEmpty(file, what: "certificate-authority")
        }

        // User.
        var credentials = Credentials.none
        var certificatePEM: [UInt8]?
        var keyPEM: [UInt8]?
        if let user {
            let hasToken = user.token != nil || user.tokenFile != nil
            let hasBasic = user.username != nil || user.password != nil
            if hasToken && hasBasic {
                throw .invalidConfiguration(
                    "user \"\(user.name)\": more than one authentication method (token and username/password); only one is allowed")
            }
            if user.clientCertificate != nil && user.clientCertificateData != nil {
                throw .invalidConfiguration("user \"\(user.name)\": client-certificate and client-certificate-data are both set")
            }
            if user.clientKey != nil && user.clientKeyData != nil {
                throw .invalidConfiguration("user \"\(user.name)\": client-key and client-key-data are both set")
            }
            let hasKey = user.clientKey != nil || user.clientKeyData != nil
            if hasClientCertificate && !hasKey {
                throw .invalidConfiguration(
                    "user \"\(user.name)\": client-key or client-key-data must be set to use a client certificate")
            }
            if hasKey && !hasClientCertificate {
                throw .invalidConfiguration(
                    "user \"\(user.name)\": client-certificate or client-certificate-data must be set to use a client key")
            }
            certificatePEM = user.clientCertificateData
            if certificatePEM == nil, let file = user.clientCertificate {
                certificatePEM = try readNonEmpty(file, what: "client-certificate")
            }
            keyPEM = user.clientKeyData
            if keyPEM == nil, let file = user.clientKey {
                keyPEM = try readNonEmpty(file, what: "client-key")
            }
            if let file = user.tokenFile {
                let path = FileIO.resolve(file, relativeTo: directory)
                _ = try Credentials.readToken(path: path) // fail fast; re-read on use
                credentials = .bearerTokenFile(path: path)
            } else if let token = user.token {
                credentials = .bearerToken(token)
            } else if hasBasic {
                credentials = .basic(username: user.username ?? "", password: user.password ?? "")
            }
        }

        return UpstreamEndpoint(
            scheme: url.scheme,
            host: url.host,
            port: url.port,
            basePath: url.basePath,
            tlsServerName: serverOverride == nil ? cluster.tlsServerName : nil,
            insecureSkipTLSVerify: cluster.insecureSkipTLSVerify,
            caPEM: caPEM,
            clientCertificatePEM: certificatePEM,
            clientKeyPEM: keyPEM,
            credentials: credentials,
            contextName: contextName
        )
    }

    private func readNonEmpty(_ file: String, what: String) throws(KubeConfigError) -> [UInt8] {
        let path = FileIO.resolve(file, relativeTo: directory)
        let bytes = try FileIO.readFile(path)
        guard !bytes.isEmpty else {
            throw .fileError(path: path, reason: "\(what) file is empty")
        }
        return bytes
    }
}
