import Filters
import FuzzSupport
import KubeConfig
import YAMLLite

// Input: a YAML document (bytes, not necessarily UTF-8), parsed as YAML, as a kubeconfig and as
// an Outpost config file. Checks, beyond "never crashes" (or hangs: libFuzzer's -timeout):
// - errors carry a 1-based line and column and a message;
// - an accepted document written back in flow style with every scalar double-quoted (the
//   JSON-like subset) parses to the same tree;
// - a kubeconfig without file references resolves or fails with a KubeConfigError, and every
//   cluster server either parses as a URL or fails the same way in `resolve`;
// - base64 data round-trips through KubeBase64.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzYAML(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(inputBuffer(data, size))
    let text = String(decoding: bytes, as: UTF8.self)
    do {
        let node = try YAML.parse(bytes: bytes)
        let flow = emit(node)
        do {
            let again = try YAML.parse(flow, maxDepth: 10 * YAML.defaultMaxDepth)
            require(same(node, again), "flow form \(flow.debugDescription) parses to another tree")
        } catch {
            require(false, "flow form \(flow.debugDescription) does not parse: \(error)")
        }
        checkKubeconfig(node)
    } catch {
        require(error.line >= 1 && error.column >= 1 && !error.message.isEmpty, "YAML error without a position: \(error)")
    }
    _ = try? YAML.parseDocuments(text)
    _ = try? KubeconfigFile(yaml: text)
    do {
        let config = try OutpostConfig.parse(yaml: text)
        for resource in (config.cache.resources ?? []).union(config.cache.excluded) {
            _ = config.filters.filter(for: resource)
            require(!config.cache.excluded.contains(resource) || !config.cache.caches(resource), "an excluded resource is cached")
        }
    } catch {
        require(!error.message.isEmpty, "config error without a message")
    }
    return 0
}

private func checkKubeconfig(_ node: YAMLNode) {
    guard let file = try? KubeconfigFile(node: node) else { return }
    for cluster in file.clusters {
        if let server = cluster.server { _ = try? ServerURL(parsing: server) }
        if let ca = cluster.certificateAuthorityData {
            let encoded = KubeBase64.encode(ca)
            require((try? KubeBase64.decode(encoded)) == ca, "base64 round trip of certificate-authority-data")
        }
    }
    let readsFiles = file.clusters.contains { $0.certificateAuthority != nil }
        || file.users.contains { $0.clientCertificate != nil || $0.clientKey != nil || $0.tokenFile != nil }
    if !readsFiles {
        if let endpoint = try? file.resolve() {
            _ = endpoint.description
            _ = try? endpoint.credentials.authorizationHeaderValue()
        }
    }
}

/// The tree in flow style, every scalar double-quoted.
private func emit(_ node: YAMLNode) -> String {
    switch node {
    case .null:
        return "null"
    case .scalar(let text, _):
        return quote(text)
    case .sequence(let items):
        return "[" + items.map(emit).joined(separator: ", ") + "]"
    case .mapping(let entries):
        return "{" + entries.map { quote($0.key) + ": " + emit($0.value) }.joined(separator: ", ") + "}"
    }
}

private func quote(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar.value {
        case 0x22: out += "\\\""
        case 0x5C: out += "\\\\"
        case 0..<0x20, 0x7F...0x9F, 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF:
            let hex = String(scalar.value, radix: 16, uppercase: true)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default:
            out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// Tree equality ignoring scalar styles.
private func same(_ a: YAMLNode, _ b: YAMLNode) -> Bool {
    switch (a, b) {
    case (.null, .null):
        return true
    case let (.scalar(x, _), .scalar(y, _)):
        return x == y
    case let (.sequence(x), .sequence(y)):
        return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
    case let (.mapping(x), .mapping(y)):
        return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && same($0.value, $1.value) }
    default:
        return false
    }
}
