/// Why a config file was refused, naming where: `filters.rules[1].fieldSelector: field label not
/// supported: spec.foo`. Outpost refuses to start on any of these rather than run with a rule
/// silently ignored.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The offending key path (`cache.resources[2]`); "" for the document as a whole.
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String {
        path.isEmpty ? message : path + ": " + message
    }
}
