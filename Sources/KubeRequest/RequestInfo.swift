import Selectors

/// What an HTTP request means to Kubernetes: verb, group, version,
/// namespace, resource, name and subresource, or "not a resource".
///
/// Exists so the proxy authorizes, caches, routes and counts requests by the
/// same classification kube-apiserver computes (`RequestInfoFactory` with
/// prefixes `api` and `apis`, `api` groupless):
///
/// - `/api/VERSION/...` and `/apis/GROUP/VERSION/...` with at least one
///   segment after the version are resource requests;
/// - a leading `watch` or `proxy` segment after the version sets the verb
///   (deprecated path verbs), otherwise the method does: POST create,
///   GET/HEAD get, PUT update, PATCH patch, DELETE delete, others `""`;
/// - `namespaces/NS/REST` scopes REST to NS, except when REST starts with a
///   namespace subresource (`status`, `finalize`): then the request is about
///   the namespace object NS itself (`namespace` and `name` are both NS);
/// - the remaining parts are `resource/name/subresource/...`
///   (`proxy` takes no subresource);
/// - get without a name becomes list, or watch when the `watch` parameter
///   is true; a list or watch whose field selector pins `metadata.name`
///   gets that name; delete without a name becomes deletecollection.
///
/// Anything else is non-resource with the lowercased method as verb;
/// ``Kind-swift.enum/discovery(_:)`` marks the API discovery documents.
/// Targets the proxy refuses to interpret (see ``RequestTarget``) throw.
public struct RequestInfo: Sendable, Hashable {
    /// The three families of requests the proxy treats differently.
    public enum Kind: Sendable, Hashable {
        /// A request about a resource collection or object.
        case resource
        /// An API discovery document (non-resource in the apiserver's terms).
        case discovery(Discovery)
        /// Any other non-resource path: `/version`, `/healthz`, `/openapi/v3`, `/metrics`, `/`...
        case nonResource
    }

    /// Which discovery document a discovery path names.
    public enum Discovery: Sendable, Hashable {
        /// `/api`: the legacy group's versions.
        case legacyVersions
        /// `/api/VERSION`: the legacy group's resources.
        case legacyResources(version: String)
        /// `/apis`: all groups (and, aggregated, their resources).
        case groups
        /// `/apis/GROUP`: one group's versions.
        case group(String)
        /// `/apis/GROUP/VERSION`: one group version's resources.
        case groupResources(group: String, version: String)
    }

    public var kind: Kind
    /// The decoded path.
    public var path: String
    /// The API verb for resource requests, the lowercased method otherwise.
    public var verb: Verb
    /// `api` or `apis` for resource requests (and for `/apis/GROUP/VERSION`,
    /// as the apiserver leaves it), `""` otherwise.
    public var apiPrefix: String
    /// `""` for the core group.
    public var apiGroup: String
    public var apiVersion: String
    /// `""` for cluster-scoped and all-namespaces requests.
    public var namespace: String
    public var resource: String
    public var subresource: String
    /// The object's name, from the path or from a `metadata.name=` field
    /// selector on a list or watch; `""` when the request names none.
    public var name: String
    /// The path parts from the resource on: `[resource, name, subresource, ...]`.
    public var parts: [String]
    /// The decoded query, kept so callers need not parse it again.
    public var query: QueryItems

    /// Classifies a request. `method` is the HTTP method as sent (the
    /// apiserver matches it case-sensitively); `target` is the request target.
    public init(method: String, target: String) throws(RequestInfoError) {
        let parsed: RequestTarget
        do {
            parsed = try RequestTarget(target)
        } catch {
            throw .invalidTarget(error)
        }
        try self.init(method: method, target: parsed)
    }

    /// Classifies a request whose target is already parsed.
    public init(method: String, target: RequestTarget) throws(RequestInfoError) {
        self.kind = .nonResource
        self.path = target.path
        self.verb = Verb(rawValue: method.lowercased())
        self.apiPrefix = ""
        self.apiGroup = ""
        self.apiVersion = ""
        self.namespace = ""
        self.resource = ""
        self.subresource = ""
        self.name = ""
        self.parts = []
        self.query = target.query

        var rest = target.segments[...]
        guard rest.count >= 3, let prefix = rest.first, prefix == "api" || prefix == "apis" else {
            kind = Self.discovery(target.segments).map(Kind.discovery) ?? .nonResource
            return
        }
        apiPrefix = prefix
        rest = rest.dropFirst()
        if prefix == "apis" {
            guard rest.count >= 3 else {
                kind = .discovery(.groupResources(group: rest[rest.startIndex], version: rest[rest.startIndex + 1]))
                return
            }
            apiGroup = rest.removeFirst()
        }

        kind = .resource
        apiVersion = rest.removeFirst()

        if rest[rest.startIndex] == "watch" || rest[rest.startIndex] == "proxy" {
            guard rest.count >= 2 else {
                throw .missingResource(path: target.path)
            }
            verb = Verb(rawValue: rest.removeFirst())
        } else {
            verb = Self.resourceVerb(forMethod: method)
        }

        if rest[rest.startIndex] == "namespaces", rest.count > 1 {
            namespace = rest[rest.startIndex + 1]
            if rest.count > 2 && !Self.namespaceSubresources.contains(rest[rest.startIndex + 2]) {
                rest = rest.dropFirst(2)
            }
        }
        parts = Array(rest)

        if parts.count >= 3 && verb != .proxy {
            subresource = parts[2]
        }
        if parts.count >= 2 {
            name = parts[1]
        }
        resource = parts[0]

        if name.isEmpty && verb == .get {
            applyCollectionRead(query: target.query)
        }
        if name.isEmpty && verb == .delete {
            verb = .deleteCollection
        }
    }

    /// Subresources of a namespace object, as opposed to resources inside a namespace.
    static let namespaceSubresources: Set<String> = ["status", "finalize"]

    private static func resourceVerb(forMethod method: String) -> Verb {
        switch method {
        case "POST": return .create
        case "GET", "HEAD": return .get
        case "PUT": return .update
        case "PATCH": return .patch
        case "DELETE": return .delete
        default: return .none
        }
    }

    /// get without a name: list or watch, and maybe a name from the field selector.
    /// As in the apiserver, when the list options fail to decode the name is
    /// not taken and only a raw `watch` value decides between list and watch.
    private mutating func applyCollectionRead(query: QueryItems) {
        // Decoding includes the label selector (the apiserver converts it to a labels.Selector).
        guard let options = try? ListOptions.decode(query), (try? LabelSelector.parse(options.labelSelector)) != nil else {
            let watch = query["watch"].map { $0.lowercased() != "false" && $0 != "0" } ?? false
            verb = watch ? .watch : .list
            return
        }
        verb = options.watch ? .watch : .list
        if let selector = try? FieldSelectorTerms(parsing: options.fieldSelector),
           let pinned = selector.requiredValue(for: "metadata.name"),
           Self.isValidPathSegmentName(pinned) {
            name = pinned
        }
    }

    /// apimachinery's `IsValidPathSegmentName`: not `.` or `..`, no `/` or `%`.
    static func isValidPathSegmentName(_ name: String) -> Bool {
        name != "." && name != ".." && !name.contains("/") && !name.contains("%")
    }

    private static func discovery(_ segments: [String]) -> Discovery? {
        switch (segments.first, segments.count) {
        case ("api", 1): return .legacyVersions
        case ("api", 2): return .legacyResources(version: segments[1])
        case ("apis", 1): return .groups
        case ("apis", 2): return .group(segments[1])
        default: return nil
        }
    }

    /// True for resource requests.
    public var isResourceRequest: Bool { kind == .resource }

    /// True for API discovery documents.
    public var isDiscovery: Bool {
        if case .discovery = kind { return true }
        return false
    }

    /// The collection a resource request is about; nil for non-resource requests.
    public var groupVersionResource: GroupVersionResource? {
        guard isResourceRequest else { return nil }
        return GroupVersionResource(group: apiGroup, version: apiVersion, resource: resource)
    }

    /// The cache scope of a resource request. Requests about namespace
    /// objects (`/api/v1/namespaces/NS...`) are cluster-wide, since
    /// namespaces are cluster-scoped even though the apiserver reports NS as
    /// their `namespace`.
    public var scope: ResourceScope? {
        guard let gvr = groupVersionResource else { return nil }
        let isNamespaceObject = apiGroup.isEmpty && resource == "namespaces"
        return ResourceScope(gvr, namespace: isNamespaceObject ? "" : namespace)
    }
}

/// Why a request could not be classified; `message` is fit for a Status.
public enum RequestInfoError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The target is malformed or ambiguous: answer 400 BadRequest.
    case invalidTarget(RequestTargetError)
    /// `/api/v1/watch` or `/api/v1/proxy` with nothing after the path verb
    /// (the apiserver fails these with "unable to determine kind and namespace").
    case missingResource(path: String)

    public var message: String {
        switch self {
        case .invalidTarget(let error):
            return error.message
        case .missingResource(let path):
            return "unable to determine kind and namespace from url \(path)"
        }
    }

    public var description: String { message }
}
