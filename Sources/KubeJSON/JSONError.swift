/// An error raised while scanning JSON. `offset` is the absolute byte offset in the
/// stream fed to the scanner (or in the buffer, for one-shot functions).
public struct JSONError: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Hashable, Sendable {
        /// A byte that is not allowed at this position.
        case unexpectedByte(UInt8)
        /// The input ended inside a value.
        case unexpectedEnd
        /// A bad `\` escape in a string.
        case invalidEscape
        /// A raw control character (< 0x20) inside a string.
        case controlCharacterInString
        /// A malformed number.
        case invalidNumber
        /// Containers nested deeper than `JSONLimits.maxDepth`.
        case tooDeep
        /// A list item / watch event / root value larger than the configured limit.
        case valueTooLarge(limit: Int)
        /// `finish()` was called before the document (or event) was complete.
        case incomplete
        /// A list element that is not a JSON object.
        case itemNotObject
        /// A second `"items"` key at the top level of a list.
        case duplicateItems
        /// The top-level value is not a JSON object.
        case rootNotObject
        /// Non-whitespace bytes after the end of the top-level document.
        case trailingData
        /// A watch event without a string `type` or an object `object`.
        case invalidWatchEvent
        /// `feed` was called after an error was thrown; the scanner is poisoned.
        case poisoned
    }

    public var kind: Kind
    public var offset: Int

    public init(_ kind: Kind, offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    public var description: String {
        "JSONError(\(kind) at byte \(offset))"
    }
}

/// Limits shared by the scanners.
public enum JSONLimits {
    /// Maximum container nesting depth accepted inside one value.
    public static let maxDepth = 1024
    /// Default maximum size for one list item / watch event.
    public static let defaultMaxItemSize = 16 * 1024 * 1024
}
