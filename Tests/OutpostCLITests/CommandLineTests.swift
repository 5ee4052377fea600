import OutpostCLI
import Testing

@Suite("outpost command line")
struct CommandLineTests {
    private func serve(_ args: [String]) throws -> ServeOptions {
        guard case .serve(let o) = try OutpostCommandLine.parse(args) else {
            Issue.record("not a serve command: \(args)")
            return ServeOptions()
        }
        return o
    }

    private func error(_ args: [String]) -> String? {
        do {
            _ = try OutpostCommandLine.parse(args)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func defaultsWithoutArguments() throws {
        let o = try serve([])
        #expect(o == ServeOptions())
        #expect(o.listen == HostPort(host: "127.0.0.1", port: 10261))
        #expect(o.adminListen == HostPort(host: "127.0.0.1", port: 10267))
        #expect(o.cacheDir == "/var/lib/outpost")
        #expect(o.logLevel == "info" && o.threads == 1 && o.responseTimeout == 60)
        #expect(o.kubeconfig == nil && o.context == nil && o.serverAddr == nil && o.config == nil)
        #expect(o.requestHeaderTimeout == 10 && o.idleTimeout == 120 && o.maxConnections == 2048)
        #expect(o.secureListen == nil && o.unixSocket == nil && o.unixSocketMode == 0o660)
    }

    @Test func frontDoorOptions() throws {
        let o = try serve([
            "--request-header-timeout", "3", "--idle-timeout=30", "--max-connections", "100",
            "--secure-listen", "127.0.0.1:10443", "--tls-cert-file", "/c.pem", "--tls-private-key-file=/k.pem",
            "--client-ca-file", "/ca.pem", "--unix-socket", "/run/outpost.sock", "--unix-socket-mode", "0600",
        ])
        #expect(o.requestHeaderTimeout == 3 && o.idleTimeout == 30 && o.maxConnections == 100)
        #expect(o.secureListen == HostPort(host: "127.0.0.1", port: 10443))
        #expect(o.tlsCertFile == "/c.pem" && o.tlsPrivateKeyFile == "/k.pem" && o.clientCAFile == "/ca.pem")
        #expect(o.unixSocket == "/run/outpost.sock" && o.unixSocketMode == 0o600)
        #expect(try serve(["--unix-socket-mode", "660"]).unixSocketMode == 0o660)
    }

    @Test func everyOptionInBothSpellings() throws {
        let spaced = try serve([
            "serve", "--kubeconfig", "/k", "--context", "edge", "--server-addr", "https://10.0.0.1:6443",
            "--listen", "0.0.0.0:1", "--admin-listen", "[::1]:2", "--cache-dir", "/c", "--config", "/o.yaml",
            "--log-level", "debug", "--threads", "2", "--response-timeout", "5",
        ])
        let joined = try serve([
            "--kubeconfig=/k", "--context=edge", "--server-addr=https://10.0.0.1:6443", "--listen=0.0.0.0:1",
            "--admin-listen=[::1]:2", "--cache-dir=/c", "--config=/o.yaml", "--log-level=debug", "--threads=2",
            "--response-timeout=5",
        ])
        #expect(spaced == joined)
        #expect(spaced.kubeconfig == "/k" && spaced.context == "edge" && spaced.serverAddr == "https://10.0.0.1:6443")
        #expect(spaced.listen == HostPort(host: "0.0.0.0", port: 1))
        #expect(spaced.adminListen == HostPort(host: "::1", port: 2))
        #expect(spaced.cacheDir == "/c" && spaced.config == "/o.yaml" && spaced.logLevel == "debug")
        #expect(spaced.threads == 2 && spaced.responseTimeout == 5)
    }

    @Test func aLaterFlagWins() throws {
        #expect(try serve(["--threads", "2", "--threads", "3"]).threads == 3)
    }

    @Test func helpAndVersion() throws {
        guard case .help(let text) = try OutpostCommandLine.parse(["--help"]) else { Issue.record("no help"); return }
        for flag in ["--kubeconfig", "--context", "--server-addr", "--listen", "--admin-listen", "--cache-dir",
                     "--config", "--log-level", "--threads", "--response-timeout", "--request-header-timeout",
                     "--idle-timeout", "--max-connections", "--secure-listen", "--tls-cert-file",
                     "--tls-private-key-file", "--client-ca-file", "--unix-socket", "--unix-socket-mode", "--version"] {
            #expect(text.contains(flag), "help lacks \(flag)")
        }
        #expect(try OutpostCommandLine.parse(["serve", "-h"]) == .help(OutpostCommandLine.usage))
        #expect(try OutpostCommandLine.parse(["--version"]) == .version(OutpostCommandLine.version))
    }

    @Test(arguments: [
        (["--bogus"], "unknown option '--bogus'"),
        (["--listen"], "missing value for '--listen <host:port>'"),
        (["--listen", "--threads", "2"], "missing value for '--listen <host:port>'"),
        (["--listen", "nonsense"], "--listen: 'nonsense' is not HOST:PORT"),
        (["--listen", "127.0.0.1:70000"], "--listen: '127.0.0.1:70000' is not HOST:PORT"),
        (["--threads", "0"], "--threads must be a whole number from 1 to 64, not '0'"),
        (["--threads", "two"], "--threads must be a whole number from 1 to 64"),
        (["--response-timeout", "0"], "--response-timeout must be a whole number from 1"),
        (["--log-level", "loud"], "--log-level: 'loud' is not one of trace, debug"),
        (["--kubeconfig="], "--kubeconfig must not be empty"),
        (["proxy"], "unexpected argument 'proxy'"),
        (["--request-header-timeout", "0"], "--request-header-timeout must be a whole number from 1"),
        (["--max-connections", "-5"], "--max-connections must be a whole number from 1"),
        (["--unix-socket-mode", "0999"], "--unix-socket-mode: '0999' is not an octal mode"),
        (["--unix-socket-mode", "1777"], "--unix-socket-mode: '1777' is not an octal mode"),
        (["--secure-listen", "127.0.0.1:10443"], "--secure-listen needs --tls-cert-file and --tls-private-key-file"),
        (["--tls-cert-file", "/c.pem"], "--tls-cert-file, --tls-private-key-file and --client-ca-file need --secure-listen"),
    ])
    func mistakesNameTheFlag(args: [String], message: String) {
        let got = error(args)
        #expect(got?.hasPrefix(message) == true, "\(args): \(got ?? "accepted")")
    }

    @Test(arguments: [
        ("127.0.0.1:10261", HostPort(host: "127.0.0.1", port: 10261)),
        (":8080", HostPort(host: "0.0.0.0", port: 8080)),
        ("[::1]:0", HostPort(host: "::1", port: 0)),
        ("localhost:1", HostPort(host: "localhost", port: 1)),
    ])
    func hostPorts(text: String, want: HostPort) {
        #expect(HostPort(argument: text) == want)
        #expect(HostPort(argument: want.description) == want)
    }

    @Test(arguments: ["", "127.0.0.1", "[::1]", "[::1", "h:-1", "h:x"])
    func badHostPorts(text: String) {
        #expect(HostPort(argument: text) == nil)
    }
}
