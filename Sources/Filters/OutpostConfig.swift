import YAMLLite

/// Outpost's settings from `outpost serve --config FILE`: which responses are filtered and what
/// is cached. Rules are data so sites can add their own without a new build.
///
/// The file is YAML (the YAMLLite subset; lists may be block `- x` or flow `[x, y]`):
///
/// ```yaml
/// cache:
///   exclude: [events, events.events.k8s.io]   # every other resource is cached
///   discovery: true
/// filters:
///   rules:
///     - name: skip-prefixed
///       resources: [pods, configmaps]
///       namePrefix: skip-            # a string or a list of strings
///     - name: hide-debug-pods
///       resources: [pods]
///       namespaces: [kube-system]
///       labelSelector: "debug=true"
///       fieldSelector: "status.phase=Succeeded"
/// ```
///
/// - `cache.resources`: resources as `resource[.group]` (plural, lowercase); given, it is the
///   exact set cached (`[]` caches none). Left out (the default), every resource a local client
///   lists, gets or watches is cached, built-in or custom.
/// - `cache.exclude`: resources never cached, whichever form chose the rest. Default: none.
/// - `cache.discovery`: cache discovery documents. Default: true.
/// - `filters.rules`: given, exactly these rules in this order (`[]` filters nothing); left
///   out, the default `skip-prefixed` rule. Each rule has a unique non-empty `name`, a
///   non-empty `resources` list, and at least one condition: `namespaces` (list),
///   `namePrefix` (string or list), `labelSelector`, `fieldSelector` (strings in the
///   apiserver's query syntax; field labels must be ones the apiserver supports for every
///   listed resource). An object is dropped when every condition its rule gives holds.
///
/// A section or key left out keeps its default; an unknown key is an error, because a typo
/// must not silently disable or widen a filter.
public struct OutpostConfig: Sendable {
    public var filters: FilterChain
    public var cache: CacheSettings

    public init(filters: FilterChain = .default, cache: CacheSettings = .default) {
        self.filters = filters
        self.cache = cache
    }

    /// The settings without a config file.
    public static let `default` = OutpostConfig()

    /// Parses a config file's text; an empty file yields `default`.
    public static func parse(yaml: String) throws(ConfigError) -> OutpostConfig {
        let document: YAMLNode
        do {
            document = try YAML.parse(yaml)
        } catch {
            throw ConfigError(path: "", message: error.description)
        }
        var config = OutpostConfig.default
        if document.isNull { return config }
        let root = try ConfigNode(node: document, path: "").mapping(allowedKeys: ["cache", "filters"])
        if let cache = root["cache"] {
            config.cache = try CacheSettings(config: cache)
        }
        if let filters = root["filters"] {
            config.filters = try FilterChain(config: filters)
        }
        return config
    }
}
