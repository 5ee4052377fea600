import Testing
import KubeConfig

@Suite("Secret redaction")
struct RedactionTests {
    static let token = "sup3r-s3cret-bearer-token"
    static let password = "hunter2-password"
    static let keyMarker = "secretkeymaterial"

    static func allRenderings(_ value: some Any) -> [String] {
        var dumped = ""
        dump(value, to: &dumped)
        return ["\(value)", String(describing: value), String(reflecting: value), dumped, "\([value])"]
    }

    static func expectNoSecrets(_ value: some Any, sourceLocation: SourceLocation = #_sourceLocation) {
        for text in allRenderings(value) {
            #expect(!text.contains(token), "token leaked: \(text)", sourceLocation: sourceLocation)
            #expect(!text.contains(password), "password leaked: \(text)", sourceLocation: sourceLocation)
            #expect(!text.contains(keyMarker), "key leaked: \(text)", sourceLocation: sourceLocation)
            #expect(!text.contains(b64(keyPEM)), "key leaked: \(text)", sourceLocation: sourceLocation)
        }
    }

    @Test func credentialsAreRedacted() {
        let bearer = Credentials.bearerToken(Self.token)
        #expect("\(bearer)" == "bearerToken(<redacted>)")
        Self.expectNoSecrets(bearer)
        let basic = Credentials.basic(username: "admin", password: Self.password)
        #expect("\(basic)" == "basic(username: admin, password: <redacted>)")
        Self.expectNoSecrets(basic)
        #expect("\(Credentials.bearerTokenFile(path: "/var/run/token"))" == "bearerTokenFile(/var/run/token)")
        #expect("\(Credentials.none)" == "none")
    }

    @Test func endpointIsRedacted() throws {
        let config = try KubeconfigFile(yaml: """
        clusters: [{name: c, cluster: {server: "https://h:6443/base", certificate-authority-data: \(b64(caPEM))}}]
        users:
        - name: u
          user:
            token: \(Self.token)
            client-certificate-data: \(b64(certPEM))
            client-key-data: \(b64(keyPEM))
        - name: b
          user: {username: admin, password: \(Self.password)}
        contexts:
        - {name: x, context: {cluster: c, user: u}}
        - {name: y, context: {cluster: c, user: b}}
        current-context: x
        """)
        let endpoint = try config.resolve()
        #expect(endpoint.credentials == .bearerToken(Self.token))
        #expect(endpoint.clientKeyPEM == Array(keyPEM.utf8))
        let text = "\(endpoint)"
        #expect(text == "UpstreamEndpoint(context: x, server: https://h:6443/base, tlsServerName: nil, "
                + "insecureSkipTLSVerify: false, ca: \(caPEM.utf8.count) bytes, clientCertificate: \(certPEM.utf8.count) bytes, "
                + "clientKey: <redacted>, credentials: bearerToken(<redacted>))")
        Self.expectNoSecrets(endpoint)
        Self.expectNoSecrets(try config.resolve(context: "y"))

        // The parsed model does not leak either.
        Self.expectNoSecrets(config)
        let user = try #require(config.user(named: "u"))
        #expect(user.token == Self.token)
        Self.expectNoSecrets(user)
        #expect("\(user)".contains("token: <redacted>"))
    }

    @Test func errorsDoNotEchoSecrets() throws {
        let config = try KubeconfigFile(yaml: """
        clusters: [{name: c, cluster: {server: "https://h"}}]
        users: [{name: u, user: {token: \(Self.token), password: \(Self.password)}}]
        contexts: [{name: x, context: {cluster: c, user: u}}]
        """)
        do {
            _ = try config.resolve(context: "x")
            Issue.record("expected token+basic conflict")
        } catch {
            #expect(!"\(error)".contains(Self.token))
            #expect(!"\(error)".contains(Self.password))
        }
        do {
            _ = try KubeconfigFile(yaml: "users: [{name: u, user: {token: \"\(Self.token)}]\n")
            Issue.record("expected a YAML error")
        } catch {
            #expect(!"\(error)".contains(Self.token))
        }
    }
}
