import Testing
@testable import KubeConfig

@Suite("Base64")
struct Base64Tests {
    @Test func rfc4648Vectors() throws {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(try KubeBase64.decode(encoded) == Array(plain.utf8))
            #expect(KubeBase64.encode(Array(plain.utf8)) == encoded)
        }
    }

    @Test func allByteValuesRoundTrip() throws {
        let bytes = (0...255).map { UInt8($0) } + [0xFF, 0x00, 0xFE]
        let encoded = KubeBase64.encode(bytes)
        #expect(encoded.hasPrefix("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v"))
        #expect(try KubeBase64.decode(encoded) == bytes)
        #expect(try KubeBase64.decode("+/+/") == [0xFB, 0xFF, 0xBF])
    }

    @Test func whitespaceAndNewlinesAreIgnored() throws {
        #expect(try KubeBase64.decode("Zm9v\nYmFy\n") == Array("foobar".utf8))
        #expect(try KubeBase64.decode("  Zm9v YmE=\r\n\t") == Array("fooba".utf8))
        #expect(try KubeBase64.decode("Zm9vYg=\n=") == Array("foob".utf8))
        #expect(try KubeBase64.decode(" \n ") == [])
    }

    @Test func invalidInputIsRejected() {
        let cases: [(String, String)] = [
            ("Zm9v!", "invalid base64 character at offset 4"),
            ("Zm9-", "invalid base64 character at offset 3"),   // URL-safe alphabet is not accepted
            ("Zm9vYg", "missing '=' padding"),
            ("Zm9vY", "truncated input (a final group of a single character)"),
            ("Zm9vYg=", "incorrect '=' padding"),
            ("Zm9vYmE==", "incorrect '=' padding"),
            ("====", "incorrect '=' padding"),
            ("Zg==Zg==", "data after padding at offset 4"),
            ("Zm9v\u{00E9}", "invalid base64 character at offset 4"),
        ]
        for (input, reason) in cases {
            #expect(throws: KubeBase64.DecodingError(reason: reason), "\(input)") { try KubeBase64.decode(input) }
        }
    }
}

@Suite("Server URL parsing")
struct ServerURLTests {
    @Test(arguments: [
        ("https://127.0.0.1:6443", ServerURL(scheme: .https, host: "127.0.0.1", port: 6443)),
        ("https://kube.example.com", ServerURL(scheme: .https, host: "kube.example.com", port: 443)),
        ("http://kube.example.com", ServerURL(scheme: .http, host: "kube.example.com", port: 80)),
        ("HTTPS://Kube.Example.com:8443/", ServerURL(scheme: .https, host: "Kube.Example.com", port: 8443)),
        ("https://h/k8s/clusters/c-abc", ServerURL(scheme: .https, host: "h", port: 443, basePath: "/k8s/clusters/c-abc")),
        ("https://h:1/a/b//", ServerURL(scheme: .https, host: "h", port: 1, basePath: "/a/b")),
        ("https://[::1]:6443", ServerURL(scheme: .https, host: "::1", port: 6443)),
        ("https://[fd00:10:96::1]", ServerURL(scheme: .https, host: "fd00:10:96::1", port: 443)),
        ("http://[::ffff:10.0.0.1]:8080/x", ServerURL(scheme: .http, host: "::ffff:10.0.0.1", port: 8080, basePath: "/x")),
        ("  https://padded:65535  ", ServerURL(scheme: .https, host: "padded", port: 65535)),
        ("my_host.local:6443", ServerURL(scheme: .https, host: "my_host.local", port: 6443)),
    ])
    func valid(input: String, expected: ServerURL) throws {
        #expect(try ServerURL(parsing: input) == expected)
    }

    @Test(arguments: [
        ("", "empty URL"),
        ("https://", "missing host"),
        ("https://:6443", "missing host"),
        ("ftp://h", "unsupported scheme \"ftp\" (expected https or http)"),
        ("https://h:0", "invalid port (expected 1-65535)"),
        ("https://h:65536", "invalid port (expected 1-65535)"),
        ("https://h:", "invalid port (expected 1-65535)"),
        ("https://h:+443", "invalid port (expected 1-65535)"),
        ("https://h:44a", "invalid port (expected 1-65535)"),
        ("https://[::1", "unterminated IPv6 address (missing ']')"),
        ("https://[zz::1]:443", "invalid IPv6 address"),
        ("https://[::1]x", "unexpected characters after IPv6 address"),
        ("https://::1:6443", "IPv6 addresses must be enclosed in brackets, e.g. https://[::1]:6443"),
        ("https://ho st", "contains whitespace or control characters"),
        ("https://h/p?q=1", "query strings and fragments are not allowed"),
        ("https://h#frag", "query strings and fragments are not allowed"),
        ("https://h\u{00E9}llo", "invalid host name"),
        ("https://-h", "invalid host name"),
        ("https://h%20", "invalid host name"),
        ("not a url", "contains whitespace or control characters"),
    ])
    func invalid(input: String, reason: String) {
        let trimmed = String(input.drop(while: { $0 == " " }))
        #expect(throws: KubeConfigError.invalidServerURL(trimmed, reason: reason)) {
            try ServerURL(parsing: input)
        }
    }

    @Test func userInfoIsRejectedAndRedacted() {
        #expect(throws: KubeConfigError.invalidServerURL("https://<redacted>@h:6443", reason: "user info in the server URL is not supported")) {
            try ServerURL(parsing: "https://admin:hunter2@h:6443")
        }
    }

    @Test func defaultSchemeForSchemelessURLs() throws {
        #expect(try ServerURL(parsing: "h:8080", defaultScheme: .http) == ServerURL(scheme: .http, host: "h", port: 8080))
        #expect(try ServerURL(parsing: "h", defaultScheme: .http).port == 80)
        #expect(ServerURL(scheme: .https, host: "::1", port: 6443, basePath: "/p").description == "https://[::1]:6443/p")
    }
}

@Suite("Default kubeconfig location")
struct DefaultPathTests {
    @Test func kubeconfigVariableUsesFirstExistingFile() throws {
        let dir = TempDirectory()
        let second = dir.createFile("second", "")
        let third = dir.createFile("third", "")
        let env = ["KUBECONFIG": "\(dir.path)/missing::\(second):\(third)", "HOME": dir.path]
        #expect(try KubeconfigFile.defaultPath(environment: { env[$0] }) == second)
    }

    @Test func kubeconfigVariableWithNoExistingFiles() {
        let env = ["KUBECONFIG": "/nonexistent/a:/nonexistent/b", "HOME": "/tmp"]
        #expect(throws: KubeConfigError.noKubeconfigFound(searched: ["/nonexistent/a", "/nonexistent/b"])) {
            try KubeconfigFile.defaultPath(environment: { env[$0] })
        }
    }

    @Test func homeFallback() throws {
        let dir = TempDirectory()
        dir.makeDirectory(".kube")
        let path = dir.createFile(".kube/config", "apiVersion: v1\n")
        #expect(try KubeconfigFile.defaultPath(environment: { ["HOME": dir.path, "KUBECONFIG": ""][$0] }) == path)
        #expect(throws: KubeConfigError.noKubeconfigFound(searched: ["/nonexistent-home/.kube/config"])) {
            try KubeconfigFile.defaultPath(environment: { ["HOME": "/nonexistent-home"][$0] })
        }
        #expect(throws: KubeConfigError.self) {
            try KubeconfigFile.defaultPath(environment: { _ in nil })
        }
    }

    @Test func pathHelpers() {
        #expect(FileIO.directory(of: "/a/b/config") == "/a/b")
        #expect(FileIO.directory(of: "config") == ".")
        #expect(FileIO.directory(of: "/config") == "/")
        #expect(FileIO.resolve("ca.crt", relativeTo: "/a/b") == "/a/b/ca.crt")
        #expect(FileIO.resolve("/abs/ca.crt", relativeTo: "/a/b") == "/abs/ca.crt")
        #expect(FileIO.resolve("ca.crt", relativeTo: nil) == "ca.crt")
        #expect(FileIO.resolve("x", relativeTo: "/") == "/x")
    }
}
