/// The list and watch parameters of a request, read from its query with the
/// meaning kube-apiserver gives them (`metav1.ListOptions`).
///
/// Exists so the proxy can decide whether a list or watch is cacheable, and
/// how to serve it, without the apiserver; and can reject what the apiserver
/// would reject with the same kind of error.
///
/// Decoding follows apimachinery's query conversions: single-valued
/// parameters use their first value; booleans are false only when absent,
/// `0` or `false` (any case) and true for anything else, even empty;
/// integers are base-10 64-bit and an unparsable one (empty included) fails.
/// Unknown parameters are ignored. The label selector is kept as text
/// (parsing it is the Selectors module's job); the field selector's syntax is
/// checked because the apiserver's decoding fails on a bad one.
public struct ListOptions: Sendable, Hashable {
    /// Raw `labelSelector`; empty selects everything.
    public var labelSelector: String
    /// Raw `fieldSelector`; empty selects everything.
    public var fieldSelector: String
    /// `watch`: stream changes instead of returning a list.
    public var watch: Bool
    /// `allowWatchBookmarks`: the client accepts BOOKMARK events.
    public var allowWatchBookmarks: Bool
    /// `resourceVersion`; empty means "most recent" (a quorum read).
    public var resourceVersion: String
    /// Go's quoting of `resourceVersion` when its bytes are not UTF-8 (the
    /// apiserver quotes the raw bytes in its errors); nil otherwise.
    public var resourceVersionQuoted: String?
    /// `resourceVersionMatch`; nil when absent or empty. Unknown values are
    /// kept so ``validate(watchListFeatureEnabled:)`` can report them.
    public var resourceVersionMatch: ResourceVersionMatch?
    /// `timeoutSeconds`, the watch or list timeout asked for; nil when absent.
    public var timeoutSeconds: Int64?
    /// `limit`, the page size; `0` (also the default) or less means no limit.
    public var limit: Int64
    /// `continue`, the token of the next page; empty for the first page.
    public var continueToken: String
    /// `sendInitialEvents` (streaming lists); nil when absent.
    public var sendInitialEvents: Bool?

    /// Options with every parameter absent.
    public init(
        labelSelector: String = "",
        fieldSelector: String = "",
        watch: Bool = false,
        allowWatchBookmarks: Bool = false,
        resourceVersion: String = "",
        resourceVersionMatch: ResourceVersionMatch? = nil,
        timeoutSeconds: Int64? = nil,
        limit: Int64 = 0,
        continueToken: String = "",
        sendInitialEvents: Bool? = nil
    ) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.watch = watch
        self.allowWatchBookmarks = allowWatchBookmarks
        self.resourceVersion = resourceVersion
        self.resourceVersionMatch = resourceVersionMatch
        self.timeoutSeconds = timeoutSeconds
        self.limit = limit
        self.continueToken = continueToken
        self.sendInitialEvents = sendInitialEvents
    }

    /// Decodes and validates, as the apiserver's list and watch handlers do.
    /// Decoding failures are ``ListOptionsError/Kind/badRequest`` (400),
    /// validation failures ``ListOptionsError/Kind/invalid`` (422).
    public init(query: QueryItems, watchListFeatureEnabled: Bool = true) throws(ListOptionsError) {
        self = try Self.decode(query)
        try validate(watchListFeatureEnabled: watchListFeatureEnabled)
    }

    /// Decodes the parameters that cannot fail to parse as text and the integers, in the
    /// apiserver's order (its generated conversion walks `metav1.ListOptions` field by field:
    /// `timeoutSeconds` before `limit`). Integer errors carry Go's `strconv` wording, which the
    /// apiserver passes through as the 400's message. Selectors are left as text: the
    /// apiserver parses the label selector, then the field selector, after this step.
    public static func decodeScalars(_ query: QueryItems) throws(ListOptionsError) -> ListOptions {
        var options = ListOptions()
        options.labelSelector = query["labelSelector"] ?? ""
        options.fieldSelector = query["fieldSelector"] ?? ""
        options.watch = decodeBool(query["watch"]) ?? false
        options.allowWatchBookmarks = decodeBool(query["allowWatchBookmarks"]) ?? false
        if let rv = query.first("resourceVersion") {
            options.resourceVersion = rv.value
            options.resourceVersionQuoted = rv.invalidUTF8Bytes == nil ? nil : rv.goQuotedValue
        }
        if let match = query["resourceVersionMatch"], !match.isEmpty {
            options.resourceVersionMatch = ResourceVersionMatch(rawValue: match)
        }
        options.timeoutSeconds = try decodeInt64(query.first("timeoutSeconds"))
        options.limit = try decodeInt64(query.first("limit")) ?? 0
        options.continueToken = query["continue"] ?? ""
        options.sendInitialEvents = decodeBool(query["sendInitialEvents"])
        return options
    }

    /// Decodes without validating: the step whose failure makes the apiserver
    /// answer 400 BadRequest, and the only step RequestInfo depends on.
    /// Checks the field selector's syntax (with ``FieldSelectorTerms``); the
    /// label selector is left to the Selectors module.
    public static func decode(_ query: QueryItems) throws(ListOptionsError) -> ListOptions {
        let options = try decodeScalars(query)
        do {
            _ = try FieldSelectorTerms(parsing: options.fieldSelector)
        } catch {
            throw ListOptionsError(badRequest: FieldError(
                field: "fieldSelector",
                type: .invalid(value: options.fieldSelector),
                detail: error.message(selector: options.fieldSelector)
            ))
        }
        return options
    }

    /// The apiserver's `ValidateListOptions`. `watchListFeatureEnabled`
    /// mirrors the apiserver's WatchList feature gate, which decides whether
    /// `sendInitialEvents` is allowed on watches.
    public func validate(watchListFeatureEnabled: Bool = true) throws(ListOptionsError) {
        try validate(rules: .watchList(featureEnabled: watchListFeatureEnabled))
    }

    /// `ValidateListOptions` of the apiserver generation `rules` names.
    public func validate(rules: ValidationRules) throws(ListOptionsError) {
        let errors: [FieldError]
        switch rules {
        case .beforeWatchList:
            errors = legacyValidationErrors()
        case .watchList(let enabled):
            errors = watch ? watchValidationErrors(watchListFeatureEnabled: enabled) : listValidationErrors()
        }
        if !errors.isEmpty {
            throw ListOptionsError(invalid: errors)
        }
    }

    /// Which generation of `ValidateListOptions` an apiserver runs.
    public enum ValidationRules: Sendable, Hashable {
        /// 1.19–1.26: `resourceVersionMatch` is forbidden on every watch and
        /// `sendInitialEvents` is an unknown parameter (ignored).
        case beforeWatchList
        /// 1.27 and later: streaming lists (`sendInitialEvents`) behind the WatchList gate.
        case watchList(featureEnabled: Bool)

        /// The rules of apiserver 1.`minor`; nil (not known yet) means the newest.
        public static func forMinorVersion(_ minor: Int?) -> ValidationRules {
            guard let minor, minor < 27 else { return .watchList(featureEnabled: true) }
            return .beforeWatchList
        }
    }

    /// The checks of apiserver 1.20's `ValidateListOptions`, in its order.
    private func legacyValidationErrors() -> [FieldError] {
        guard resourceVersionMatch != nil else { return [] }
        let forWatch: [FieldError] = watch ? [.forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden for watch")] : []
        return forWatch + resourceVersionMatchErrors()
    }

    /// The checks of `resourceVersionMatch` a list makes (1.20 and later), in the apiserver's order.
    private func resourceVersionMatchErrors() -> [FieldError] {
        guard let match = resourceVersionMatch else { return [] }
        var errors: [FieldError] = []
        if resourceVersion.isEmpty {
            errors.append(.forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden unless resourceVersion is provided"))
        }
        if !continueToken.isEmpty {
            errors.append(.forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"))
        }
        if match != .exact && match != .notOlderThan {
            errors.append(FieldError(
                field: "resourceVersionMatch",
                type: .notSupported(value: match.rawValue, supported: ["Exact", "NotOlderThan", ""])
            ))
        }
        if match == .exact && resourceVersion == "0" {
            errors.append(.forbidden("resourceVersionMatch", "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\""))
        }
        return errors
    }

    private func listValidationErrors() -> [FieldError] {
        var errors = resourceVersionMatchErrors()
        if sendInitialEvents != nil {
            errors.append(.forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
        }
        return errors
    }

    private func watchValidationErrors(watchListFeatureEnabled: Bool) -> [FieldError] {
        var errors: [FieldError] = []
        if sendInitialEvents != nil {
            if resourceVersionMatch != .notOlderThan {
                errors.append(.forbidden("resourceVersionMatch", "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
            }
            if !watchListFeatureEnabled {
                errors.append(.forbidden("sendInitialEvents", "sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"))
            }
        }
        if let match = resourceVersionMatch {
            if sendInitialEvents == nil {
                errors.append(.forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
            }
            if match != .notOlderThan {
                errors.append(FieldError(
                    field: "resourceVersionMatch",
                    type: .notSupported(value: match.rawValue, supported: ["NotOlderThan"])
                ))
            }
            if !continueToken.isEmpty {
                errors.append(.forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"))
            }
        }
        return errors
    }

    /// apimachinery's string-to-bool: absent → nil; `0`/`false` (any case) → false; else true.
    static func decodeBool(_ value: String?) -> Bool? {
        guard let value else { return nil }
        if value == "0" || value.lowercased() == "false" { return false }
        return true
    }

    private static func decodeInt64(_ item: QueryItems.Item?) throws(ListOptionsError) -> Int64? {
        guard let item else { return nil }
        if case .success(let number) = goParseInt64(item.value) { return number }
        let message = goParseIntError(item.value, quoted: item.goQuotedValue) ?? "strconv.ParseInt: invalid syntax"
        throw ListOptionsError(badRequestMessage: message)
    }
}

/// `resourceVersionMatch`: how `resourceVersion` constrains a list.
/// An open wrapper so unsupported values survive decoding and are reported
/// by validation, as the apiserver does.
public struct ResourceVersionMatch: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// Serve exactly the given resource version.
    public static let exact = ResourceVersionMatch(rawValue: "Exact")
    /// Serve any resource version at least as new as the given one.
    public static let notOlderThan = ResourceVersionMatch(rawValue: "NotOlderThan")

    public var description: String { rawValue }
}

/// One problem with one parameter, worded like apimachinery's `field.Error`
/// (`limit: Invalid value: "abc": ...`) so clients see familiar messages.
public struct FieldError: Sendable, Hashable, CustomStringConvertible {
    /// The apimachinery error types list options can produce.
    public enum ErrorType: Sendable, Hashable {
        case invalid(value: String)
        case notSupported(value: String, supported: [String])
        case forbidden
    }

    /// The parameter's name, e.g. `limit`.
    public var field: String
    public var type: ErrorType
    public var detail: String

    public init(field: String, type: ErrorType, detail: String = "") {
        self.field = field
        self.type = type
        self.detail = detail
    }

    static func forbidden(_ field: String, _ detail: String) -> FieldError {
        FieldError(field: field, type: .forbidden, detail: detail)
    }

    /// The `reason` of this error as a Status cause (`FieldValueForbidden`, ...).
    public var causeReason: String {
        switch type {
        case .invalid: return "FieldValueInvalid"
        case .notSupported: return "FieldValueNotSupported"
        case .forbidden: return "FieldValueForbidden"
        }
    }

    /// The `message` of this error as a Status cause: the description without the field.
    public var causeMessage: String {
        String(description.dropFirst(field.count + 2))
    }

    public var description: String {
        switch type {
        case .invalid(let value):
            let body = "Invalid value: " + goQuote(value)
            return field + ": " + (detail.isEmpty ? body : body + ": " + detail)
        case .notSupported(let value, let supported):
            let body = "Unsupported value: " + goQuote(value)
            let list = supported.map(goQuote).joined(separator: ", ")
            return field + ": " + (supported.isEmpty ? body : body + ": supported values: " + list)
        case .forbidden:
            return field + ": Forbidden" + (detail.isEmpty ? "" : ": " + detail)
        }
    }
}

/// Why list options were refused, with the Status the apiserver would send.
public struct ListOptionsError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The query could not be decoded: 400 BadRequest.
        case badRequest
        /// The decoded options are inconsistent: 422 Invalid.
        case invalid
    }

    public var kind: Kind
    /// The field errors behind the answer; empty when the apiserver passes a bare message on
    /// (an integer that does not parse).
    public var causes: [FieldError]
    private var bareMessage: String?

    init(badRequest cause: FieldError) {
        self.kind = .badRequest
        self.causes = [cause]
    }

    init(badRequestMessage message: String) {
        self.kind = .badRequest
        self.causes = []
        self.bareMessage = message
    }

    init(invalid causes: [FieldError]) {
        self.kind = .invalid
        self.causes = causes
    }

    /// The HTTP status code of the apiserver's answer.
    public var statusCode: Int {
        kind == .badRequest ? 400 : 422
    }

    /// The Status `reason`.
    public var reason: String {
        kind == .badRequest ? "BadRequest" : "Invalid"
    }

    /// The Status `message`.
    public var message: String {
        if let bareMessage { return bareMessage }
        let summary = causes.count == 1
            ? causes[0].description
            : "[" + causes.map(\.description).joined(separator: ", ") + "]"
        switch kind {
        case .badRequest:
            return summary
        case .invalid:
            return "ListOptions.meta.k8s.io \"\" is invalid: " + summary
        }
    }

    /// The whole Status: a 422 carries `details` naming `meta.k8s.io` ListOptions and one
    /// cause per field error, as `errors.NewInvalid` builds it.
    public var status: APIStatus {
        switch kind {
        case .badRequest:
            return APIStatus(code: 400, reason: "BadRequest", message: message)
        case .invalid:
            return APIStatus(code: 422, reason: "Invalid", message: message, group: "meta.k8s.io", kind: "ListOptions",
                             causes: causes.map { APIStatus.Cause(reason: $0.causeReason, message: $0.causeMessage, field: $0.field) })
        }
    }

    public var description: String { message }
}
