import Testing
@testable import KubeConfig

let caPEM = "-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHHIG...ca\n-----END CERTIFICATE-----\n"
let certPEM = "-----BEGIN CERTIFICATE-----\nMIIBclientcert\n-----END CERTIFICATE-----\n"
let keyPEM = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIsecretkeymaterial\n-----END EC PRIVATE KEY-----\n"

func b64(_ text: String) -> String { KubeBase64.encode(Array(text.utf8)) }

func resolveError(_ config: KubeconfigFile, context: String? = nil, server: String? = nil,
                  sourceLocation: SourceLocation = #_sourceLocation) -> KubeConfigError? {
    do {
        let endpoint = try config.resolve(context: context, serverOverride: server)
        Issue.record("expected an error, resolved \(endpoint)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

@Suite("KubeConfig resolution")
struct ResolveTests {
    @Test func kubeLabConfig() throws {
        let config = try KubeconfigFile(yaml: """
        apiVersion: v1
        kind: Config
        clusters:
        - name: kube-lab
          cluster:
            server: https://127.0.0.1:6443
            certificate-authority-data: \(b64(caPEM))
        users:
        - name: admin
          user:
            token: kube-lab-admin-token
        contexts:
        - name: kube-lab-admin
          context: {cluster: kube-lab, user: admin}
        current-context: kube-lab-admin
        """)
        #expect(config.currentContext == "kube-lab-admin")
        #expect(config.contexts == [.init(name: "kube-lab-admin", cluster: "kube-lab", user: "admin")])
        let endpoint = try config.resolve()
        #expect(endpoint.scheme == .https)
        #expect(endpoint.host == "127.0.0.1")
        #expect(endpoint.port == 6443)
        #expect(endpoint.basePath == "")
        #expect(endpoint.tlsServerName == nil)
        #expect(endpoint.insecureSkipTLSVerify == false)
        #expect(endpoint.caPEM == Array(caPEM.utf8))
        #expect(endpoint.clientCertificatePEM == nil)
        #expect(endpoint.clientKeyPEM == nil)
        #expect(endpoint.credentials == .bearerToken("kube-lab-admin-token"))
        #expect(try endpoint.credentials.authorizationHeaderValue() == "Bearer kube-lab-admin-token")
        #expect(endpoint.contextName == "kube-lab-admin")
        #expect(endpoint.authority == "127.0.0.1:6443")
        #expect(endpoint.serverURL == "https://127.0.0.1:6443")
        #expect(endpoint.usesTLS)
    }

    @Test func jsonKubeconfig() throws {
        let config = try KubeconfigFile(yaml: """
        {
          "apiVersion": "v1", "kind": "Config",
          "clusters": [{"name": "c", "cluster": {"server": "https://[::1]:6443/api-prefix/",
                        "insecure-skip-tls-verify": true, "tls-server-name": "kubernetes.default"}}],
          "users": [{"name": "u", "user": {"username": "admin", "password": "p@ss:word"}}],
          "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u", "namespace": "ns"}}],
          "current-context": "ctx"
        }
        """)
        #expect(config.contexts.first?.namespace == "ns")
        let endpoint = try config.resolve()
        #expect(endpoint.host == "::1")
        #expect(endpoint.port == 6443)
        #expect(endpoint.basePath == "/api-prefix")
        #expect(endpoint.insecureSkipTLSVerify)
        #expect(endpoint.tlsServerName == "kubernetes.default")
        #expect(endpoint.caPEM == nil)
        #expect(endpoint.credentials == .basic(username: "admin", password: "p@ss:word"))
        #expect(try endpoint.credentials.authorizationHeaderValue() == "Basic " + b64("admin:p@ss:word"))
        #expect(endpoint.authority == "[::1]:6443")
        #expect(endpoint.serverURL == "https://[::1]:6443/api-prefix")
    }

    @Test func dataFieldsAndBasicHeader() throws {
        let config = try KubeconfigFile(yaml: """
        clusters:
        - name: c
          cluster: {server: "http://localhost:8080"}
        users:
        - name: u
          user:
            client-certificate-data: \(b64(certPEM))
            client-key-data: \(b64(keyPEM))
            username: admin
            password: s3cret
        contexts:
        - name: x
          context: {cluster: c, user: u}
        current-context: x
        """)
        let endpoint = try config.resolve()
        #expect(endpoint.scheme == .http)
        #expect(endpoint.port == 8080)
        #expect(!endpoint.usesTLS)
        #expect(endpoint.clientCertificatePEM == Array(certPEM.utf8))
        #expect(endpoint.clientKeyPEM == Array(keyPEM.utf8))
        #expect(try endpoint.credentials.authorizationHeaderValue() == "Basic YWRtaW46czNjcmV0")
    }

    @Test func relativeAndAbsoluteFilesResolveAgainstKubeconfigDirectory() throws {
        let dir = TempDirectory()
        dir.makeDirectory("kube")
        dir.makeDirectory("kube/pki")
        dir.createFile("kube/pki/ca.crt", caPEM)
        dir.createFile("kube/pki/client.crt", certPEM)
        let absoluteKey = dir.createFile("client.key", keyPEM)
        dir.createFile("kube/token", "  file-token-1\n")
        let path = dir.createFile("kube/config", """
        apiVersion: v1
        kind: Config
        clusters:
        - name: c
          cluster:
            server: https://api.example.com
            certificate-authority: pki/ca.crt
        users:
        - name: u
          user:
            client-certificate: pki/client.crt
            client-key: \(absoluteKey)
            tokenFile: token
        contexts:
        - name: x
          context:
            cluster: c
            user: u
        current-context: x
        """)
        let config = try KubeconfigFile(contentsOf: path)
        #expect(config.directory == dir.path + "/kube")
        #expect(config.cluster(named: "c")?.certificateAuthority == "pki/ca.crt")
        let endpoint = try config.resolve()
        #expect(endpoint.host == "api.example.com")
        #expect(endpoint.port == 443)
        #expect(endpoint.caPEM == Array(caPEM.utf8))
        #expect(endpoint.clientCertificatePEM == Array(certPEM.utf8))
        #expect(endpoint.clientKeyPEM == Array(keyPEM.utf8))
        #expect(endpoint.credentials == .bearerTokenFile(path: dir.path + "/kube/token"))

        // The token file is re-read on every use (projected tokens rotate).
        #expect(try endpoint.credentials.authorizationHeaderValue() == "Bearer file-token-1")
        dir.createFile("kube/token", "file-token-2")
        #expect(try endpoint.credentials.authorizationHeaderValue() == "Bearer file-token-2")
        dir.createFile("kube/token", " \n")
        #expect(throws: KubeConfigError.fileError(path: dir.path + "/kube/token", reason: "token file is empty")) {
            try endpoint.credentials.authorizationHeaderValue()
        }

        // The one-call convenience API gives the same answer.
        dir.createFile("kube/token", "file-token-3")
        #expect(try UpstreamEndpoint.resolve(kubeconfigPath: path) == endpoint)
    }

    @Test func dataWinsOverFileAndTokenFileWinsOverToken() throws {
        let dir = TempDirectory()
        dir.createFile("tok", "from-file\n")
        let config = try KubeconfigFile(yaml: """
        clusters:
        - name: c
          cluster:
            server: https://h
            certificate-authority: does-not-exist.crt
            certificate-authority-data: \(b64(caPEM))
        users:
        - name: u
          user: {token: static-token, tokenFile: tok}
        - name: t
          user: {token: only-static}
        contexts:
        - {name: x, context: {cluster: c, user: u}}
        - {name: y, context: {cluster: c, user: t}}
        - {name: anonymous, context: {cluster: c}}
        current-context: x
        """, directory: dir.path)
        let endpoint = try config.resolve()
        #expect(endpoint.caPEM == Array(caPEM.utf8))
        #expect(endpoint.credentials == .bearerTokenFile(path: dir.path + "/tok"))
        #expect(try endpoint.credentials.authorizationHeaderValue() == "Bearer from-file")
        #expect(try config.resolve(context: "y").credentials == .bearerToken("only-static"))
        let anonymous = try config.resolve(context: "anonymous")
        #expect(anonymous.credentials == .none)
        #expect(try anonymous.credentials.authorizationHeaderValue() == nil)
    }

    @Test func contextOverrideAndServerOverride() throws {
        let config = try KubeconfigFile(yaml: """
        clusters:
        - name: prod
          cluster:
            server: https://prod.example.com:6443
            tls-server-name: prod-internal
            certificate-authority-data: \(b64(caPEM))
        - name: dev
          cluster:
            server: https://dev.example.com
            insecure-skip-tls-verify: true
        users:
        - {name: p, user: {token: prod-token}}
        - {name: d, user: {token: dev-token}}
        contexts:
        - {name: prod, context: {cluster: prod, user: p}}
        - {name: dev, context: {cluster: dev, user: d}}
        current-context: prod
        """)
        let prod = try config.resolve()
        #expect(prod.contextName == "prod")
        #expect(prod.host == "prod.example.com")
        #expect(prod.tlsServerName == "prod-internal")

        let dev = try config.resolve(context: "dev")
        #expect(dev.contextName == "dev")
        #expect(dev.host == "dev.example.com")
        #expect(dev.port == 443)
        #expect(dev.insecureSkipTLSVerify)
        #expect(dev.credentials == .bearerToken("dev-token"))

        // An empty override means "no override".
        #expect(try config.resolve(context: "").contextName == "prod")

        let overridden = try config.resolve(serverOverride: "https://10.0.0.7:16443/proxy/")
        #expect(overridden.host == "10.0.0.7")
        #expect(overridden.port == 16443)
        #expect(overridden.basePath == "/proxy")
        #expect(overridden.caPEM == Array(caPEM.utf8), "CA stays with the cluster")
        #expect(overridden.credentials == .bearerToken("prod-token"))
        #expect(overridden.tlsServerName == nil, "like kubectl --server, an override drops tls-server-name")

        let both = try config.resolve(context: "dev", serverOverride: "http://127.0.0.1:8001")
        #expect(both.scheme == .http && both.host == "127.0.0.1" && both.port == 8001)
        #expect(both.credentials == .bearerToken("dev-token"))

        let bad = try #require(resolveError(config, server: "ftp://x"))
        #expect(bad == .invalidServerURL("ftp://x", reason: "unsupported scheme \"ftp\" (expected https or http)"))
    }

    @Test func schemelessServerDefaultsLikeKubectl() throws {
        let config = try KubeconfigFile(yaml: """
        clusters:
        - {name: tls, cluster: {server: "10.1.2.3:6443", insecure-skip-tls-verify: true}}
        - {name: plain, cluster: {server: "localhost:8080"}}
        contexts:
        - {name: tls, context: {cluster: tls}}
        - {name: plain, context: {cluster: plain}}
        """)
        let tls = try config.resolve(context: "tls")
        #expect(tls.scheme == .https && tls.host == "10.1.2.3" && tls.port == 6443)
        let plain = try config.resolve(context: "plain")
        #expect(plain.scheme == .http && plain.host == "localhost" && plain.port == 8080)
    }
}

@Suite("KubeConfig errors")
struct KubeConfigErrorTests {
    static let base = """
    clusters:
    - name: c
      cluster: {server: "https://h:6443"}
    users:
    - name: u
      user: {token: t}
    contexts:
    - name: good
      context: {cluster: c, user: u}
    - name: no-cluster-entry
      context: {cluster: missing-cluster, user: u}
    - name: no-user-entry
      context: {cluster: c, user: missing-user}
    - name: no-cluster-field
      context: {user: u}
    """

    @Test func missingPieces() throws {
        let config = try KubeconfigFile(yaml: Self.base)
        let noCurrent = try #require(resolveError(config))
        #expect(noCurrent == .noCurrentContext)
        #expect(noCurrent.description.contains("current-context"))

        let unknown = try #require(resolveError(config, context: "nope"))
        #expect(unknown == .contextNotFound("nope", available: ["good", "no-cluster-entry", "no-user-entry", "no-cluster-field"]))
        #expect(unknown.description.contains("context \"nope\" not found"))
        #expect(unknown.description.contains("good, no-cluster-entry"))

        let cluster = try #require(resolveError(config, context: "no-cluster-entry"))
        #expect(cluster == .clusterNotFound("missing-cluster", context: "no-cluster-entry"))
        #expect(cluster.description == "cluster \"missing-cluster\" (referenced by context \"no-cluster-entry\") not found in kubeconfig")

        let user = try #require(resolveError(config, context: "no-user-entry"))
        #expect(user == .userNotFound("missing-user", context: "no-user-entry"))
        #expect(user.description.contains("user \"missing-user\""))

        #expect(resolveError(config, context: "no-cluster-field") == .contextHasNoCluster(context: "no-cluster-field"))

        let current = try KubeconfigFile(yaml: Self.base + "\ncurrent-context: gone\n")
        #expect(resolveError(current) == .contextNotFound("gone", available: ["good", "no-cluster-entry", "no-user-entry", "no-cluster-field"]))

        let noServer = try KubeconfigFile(yaml: """
        clusters: [{name: c, cluster: {certificate-authority-data: \(b64(caPEM))}}]
        contexts: [{name: x, context: {cluster: c}}]
        current-context: x
        """)
        let missingServer = try #require(resolveError(noServer))
        #expect(missingServer == .missingServer(cluster: "c"))
        #expect(missingServer.description == "cluster \"c\" has no server URL")
        // A server override fills the gap.
        #expect(try noServer.resolve(serverOverride: "https://h").host == "h")

        #expect(resolveError(try KubeconfigFile(yaml: "")) == .noCurrentContext)
    }

    @Test func unsupportedAuthentication() throws {
        let config = try KubeconfigFile(yaml: """
        clusters: [{name: c, cluster: {server: "https://h"}}]
        users:
        - name: eks
          user:
            exec:
              apiVersion: client.authentication.k8s.io/v1beta1
              command: aws
              args: [eks, get-token]
        - name: gke
          user:
            auth-provider:
              name: gcp
              config: {access-token: secret-ish}
        - name: imp
          user: {token: t, as: someone-else}
        - name: groups
          user: {token: t, as-groups: [admins]}
        contexts:
        - {name: eks, context: {cluster: c, user: eks}}
        - {name: gke, context: {cluster: c, user: gke}}
        - {name: imp, context: {cluster: c, user: imp}}
        - {name: groups, context: {cluster: c, user: groups}}
        """)
        let exec = try #require(resolveError(config, context: "eks"))
        #expect(exec == .unsupportedAuth(user: "eks", reason: "exec credential plugins (command \"aws\")"))
        #expect(exec.description == "user \"eks\": exec credential plugins (command \"aws\") is not supported by Outpost")
        let provider = try #require(resolveError(config, context: "gke"))
        #expect(provider == .unsupportedAuth(user: "gke", reason: "auth-provider (\"gcp\")"))
        #expect(!provider.description.contains("secret-ish"))
        #expect(resolveError(config, context: "imp")?.description.contains("impersonation") == true)
        #expect(resolveError(config, context: "groups")?.description.contains("impersonation") == true)
    }

    @Test func conflictingOrIncompleteSettings() throws {
        let config = try KubeconfigFile(yaml: """
        clusters:
        - {name: c, cluster: {server: "https://h"}}
        - {name: insecure-ca, cluster: {server: "https://h", insecure-skip-tls-verify: true, certificate-authority-data: \(b64(caPEM))}}
        - {name: proxied, cluster: {server: "https://h", proxy-url: "http://proxy:3128"}}
        users:
        - {name: token-and-basic, user: {token: t, username: a, password: b}}
        - {name: cert-no-key, user: {client-certificate-data: \(b64(certPEM))}}
        - {name: key-no-cert, user: {client-key-data: \(b64(keyPEM))}}
        - {name: both-cert, user: {client-certificate: c.crt, client-certificate-data: \(b64(certPEM)), client-key-data: \(b64(keyPEM))}}
        - {name: missing-files, user: {client-certificate: /nonexistent/c.crt, client-key: /nonexistent/c.key}}
        - {name: missing-token-file, user: {tokenFile: /nonexistent/token}}
        contexts:
        - {name: a, context: {cluster: c, user: token-and-basic}}
        - {name: b, context: {cluster: c, user: cert-no-key}}
        - {name: c, context: {cluster: c, user: key-no-cert}}
        - {name: d, context: {cluster: c, user: both-cert}}
        - {name: e, context: {cluster: insecure-ca}}
        - {name: f, context: {cluster: proxied}}
        - {name: g, context: {cluster: c, user: missing-files}}
        - {name: h, context: {cluster: c, user: missing-token-file}}
        """)
        #expect(resolveError(config, context: "a")?.description.contains("more than one authentication method") == true)
        #expect(resolveError(config, context: "b")?.description.contains("client-key or client-key-data must be set") == true)
        #expect(resolveError(config, context: "c")?.description.contains("client-certificate or client-certificate-data must be set") == true)
        #expect(resolveError(config, context: "d")?.description.contains("client-certificate and client-certificate-data are both set") == true)
        #expect(resolveError(config, context: "e")?.description.contains("cannot be combined with insecure-skip-tls-verify") == true)
        #expect(resolveError(config, context: "f") == .unsupported("cluster \"proxied\": proxy-url"))
        let missing = try #require(resolveError(config, context: "g"))
        #expect(missing == .fileError(path: "/nonexistent/c.crt", reason: "No such file or directory"))
        #expect(missing.description == "cannot read /nonexistent/c.crt: No such file or directory")
        #expect(resolveError(config, context: "h") == .fileError(path: "/nonexistent/token", reason: "No such file or directory"))
    }

    @Test func structuralErrors() throws {
        func loadError(_ text: String) -> KubeConfigError? {
            do {
                _ = try KubeconfigFile(yaml: text)
                Issue.record("expected an error")
                return nil
            } catch {
                return error
            }
        }
        #expect(loadError("clusters: {a: b}") == .invalidKubeconfig("clusters must be a list"))
        #expect(loadError("clusters:\n- cluster: {server: x}\n") == .invalidKubeconfig("clusters[0] has no name"))
        #expect(loadError("users:\n- name: a\n- name: a\n") == .invalidKubeconfig("duplicate user name \"a\""))
        #expect(loadError("clusters:\n- name: a\n  cluster:\n    server: [x]\n")
                == .invalidKubeconfig("clusters[0].cluster.server must be a string"))
        #expect(loadError("clusters:\n- name: a\n  cluster: {insecure-skip-tls-verify: maybe}\n")
                == .invalidKubeconfig("clusters[0].cluster.insecure-skip-tls-verify must be true or false"))
        #expect(loadError("kind: Pod\n") == .invalidKubeconfig("kind must be \"Config\", not \"Pod\""))
        #expect(loadError("- a\n") == .invalidKubeconfig("the document must be a mapping"))
        #expect(loadError("users:\n- name: u\n  user: {token: \"t}\n")?.description.contains("line 3") == true)
        if case .yaml(let yamlError, nil)? = loadError("a: 1\n\tb: 2\n") {
            #expect(yamlError.line == 2)
            #expect(yamlError.message.contains("tab"))
        } else {
            Issue.record("expected a YAML error")
        }
        let bad = loadError("clusters:\n- name: a\n  cluster: {certificate-authority-data: \"not base64!\"}\n")
        #expect(bad == .invalidBase64(field: "clusters[0].cluster.certificate-authority-data",
                                      reason: "invalid base64 character at offset 10"))
    }

    @Test func yamlErrorFromFileNamesThePath() throws {
        let dir = TempDirectory()
        let path = dir.createFile("config", "clusters:\n  - name: a\n - name: b\n")
        do {
            _ = try KubeconfigFile(contentsOf: path)
            Issue.record("expected an error")
        } catch {
            guard case .yaml(let yamlError, let errorPath) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(errorPath == path)
            #expect(yamlError.line == 3)
            #expect(error.description.contains(path))
            #expect(error.description.contains("line 3"))
        }
        #expect(throws: KubeConfigError.fileError(path: dir.path + "/absent", reason: "No such file or directory")) {
            try KubeconfigFile(contentsOf: dir.path + "/absent")
        }
        #expect(throws: KubeConfigError.self) { try KubeconfigFile(contentsOf: dir.path) } // a directory
    }
}
