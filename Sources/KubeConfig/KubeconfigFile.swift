import YAMLLite

/// A parsed kubeconfig file (YAML or JSON): clusters, users (`AuthInfo`), contexts and
/// `current-context`. `preferences` and `extensions` are ignored.
public struct KubeconfigFile: Sendable, Equatable, CustomStringConvertible {
    public struct Cluster: Sendable, Equatable {
        public var name: String
        public var server: String?
        /// `certificate-authority`: a file path, resolved against the kubeconfig's directory.
        public var certificateAuthority: String?
        /// Decoded `certificate-authority-data`.
        public var certificateAuthorityData: [UInt8]?
        public var insecureSkipTLSVerify: Bool
        public var tlsServerName: String?
        public var proxyURL: String?

        public init(name: String, server: String? = nil, certificateAuthority: String? = nil,
                    certificateAuthorityData: [UInt8]? = nil, insecureSkipTLSVerify: Bool = false,
                    tlsServerName: String? = nil, proxyURL: String? = nil) {
            self.name = name
            self.server = server
            self.certificateAuthority = certificateAuthority
            self.certificateAuthorityData = certificateAuthorityData
            self.insecureSkipTLSVerify = insecureSkipTLSVerify
            self.tlsServerName = tlsServerName
            self.proxyURL = proxyURL
        }
    }

    /// A `users[].user` entry. Its description and mirror redact secrets.
    public struct AuthInfo: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        public var name: String
        /// `client-certificate` file path (resolved against the kubeconfig's directory).
        public var clientCertificate: String?
        public var clientCertificateData: [UInt8]?
        /// `client-key` file path (resolved against the kubeconfig's directory).
        public var clientKey: String?
        public var clientKeyData: [UInt8]?
        public var token: String?
        /// `tokenFile` path (resolved against the kubeconfig's directory).
        public var tokenFile: String?
        public var username: String?
        public var password: String?
        /// `exec.command` when an exec credential plugin is configured ("" if it names none).
        public var execCommand: String?
        /// `auth-provider.name` when an auth provider is configured ("" if it names none).
        public var authProviderName: String?
        /// Whether any impersonation field (`as`, `as-uid`, `as-groups`, `as-user-extra`) is set.
        public var impersonates: Bool

        public init(name: String, clientCertificate: String? = nil, clientCertificateData: [UInt8]? = nil,
                    clientKey: String? = nil, clientKeyData: [UInt8]? = nil, token: String? = nil,
                    tokenFile: String? = nil, username: String? = nil, password: String? = nil,
                    execCommand: String? = nil, authProviderName: String? = nil, impersonates: Bool = false) {
            self.name = name
            self.clientCertificate = clientCertificate
            self.clientCertificateData = clientCertificateData
            self.clientKey = clientKey
            self.clientKeyData = clientKeyData
            self.token = token
            self.tokenFile = tokenFile
            self.username = username
            self.password = password
            self.execCommand = execCommand
            self.authProviderName = authProviderName
            self.impersonates = impersonates
        }

        private var redactedFields: [(String, String)] {
            var fields: [(String, String)] = [("name", name)]
            if let clientCertificate { fields.append(("clientCertificate", clientCertificate)) }
            if let clientCertificateData { fields.append(("clientCertificateData", "\(clientCertificateData.count) bytes")) }
            if let clientKey { fields.append(("clientKey", clientKey)) }
            if clientKeyData != nil { fields.append(("clientKeyData", "<redacted>")) }
            if token != nil { fields.append(("token", "<redacted>")) }
            if let tokenFile { fields.append(("tokenFile", tokenFile)) }
            if let username { fields.append(("username", username)) }
            if password != nil { fields.append(("password", "<redacted>")) }
            if let execCommand { fields.append(("exec", execCommand)) }
            if let authProviderName { fields.append(("authProvider", authProviderName)) }
            if impersonates { fields.append(("impersonation", "true")) }
            return fields
        }

        public var description: String {
            "AuthInfo(" + redactedFields.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + ")"
        }

        public var debugDescription: String { description }

        public var customMirror: Mirror {
            Mirror(self, children: redactedFields.map { (label: Optional($0.0), value: $0.1 as Any) }, displayStyle: .struct)
        }
    }

    public struct Context: Sendable, Equatable {
        public var name: String
        public var cluster: String?
        /// The user (`AuthInfo`) name; nil means no credentials.
        public var user: String?
        public var namespace: String?

        public init(name: String, cluster: String? = nil, user: String? = nil, namespace: String? = nil) {
            self.name = name
            self.cluster = cluster
            self.user = user
            self.namespace = namespace
        }
    }

    public var clusters: [Cluster]
    public var users: [AuthInfo]
    public var contexts: [Context]
    public var currentContext: String?
    /// Directory that relative file references are resolved against; nil means the process's
    /// working directory.
    public var directory: String?

    public init(clusters: [Cluster] = [], users: [AuthInfo] = [], contexts: [Context] = [],
                currentContext: String? = nil, directory: String? = nil) {
        self.clusters = clusters
        self.users = users
        self.contexts = contexts
        self.currentContext = currentContext
        self.directory = directory
    }

    public func cluster(named name: String) -> Cluster? { clusters.first { $0.name == name } }
    public func user(named name: String) -> AuthInfo? { users.first { $0.name == name } }
    public func context(named name: String) -> Context? { contexts.first { $0.name == name } }

    public var description: String {
        "KubeconfigFile(clusters: \(clusters.map(\.name)), users: \(users.map(\.name)), "
            + "contexts: \(contexts.map(\.name)), currentContext: \(currentContext ?? "nil"))"
    }
}

// MARK: - Loading

extension KubeconfigFile {
    /// Reads and parses the kubeconfig at `path`; relative file references inside it resolve
    /// against the file's directory.
    public init(contentsOf path: String) throws(KubeConfigError) {
        let bytes = try FileIO.readFile(path)
        try self.init(bytes: bytes, directory: FileIO.directory(of: path), sourcePath: path)
    }

    /// Parses kubeconfig text (YAML or JSON).
    public init(yaml text: String, directory: String? = nil) throws(KubeConfigError) {
        try self.init(bytes: Array(text.utf8), directory: directory, sourcePath: nil)
    }

    init(bytes: [UInt8], directory: String?, sourcePath: String?) throws(KubeConfigError) {
        let root: YAMLNode
        do {
            root = try YAML.parse(bytes: bytes)
        } catch {
            throw .yaml(error, path: sourcePath)
        }
        try self.init(node: root, directory: directory)
    }

    /// Builds the model from an already parsed document.
    public init(node root: YAMLNode, directory: String? = nil) throws(KubeConfigError) {
        self.init(directory: directory)
        if root.isNull { return }
        guard root.entries != nil else {
            throw .invalidKubeconfig("the document must be a mapping")
        }
        if let kind = try Field.string(root["kind"], "kind"), kind != "Config" {
            throw .invalidKubeconfig("kind must be \"Config\", not \"\(kind)\"")
        }
        currentContext = try Field.string(root["current-context"], "current-context")

        for (index, item) in try Field.list(root["clusters"], "clusters").enumerated() {
            let path = "clusters[\(index)]"
            let name = try Field.name(item, path)
            guard !clusters.contains(where: { $0.name == name }) else {
                throw .invalidKubeconfig("duplicate cluster name \"\(name)\"")
            }
            let fields = try Field.mapping(item["cluster"], "\(path).cluster")
            let field = "\(path).cluster"
            clusters.append(Cluster(
                name: name,
                server: try Field.string(fields["server"], "\(field).server"),
                certificateAuthority: try Field.string(fields["certificate-authority"], "\(field).certificate-authority"),
                certificateAuthorityData: try Field.base64(fields["certificate-authority-data"], "\(field).certificate-authority-data"),
                insecureSkipTLSVerify: try Field.bool(fields["insecure-skip-tls-verify"], "\(field).insecure-skip-tls-verify") ?? false,
                tlsServerName: try Field.string(fields["tls-server-name"], "\(field).tls-server-name"),
                proxyURL: try Field.string(fields["proxy-url"], "\(field).proxy-url")
            ))
        }

        for (index, item) in try Field.list(root["users"], "users").enumerated() {
            let path = "users[\(index)]"
            let name = try Field.name(item, path)
            guard !users.contains(where: { $0.name == name }) else {
                throw .invalidKubeconfig("duplicate user name \"\(name)\"")
            }
            let fields = try Field.mapping(item["user"], "\(path).user")
            let field = "\(path).user"
            var execCommand: String?
            if let exec = fields["exec"], !exec.isNull {
                execCommand = exec["command"]?.string ?? ""
            }
            var providerName: String?
            if let provider = fields["auth-provider"], !provider.isNull {
                providerName = provider["name"]?.string ?? ""
            }
            let impersonationKeys = ["as", "as-uid", "as-groups", "as-user-extra"]
            let impersonates = impersonationKeys.contains { key in
                guard let value = fields[key] else { return false }
                switch value {
                case .null: return false
                case .scalar(let text, _): return !text.isEmpty
                case .sequence(let items): return !items.isEmpty
                case .mapping(let entries): return !entries.isEmpty
                }
            }
            users.append(AuthInfo(
                name: name,
                clientCertificate: try Field.string(fields["client-certificate"], "\(field).client-certificate"),
                clientCertificateData: try Field.base64(fields["client-certificate-data"], "\(field).client-certificate-data"),
                clientKey: try Field.string(fields["client-key"], "\(field).client-key"),
                clientKeyData: try Field.base64(fields["client-key-data"], "\(field).client-key-data"),
                token: try Field.string(fields["token"], "\(field).token"),
                tokenFile: try Field.string(fields["tokenFile"], "\(field).tokenFile"),
                username: try Field.string(fields["username"], "\(field).username"),
                password: try Field.string(fields["password"], "\(field).password"),
                execCommand: execCommand,
                authProviderName: providerName,
                impersonates: impersonates
            ))
        }

        for (index, item) in try Field.list(root["contexts"], "contexts").enumerated() {
            let path = "contexts[\(index)]"
            let name = try Field.name(item, path)
            guard !contexts.contains(where: { $0.name == name }) else {
                throw .invalidKubeconfig("duplicate context name \"\(name)\"")
            }
            let fields = try Field.mapping(item["context"], "\(path).context")
            let field = "\(path).context"
            contexts.append(Context(
                name: name,
                cluster: try Field.string(fields["cluster"], "\(field).cluster"),
                user: try Field.string(fields["user"], "\(field).user"),
                namespace: try Field.string(fields["namespace"], "\(field).namespace")
            ))
        }
    }

    /// The kubeconfig location kubectl would use: the first existing file listed in
    /// `$KUBECONFIG` (colon-separated), else `$HOME/.kube/config`. `environment` replaces
    /// `getenv` (for tests).
    public static func defaultPath(environment: ((String) -> String?)? = nil) throws(KubeConfigError) -> String {
        let lookup: (String) -> String? = environment ?? { FileIO.environment($0) }
        if let list = lookup("KUBECONFIG"), !list.isEmpty {
            let candidates = list.split(separator: ":").map(String.init)
            for candidate in candidates where FileIO.isRegularFile(candidate) {
                return candidate
            }
            throw .noKubeconfigFound(searched: candidates)
        }
        guard let home = lookup("HOME"), !home.isEmpty else {
            throw .noKubeconfigFound(searched: ["$HOME/.kube/config ($HOME is not set)"])
        }
        let path = FileIO.resolve(".kube/config", relativeTo: home)
        guard FileIO.isRegularFile(path) else {
            throw .noKubeconfigFound(searched: [path])
        }
        return path
    }
}

/// Typed field extraction with kubeconfig paths in error messages. Empty strings count as unset
/// (as in client-go).
enum Field {
    static func string(_ node: YAMLNode?, _ path: String) throws(KubeConfigError) -> String? {
        switch node {
        case nil, .null?:
            return nil
        case .scalar(let text, _)?:
            return text.isEmpty ? nil : text
        default:
            throw .invalidKubeconfig("\(path) must be a string")
        }
    }

    static func bool(_ node: YAMLNode?, _ path: String) throws(KubeConfigError) -> Bool? {
        guard let node, !node.isNull else { return nil }
        guard let value = node.bool else {
            throw .invalidKubeconfig("\(path) must be true or false")
        }
        return value
    }

    static func base64(_ node: YAMLNode?, _ path: String) throws(KubeConfigError) -> [UInt8]? {
        guard let text = try string(node, path) else { return nil }
        do {
            let bytes = try KubeBase64.decode(text)
            return bytes.isEmpty ? nil : bytes
        } catch {
            throw .invalidBase64(field: path, reason: error.reason)
        }
    }

    static func list(_ node: YAMLNode?, _ path: String) throws(KubeConfigError) -> [YAMLNode] {
        switch node {
        case nil, .null?: return []
        case .sequence(let items)?: return items
        default: throw .invalidKubeconfig("\(path) must be a list")
        }
    }

    static func mapping(_ node: YAMLNode?, _ path: String) throws(KubeConfigError) -> YAMLNode {
        switch node {
        case nil, .null?: return .mapping([])
        case .mapping?: return node!
        default: throw .invalidKubeconfig("\(path) must be a mapping")
        }
    }

    static func name(_ item: YAMLNode, _ path: String) throws(KubeConfigError) -> String {
        guard item.entries != nil else {
            throw .invalidKubeconfig("\(path) must be a mapping with a name")
        }
        guard let name = try string(item["name"], "\(path).name") else {
            throw .invalidKubeconfig("\(path) has no name")
        }
        return name
    }
}
