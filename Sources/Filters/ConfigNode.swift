import YAMLLite

/// A YAML node together with its key path, so every type or value error can say where it is.
struct ConfigNode {
    let node: YAMLNode
    /// `filters.rules[1].resources`; "" for the document.
    let path: String

    func error(_ message: String) -> ConfigError {
        ConfigError(path: path, message: message)
    }

    /// The mapping's entries. Every key must be in `allowed`: a misspelt key would otherwise be
    /// ignored, and a misspelt condition silently widens what a rule drops.
    func mapping(allowedKeys allowed: [String]) throws(ConfigError) -> ConfigMapping {
        guard let entries = node.entries else { throw error("expected a mapping, found \(found)") }
        let mapping = ConfigMapping(path: path, entries: entries)
        for entry in entries where !allowed.contains(entry.key) {
            throw ConfigError(path: mapping.keyPath(entry.key),
                              message: "unknown key (expected one of: \(allowed.joined(separator: ", ")))")
        }
        return mapping
    }

    /// A scalar of any style. YAMLLite does no implicit typing, so `5` or `true` read as text.
    func string() throws(ConfigError) -> String {
        guard let text = node.string else { throw error("expected a string, found \(found)") }
        return text
    }

    /// A plain `true` / `false` (YAMLNode.bool's spellings).
    func bool() throws(ConfigError) -> Bool {
        guard let value = node.bool else { throw error("expected true or false, found \(found)") }
        return value
    }

    /// The items of a sequence (block `- x` or flow `[x, y]`).
    func list() throws(ConfigError) -> [ConfigNode] {
        guard let items = node.array else { throw error("expected a list, found \(found)") }
        return items.enumerated().map { ConfigNode(node: $1, path: path + "[\($0)]") }
    }

    /// A list of non-empty strings.
    func nonEmptyStrings() throws(ConfigError) -> [String] {
        var strings: [String] = []
        for item in try list() {
            strings.append(try item.nonEmptyString())
        }
        return strings
    }

    /// A single non-empty string or a list of them, for keys where one value is the common case.
    func oneOrMoreNonEmptyStrings() throws(ConfigError) -> [String] {
        switch node {
        case .scalar: return [try nonEmptyString()]
        case .sequence: return try nonEmptyStrings()
        default: throw error("expected a string or a list of strings, found \(found)")
        }
    }

    func nonEmptyString() throws(ConfigError) -> String {
        let text = try string()
        guard !text.isEmpty else { throw error("must not be empty") }
        return text
    }

    /// `resource[.group]`, see `GroupResource.init(parsing:)`.
    func groupResource() throws(ConfigError) -> GroupResource {
        let text = try string()
        guard let resource = GroupResource(parsing: text) else {
            throw error("not a resource: \(text.debugDescription) (expected a lowercase plural name with its API group unless core, e.g. pods or leases.coordination.k8s.io)")
        }
        return resource
    }

    /// What the node is, for type errors. Scalars are quoted: config files hold no secrets.
    private var found: String {
        switch node {
        case .null: return "an empty value"
        case .scalar(let text, _): return text.debugDescription
        case .sequence: return "a list"
        case .mapping: return "a mapping"
        }
    }
}

/// A mapping whose keys were checked, handing out its values as `ConfigNode`s.
struct ConfigMapping {
    let path: String
    let entries: [(key: String, value: YAMLNode)]

    /// The value of `key`, or nil when the key is absent (which keeps that setting's default).
    subscript(key: String) -> ConfigNode? {
        entries.first { $0.key == key }.map { ConfigNode(node: $0.value, path: keyPath(key)) }
    }

    func keyPath(_ key: String) -> String {
        path.isEmpty ? key : path + "." + key
    }
}
