/// Outpost's command line, parsed without Foundation.
///
/// Why not swift-argument-parser: it links FoundationEssentials (about 2.4 MiB of resident
/// memory and a longer cold build) for one subcommand and ten flags, and memory is what edge
/// users pick a proxy by. This parser is a table of options and a loop; it accepts
/// `--flag value` and `--flag=value`, an optional `serve` subcommand (the default), `-h`/`--help`
/// and `--version`, and rejects unknown flags, missing values and bad values with a message
/// that names the flag.
public enum OutpostCommand: Equatable, Sendable {
    case serve(ServeOptions)
    /// `outpost rotate-key`: add a new primary key to the key file (the running or next Outpost
    /// re-encrypts the cache with it at start; the old key stays for reading until removed).
    case rotateKey(ServeOptions)
    /// `outpost status`: the running process's summary from its admin listener.
    case status(OperatorOptions)
    /// `outpost cache ls|stats|get`: read the cache file.
    case cache(CacheSubcommand, OperatorOptions)
    /// `outpost verify`: compare the cache with the apiserver.
    case verify(OperatorOptions)
    /// Print this text to standard output and exit 0.
    case help(String)
    case version(String)
}

/// A command-line mistake: print `message` and the usage line to standard error, exit 64 (EX_USAGE).
public struct CommandLineError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The options of `outpost serve`, with the defaults users get when they name none.
public struct ServeOptions: Equatable, Sendable {
    public var kubeconfig: String?
    public var context: String?
    public var serverAddr: String?
    public var listen = HostPort(host: "127.0.0.1", port: 10261)
    public var adminListen = HostPort(host: "127.0.0.1", port: 10267)
    public var cacheDir = "/var/lib/outpost"
    public var config: String?
    /// One of `ServeOptions.logLevels`.
    public var logLevel = "info"
    /// `text` (one line per event) or `json` (one JSON object per line).
    public var logFormat = "text"
    public var threads = 1
    public var responseTimeout = 60
    /// The cache's key file; nil: `<cacheDir>/cache.key`.
    public var encryptionKeyFile: String?
    /// Seconds the apiserver's answer to a caller stays good for offline answers; nil: until the
    /// apiserver answers otherwise.
    public var offlineAuthLifetime: Int? = 7 * 86_400
    /// The watch cache (one upstream reflector per scope in use, local watches served by Outpost).
    public var watchCache = true
    /// Seconds an unused reflector keeps running.
    public var watchCacheLinger = 600
    /// Events kept per scope for watchers that resume.
    public var watchHistory = 1000

    /// The key file in force.
    public var keyFilePath: String {
        encryptionKeyFile ?? (cacheDir.hasSuffix("/") ? cacheDir + "cache.key" : cacheDir + "/cache.key")
    }
    /// Seconds a client has to send a complete request head (from connecting, or from the first
    /// byte of a later request on a kept-alive connection).
    public var requestHeaderTimeout = 10
    /// Seconds a kept-alive connection may sit between requests.
    public var idleTimeout = 120
    /// Client connections open at once over all listeners (capped below the file-descriptor limit).
    public var maxConnections = 2048
    /// HTTPS listener that verifies client certificates (needs `tlsCertFile` and `tlsPrivateKeyFile`).
    public var secureListen: HostPort?
    public var tlsCertFile: String?
    public var tlsPrivateKeyFile: String?
    /// CA bundle client certificates must chain to; nil: the kubeconfig's CA.
    public var clientCAFile: String?
    public var unixSocket: String?
    /// Permissions of the Unix socket file (connecting needs write permission).
    public var unixSocketMode: UInt32 = 0o660

    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    public init() {}
}

public enum OutpostCommandLine {
    public static let version = "0.1.0"

    /// Parses the arguments after the program name.
    public static func parse(_ arguments: [String]) throws(CommandLineError) -> OutpostCommand {
        var args = arguments[...]
        if let first = args.first, ["status", "cache", "verify"].contains(first) {
            return try parseOperator(first, args.dropFirst())
        }
        var rotate = false
        if args.first == "serve" { args = args.dropFirst() }
        else if args.first == "rotate-key" { args = args.dropFirst(); rotate = true }
        var options = ServeOptions()
        while let arg = args.popFirst() {
            if arg == "-h" || arg == "--help" || arg == "help" { return .help(usage) }
            if arg == "--version" { return .version(version) }
            guard arg.hasPrefix("--") else {
                throw CommandLineError("unexpected argument '\(arg)'")
            }
            var name = String(arg.dropFirst(2))
            var value: String?
            if let eq = name.firstIndex(of: "=") {
                value = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let option = serveOptions.first(where: { $0.name == name }) else {
                throw CommandLineError("unknown option '--\(name)'")
            }
            if value == nil {
                guard let next = args.popFirst(), !next.hasPrefix("--") else {
                    throw CommandLineError("missing value for '--\(name) <\(option.valueName)>'")
                }
                value = next
            }
            do {
                try option.apply(value!, &options)
            } catch let e as CommandLineError {
                throw e
            } catch {
                throw CommandLineError("--\(name): \(error)")
            }
        }
        if options.secureListen != nil {
            guard options.tlsCertFile != nil, options.tlsPrivateKeyFile != nil else {
                throw CommandLineError("--secure-listen needs --tls-cert-file and --tls-private-key-file")
            }
        } else if options.tlsCertFile != nil || options.tlsPrivateKeyFile != nil || options.clientCAFile != nil {
            throw CommandLineError("--tls-cert-file, --tls-private-key-file and --client-ca-file need --secure-listen")
        }
        return rotate ? .rotateKey(options) : .serve(options)
    }

    /// `outpost --help`.
    public static var usage: String {
        var out = """
            outpost \(version): a Kubernetes edge proxy. It forwards, filters and caches what node agents
            ask the apiserver, and keeps answering from its cache when the cloud link is down.

            USAGE: outpost [serve] [--option value ...]
                   outpost rotate-key [--cache-dir dir | --encryption-key-file file]
                   outpost status | cache ls|stats|get | verify   (outpost status --help)

            OPTIONS:

            """
        for o in serveOptions {
            let flag = "  --\(o.name) <\(o.valueName)>"
            out += flag.padding(to: 34) + o.help
            if let d = o.defaultValue { out += " (default: \(d))" }
            out += "\n"
        }
        out += "  --version".padding(to: 34) + "Print the version.\n"
        out += "  -h, --help".padding(to: 34) + "Show this help.\n"
        return out
    }

    struct Option: Sendable {
        var name: String
        var valueName: String
        var help: String
        var defaultValue: String?
        var apply: @Sendable (String, inout ServeOptions) throws -> Void
    }

    static let serveOptions: [Option] = [
        Option(name: "kubeconfig", valueName: "path",
               help: "Kubeconfig with the apiserver, its CA and credentials.", defaultValue: "$KUBECONFIG, then ~/.kube/config") {
            $1.kubeconfig = try nonEmpty($0, "kubeconfig") },
        Option(name: "context", valueName: "name", help: "Kubeconfig context to use.", defaultValue: "its current-context") {
            $1.context = try nonEmpty($0, "context") },
        Option(name: "server-addr", valueName: "url",
               help: "Apiserver URL overriding the kubeconfig's server, e.g. https://10.0.0.1:6443.", defaultValue: nil) {
            $1.serverAddr = try nonEmpty($0, "server-addr") },
        Option(name: "listen", valueName: "host:port", help: "Where local clients connect (plain HTTP).",
               defaultValue: "127.0.0.1:10261") { $1.listen = try hostPort($0, "listen") },
        Option(name: "admin-listen", valueName: "host:port", help: "Where /healthz, /readyz and /metrics are served.",
               defaultValue: "127.0.0.1:10267") { $1.adminListen = try hostPort($0, "admin-listen") },
        Option(name: "cache-dir", valueName: "dir", help: "Directory of the local cache.", defaultValue: "/var/lib/outpost") {
            $1.cacheDir = try nonEmpty($0, "cache-dir") },
        Option(name: "config", valueName: "file",
               help: "Outpost config (YAML): cached resources and filter rules.", defaultValue: "built-in: cache the usual set, drop skip-* pods and configmaps") {
            $1.config = try nonEmpty($0, "config") },
        Option(name: "log-level", valueName: "level", help: "trace, debug, info, notice, warning, error or critical.",
               defaultValue: "info") { v, o in
            guard ServeOptions.logLevels.contains(v) else {
                throw CommandLineError("--log-level: '\(v)' is not one of \(ServeOptions.logLevels.joined(separator: ", "))")
            }
            o.logLevel = v
        },
        Option(name: "log-format", valueName: "format", help: "text or json (one JSON object per line).",
               defaultValue: "text") { v, o in
            guard v == "text" || v == "json" else { throw CommandLineError("--log-format: '\(v)' is not text or json") }
            o.logFormat = v
        },
        Option(name: "threads", valueName: "n", help: "Event loop threads (edge nodes have 1-2 cores).", defaultValue: "1") {
            $1.threads = try integer($0, "threads", in: 1...64) },
        Option(name: "response-timeout", valueName: "seconds",
               help: "Seconds to wait for the apiserver's response headers before answering 504.", defaultValue: "60") {
            $1.responseTimeout = try integer($0, "response-timeout", in: 1...86_400) },
        Option(name: "encryption-key-file", valueName: "file",
               help: "Key file sealing cached Secrets (created 0600 if missing). Keep it off the cache's disk to protect a stolen disk.",
               defaultValue: "<cache-dir>/cache.key") { $1.encryptionKeyFile = try nonEmpty($0, "encryption-key-file") },
        Option(name: "offline-auth-lifetime", valueName: "duration",
               help: "How long the apiserver's OK for a caller's access lets the cache answer that caller offline (e.g. 30m, 24h, 7d, or never-expires).",
               defaultValue: "7d") { $1.offlineAuthLifetime = try duration($0, "offline-auth-lifetime") },
        Option(name: "watch-cache", valueName: "on|off",
               help: "Serve local watches and resourceVersion=0 lists of cached resources from one upstream reflector per scope.",
               defaultValue: "on") { v, o in
            guard v == "on" || v == "off" else { throw CommandLineError("--watch-cache: '\(v)' is not on or off") }
            o.watchCache = v == "on"
        },
        Option(name: "watch-cache-linger", valueName: "duration",
               help: "How long a reflector nobody uses keeps running (e.g. 10m).", defaultValue: "10m") {
            guard let d = try duration($0, "watch-cache-linger") else {
                throw CommandLineError("--watch-cache-linger: needs a duration")
            }
            $1.watchCacheLinger = d
        },
        Option(name: "watch-history", valueName: "n",
               help: "Events kept per scope so a watcher that reconnects gets what it missed.", defaultValue: "1000") {
            $1.watchHistory = try integer($0, "watch-history", in: 1...1_000_000) },
        Option(name: "request-header-timeout", valueName: "seconds",
               help: "Seconds a client has to send a request's headers; then it gets a 408 or is closed.", defaultValue: "10") {
            $1.requestHeaderTimeout = try integer($0, "request-header-timeout", in: 1...3_600) },
        Option(name: "idle-timeout", valueName: "seconds",
               help: "Seconds a kept-alive client connection may wait between requests.", defaultValue: "120") {
            $1.idleTimeout = try integer($0, "idle-timeout", in: 1...86_400) },
        Option(name: "max-connections", valueName: "n",
               help: "Client connections at once (all listeners); then the oldest idle one is closed, or 429.", defaultValue: "2048") {
            $1.maxConnections = try integer($0, "max-connections", in: 1...1_000_000) },
        Option(name: "secure-listen", valueName: "host:port",
               help: "Also serve HTTPS here, to clients with a certificate signed by the client CA.", defaultValue: nil) {
            $1.secureListen = try hostPort($0, "secure-listen") },
        Option(name: "tls-cert-file", valueName: "path", help: "Server certificate (PEM chain) for --secure-listen.", defaultValue: nil) {
            $1.tlsCertFile = try nonEmpty($0, "tls-cert-file") },
        Option(name: "tls-private-key-file", valueName: "path", help: "Private key (PEM) of --tls-cert-file.", defaultValue: nil) {
            $1.tlsPrivateKeyFile = try nonEmpty($0, "tls-private-key-file") },
        Option(name: "client-ca-file", valueName: "path",
               help: "CA bundle (PEM) that --secure-listen clients' certificates must chain to.", defaultValue: "the kubeconfig's CA") {
            $1.clientCAFile = try nonEmpty($0, "client-ca-file") },
        Option(name: "unix-socket", valueName: "path", help: "Also serve plain HTTP on this Unix socket.", defaultValue: nil) {
            $1.unixSocket = try nonEmpty($0, "unix-socket") },
        Option(name: "unix-socket-mode", valueName: "octal",
               help: "Permissions of the --unix-socket file (connecting needs write permission).", defaultValue: "0660") { v, o in
            guard !v.isEmpty, v.count <= 4, let mode = UInt32(v, radix: 8), mode <= 0o777 else {
                throw CommandLineError("--unix-socket-mode: '\(v)' is not an octal mode from 0 to 0777 (e.g. 0660)")
            }
            o.unixSocketMode = mode
        },
    ]

    /// `90s`, `30m`, `24h`, `7d` (or a bare number of seconds); `never-expires` is nil.
    static func duration(_ v: String, _ name: String) throws(CommandLineError) -> Int? {
        if v == "never-expires" { return nil }
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var digits = Substring(v), unit = 1
        if let last = v.last, let u = units[last] { digits = v.dropLast(); unit = u }
        guard let n = Int(digits), n > 0, n <= Int(Int32.max) else {
            throw CommandLineError("--\(name): '\(v)' is not a duration like 90s, 30m, 24h, 7d or never-expires")
        }
        return n * unit
    }

    private static func nonEmpty(_ v: String, _ name: String) throws(CommandLineError) -> String {
        guard !v.isEmpty else { throw CommandLineError("--\(name) must not be empty") }
        return v
    }

    private static func hostPort(_ v: String, _ name: String) throws(CommandLineError) -> HostPort {
        guard let hp = HostPort(argument: v) else {
            throw CommandLineError("--\(name): '\(v)' is not HOST:PORT (e.g. 127.0.0.1:10261 or [::1]:10261)")
        }
        return hp
    }

    private static func integer(_ v: String, _ name: String, in range: ClosedRange<Int>) throws(CommandLineError) -> Int {
        guard let n = Int(v), range.contains(n) else {
            throw CommandLineError("--\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(v)'")
        }
        return n
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
