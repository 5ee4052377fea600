import KubeConfig
import Upstream

/// kubeconfig (KubeConfig module) → how the Upstream module connects.
enum UpstreamSetup {
    static func load(kubeconfig: String?, context: String?, serverOverride: String?) throws -> UpstreamConfiguration {
        let endpoint = try UpstreamEndpoint.resolve(kubeconfigPath: kubeconfig, context: context, serverOverride: serverOverride)
        return configuration(for: endpoint)
    }

    static func configuration(for e: UpstreamEndpoint) -> UpstreamConfiguration {
        let credentials: UpstreamCredentials
        switch e.credentials {
        case .none: credentials = .none
        case .bearerToken(let t): credentials = .bearerToken(t)
        case .bearerTokenFile(let path): credentials = .bearerTokenFile(TokenFile(path: path))
        case .basic(let u, let p): credentials = .basic(username: u, header: "Basic " + KubeBase64.encode(Array("\(u):\(p)".utf8)))
        }
        let tls: UpstreamConfiguration.TLS? = e.usesTLS
            ? .init(caPEM: e.caPEM, clientCertificatePEM: e.clientCertificatePEM, clientKeyPEM: e.clientKeyPEM,
                    insecureSkipVerify: e.insecureSkipTLSVerify, serverName: e.tlsServerName)
            : nil
        return UpstreamConfiguration(host: e.host, port: e.port, basePath: e.basePath, tls: tls, credentials: credentials)
    }
}
