/// An error produced while parsing or validating a label or field selector.
///
/// `message` is the exact text kube-apiserver puts into the `message` of the
/// 400 BadRequest `Status` for the same input; Outpost forwards it verbatim.
public struct SelectorError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// `labelSelector` query parameter could not be parsed / validated.
        case invalidLabelSelector
        /// `fieldSelector` query parameter could not be parsed.
        case invalidFieldSelector
        /// The field selector names a field label the resource does not support.
        case unsupportedFieldLabel
    }

    public let kind: Kind
    public let message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Which apiserver generation's wording to use for label-requirement validation errors.
///
/// kube-apiserver 1.22 switched the label selector parser to field-path errors
/// (`values[0][app]: Invalid value: "a b": ...`, `<nil>: Invalid value: ...` for keys,
/// aggregated as `[e1, e2]`). Up to 1.21 the same failures read
/// `invalid label value: "a b": at key: "app": ...` / `invalid label key "a b": ...`
/// and only the first problem was reported. Everything else is identical.
public enum SelectorErrorStyle: Sendable, Hashable {
    /// kube-apiserver >= 1.22 (field-path errors).
    case fieldPath
    /// kube-apiserver <= 1.21 (e.g. 1.20).
    case legacy
}
