/// The operator commands: `status`, `cache ls|get|stats` and `verify`. They read; none of them
/// changes the cache or the running process.
public enum CacheSubcommand: Equatable, Sendable {
    case ls
    case stats
    /// `get RESOURCE [NS/]NAME`.
    case get(resource: String, namespace: String, name: String)
}

/// Options shared by the operator commands (each command reads the ones it names in `--help`).
public struct OperatorOptions: Equatable, Sendable {
    public enum Output: String, Equatable, Sendable { case text, json }
    /// `status`: the running Outpost's admin listener.
    public var adminAddr = HostPort(host: "127.0.0.1", port: 10267)
    public var output = Output.text
    public var cacheDir = "/var/lib/outpost"
    public var encryptionKeyFile: String?
    public var kubeconfig: String?
    public var context: String?
    public var serverAddr: String?
    public var config: String?
    public var keyFilePath: String {
        encryptionKeyFile ?? (cacheDir.hasSuffix("/") ? cacheDir + "cache.key" : cacheDir + "/cache.key")
    }
    public init() {}
}

extension OutpostCommandLine {
    /// Parses the arguments after `status`, `cache` or `verify` (`name`).
    static func parseOperator(_ name: String, _ arguments: ArraySlice<String>) throws(CommandLineError) -> OutpostCommand {
        var options = OperatorOptions()
        var positional: [String] = []
        var args = arguments
        let allowed: Set<String> = switch name {
        case "status": ["admin-addr", "output"]
        case "cache": ["cache-dir", "encryption-key-file", "output"]
        default: ["cache-dir", "kubeconfig", "context", "server-addr", "config", "output"]
        }
        while let arg = args.popFirst() {
            if arg == "-h" || arg == "--help" { return .help(operatorUsage) }
            if !arg.hasPrefix("-") { positional.append(arg); continue }
            var flag = arg == "-o" ? "output" : String(arg.drop(while: { $0 == "-" }))
            var value: String?
            if let eq = flag.firstIndex(of: "=") {
                value = String(flag[flag.index(after: eq)...])
                flag = String(flag[..<eq])
            }
            guard allowed.contains(flag) else { throw CommandLineError("unknown option '\(arg)' for 'outpost \(name)'") }
            if value == nil {
                guard let next = args.popFirst() else { throw CommandLineError("missing value for '--\(flag)'") }
                value = next
            }
            let v = value!
            guard !v.isEmpty else { throw CommandLineError("--\(flag) must not be empty") }
            switch flag {
            case "admin-addr":
                guard let hp = HostPort(argument: v) else { throw CommandLineError("--admin-addr: '\(v)' is not HOST:PORT") }
                options.adminAddr = hp
            case "output":
                guard let o = OperatorOptions.Output(rawValue: v) else { throw CommandLineError("-o: '\(v)' is not text or json") }
                options.output = o
            case "cache-dir": options.cacheDir = v
            case "encryption-key-file": options.encryptionKeyFile = v
            case "kubeconfig": options.kubeconfig = v
            case "context": options.context = v
            case "server-addr": options.serverAddr = v
            default: options.config = v
            }
        }
        switch name {
        case "status":
            guard positional.isEmpty else { throw CommandLineError("unexpected argument '\(positional[0])' for 'outpost status'") }
            return .status(options)
        case "verify":
            guard positional.isEmpty else { throw CommandLineError("unexpected argument '\(positional[0])' for 'outpost verify'") }
            return .verify(options)
        default:
            switch positional.first {
            case "ls" where positional.count == 1: return .cache(.ls, options)
            case "stats" where positional.count == 1: return .cache(.stats, options)
            case "get":
                guard positional.count == 3 else { throw CommandLineError("usage: outpost cache get RESOURCE [NAMESPACE/]NAME") }
                let target = positional[2]
                var namespace = "", objectName = target
                if let slash = target.firstIndex(of: "/") {
                    namespace = String(target[..<slash])
                    objectName = String(target[target.index(after: slash)...])
                }
                guard !objectName.isEmpty, !objectName.contains("/") else {
                    throw CommandLineError("'\(target)' is not NAME or NAMESPACE/NAME")
                }
                return .cache(.get(resource: positional[1], namespace: namespace, name: objectName), options)
            case nil: throw CommandLineError("usage: outpost cache ls|stats|get RESOURCE [NAMESPACE/]NAME")
            default: throw CommandLineError("unknown 'outpost cache' command '\(positional.joined(separator: " "))' (ls, stats, get)")
            }
        }
    }

    /// `outpost status --help` (and the other operator commands).
    public static var operatorUsage: String {
        """
        outpost status [--admin-addr host:port] [-o text|json]
            Ask the running Outpost (its admin listener, default 127.0.0.1:10267, GET /status) what it
            knows: online or offline and since when, last contact with the apiserver, every cached scope
            with its objects, format and age, the cache file, write failures and filters.

        outpost cache ls|stats [--cache-dir dir] [-o text|json]
        outpost cache get RESOURCE [NAMESPACE/]NAME [--cache-dir dir] [--encryption-key-file file]
            Read the cache file (read-only; Outpost may run or be stopped). RESOURCE is pods,
            leases.coordination.k8s.io, ... Sealed Secrets are shown only with a readable key file.

        outpost verify [--kubeconfig path] [--context name] [--server-addr url] [--cache-dir dir]
                       [--config file] [-o text|json]
            Compare every complete cached scope with a consistent list from the apiserver.
            Exit 0: the cache matches (objects changed upstream since the scope was cached are
            reported as "newer upstream", not as a difference); 1: a difference (missing, extra,
            or another resourceVersion); 2: the cache or the apiserver could not be read.

        """
    }
}
