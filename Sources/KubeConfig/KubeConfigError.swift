import YAMLLite

/// Everything that can go wrong loading a kubeconfig or resolving an endpoint.
/// Descriptions name the kubeconfig entries involved but never contain secret values.
public enum KubeConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file is not valid YAML/JSON.
    case yaml(YAMLError, path: String?)
    /// The document parsed but does not have the kubeconfig shape (e.g. `clusters[0].name` missing).
    case invalidKubeconfig(String)
    /// No context override and no `current-context`.
    case noCurrentContext
    case contextNotFound(String, available: [String])
    case contextHasNoCluster(context: String)
    case clusterNotFound(String, context: String)
    case userNotFound(String, context: String)
    case missingServer(cluster: String)
    case invalidServerURL(String, reason: String)
    /// `exec`, `auth-provider`, impersonation: things Outpost cannot do.
    case unsupportedAuth(user: String, reason: String)
    /// Other kubeconfig features Outpost cannot honor (e.g. `proxy-url`).
    case unsupported(String)
    case invalidBase64(field: String, reason: String)
    /// Conflicting or incomplete TLS / credential settings.
    case invalidConfiguration(String)
    case fileError(path: String, reason: String)
    /// `$KUBECONFIG` / `$HOME/.kube/config` lookup found nothing.
    case noKubeconfigFound(searched: [String])

    public var description: String {
        switch self {
        case let .yaml(error, path):
            return "invalid kubeconfig\(path.map { " \($0)" } ?? ""): \(error)"
        case let .invalidKubeconfig(message):
            return "invalid kubeconfig: \(message)"
        case .noCurrentContext:
            return "no context selected: the kubeconfig has no current-context and no context was specified"
        case let .contextNotFound(name, available):
            let list = available.isEmpty ? "none" : available.joined(separator: ", ")
            return "context \"\(name)\" not found in kubeconfig (available contexts: \(list))"
        case let .contextHasNoCluster(context):
            return "context \"\(context)\" does not name a cluster"
        case let .clusterNotFound(name, context):
            return "cluster \"\(name)\" (referenced by context \"\(context)\") not found in kubeconfig"
        case let .userNotFound(name, context):
            return "user \"\(name)\" (referenced by context \"\(context)\") not found in kubeconfig"
        case let .missingServer(cluster):
            return "cluster \"\(cluster)\" has no server URL"
        case let .invalidServerURL(url, reason):
            return "invalid server URL \"\(url)\": \(reason)"
        case let .unsupportedAuth(user, reason):
            return "user \"\(user)\": \(reason) is not supported by Outpost"
        case let .unsupported(message):
            return "\(message) is not supported by Outpost"
        case let .invalidBase64(field, reason):
            return "\(field) is not valid base64: \(reason)"
        case let .invalidConfiguration(message):
            return "invalid kubeconfig: \(message)"
        case let .fileError(path, reason):
            return "cannot read \(path): \(reason)"
        case let .noKubeconfigFound(searched):
            return "no kubeconfig found (looked for: \(searched.isEmpty ? "nothing" : searched.joined(separator: ", ")))"
        }
    }
}
